/**
 * BIP39 mnemonics (English word list) and the standard BIP39 seed, via @scure/bip39. The seed is
 * PBKDF2-HMAC-SHA512(NFKD(mnemonic), "mnemonic" || NFKD(passphrase), 2048) exactly as BIP39 says, so
 * the same words give the same seed here, in the CLI and in every other BIP39 wallet (PITFALLS 18).
 */
import { generateMnemonic, mnemonicToSeedSync, validateMnemonic } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';
import { fail } from '../errors.ts';

const WORDS = new Set(wordlist);
const WORD_COUNTS = [12, 15, 18, 21, 24];

/** A new 24-word mnemonic (256 bits of entropy from crypto.getRandomValues). */
export function newMnemonic(): string {
  return generateMnemonic(wordlist, 256);
}

/**
 * The canonical form of a typed mnemonic: NFKD, lower case, single spaces. Fails with `E_DECODE`
 * saying what is wrong: the word count, the position of a word not in the list (never the word
 * itself: error messages are logged, and a mistyped word is most of a secret word), or the checksum.
 */
export function normalizeMnemonic(words: string): string {
  if (typeof words !== 'string') fail('E_DECODE', 'A mnemonic must be text');
  const list = words
    .normalize('NFKD')
    .toLowerCase()
    .split(/\s+/u)
    .filter((w) => w !== '');
  if (!WORD_COUNTS.includes(list.length)) {
    fail('E_DECODE', `A mnemonic has 12, 15, 18, 21 or 24 words; this one has ${list.length}`);
  }
  const unknown = list.findIndex((w) => !WORDS.has(w));
  if (unknown !== -1)
    fail('E_DECODE', `Word ${unknown + 1} of the mnemonic is not in the BIP39 English word list`);
  const mnemonic = list.join(' ');
  if (!validateMnemonic(mnemonic, wordlist)) {
    fail('E_DECODE', 'The mnemonic checksum does not match: a word is wrong or out of order');
  }
  return mnemonic;
}

/** The 64-byte BIP39 seed of a (validated) mnemonic and an optional BIP39 passphrase. */
export function mnemonicToSeed(mnemonic: string, bip39Passphrase = ''): Uint8Array {
  if (typeof bip39Passphrase !== 'string') fail('E_ARGUMENT', 'A BIP39 passphrase must be text');
  return mnemonicToSeedSync(normalizeMnemonic(mnemonic), bip39Passphrase);
}

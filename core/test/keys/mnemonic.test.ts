import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { mnemonicToSeed, newMnemonic, normalizeMnemonic } from '../../src/keys/mnemonic.ts';
import { outcome } from '../crypto/expect-code.ts';
import vectors from '../vectors/bip39-english.json';

describe('BIP39', () => {
  for (const [entropy, mnemonic, seed] of vectors.english) {
    it(`gives the reference seed for the ${mnemonic!.split(' ').length}-word mnemonic of entropy ${entropy}`, () => {
      expect(normalizeMnemonic(mnemonic!)).toBe(mnemonic);
      expect(bytesToHex(mnemonicToSeed(mnemonic!, vectors.passphrase))).toBe(seed);
    });
  }

  it('creates valid 24-word mnemonics that differ each time', () => {
    const a = newMnemonic();
    expect(a.split(' ')).toHaveLength(24);
    expect(normalizeMnemonic(a)).toBe(a);
    expect(newMnemonic()).not.toBe(a);
  });

  it('normalizes case, spacing and Unicode form, so differently typed words give the same seed', () => {
    const [, mnemonic, seed] = vectors.english[12]!;
    const typed = `  ${mnemonic!.toUpperCase().split(' ').join(' \t\n ')}  `;
    expect(normalizeMnemonic(typed)).toBe(mnemonic);
    expect(bytesToHex(mnemonicToSeed(typed, vectors.passphrase))).toBe(seed);
  });

  it('says what is wrong with a mistyped mnemonic without repeating the words', () => {
    const words = vectors.english[12]![1]!.split(' ');
    const cases: [string, RegExp][] = [
      [words.slice(0, 11).join(' '), /12, 15, 18, 21 or 24 words; this one has 11/],
      [[...words.slice(0, 4), 'zzyzx', ...words.slice(5)].join(' '), /^Word 5 of the mnemonic is not in/],
      [[words[1], words[0], ...words.slice(2)].join(' '), /checksum/],
    ];
    for (const [input, message] of cases) {
      try {
        normalizeMnemonic(input);
        expect.unreachable();
      } catch (e) {
        expect((e as { code: string }).code).toBe('E_DECODE');
        expect((e as Error).message).toMatch(message);
        for (const w of words) expect((e as Error).message).not.toContain(` ${w} `);
      }
    }
  });

  it('lets the BIP39 passphrase change the seed', () => {
    const [, mnemonic, seed] = vectors.english[0]!;
    expect(bytesToHex(mnemonicToSeed(mnemonic!, ''))).not.toBe(seed);
    expect(outcome(() => mnemonicToSeed(mnemonic!, 7 as unknown as string))).toBe('E_ARGUMENT');
  });
});

import { x25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey, nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { openSealed, seal } from '../../src/crypto/sealed-box.ts';
import { didKeyFromEd25519, ed25519FromDidKey } from '../../src/encoding/did-key.ts';
import { fingerprint, IDENTITY_PATH, identityFromMnemonic } from '../../src/keys/identity.ts';
import { lockKeyring, unlockKeyring } from '../../src/keys/keyring.ts';
import { mnemonicToSeed } from '../../src/keys/mnemonic.ts';
import { slip10Ed25519 } from '../../src/keys/slip10.ts';
import { outcome } from '../crypto/expect-code.ts';
import vectors from '../vectors/bip39-english.json';

const mnemonic = vectors.english[20]![1]!;
const FAST = { N: 2 ** 10, r: 8, p: 1 };

describe('identity', () => {
  it('is the same for the same words, however they were typed', () => {
    const a = identityFromMnemonic(mnemonic);
    const b = identityFromMnemonic(`  ${mnemonic.toUpperCase().replaceAll(' ', '   ')} `);
    expect(b.did).toBe(a.did);
    expect(b.seed).toEqual(a.seed);
  });

  it('is the Ed25519 key SLIP-0010 derives at IDENTITY_PATH from the BIP39 seed', () => {
    const id = identityFromMnemonic(mnemonic, { bip39Passphrase: 'TREZOR', account: 3 });
    const { key } = slip10Ed25519(mnemonicToSeed(mnemonic, 'TREZOR'), IDENTITY_PATH(3));
    expect(id.seed).toEqual(key);
    expect(id.publicKey).toEqual(ed25519PublicKey(key));
    expect(id.did).toBe(didKeyFromEd25519(id.publicKey));
    expect(ed25519FromDidKey(id.did)).toEqual(id.publicKey);
  });

  it('uses an all-hardened BIP44-shaped path and refuses bad account numbers', () => {
    expect(IDENTITY_PATH(0)).toMatch(/^m\/44'\/\d+'\/0'\/0'\/0'$/);
    for (const account of [-1, 2 ** 31, 1.5, Number.NaN])
      expect(outcome(() => IDENTITY_PATH(account))).toBe('E_ARGUMENT');
  });

  it('changes with the BIP39 passphrase and with the account', () => {
    const base = identityFromMnemonic(mnemonic).did;
    expect(identityFromMnemonic(mnemonic, { bip39Passphrase: 'x' }).did).not.toBe(base);
    expect(identityFromMnemonic(mnemonic, { account: 1 }).did).not.toBe(base);
  });

  it('does not depend on the unlock passphrase (PITFALLS 18)', async () => {
    const contents = {
      version: 1 as const,
      mnemonic,
      bip39Passphrase: 'bip39 words',
      account: 0,
      rootKeys: {},
    };
    const ids = [];
    for (const unlock of ['first unlock passphrase', 'a different one']) {
      const unlocked = await unlockKeyring(await lockKeyring(contents, unlock, FAST), unlock);
      ids.push(identityFromMnemonic(unlocked.mnemonic, unlocked).did);
    }
    expect(ids[0]).toBe(ids[1]);
    expect(ids[0]).toBe(identityFromMnemonic(mnemonic, { bip39Passphrase: 'bip39 words' }).did);
    expect(ids[0]).not.toBe(
      identityFromMnemonic(mnemonic, { bip39Passphrase: 'first unlock passphrase' }).did,
    );
  });

  it('signs with its key, and receives sealed boxes addressed to its did:key', async () => {
    const alice = identityFromMnemonic(mnemonic);
    const message = new TextEncoder().encode('hello');
    const signature = await nobleEd25519.sign(alice.seed, message);
    expect(await nobleEd25519.verify(ed25519FromDidKey(alice.did), message, signature)).toBe(true);
    expect(x25519.getPublicKey(alice.x25519.secretKey)).toEqual(alice.x25519.publicKey);
    expect(openSealed(alice.x25519.secretKey, seal(alice.x25519.publicKey, message))).toEqual(message);
  });
});

describe('fingerprint', () => {
  it('is four groups of four Crockford base32 characters, stable, and differs between keys', () => {
    const a = identityFromMnemonic(mnemonic).publicKey;
    const b = identityFromMnemonic(mnemonic, { account: 1 }).publicKey;
    expect(fingerprint(a)).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/);
    expect(fingerprint(a.slice())).toBe(fingerprint(a));
    expect(fingerprint(b)).not.toBe(fingerprint(a));
  });
});

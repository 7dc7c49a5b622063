import { describe, expect, it } from 'vitest';
import { encryptAtRest } from '../../src/crypto/at-rest.ts';
import { encodeCbor } from '../../src/encoding/cbor.ts';
import { type KeyringContents, lockKeyring, unlockKeyring } from '../../src/keys/keyring.ts';
import { outcomeAsync } from '../crypto/expect-code.ts';
import vectors from '../vectors/bip39-english.json';

const FAST = { N: 2 ** 10, r: 8, p: 1 };
const contents: KeyringContents = {
  version: 1,
  mnemonic: vectors.english[8]![1]!,
  bip39Passphrase: '',
  account: 2,
  rootKeys: { ab01: new Uint8Array(32).fill(9), ['cd'.repeat(32)]: new Uint8Array(32).fill(3) },
};

describe('keyring', () => {
  it('unlocks to exactly what was locked', async () => {
    const locked = await lockKeyring(contents, 'unlock me', FAST);
    expect(await unlockKeyring(locked, 'unlock me')).toEqual(contents);
  });

  it('fails with E_LOCKED for a wrong unlock passphrase', async () => {
    const locked = await lockKeyring(contents, 'unlock me', FAST);
    expect(await outcomeAsync(() => unlockKeyring(locked, 'unlock mE'))).toBe('E_LOCKED');
  });

  it('refuses to lock contents that are not a keyring (E_ARGUMENT)', async () => {
    const bad: unknown[] = [
      { ...contents, version: 2 },
      { ...contents, mnemonic: 'abandon abandon' },
      { ...contents, mnemonic: contents.mnemonic.toUpperCase() },
      { ...contents, account: -1 },
      { ...contents, rootKeys: { AB: new Uint8Array(32) } },
      { ...contents, rootKeys: { ab: new Uint8Array(31) } },
      { ...contents, extra: true },
    ];
    for (const c of bad) {
      expect(await outcomeAsync(() => lockKeyring(c as KeyringContents, 'pw', FAST))).toBe('E_ARGUMENT');
    }
  });

  it('refuses decrypted contents of the wrong shape (E_INVALID)', async () => {
    const { rootKeys, ...rest } = contents;
    const wrong = [
      encodeCbor({ ...rest, rootKeys: { ab: new Uint8Array(16) } }),
      encodeCbor({ ...rest, rootKeys, note: 'extra field' }),
      encodeCbor({ ...rest }),
      encodeCbor({ ...rest, mnemonic: 'not a mnemonic', rootKeys }),
      encodeCbor({ ...rest, account: 'two', rootKeys }),
      encodeCbor([1, 2]),
      new TextEncoder().encode('not cbor at all'),
    ];
    for (const plaintext of wrong) {
      const blob = await encryptAtRest(plaintext, 'pw', FAST);
      expect(await outcomeAsync(() => unlockKeyring(blob, 'pw'))).toBe('E_INVALID');
    }
  });
});

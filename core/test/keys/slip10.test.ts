import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { slip10Ed25519 } from '../../src/keys/slip10.ts';
import { outcome } from '../crypto/expect-code.ts';
import vectors from '../vectors/slip10-ed25519.json';

describe('SLIP-0010 ed25519', () => {
  for (const [n, test] of vectors.tests.entries()) {
    for (const chain of test.chains) {
      it(`matches test vector ${n + 1} at ${chain.path}`, () => {
        const { key, chainCode } = slip10Ed25519(hexToBytes(test.seed), chain.path);
        expect(bytesToHex(key)).toBe(chain.private);
        expect(bytesToHex(chainCode)).toBe(chain.chainCode);
        expect(`00${bytesToHex(ed25519PublicKey(key))}`).toBe(chain.public);
      });
    }
  }

  it('accepts h as the hardened mark', () => {
    const seed = hexToBytes(vectors.tests[0]!.seed);
    expect(slip10Ed25519(seed, 'm/0h/1H').key).toEqual(slip10Ed25519(seed, "m/0'/1'").key);
  });

  it('refuses paths that are not all hardened or not well formed (E_ARGUMENT)', () => {
    const seed = hexToBytes(vectors.tests[0]!.seed);
    for (const path of [
      '',
      'x',
      'm/',
      'm/0',
      "m/0'/1",
      "m//0'",
      "m/01'",
      "m/2147483648'",
      "m/-1'",
      "M/0'",
      "m/0'/",
    ]) {
      expect(outcome(() => slip10Ed25519(seed, path))).toBe('E_ARGUMENT');
    }
  });

  it('refuses seeds shorter than 128 or longer than 512 bits (E_ARGUMENT)', () => {
    expect(outcome(() => slip10Ed25519(new Uint8Array(15), 'm'))).toBe('E_ARGUMENT');
    expect(outcome(() => slip10Ed25519(new Uint8Array(65), 'm'))).toBe('E_ARGUMENT');
  });
});

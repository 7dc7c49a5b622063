import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { base58 } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { x25519FromEd25519Public, x25519FromEd25519Seed } from '../../src/crypto/x25519.ts';
import { didKeyFromEd25519, ed25519FromDidKey } from '../../src/encoding/did-key.ts';
import { outcome } from '../crypto/expect-code.ts';
import vectors from '../vectors/did-key-ed25519.json';

describe('did:key (Ed25519)', () => {
  for (const v of vectors.vectors) {
    it(`matches the did:key specification's vector ${v.did}`, () => {
      const publicKey = ed25519PublicKey(hexToBytes(v.seed));
      expect(bytesToHex(publicKey)).toBe(bytesToHex(base58.decode(v.publicKeyBase58)));
      expect(didKeyFromEd25519(publicKey)).toBe(v.did);
      expect(ed25519FromDidKey(v.did)).toEqual(publicKey);
    });

    it(`derives the vector's X25519 key agreement pair for ${v.did}`, () => {
      const publicKey = ed25519FromDidKey(v.did);
      expect(x25519FromEd25519Public(publicKey)).toEqual(base58.decode(v.x25519PublicKeyBase58));
      expect(x25519FromEd25519Seed(hexToBytes(v.seed))).toEqual(base58.decode(v.x25519PrivateKeyBase58));
    });
  }

  it('refuses anything that is not an Ed25519 did:key (E_DECODE)', () => {
    const valid = vectors.vectors[0]!.did;
    const x25519Did = `did:key:z${base58.encode(Uint8Array.of(0xec, 0x01, ...base58.decode(vectors.vectors[0]!.x25519PublicKeyBase58)))}`;
    const pk = ed25519FromDidKey(valid);
    const identity = Uint8Array.of(1, ...new Uint8Array(31));
    const bad = [
      '',
      'did:web:example.com',
      valid.replace('did:key:z', 'did:key:m'),
      valid.replace('did:key:', 'did:KEY:'),
      `${valid}#${valid.slice(8)}`,
      `${valid}0`,
      `${valid.slice(0, -1)}l`,
      x25519Did,
      `did:key:z${base58.encode(Uint8Array.of(0xed, 0x01, ...pk.subarray(1)))}`,
      `did:key:z${base58.encode(Uint8Array.of(0xed, 0x01, ...pk, 0))}`,
      `did:key:z${base58.encode(Uint8Array.of(0xed, 0x01, ...identity))}`,
      `did:key:z${'1'.repeat(10_000)}`,
    ];
    for (const did of bad) expect(outcome(() => ed25519FromDidKey(did))).toBe('E_DECODE');
    expect(outcome(() => ed25519FromDidKey(42 as unknown as string))).toBe('E_DECODE');
  });
});

import { x25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import {
  openSealed,
  SEALED_BOX_OVERHEAD,
  seal,
  x25519FromEd25519Public,
  x25519FromEd25519Seed,
} from '../../src/crypto/sealed-box.ts';
import { outcome } from './expect-code.ts';

const recipientSeed = new Uint8Array(32).fill(1);
const recipientPublic = x25519FromEd25519Public(ed25519PublicKey(recipientSeed));
const recipientSecret = x25519FromEd25519Seed(recipientSeed);
const plaintext = new TextEncoder().encode('a capability for Bob');

describe('sealed boxes', () => {
  it('opens what was sealed to the X25519 form of an Ed25519 key, with the key from the same seed', () => {
    const box = seal(recipientPublic, plaintext);
    expect(box.length).toBe(plaintext.length + SEALED_BOX_OVERHEAD);
    expect(box[0]).toBe(1);
    expect(openSealed(recipientSecret, box)).toEqual(plaintext);
    expect(openSealed(recipientSecret, seal(recipientPublic, new Uint8Array(0)))).toEqual(new Uint8Array(0));
  });

  it('uses a fresh ephemeral key for every box', () => {
    const a = seal(recipientPublic, plaintext);
    const b = seal(recipientPublic, plaintext);
    expect(a.subarray(1, 33)).not.toEqual(b.subarray(1, 33));
    expect(a).not.toEqual(b);
  });

  it('fails with E_BAD_MAC when any byte after the version is altered, E_DECODE for the version byte', () => {
    const box = seal(recipientPublic, plaintext);
    for (let i = 0; i < box.length; i++) {
      const altered = box.slice();
      altered[i]! ^= 0x01;
      expect(outcome(() => openSealed(recipientSecret, altered))).toBe(i === 0 ? 'E_DECODE' : 'E_BAD_MAC');
    }
  });

  it('fails with E_BAD_MAC for another recipient', () => {
    const otherSecret = x25519FromEd25519Seed(new Uint8Array(32).fill(2));
    expect(outcome(() => openSealed(otherSecret, seal(recipientPublic, plaintext)))).toBe('E_BAD_MAC');
  });

  it('fails with E_DECODE for a truncated box or an unknown version', () => {
    const box = seal(recipientPublic, plaintext);
    expect(outcome(() => openSealed(recipientSecret, box.subarray(0, SEALED_BOX_OVERHEAD - 1)))).toBe(
      'E_DECODE',
    );
    const v2 = box.slice();
    v2[0] = 2;
    expect(outcome(() => openSealed(recipientSecret, v2))).toBe('E_DECODE');
  });

  it('refuses low-order keys: to seal to (E_ARGUMENT) and as the ephemeral key of a box (E_DECODE)', () => {
    const zero = new Uint8Array(32);
    const one = Uint8Array.of(1, ...new Uint8Array(31));
    for (const lowOrder of [zero, one]) {
      expect(outcome(() => seal(lowOrder, plaintext))).toBe('E_ARGUMENT');
      const forged = new Uint8Array(SEALED_BOX_OVERHEAD + 4);
      forged[0] = 1;
      forged.set(lowOrder, 1);
      expect(outcome(() => openSealed(recipientSecret, forged))).toBe('E_DECODE');
    }
  });

  it('derives the X25519 public key that X25519 itself computes from the derived secret', () => {
    expect(x25519.getPublicKey(recipientSecret)).toEqual(recipientPublic);
  });

  it('fails on random boxes only with E_DECODE or E_BAD_MAC', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.boolean(), (bytes, versioned) => {
        if (versioned && bytes.length > 0) bytes[0] = 1;
        expect(['E_DECODE', 'E_BAD_MAC']).toContain(outcome(() => openSealed(recipientSecret, bytes)));
      }),
      { numRuns: 500 },
    );
  });
});

import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes } from '@noble/hashes/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  defaultEd25519,
  type Ed25519,
  ed25519PublicKey,
  isStrictEd25519PublicKey,
  nobleEd25519,
  webCryptoEd25519,
} from '../../src/crypto/ed25519.ts';
import { nodeEd25519, rememberingVerifier } from '../../src/node/ed25519.ts';
import rfc8032 from '../vectors/rfc8032-ed25519.json';
import { outcomeAsync } from './expect-code.ts';

const { Point } = ed25519;
const L = Point.Fn.ORDER;
const P = Point.Fp.ORDER;

const webcrypto = await webCryptoEd25519();
// The remembering wrapper is in the list too: once it has seen a signature, it must still answer alike.
const providers: Ed25519[] = [
  nobleEd25519,
  nodeEd25519,
  rememberingVerifier(nodeEd25519),
  ...(webcrypto === undefined ? [] : [webcrypto]),
];

/** The answer of every provider; the tests require them all to be equal. */
async function answers(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<boolean[]> {
  return Promise.all(providers.map((p) => p.verify(publicKey, message, signature)));
}

const rScalar = (seed: Uint8Array) => ed25519.utils.getExtendedPublicKey(seed).scalar;
const challenge = (r: Uint8Array, a: Uint8Array, m: Uint8Array) =>
  Point.Fn.create(bytesToNumberLE(sha512(concatBytes(r, a, m))));
const encodeScalar = (s: bigint) => numberToBytesLE(s, 32);

describe('Ed25519 providers', () => {
  it('finds WebCrypto Ed25519 in Node 20 and prefers it', async () => {
    expect(webcrypto?.name).toBe('webcrypto');
    expect((await defaultEd25519()).name).toBe('webcrypto');
  });

  for (const v of rfc8032.vectors) {
    it(`reproduces RFC 8032 §7.1 ${v.name} in every provider`, async () => {
      const seed = hexToBytes(v.secretKey);
      const message = hexToBytes(v.message);
      expect(bytesToHex(ed25519PublicKey(seed))).toBe(v.publicKey);
      for (const provider of providers) {
        expect(bytesToHex(await provider.sign(seed, message))).toBe(v.signature);
      }
      expect(await answers(hexToBytes(v.publicKey), message, hexToBytes(v.signature))).toEqual(
        providers.map(() => true),
      );
    });
  }

  it('remembers valid signatures only, and forgets the oldest past its limit', async () => {
    let asked = 0;
    const counting: Ed25519 = {
      ...nodeEd25519,
      verify(...a) {
        asked++;
        return nodeEd25519.verify(...a);
      },
    };
    const ed = rememberingVerifier(counting, 2);
    const [a, b, c] = rfc8032.vectors.slice(0, 3).map((v) => ({
      key: hexToBytes(v.publicKey),
      message: hexToBytes(v.message),
      signature: hexToBytes(v.signature),
    }));
    const check = (x: typeof a) => ed.verify(x!.key, x!.message, x!.signature);
    expect([await check(a), await check(a)]).toEqual([true, true]);
    expect(asked).toBe(1);
    const forged = new Uint8Array(a!.signature);
    forged[0]! ^= 1;
    expect(await ed.verify(a!.key, a!.message, forged)).toBe(false);
    expect(await ed.verify(a!.key, a!.message, forged)).toBe(false);
    expect(asked).toBe(3);
    // Another message under the same key and signature is a new question.
    expect(await ed.verify(a!.key, new Uint8Array([1]), a!.signature)).toBe(false);
    expect(asked).toBe(4);
    await check(b);
    await check(c); // a is forgotten now
    asked = 0;
    expect([await check(c), await check(b), await check(a)]).toEqual([true, true, true]);
    expect(asked).toBe(1);
  });

  it('derives the public key again when a seed array is overwritten in place (the memo misses)', () => {
    const [first, second] = rfc8032.vectors;
    const seed = hexToBytes(first!.secretKey);
    const key = ed25519PublicKey(seed);
    expect(bytesToHex(key)).toBe(first!.publicKey);
    key.fill(0); // the caller's copy, not the memo's
    expect(bytesToHex(ed25519PublicKey(seed))).toBe(first!.publicKey);
    seed.set(hexToBytes(second!.secretKey));
    expect(bytesToHex(ed25519PublicKey(seed))).toBe(second!.publicKey);
  });

  it('rejects an RFC 8032 signature over a message with one bit flipped, in every provider', async () => {
    const v = rfc8032.vectors[2]!;
    const message = hexToBytes(v.message);
    message[0]! ^= 1;
    expect(await answers(hexToBytes(v.publicKey), message, hexToBytes(v.signature))).toEqual(
      providers.map(() => false),
    );
  });

  it('signs alike and verifies alike on random keys and messages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(64 * 8 - 1),
        async (seed, message, bit) => {
          const publicKey = ed25519PublicKey(seed);
          const signatures = await Promise.all(providers.map((p) => p.sign(seed, message)));
          for (const s of signatures) expect(bytesToHex(s)).toBe(bytesToHex(signatures[0]!));
          expect(await answers(publicKey, message, signatures[0]!)).toEqual(providers.map(() => true));
          const altered = signatures[0]!.slice();
          altered[bit >> 3]! ^= 1 << (bit & 7);
          expect(await answers(publicKey, message, altered)).toEqual(providers.map(() => false));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('answers random public keys and signatures alike, without throwing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        async (publicKey, message, signature) => {
          const [first, ...rest] = await answers(publicKey, message, signature);
          for (const r of rest) expect(r).toBe(first);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('returns false for wrong lengths and non-byte inputs instead of throwing', async () => {
    const v = rfc8032.vectors[0]!;
    const pk = hexToBytes(v.publicKey);
    const sig = hexToBytes(v.signature);
    const empty = new Uint8Array(0);
    const cases: [unknown, unknown, unknown][] = [
      [pk.subarray(1), empty, sig],
      [concatBytes(pk, Uint8Array.of(0)), empty, sig],
      [pk, empty, sig.subarray(1)],
      [pk, empty, concatBytes(sig, Uint8Array.of(0))],
      [v.publicKey, empty, sig],
      [pk, 'message', sig],
      [pk, empty, null],
    ];
    for (const provider of providers) {
      for (const [a, m, s] of cases) {
        expect(await provider.verify(a as Uint8Array, m as Uint8Array, s as Uint8Array)).toBe(false);
      }
    }
  });

  it('refuses to sign with a private key that is not 32 bytes (E_ARGUMENT)', async () => {
    for (const provider of providers) {
      expect(await outcomeAsync(() => provider.sign(new Uint8Array(31), new Uint8Array(0)))).toBe(
        'E_ARGUMENT',
      );
    }
  });
});

describe('strict verification: cases a lax verifier accepts, rejected by every provider', () => {
  const seed = hexToBytes(rfc8032.vectors[1]!.secretKey);
  const publicKey = ed25519PublicKey(seed);
  const message = new TextEncoder().encode('strictness');

  it('rejects a non-canonical S (S + L), which is the same signature malleated', async () => {
    const signature = await nobleEd25519.sign(seed, message);
    const s = bytesToNumberLE(signature.subarray(32));
    const malleated = concatBytes(signature.subarray(0, 32), encodeScalar(s + L));
    // [L]B is the identity, so S + L satisfies the verification equation: only the range check refuses it.
    expect(
      Point.BASE.multiplyUnsafe(L - 1n)
        .add(Point.BASE)
        .is0(),
    ).toBe(true);
    expect(await answers(publicKey, message, malleated)).toEqual(providers.map(() => false));
    const exactlyL = concatBytes(signature.subarray(0, 32), encodeScalar(L));
    expect(await answers(publicKey, message, exactlyL)).toEqual(providers.map(() => false));
  });

  /** The small-order points, also with the sign bit flipped and with y + p where that fits. */
  const smallOrderEncodings = (() => {
    const out: Uint8Array[] = [];
    for (const hex of ED25519_TORSION_SUBGROUP) {
      const e = hexToBytes(hex);
      out.push(e);
      const flipped = e.slice();
      flipped[31]! ^= 0x80;
      out.push(flipped);
      const y = bytesToNumberLE(e) & ((1n << 255n) - 1n);
      if (y + P < 1n << 255n) {
        const nonCanonical = encodeScalar(y + P);
        out.push(nonCanonical);
        const nonCanonicalFlipped = nonCanonical.slice();
        nonCanonicalFlipped[31]! |= 0x80;
        out.push(nonCanonicalFlipped);
      }
    }
    return out;
  })();

  it('rejects every small-order public key with the trivial forgery (R = A, S = 0)', async () => {
    expect(smallOrderEncodings.length).toBeGreaterThan(16);
    for (const A of smallOrderEncodings) {
      const forgery = concatBytes(A, new Uint8Array(32));
      expect(await answers(A, message, forgery)).toEqual(providers.map(() => false));
    }
    const identity = hexToBytes('0100000000000000000000000000000000000000000000000000000000000000');
    // A verifier without these checks accepts the forgery for any message:
    expect(
      ed25519.verify(concatBytes(identity, new Uint8Array(32)), message, identity, { zip215: true }),
    ).toBe(true);
  });

  it('rejects a non-canonical encoding (y >= p) that a ZIP-215 verifier accepts', async () => {
    // y = p + 1 spells the identity point non-canonically.
    const A = encodeScalar(P + 1n);
    const forgery = concatBytes(A, new Uint8Array(32));
    expect(ed25519.verify(forgery, message, A, { zip215: true })).toBe(true);
    expect(await answers(A, message, forgery)).toEqual(providers.map(() => false));
    expect(isStrictEd25519PublicKey(A)).toBe(false);
  });

  it("rejects a small-order R that noble's cofactored strict mode accepts", async () => {
    const a = rScalar(seed);
    for (const hex of ED25519_TORSION_SUBGROUP) {
      const R = hexToBytes(hex);
      const k = challenge(R, publicKey, message);
      const signature = concatBytes(R, encodeScalar(Point.Fn.create(k * a)));
      if (!Point.fromBytes(R).is0()) {
        expect(ed25519.verify(signature, message, publicKey, { zip215: false })).toBe(true);
      }
      expect(await answers(publicKey, message, signature)).toEqual(providers.map(() => false));
    }
  });

  it('answers like the cofactorless equation for a key with a torsion component, in every provider', async () => {
    const a = rScalar(seed);
    const torsion = Point.fromBytes(hexToBytes(ED25519_TORSION_SUBGROUP[1]!)); // order 8
    const mixed = Point.BASE.multiply(a).add(torsion).toBytes();
    const r = 1234567n;
    const R = Point.BASE.multiply(r).toBytes();
    let rejected = 0;
    for (let i = 0; i < 24; i++) {
      const m = Uint8Array.of(i);
      const k = challenge(R, mixed, m);
      const signature = concatBytes(R, encodeScalar(Point.Fn.create(r + k * a)));
      // The cofactored equation holds for every message; the cofactorless one only when 8 | k.
      expect(ed25519.verify(signature, m, mixed, { zip215: false })).toBe(true);
      const expected = k % 8n === 0n;
      if (!expected) rejected++;
      expect(await answers(mixed, m, signature)).toEqual(providers.map(() => expected));
    }
    expect(rejected).toBeGreaterThan(0);
  });

  it('accepts only keys that strict verification can accept, as did:key decoding requires', () => {
    expect(isStrictEd25519PublicKey(publicKey)).toBe(true);
    for (const A of smallOrderEncodings) expect(isStrictEd25519PublicKey(A)).toBe(false);
  });
});

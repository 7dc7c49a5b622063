import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blake3Hash, hashFor } from '../../src/crypto/hash.ts';
import {
  addScalars,
  BINDING_SIGNATURE_BYTES,
  balancePoint,
  bindingPublicKey,
  bindingSign,
  bindingVerify,
  commit,
  pedersenGenerators,
  proveRange,
  RANGE_PROOF_BYTES,
  type RandomSource,
  randomBlinding,
  scalarFromBytes,
  subScalars,
  verifyRange,
} from '../../src/crypto/pedersen.ts';
import { concatBytes, fromHex, toHex } from '../../src/encoding/bytes.ts';
import rfc9496 from '../vectors/ristretto255.json';
import { outcome } from './expect-code.ts';

const { Point } = ristretto255;
const L = Point.Fn.ORDER;
const MAX = 2n ** 64n - 1n;
const utf8 = (s: string) => new TextEncoder().encode(s);

/** A deterministic random source for reproducible proofs: BLAKE3 of (seed, counter). */
function seeded(seed: number): RandomSource {
  let counter = 0;
  return (n) => blake3Hash(new Uint8Array(new Uint32Array([seed, counter++]).buffer), n);
}

const add = (a: Uint8Array, b: Uint8Array) => Point.fromBytes(a).add(Point.fromBytes(b)).toBytes();
const scalar = (s: bigint) => numberToBytesLE(s, 32);

/** H, pinned as a regression vector; the generator tests also re-derive it from the documented recipe. */
const H_HEX = '480da62f1ef6e3b967811b2599ecfe65ae195c50b5d1914c6146af05e2645e7d';

describe('ristretto255 (RFC 9496 Appendix A)', () => {
  it('encodes k*G for k = 0..15 as the RFC lists, by scalar multiplication and by addition', () => {
    let sum = Point.ZERO;
    rfc9496.multiples.forEach((hex, k) => {
      expect(toHex(Point.BASE.multiplyUnsafe(BigInt(k)).toBytes())).toBe(hex);
      expect(toHex(sum.toBytes())).toBe(hex);
      expect(toHex(Point.fromBytes(fromHex(hex)).toBytes())).toBe(hex);
      sum = sum.add(Point.BASE);
    });
  });

  it('refuses every invalid encoding the RFC lists', () => {
    for (const hex of rfc9496.invalidEncodings) expect(() => Point.fromBytes(fromHex(hex))).toThrow();
  });

  it('derives elements from 64 uniform bytes as the RFC lists (the map that makes H)', () => {
    const derive = ristretto255_hasher.deriveToCurve!;
    for (const v of rfc9496.elementDerivation)
      expect(toHex(derive(fromHex(v.input)).toBytes())).toBe(v.output);
    const same = rfc9496.elementDerivationSameOutput;
    for (const input of same.inputs) expect(toHex(derive(fromHex(input)).toBytes())).toBe(same.output);
  });
});

describe('Pedersen generators', () => {
  it('uses the RFC 9496 generator as G', () => {
    expect(toHex(pedersenGenerators().g)).toBe(rfc9496.multiples[1]);
  });

  it('derives H from the registered context and G, and pins it', () => {
    const { g, h } = pedersenGenerators();
    const rederived = ristretto255_hasher.deriveToCurve!(hashFor('pedersenGenerator', g, 64));
    expect(toHex(rederived.toBytes())).toBe(H_HEX);
    expect(toHex(h)).toBe(H_HEX);
    expect(h).not.toEqual(g);
    expect(Point.fromBytes(h).is0()).toBe(false);
  });

  it('hands out copies, so a caller cannot alter the generators', () => {
    pedersenGenerators().h.fill(0);
    expect(toHex(pedersenGenerators().h)).toBe(H_HEX);
  });
});

describe('scalars', () => {
  it('accepts canonical scalars and refuses the group order and above with E_DECODE', () => {
    expect(scalarFromBytes(scalar(L - 1n))).toBe(L - 1n);
    expect(scalarFromBytes(new Uint8Array(32))).toBe(0n);
    expect(outcome(() => scalarFromBytes(scalar(L)))).toBe('E_DECODE');
    expect(outcome(() => scalarFromBytes(new Uint8Array(32).fill(0xff)))).toBe('E_DECODE');
    expect(outcome(() => scalarFromBytes(new Uint8Array(31)))).toBe('E_DECODE');
  });

  it('adds and subtracts modulo the group order', () => {
    expect(addScalars(scalar(L - 1n), scalar(2n))).toEqual(scalar(1n));
    expect(subScalars(scalar(1n), scalar(2n))).toEqual(scalar(L - 1n));
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: L - 1n }), fc.bigInt({ min: 0n, max: L - 1n }), (a, b) => {
        expect(subScalars(addScalars(scalar(a), scalar(b)), scalar(b))).toEqual(scalar(a));
      }),
    );
    expect(outcome(() => addScalars(scalar(L), scalar(1n)))).toBe('E_ARGUMENT');
  });

  it('draws blindings as canonical scalars, from the injected source when given', () => {
    expect(scalarFromBytes(randomBlinding()) < L).toBe(true);
    expect(randomBlinding()).not.toEqual(randomBlinding());
    expect(randomBlinding(seeded(1))).toEqual(randomBlinding(seeded(1)));
    expect(outcome(() => randomBlinding(() => new Uint8Array(3)))).toBe('E_ARGUMENT');
  });
});

describe('commitments', () => {
  it('are homomorphic: commit(a, r) + commit(b, s) = commit(a + b, r + s)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: MAX / 2n }),
        fc.bigInt({ min: 0n, max: MAX / 2n }),
        fc.bigInt({ min: 0n, max: L - 1n }),
        fc.bigInt({ min: 0n, max: L - 1n }),
        (a, b, r, s) => {
          const sum = commit(a + b, addScalars(scalar(r), scalar(s)));
          expect(add(commit(a, scalar(r)), commit(b, scalar(s)))).toEqual(sum);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('commits 0 with blinding 0 to the identity, and value v with blinding 0 to v*G', () => {
    expect(commit(0n, scalar(0n))).toEqual(new Uint8Array(32));
    expect(toHex(commit(3n, scalar(0n)))).toBe(rfc9496.multiples[3]);
    expect(commit(0n, scalar(1n))).toEqual(fromHex(H_HEX));
  });

  it('hides: one value under two blindings gives unrelated commitments', () => {
    expect(commit(5n, randomBlinding())).not.toEqual(commit(5n, randomBlinding()));
  });

  it('refuses values outside [0, 2^64) and malformed blindings with E_ARGUMENT', () => {
    const r = randomBlinding();
    expect(outcome(() => commit(MAX, r))).toBe('OK');
    expect(outcome(() => commit(MAX + 1n, r))).toBe('E_ARGUMENT');
    expect(outcome(() => commit(-1n, r))).toBe('E_ARGUMENT');
    expect(outcome(() => commit(1 as unknown as bigint, r))).toBe('E_ARGUMENT');
    expect(outcome(() => commit(1n, scalar(L)))).toBe('E_ARGUMENT');
    expect(outcome(() => commit(1n, new Uint8Array(31)))).toBe('E_ARGUMENT');
  });
});

describe('range proofs', () => {
  const context = utf8('turn 1');
  const value = 0x0123456789abcdefn;
  const blinding = randomBlinding(seeded(7));
  const commitment = commit(value, blinding);
  const proof = proveRange(value, blinding, context, seeded(8));

  it('have the documented fixed size and are reproducible from the random source', () => {
    expect(RANGE_PROOF_BYTES).toBe(8224);
    expect(proof.length).toBe(RANGE_PROOF_BYTES);
    expect(proveRange(value, blinding, context, seeded(8))).toEqual(proof);
    expect(proveRange(value, blinding, context, seeded(9))).not.toEqual(proof);
  });

  it('verify for 0, 1, 2^64 - 1 and a value with both bits set and clear', { timeout: 120_000 }, () => {
    expect(verifyRange(commitment, proof, context)).toBe(true);
    for (const v of [0n, 1n, MAX]) {
      const r = randomBlinding();
      expect(verifyRange(commit(v, r), proveRange(v, r, context), context)).toBe(true);
    }
  });

  it('verify for random values and blindings', { timeout: 120_000 }, () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: MAX }), fc.bigInt({ min: 0n, max: L - 1n }), (v, r) => {
        const c = commit(v, scalar(r));
        expect(verifyRange(c, proveRange(v, scalar(r), context), context)).toBe(true);
      }),
      { numRuns: 4 },
    );
  });

  it('reject the proof for another commitment, even of the same value', { timeout: 60_000 }, () => {
    expect(verifyRange(commit(value + 1n, blinding), proof, context)).toBe(false);
    expect(verifyRange(commit(value, randomBlinding()), proof, context)).toBe(false);
    expect(verifyRange(new Uint8Array(32), proof, context)).toBe(false);
    expect(verifyRange(fromHex(rfc9496.invalidEncodings[0]!), proof, context)).toBe(false);
    expect(verifyRange(commitment.subarray(1), proof, context)).toBe(false);
  });

  it('reject the proof under another context', { timeout: 60_000 }, () => {
    expect(verifyRange(commitment, proof, utf8('turn 2'))).toBe(false);
    expect(verifyRange(commitment, proof, new Uint8Array(0))).toBe(false);
    expect(verifyRange(commitment, proof, concatBytes(context, new Uint8Array(1)))).toBe(false);
  });

  it('reject proofs of the wrong length, and random bytes', () => {
    expect(verifyRange(commitment, proof.subarray(0, RANGE_PROOF_BYTES - 1), context)).toBe(false);
    expect(verifyRange(commitment, concatBytes(proof, new Uint8Array(1)), context)).toBe(false);
    expect(verifyRange(commitment, new Uint8Array(0), context)).toBe(false);
    expect(verifyRange(commitment, blake3Hash(utf8('noise'), RANGE_PROOF_BYTES), context)).toBe(false);
    expect(verifyRange(commitment, new Uint8Array(RANGE_PROOF_BYTES), context)).toBe(false);
  });

  it('reject a proof with any single byte altered', { timeout: 300_000 }, () => {
    const flipped = (at: number, mask: number) => {
      const altered = proof.slice();
      altered[at]! ^= mask;
      return altered;
    };
    // The challenge, the first and last bit commitments, and a scalar of each kind in each bit's record.
    for (const at of [0, 31, 32, 63, 64, 96, 128, 159, RANGE_PROOF_BYTES - 128, RANGE_PROOF_BYTES - 1]) {
      expect(verifyRange(commitment, flipped(at, 0x01), context)).toBe(false);
    }
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: RANGE_PROOF_BYTES - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (at, mask) => {
          expect(verifyRange(commitment, flipped(at, mask), context)).toBe(false);
        },
      ),
      { numRuns: 12 },
    );
  });

  it('reject a scalar written in a non-canonical form (s + L), though it denotes the same number', () => {
    // Bytes 32 + 96 .. 32 + 128 hold s1 of bit 0; s1 + L still fits in 32 bytes.
    const at = 32 + 96;
    const s1 = bytesToNumberLE(proof.subarray(at, at + 32));
    const altered = proof.slice();
    altered.set(scalar(s1 + L), at);
    expect(verifyRange(commitment, altered, context)).toBe(false);
  });

  it('reject a proof whose bit records come from two honest proofs of one commitment', {
    timeout: 60_000,
  }, () => {
    const other = proveRange(value, blinding, context, seeded(10));
    const mixed = proof.slice();
    mixed.set(other.subarray(32 + 5 * 128, 32 + 6 * 128), 32 + 5 * 128);
    expect(verifyRange(commitment, mixed, context)).toBe(false);
  });

  it('cannot be made for a value of 2^64 or more: proving and committing refuse it', () => {
    const r = randomBlinding();
    expect(outcome(() => proveRange(MAX + 1n, r, context))).toBe('E_ARGUMENT');
    expect(outcome(() => proveRange(-1n, r, context))).toBe('E_ARGUMENT');
    expect(outcome(() => commit(2n ** 64n, r))).toBe('E_ARGUMENT');
  });

  it('refuse arguments of the wrong type with E_ARGUMENT', () => {
    const r = randomBlinding();
    expect(outcome(() => proveRange(1n, r, 'ctx' as unknown as Uint8Array))).toBe('E_ARGUMENT');
    expect(outcome(() => proveRange(1n, r, context, () => new Uint8Array(1)))).toBe('E_ARGUMENT');
    expect(outcome(() => verifyRange(commitment, [] as unknown as Uint8Array, context))).toBe('E_ARGUMENT');
  });
});

describe('binding signatures', () => {
  const message = utf8('turn signing digest');
  /** Notes as a wallet holds them: value and blinding, committed. */
  const note = (v: bigint) => {
    const blinding = randomBlinding();
    return { v, blinding, commitment: commit(v, blinding) };
  };
  type Note = ReturnType<typeof note>;
  const excessOf = (ins: Note[], outs: Note[]) => {
    let excess: Uint8Array = scalar(0n);
    for (const n of ins) excess = addScalars(excess, n.blinding);
    for (const n of outs) excess = subScalars(excess, n.blinding);
    return excess;
  };
  const commitments = (notes: Note[]) => notes.map((n) => n.commitment);

  it('verify when the notes balance, under the balance point the verifier computes', () => {
    const ins = [note(70n), note(30n)];
    const outs = [note(60n), note(25n), note(15n)];
    const excess = excessOf(ins, outs);
    const key = balancePoint(commitments(ins), commitments(outs), 0n, 0n);
    expect(key).toEqual(bindingPublicKey(excess));
    const signature = bindingSign(excess, message);
    expect(signature.length).toBe(BINDING_SIGNATURE_BYTES);
    expect(bindingVerify(key, message, signature)).toBe(true);
  });

  it('verify for random balanced turns', () => {
    fc.assert(
      fc.property(
        fc.array(fc.bigInt({ min: 0n, max: 2n ** 60n }), { minLength: 1, maxLength: 4 }),
        (values) => {
          // The inputs' total, split into two outputs.
          const total = values.reduce((a, b) => a + b, 0n);
          const ins = values.map(note);
          const outs = [note(total / 3n), note(total - total / 3n)];
          const excess = excessOf(ins, outs);
          const key = balancePoint(commitments(ins), commitments(outs), 0n, 0n);
          expect(bindingVerify(key, message, bindingSign(excess, message))).toBe(true);
        },
      ),
      { numRuns: 10 },
    );
  });

  it('fail when an output is worth one more than the inputs', () => {
    const ins = [note(100n)];
    const outs = [note(101n)];
    const excess = excessOf(ins, outs);
    const key = balancePoint(commitments(ins), commitments(outs), 0n, 0n);
    expect(key).not.toEqual(bindingPublicKey(excess));
    expect(bindingVerify(key, message, bindingSign(excess, message))).toBe(false);
  });

  it('account for public value: a deposit adds to the notes, a withdrawal takes from them', () => {
    const deposit = [note(10n)];
    const depositKey = balancePoint([], commitments(deposit), 10n, 0n);
    expect(bindingVerify(depositKey, message, bindingSign(excessOf([], deposit), message))).toBe(true);
    const spent = [note(50n)];
    const change = [note(20n)];
    const excess2 = excessOf(spent, change);
    const key = balancePoint(commitments(spent), commitments(change), 0n, 30n);
    expect(bindingVerify(key, message, bindingSign(excess2, message))).toBe(true);
    // The same turn claiming to pay out one unit more than it spends does not balance.
    const greedy = balancePoint(commitments(spent), commitments(change), 0n, 31n);
    expect(bindingVerify(greedy, message, bindingSign(excess2, message))).toBe(false);
  });

  it('fail when a turn mints a note and also pays the same value out publicly', () => {
    // No inputs, one new note of 10, and 10 paid out: 20 units from nothing.
    const minted = [note(10n)];
    const excess = excessOf([], minted);
    const key = balancePoint([], commitments(minted), 0n, 10n);
    expect(bindingVerify(key, message, bindingSign(excess, message))).toBe(false);
  });

  it('fail for another message, another key, or any altered byte', () => {
    const excess = randomBlinding();
    const key = bindingPublicKey(excess);
    const signature = bindingSign(excess, message);
    expect(bindingVerify(key, message, signature)).toBe(true);
    expect(bindingVerify(key, utf8('another turn'), signature)).toBe(false);
    expect(bindingVerify(bindingPublicKey(randomBlinding()), message, signature)).toBe(false);
    for (let i = 0; i < signature.length; i++) {
      const altered = signature.slice();
      altered[i]! ^= 0x01;
      expect(bindingVerify(key, message, altered)).toBe(false);
    }
    const s = bytesToNumberLE(signature.subarray(32));
    expect(bindingVerify(key, message, concatBytes(signature.subarray(0, 32), scalar(s + L)))).toBe(false);
  });

  it('answer false for malformed keys and signatures of any length, and are reproducible', () => {
    const excess = randomBlinding();
    const key = bindingPublicKey(excess);
    const signature = bindingSign(excess, message, seeded(3));
    expect(bindingSign(excess, message, seeded(3))).toEqual(signature);
    expect(bindingVerify(key, message, signature.subarray(0, 63))).toBe(false);
    expect(bindingVerify(key, message, new Uint8Array(0))).toBe(false);
    expect(bindingVerify(fromHex(rfc9496.invalidEncodings[4]!), message, signature)).toBe(false);
    expect(bindingVerify(key.subarray(1), message, signature)).toBe(false);
    expect(outcome(() => bindingVerify(key, message, 'sig' as unknown as Uint8Array))).toBe('E_ARGUMENT');
  });

  it('balance with no notes and no public value to the identity, and refuse bad arguments', () => {
    expect(balancePoint([], [], 0n, 0n)).toEqual(new Uint8Array(32));
    const c = commit(1n, randomBlinding());
    expect(outcome(() => balancePoint([fromHex(rfc9496.invalidEncodings[0]!)], [], 0n, 0n))).toBe('E_DECODE');
    expect(outcome(() => balancePoint([c], [], -1n, 0n))).toBe('E_ARGUMENT');
    expect(outcome(() => balancePoint([c], [], 0n, 2n ** 64n))).toBe('E_ARGUMENT');
    expect(outcome(() => bindingSign(scalar(L), message))).toBe('E_ARGUMENT');
  });
});

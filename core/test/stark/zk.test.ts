import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import type { Air } from '../../src/stark/air.ts';
import { add, mul, P } from '../../src/stark/field.ts';
import { STARK_PARAMS, zkBlindingRows } from '../../src/stark/params.ts';
import { decodeProof, encodeProof, type StarkProof } from '../../src/stark/proof.ts';
import { prove, proveUnchecked } from '../../src/stark/prover.ts';
import type { RandomElements } from '../../src/stark/random.ts';
import { verify } from '../../src/stark/verifier.ts';

function rejects(f: () => void, code?: 'E_INVALID' | 'E_DECODE', message?: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isDreggError(caught), `expected a DreggError, got ${String(caught)}`).toBe(true);
  if (code !== undefined) expect(isDreggError(caught, code), String(caught)).toBe(true);
  if (message !== undefined) expect((caught as Error).message).toMatch(message);
}

/** A seeded source of uniform field elements (splitmix32, rejection of 31-bit draws >= p). */
function seeded(seed: number): RandomElements {
  let s = seed | 0;
  return (count) => {
    const out = new Uint32Array(count);
    for (let i = 0; i < count; ) {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      z = (z ^ (z >>> 16)) >>> 1;
      if (z < P) out[i++] = z;
    }
    return out;
  };
}

/**
 * A small zero-knowledge AIR: a secret x_0 cubed forward, x' = x^3 + 1, on rows 0..K-1 (where the
 * selector is 1), the last value public; rows from K on hold randomness no constraint reaches. The
 * selector column is fixed by the constraints (boolean, never rising, pinned around its edge).
 */
const LOG_N = 7;
const K = 16;
const SEL = 0;
const X = 1;
function secretChainAir(zk = true): Air {
  return {
    id: `test/secret-cube-chain/v1/${zk ? 'zk' : 'plain'}`,
    width: 2,
    logTraceLength: LOG_N,
    constraintDegree: 4,
    numTransitionConstraints: 3,
    numPublicInputs: 1,
    zk,
    evaluateTransition(ops, cur, next, out) {
      const s = cur[SEL]!;
      const one = ops.constant(1);
      const x = cur[X]!;
      out[0] = ops.mul(s, ops.sub(next[X]!, ops.add(ops.mul(ops.mul(x, x), x), one)));
      out[1] = ops.mul(s, ops.sub(one, s));
      out[2] = ops.mul(next[SEL]!, ops.sub(one, s));
    },
    boundaries: ([output]) => [
      { column: SEL, row: K - 2, value: 1 },
      { column: SEL, row: K - 1, value: 0 },
      { column: X, row: K - 1, value: output! },
    ],
  };
}

function secretChainTrace(
  x0: number,
  random: RandomElements,
): { trace: Uint32Array[]; publicInputs: number[] } {
  const n = 2 ** LOG_N;
  const sel = new Uint32Array(n).fill(1, 0, K - 1);
  const x = new Uint32Array(n);
  x[0] = x0;
  for (let i = 1; i < K; i++) x[i] = add(mul(mul(x[i - 1]!, x[i - 1]!), x[i - 1]!), 1);
  x.set(random(n - K), K);
  return { trace: [sel, x], publicInputs: [x[K - 1]!] };
}

/** A proof with the trace's blinding from one seed and the prover's masks from another. */
async function proveSecret(
  x0: number,
  seed: number,
  zk = true,
  maskSeed = seed + 0x5eed,
  params = STARK_PARAMS,
): Promise<{ proof: Uint8Array; inputs: number[] }> {
  const { trace, publicInputs } = secretChainTrace(x0, seeded(seed));
  const proof = await prove(secretChainAir(zk), trace, publicInputs, { random: seeded(maskSeed), params });
  return { proof, inputs: publicInputs };
}

const air = secretChainAir();
let honest: { proof: Uint8Array; inputs: number[] };

beforeAll(async () => {
  expect(2 ** LOG_N - K).toBeGreaterThanOrEqual(zkBlindingRows(STARK_PARAMS));
  honest = await proveSecret(5, 1);
});

describe('zero-knowledge STARK proofs', () => {
  it('verify, carry version 2, and round-trip through the decoder', () => {
    expect(() => verify(air, honest.inputs, honest.proof)).not.toThrow();
    expect(honest.proof[0]).toBe(2);
    const decoded = decodeProof(honest.proof);
    expect(decoded.zk).toBe(true);
    expect(encodeProof(decoded)).toEqual(honest.proof);
  });

  it('are the same bytes for the same randomness and differ for other randomness', async () => {
    expect((await proveSecret(5, 1)).proof).toEqual(honest.proof);
    const other = await proveSecret(5, 2);
    expect(other.proof).not.toEqual(honest.proof);
    expect(() => verify(air, other.inputs, other.proof)).not.toThrow();
  });

  it('rejects the proof with any single byte flipped, wherever it is', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: honest.proof.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (pos, x) => {
          const bad = honest.proof.slice();
          bad[pos]! ^= x;
          rejects(() => verify(air, honest.inputs, bad));
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });

  it('rejects a flipped low byte in every word of the proof', () => {
    for (let pos = 0; pos < honest.proof.length; pos += 4) {
      const bad = honest.proof.slice();
      bad[pos]! ^= 1;
      rejects(() => verify(air, honest.inputs, bad));
    }
  });

  it('rejects a changed FRI mask value, and a mask column dropped from the openings', () => {
    const proof = decodeProof(honest.proof);
    const width = proof.quotient.values.length / proofQueries(proof);
    const values = proof.quotient.values.slice();
    values[width - 1] = add(values[width - 1]!, 1);
    const changed = encodeProof({ ...proof, quotient: { ...proof.quotient, values } });
    rejects(() => verify(air, honest.inputs, changed), 'E_INVALID', /quotient Merkle opening/);
    const rows = proofQueries(proof);
    const narrow = new Uint32Array(rows * (width - 4));
    for (let r = 0; r < rows; r++)
      narrow.set(proof.quotient.values.subarray(r * width, r * width + width - 4), r * (width - 4));
    const dropped = encodeProof({ ...proof, quotient: { ...proof.quotient, values: narrow } });
    rejects(() => verify(air, honest.inputs, dropped), 'E_INVALID', /quotient opening count/);
  });

  it('the verifier reads the zero-knowledge flag from the AIR, not from the proof', async () => {
    const asPlain = honest.proof.slice();
    asPlain[0] = 1;
    rejects(() => verify(air, honest.inputs, asPlain), 'E_INVALID', /zero-knowledge/);
    const plain = await proveSecret(5, 1, false);
    expect(() => verify(secretChainAir(false), plain.inputs, plain.proof)).not.toThrow();
    const plainAsZk = plain.proof.slice();
    plainAsZk[0] = 2;
    rejects(() => verify(air, plain.inputs, plainAsZk), 'E_INVALID');
    rejects(() => verify(air, plain.inputs, plain.proof), 'E_INVALID', /zero-knowledge/);
  });

  it('the decoder rejects malformed zero-knowledge proofs with typed errors', () => {
    rejects(() => verify(air, honest.inputs, honest.proof.subarray(0, honest.proof.length - 1)), 'E_DECODE');
    rejects(() => verify(air, honest.inputs, new Uint8Array([...honest.proof, 0])), 'E_DECODE');
    rejects(() => verify(air, honest.inputs, honest.proof.subarray(0, 1)), 'E_DECODE');
    const proof = decodeProof(honest.proof);
    const finalPoly = proof.finalPoly.slice();
    finalPoly[0] = P;
    rejects(
      () => verify(air, honest.inputs, encodeProof({ ...proof, finalPoly })),
      'E_DECODE',
      /non-canonical/,
    );
  });

  it('a wrong public input and a trace breaking a constraint are rejected', async () => {
    rejects(() => verify(air, [add(honest.inputs[0]!, 1)], honest.proof), 'E_INVALID');
    const random = seeded(3);
    const { trace, publicInputs } = secretChainTrace(5, random);
    trace[X]![7] = add(trace[X]![7]!, 1);
    await expect(prove(air, trace, publicInputs, { random })).rejects.toThrow(
      /transition constraint 0 at row 6/,
    );
    const forged = await proveUnchecked(air, trace, publicInputs, { random });
    rejects(() => verify(air, publicInputs, forged), 'E_INVALID', /AIR constraints/);
  });

  it('refuses a zero-knowledge proof of a trace too short to mask', async () => {
    const short: Air = { ...air, logTraceLength: 6 };
    await expect(proveUnchecked(short, [new Uint32Array(64), new Uint32Array(64)], [0])).rejects.toThrow(
      /at least 66 rows/,
    );
  });
});

/** The number of opened rows (distinct queries) of a decoded proof. */
function proofQueries(proof: StarkProof): number {
  return proof.trace.values.length / 2;
}

/** The quotient and FRI values a proof reveals: quotient at z, quotient rows, FRI layers, final polynomial. */
function revealed(bytes: Uint8Array): Uint32Array[] {
  const p = decodeProof(bytes);
  return [p.quotientAtZ, p.quotient.values, ...p.fri.map((o) => o.values), p.finalPoly];
}

const BINS = 16;
function lowBits(samples: readonly Uint32Array[]): number[] {
  const counts = new Array<number>(BINS).fill(0);
  for (const v of samples) for (const x of v) counts[x & (BINS - 1)]!++;
  return counts;
}

/** Pearson's statistic of counts against the uniform distribution. */
function chiSquareUniform(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const e = total / counts.length;
  return counts.reduce((s, c) => s + (c - e) ** 2 / e, 0);
}

/** Pearson's statistic of homogeneity between two count vectors. */
function chiSquareTwoSample(a: readonly number[], b: readonly number[]): number {
  const na = a.reduce((s, x) => s + x, 0);
  const nb = b.reduce((s, x) => s + x, 0);
  let stat = 0;
  a.forEach((ai, i) => {
    const col = ai + b[i]!;
    const ea = (col * na) / (na + nb);
    const eb = (col * nb) / (na + nb);
    stat += (ai - ea) ** 2 / ea + (b[i]! - eb) ** 2 / eb;
  });
  return stat;
}

/** chi^2 with 15 degrees of freedom: P(X > 37.70) = 0.001. */
const CRITICAL_15 = 37.7;

describe('zero knowledge: a coarse statistical check of what proofs reveal', () => {
  const PROOFS = 25;
  // No grinding: the proof-of-work changes no revealed value's distribution, and it is most of the time.
  const fast = { ...STARK_PARAMS, powBits: 0 };

  it('quotient and FRI values vary across proofs of one witness and look alike for two witnesses', async () => {
    // Two secrets with the same public shape; seeds fixed so the test is deterministic.
    const byWitness = await Promise.all(
      [5, 7].map(async (x0, w) => {
        const proofs: Uint8Array[] = [];
        for (let i = 0; i < PROOFS; i++)
          proofs.push((await proveSecret(x0, 1000 * (w + 1) + i, true, 7 * i + w, fast)).proof);
        return proofs;
      }),
    );
    for (const proofs of byWitness) {
      const views = proofs.map(revealed);
      // Not constant: the final polynomial and the quotient openings at z differ in every pair of runs.
      for (const part of [0, views[0]!.length - 1]) {
        const distinct = new Set(views.map((v) => v[part]!.join(',')));
        expect(distinct.size).toBe(PROOFS);
      }
      // Low bits uniform over all revealed quotient and FRI values.
      expect(chiSquareUniform(lowBits(views.flat()))).toBeLessThan(CRITICAL_15);
      // And in the final polynomial alone (8 coefficients x 4 coordinates per proof).
      expect(chiSquareUniform(lowBits(views.map((v) => v.at(-1)!)))).toBeLessThan(CRITICAL_15);
    }
    const [a, b] = byWitness.map((proofs) => lowBits(proofs.flatMap(revealed)));
    expect(chiSquareTwoSample(a!, b!)).toBeLessThan(CRITICAL_15);
  });

  it('the check can fail: without the masks a trace fixes what is revealed; with them it does not', async () => {
    // One trace (the same blinding seed). Without the zero-knowledge masks the proof is a function of
    // the trace, so the revealed values repeat exactly, which the check above would flag; with them,
    // other mask randomness alone changes the final polynomial and the quotient openings at z.
    const plain = await Promise.all([1, 2].map((m) => proveSecret(5, 42, false, m)));
    expect(plain[0]!.proof).toEqual(plain[1]!.proof);
    const masked = await Promise.all([1, 2].map((m) => proveSecret(5, 42, true, m)));
    const [a, b] = masked.map((p) => revealed(p.proof));
    expect(a!.at(-1)).not.toEqual(b!.at(-1));
    expect(a![0]).not.toEqual(b![0]);
  });
});

import { describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import { type Ext, readExt } from '../../src/stark/ext.ts';
import { GENERATOR, P } from '../../src/stark/field.ts';
import { friCommit, friOpen, friReplayCommit, friVerifyQueries, uniqueSorted } from '../../src/stark/fri.ts';
import { tsKernels } from '../../src/stark/kernels.ts';
import { evaluateOnCoset } from '../../src/stark/ntt.ts';
import { STARK_PARAMS } from '../../src/stark/params.ts';
import { Transcript } from '../../src/stark/transcript.ts';

const LOG_SIZE = 9;
const LOG_DEGREE = 6;

/** A deterministic pseudo-random field element stream (xorshift), so failures reproduce. */
function stream(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % P;
  };
}

/** Bit-reversed evaluations on g<w> of an extension polynomial with `degree` random coefficients. */
function codewordOfDegree(degree: number, seed: number): Uint32Array {
  const next = stream(seed);
  const size = 2 ** LOG_SIZE;
  const out = new Uint32Array(4 * size);
  for (let c = 0; c < 4; c++) {
    const coeffs = new Uint32Array(degree);
    for (let i = 0; i < degree; i++) coeffs[i] = next();
    const evals = evaluateOnCoset(coeffs, size, GENERATOR);
    for (let i = 0; i < size; i++) out[4 * i + c] = evals[i]!;
  }
  return out;
}

async function runFri(codeword: Uint32Array): Promise<void> {
  const tx = new Transcript('fri test');
  const commitment = await friCommit(tx, codeword, LOG_SIZE, LOG_DEGREE, STARK_PARAMS, tsKernels, () => {});
  const queries = uniqueSorted(tx.challengeIndices(STARK_PARAMS.numQueries, LOG_SIZE));
  const openings = friOpen(commitment, queries);

  const vtx = new Transcript('fri test');
  const zetas = friReplayCommit(vtx, commitment.caps, commitment.finalPoly);
  const vQueries = uniqueSorted(vtx.challengeIndices(STARK_PARAMS.numQueries, LOG_SIZE));
  const initial = new Map<number, Ext>(vQueries.map((q) => [q, readExt(codeword, q)]));
  friVerifyQueries(initial, zetas, commitment.caps, openings, commitment.finalPoly, LOG_SIZE, STARK_PARAMS);
}

async function friRejects(codeword: Uint32Array): Promise<void> {
  let caught: unknown;
  try {
    await runFri(codeword);
  } catch (e) {
    caught = e;
  }
  expect(isDreggError(caught, 'E_INVALID')).toBe(true);
}

describe('FRI (arity 8)', () => {
  it('accepts codewords of degree below the bound', async () => {
    for (const seed of [1, 2, 3]) await runFri(codewordOfDegree(2 ** LOG_DEGREE, seed));
    await runFri(codewordOfDegree(1, 9));
  });

  it('rejects a codeword of degree exactly one above the bound', async () => {
    await friRejects(codewordOfDegree(2 ** LOG_DEGREE + 1, 4));
  });

  it('rejects codewords of full degree (random words)', async () => {
    for (const seed of [5, 6, 7]) {
      const next = stream(seed);
      await friRejects(Uint32Array.from({ length: 4 * 2 ** LOG_SIZE }, () => next()));
    }
  });

  it('rejects a low-degree codeword with the first value of every coset corrupted', async () => {
    const codeword = codewordOfDegree(2 ** LOG_DEGREE, 8);
    // Corrupt the first element of every coset, so every query's layer-0 coset is inconsistent.
    for (let m = 0; m < 2 ** (LOG_SIZE - 3); m++) codeword[32 * m]! = (codeword[32 * m]! + 1) % P;
    await friRejects(codeword);
  });
});

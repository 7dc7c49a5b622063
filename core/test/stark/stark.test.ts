import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import type { Air } from '../../src/stark/air.ts';
import { cubeChainAir, cubeChainTrace } from '../../src/stark/airs/cube-chain.ts';
import { fibonacciAir, fibonacciTrace } from '../../src/stark/airs/fibonacci.ts';
import { add, mul } from '../../src/stark/field.ts';
import { STARK_PARAMS } from '../../src/stark/params.ts';
import { decodeProof, encodeProof } from '../../src/stark/proof.ts';
import { prove, proveUnchecked } from '../../src/stark/prover.ts';
import { verify } from '../../src/stark/verifier.ts';

function rejects(f: () => void, code?: 'E_INVALID' | 'E_DECODE', message?: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isDreggError(caught), `expected a DreggError, got ${String(caught)}`).toBe(true);
  if (code !== undefined) expect(isDreggError(caught, code)).toBe(true);
  if (message !== undefined) expect((caught as Error).message).toMatch(message);
}

const LOG_N = 4;
const fib = fibonacciAir(LOG_N);
const fibStatement = fibonacciTrace(LOG_N, 1, 1);
let fibProof: Uint8Array;

beforeAll(async () => {
  fibProof = await prove(fib, fibStatement.trace, fibStatement.publicInputs);
});

describe('STARK: completeness', () => {
  it('a valid Fibonacci proof verifies', () => {
    expect(() => verify(fib, fibStatement.publicInputs, fibProof)).not.toThrow();
  });

  it('a valid proof of the degree-3, 64-column AIR verifies', async () => {
    const air = cubeChainAir(5);
    const { trace, publicInputs } = cubeChainTrace(
      5,
      Array.from({ length: 64 }, (_, i) => 1000 + i),
    );
    const proof = await prove(air, trace, publicInputs);
    expect(() => verify(air, publicInputs, proof)).not.toThrow();
  });

  it('reports progress through every phase, ending at 1', async () => {
    const seen: [string, number][] = [];
    await prove(fib, fibStatement.trace, fibStatement.publicInputs, {
      onProgress: (p, f) => seen.push([p, f]),
    });
    expect(new Set(seen.map(([p]) => p))).toEqual(new Set(['trace', 'quotient', 'deep', 'fri', 'queries']));
    expect(seen.at(-1)).toEqual(['queries', 1]);
    for (let i = 1; i < seen.length; i++) expect(seen[i]![1]).toBeGreaterThanOrEqual(seen[i - 1]![1]);
  });

  it('serialization is deterministic and round-trips', () => {
    expect(encodeProof(decodeProof(fibProof))).toEqual(fibProof);
  });
});

describe('STARK: soundness', () => {
  it('rejects the proof with any single byte flipped, wherever it is', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: fibProof.length - 1 }),
        fc.integer({ min: 1, max: 255 }),
        (pos, x) => {
          const bad = fibProof.slice();
          bad[pos]! ^= x;
          rejects(() => verify(fib, fibStatement.publicInputs, bad));
        },
      ),
      { numRuns: 400, seed: 4 },
    );
  });

  it('rejects a flipped low byte in every word of the proof', () => {
    for (let pos = 0; pos < fibProof.length; pos += 4) {
      const bad = fibProof.slice();
      bad[pos]! ^= 1;
      rejects(() => verify(fib, fibStatement.publicInputs, bad));
    }
  });

  it('rejects truncated and extended proofs as malformed', () => {
    rejects(
      () => verify(fib, fibStatement.publicInputs, fibProof.subarray(0, fibProof.length - 1)),
      'E_DECODE',
    );
    rejects(() => verify(fib, fibStatement.publicInputs, new Uint8Array([...fibProof, 0])), 'E_DECODE');
    rejects(() => verify(fib, fibStatement.publicInputs, new Uint8Array(0)), 'E_DECODE');
  });

  it('rejects an unknown proof version, and a zero-knowledge version the AIR does not use', () => {
    const bad = fibProof.slice();
    bad[0] = 3;
    rejects(() => verify(fib, fibStatement.publicInputs, bad), 'E_INVALID', /version/);
    bad[0] = 2;
    rejects(() => verify(fib, fibStatement.publicInputs, bad), 'E_INVALID', /zero-knowledge/);
  });

  it('rejects a wrong public input', () => {
    const [a, b, out] = fibStatement.publicInputs as [number, number, number];
    rejects(() => verify(fib, [a, b, add(out, 1)], fibProof), 'E_INVALID');
    rejects(() => verify(fib, [add(a, 1), b, out], fibProof), 'E_INVALID');
  });

  it('a trace violating one constraint at one row: the prover refuses and the verifier rejects', async () => {
    const logN = 4;
    const air = cubeChainAir(logN);
    const { trace, publicInputs } = cubeChainTrace(
      logN,
      Array.from({ length: 64 }, (_, i) => 7 * i + 1),
    );
    trace[17]![9] = add(trace[17]![9]!, 1);
    await expect(prove(air, trace, publicInputs)).rejects.toThrow(/transition constraint 17 at row 8/);
    const forged = await proveUnchecked(air, trace, publicInputs);
    rejects(() => verify(air, publicInputs, forged), 'E_INVALID', /AIR constraints/);
  });

  it('a trace violating a boundary constraint is rejected by the verifier', async () => {
    const { trace, publicInputs } = fibonacciTrace(LOG_N, 1, 1);
    const forged = await proveUnchecked(fib, trace, [publicInputs[0]!, 5, publicInputs[2]!]);
    rejects(() => verify(fib, [publicInputs[0]!, 5, publicInputs[2]!], forged), 'E_INVALID');
  });

  it('rejects a proof made with fewer queries than the parameters', async () => {
    const weak = await proveUnchecked(fib, fibStatement.trace, fibStatement.publicInputs, {
      params: { ...STARK_PARAMS, numQueries: 20 },
    });
    expect(() =>
      verify(fib, fibStatement.publicInputs, weak, { ...STARK_PARAMS, numQueries: 20 }),
    ).not.toThrow();
    rejects(() => verify(fib, fibStatement.publicInputs, weak), 'E_INVALID');
  });

  it('rejects a proof made with less proof-of-work than the parameters', async () => {
    const weak = await proveUnchecked(fib, fibStatement.trace, fibStatement.publicInputs, {
      params: { ...STARK_PARAMS, powBits: 4 },
    });
    expect(() => verify(fib, fibStatement.publicInputs, weak, { ...STARK_PARAMS, powBits: 4 })).not.toThrow();
    rejects(() => verify(fib, fibStatement.publicInputs, weak), 'E_INVALID');
  });

  it('rejects a nonce that does not meet the proof-of-work, before looking at any query', () => {
    const proof = decodeProof(fibProof);
    const bad = encodeProof({ ...proof, powNonce: proof.powNonce + 1 });
    rejects(() => verify(fib, fibStatement.publicInputs, bad), 'E_INVALID', /proof-of-work/);
  });

  it('rejects a proof for one AIR presented as another with the same shape', () => {
    // Same width, degree and public inputs; different transition (b' = a + 2b).
    const other: Air = {
      ...fib,
      id: 'test/fibonacci-variant/v1',
      evaluateTransition(ops, cur, next, out) {
        out[0] = ops.sub(next[0]!, cur[1]!);
        out[1] = ops.sub(next[1]!, ops.add(cur[0]!, ops.mul(ops.constant(2), cur[1]!)));
      },
    };
    rejects(() => verify(other, fibStatement.publicInputs, fibProof), 'E_INVALID');
    // Identical constraints under another identity: the transcript binds the AIR id.
    rejects(
      () => verify({ ...fib, id: 'test/fibonacci-renamed/v1' }, fibStatement.publicInputs, fibProof),
      'E_INVALID',
    );
    rejects(() => verify(fibonacciAir(LOG_N + 1), fibStatement.publicInputs, fibProof));
  });

  it('the cube-chain trace generator satisfies its own AIR (x^3 + neighbour + j + 1)', () => {
    const { trace } = cubeChainTrace(
      2,
      Array.from({ length: 64 }, (_, i) => i),
    );
    const x = trace[5]![0]!;
    expect(trace[5]![1]).toBe(add(add(mul(mul(x, x), x), trace[6]![0]!), 6));
  });
});

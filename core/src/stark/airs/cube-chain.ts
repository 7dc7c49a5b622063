/**
 * The benchmark workload: 64 columns, each an independent cubic hash-like chain mixed with its
 * neighbour, x'_j = x_j^3 + x_(j+1) + c_j (indices mod 64, c_j = j + 1). Degree 3, 64 transition
 * constraints, 64 boundary constraints fixing the first row to the public inputs; every column is
 * a degree-(n-1) polynomial, so it exercises LDE, Merkle and FRI at full width.
 */
import type { Air } from '../air.ts';
import { add, mul } from '../field.ts';

export const CUBE_CHAIN_WIDTH = 64;

export function cubeChainAir(logTraceLength: number, width = CUBE_CHAIN_WIDTH): Air {
  return {
    id: `cipherclerk/cube-chain/v1/${width}x2^${logTraceLength}`,
    width,
    logTraceLength,
    constraintDegree: 3,
    numTransitionConstraints: width,
    numPublicInputs: width,
    evaluateTransition(ops, cur, next, out) {
      for (let j = 0; j < width; j++) {
        const x = cur[j]!;
        const cube = ops.mul(ops.mul(x, x), x);
        const expected = ops.add(ops.add(cube, cur[(j + 1) % width]!), ops.constant(j + 1));
        out[j] = ops.sub(next[j]!, expected);
      }
    },
    boundaries(pub) {
      return pub.map((value, column) => ({ column, row: 0, value }));
    },
  };
}

export function cubeChainTrace(
  logTraceLength: number,
  firstRow: readonly number[],
): { trace: Uint32Array[]; publicInputs: number[] } {
  const width = firstRow.length;
  const n = 2 ** logTraceLength;
  const trace = firstRow.map((v) => {
    const c = new Uint32Array(n);
    c[0] = v;
    return c;
  });
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < width; j++) {
      const x = trace[j]![i - 1]!;
      trace[j]![i] = add(add(mul(mul(x, x), x), trace[(j + 1) % width]![i - 1]!), j + 1);
    }
  }
  return { trace, publicInputs: firstRow.slice() };
}

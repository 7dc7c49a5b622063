/**
 * Fibonacci over BabyBear: two columns (a, b), each row steps to (b, a + b). Public inputs are the
 * first pair and the value of b in the last row. Degree 1; the smallest non-trivial AIR.
 */
import type { Air } from '../air.ts';
import { add } from '../field.ts';

export function fibonacciAir(logTraceLength: number): Air {
  const n = 2 ** logTraceLength;
  return {
    id: `cipherclerk/fibonacci/v1/2^${logTraceLength}`,
    width: 2,
    logTraceLength,
    constraintDegree: 1,
    numTransitionConstraints: 2,
    numPublicInputs: 3,
    evaluateTransition(ops, cur, next, out) {
      out[0] = ops.sub(next[0]!, cur[1]!);
      out[1] = ops.sub(next[1]!, ops.add(cur[0]!, cur[1]!));
    },
    boundaries(pub) {
      return [
        { column: 0, row: 0, value: pub[0]! },
        { column: 1, row: 0, value: pub[1]! },
        { column: 1, row: n - 1, value: pub[2]! },
      ];
    },
  };
}

/** The trace (as columns) and public inputs for starting pair (a, b). */
export function fibonacciTrace(
  logTraceLength: number,
  a: number,
  b: number,
): {
  trace: Uint32Array[];
  publicInputs: number[];
} {
  const n = 2 ** logTraceLength;
  const c0 = new Uint32Array(n);
  const c1 = new Uint32Array(n);
  c0[0] = a;
  c1[0] = b;
  for (let i = 1; i < n; i++) {
    c0[i] = c1[i - 1]!;
    c1[i] = add(c0[i - 1]!, c1[i - 1]!);
  }
  return { trace: [c0, c1], publicInputs: [a, b, c1[n - 1]!] };
}

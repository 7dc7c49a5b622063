/**
 * A Poseidon2 hash chain: row i holds one permutation (poseidon2/gadget.ts) and row i + 1's input is
 * row i's output. With n rows the chain has n - 1 permutations: the engine does not constrain the
 * last row's own transition, so the last row is padding whose input is the chain's final state.
 * Public inputs: the first input (16 elements) and the final digest, the first 8 elements of the
 * final state (24 in all). Degree 7; 157 columns; 141 + 16 transition constraints.
 */
import type { Air } from '../air.ts';
import {
  fillPoseidon2,
  POSEIDON2_CONSTRAINT_DEGREE,
  poseidon2Constraints,
  poseidon2Layout,
} from '../poseidon2/gadget.ts';
import { poseidon2BabyBear16 } from '../poseidon2/permutation.ts';
import { DIGEST_ELEMENTS } from '../poseidon2/sponge.ts';

export function poseidon2ChainAir(logTraceLength: number): Air {
  const t = poseidon2BabyBear16().width;
  const layout = poseidon2Layout();
  const n = 2 ** logTraceLength;
  return {
    id: `cipherclerk/poseidon2-chain/v1/2^${logTraceLength}`,
    width: layout.columns,
    logTraceLength,
    constraintDegree: POSEIDON2_CONSTRAINT_DEGREE,
    numTransitionConstraints: layout.constraints + t,
    numPublicInputs: t + DIGEST_ELEMENTS,
    evaluateTransition(ops, cur, next, out) {
      poseidon2Constraints(ops, cur, 0, out, 0);
      for (let j = 0; j < t; j++) {
        out[layout.constraints + j] = ops.sub(next[layout.input + j]!, cur[layout.output + j]!);
      }
    },
    boundaries(pub) {
      return [
        ...pub.slice(0, t).map((value, j) => ({ column: layout.input + j, row: 0, value })),
        ...pub.slice(t).map((value, j) => ({ column: layout.input + j, row: n - 1, value })),
      ];
    },
  };
}

/** The trace (as columns) and public inputs of the chain starting at `first`. */
export function poseidon2ChainTrace(
  logTraceLength: number,
  first: readonly number[],
): { trace: Uint32Array[]; publicInputs: number[] } {
  const n = 2 ** logTraceLength;
  const trace = Array.from({ length: poseidon2Layout().columns }, () => new Uint32Array(n));
  let state: ArrayLike<number> = first;
  for (let i = 0; i < n; i++) state = fillPoseidon2(trace, i, 0, state);
  const last = Array.from({ length: DIGEST_ELEMENTS }, (_, j) => trace[j]![n - 1]!);
  return { trace, publicInputs: [...first, ...last] };
}

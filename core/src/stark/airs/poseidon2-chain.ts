/**
 * A Poseidon2 hash chain: row i holds one permutation (poseidon2/gadget.ts) of its 16 input columns,
 * and row i + 1's input is row i's output. With n rows the chain has n - 1 permutations: the engine
 * does not constrain the last row's own transition, so the last row is padding whose input is the
 * chain's final state. Public inputs: the first input (16 elements) and the final digest, the first
 * 8 elements of the final state (24 in all). Degree 7; 16 + 141 = 157 columns; 141 + 16 transition
 * constraints.
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

const T = 16;
/** The input columns come first, the permutation's columns from here. */
const ROUNDS_AT = T;

export function poseidon2ChainAir(logTraceLength: number): Air {
  const layout = poseidon2Layout();
  const output = ROUNDS_AT + layout.output;
  const n = 2 ** logTraceLength;
  return {
    id: `cipherclerk/poseidon2-chain/v1/2^${logTraceLength}`,
    width: ROUNDS_AT + layout.columns,
    logTraceLength,
    constraintDegree: POSEIDON2_CONSTRAINT_DEGREE,
    numTransitionConstraints: layout.constraints + T,
    numPublicInputs: T + DIGEST_ELEMENTS,
    evaluateTransition(ops, cur, next, out) {
      poseidon2Constraints(ops, cur.slice(0, T), cur, ROUNDS_AT, out, 0);
      for (let j = 0; j < T; j++) out[layout.constraints + j] = ops.sub(next[j]!, cur[output + j]!);
    },
    boundaries(pub) {
      return [
        ...pub.slice(0, T).map((value, column) => ({ column, row: 0, value })),
        ...pub.slice(T).map((value, column) => ({ column, row: n - 1, value })),
      ];
    },
  };
}

/** The trace (as columns) and public inputs of the chain starting at `first` (16 elements). */
export function poseidon2ChainTrace(
  logTraceLength: number,
  first: readonly number[],
): { trace: Uint32Array[]; publicInputs: number[] } {
  if (first.length !== poseidon2BabyBear16().width) throw new RangeError(`the chain starts at ${T} elements`);
  const n = 2 ** logTraceLength;
  const trace = Array.from({ length: ROUNDS_AT + poseidon2Layout().columns }, () => new Uint32Array(n));
  let state: ArrayLike<number> = first;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < T; j++) trace[j]![i] = state[j]!;
    state = fillPoseidon2(trace, i, ROUNDS_AT, state);
  }
  const last = Array.from({ length: DIGEST_ELEMENTS }, (_, j) => trace[j]![n - 1]!);
  return { trace, publicInputs: [...first, ...last] };
}

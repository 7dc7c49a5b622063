/**
 * One Poseidon2 permutation as AIR constraints over the columns of one row, for any AIR that hashes
 * (the hash-chain example, the turn AIR of issue 7). The input state is given as expressions of
 * degree 1 (trace columns, or linear forms of them such as a sponge's previous output plus an
 * absorbed block), so absorbing costs no columns. The state is committed after every full round and
 * the S-box output after every partial round; every S-box input is then a linear form in the input
 * and committed columns (the linear layers are folded into the constraints), and each constraint is
 * "committed value = linear form of (x + rc)^7", of degree 7.
 *
 * Why degree 7 and not 3: with constraints of degree d < 7, x^7 needs an auxiliary column per S-box
 * (x^3, then x^7 = (x^3)^2 x), 2 columns per S-box: 282 for the 141 S-boxes, 298 with the input. The
 * engine hashes a row as one BLAKE3 chunk (at most 256 columns, kernels.ts and the WASM kernels) and
 * has no periodic columns to spread a permutation over rows, so that does not fit. At degree 7 a
 * permutation takes 141 columns (157 with its input) and the composition quotient 8 chunks (32 base
 * columns) instead of 2 (8): fewer committed columns in all (189 against 306), a smaller proof too.
 *
 * Layout from `base` (width t = 16, R_F = 8, R_P = 13; 141 columns):
 *
 *   per first-half full round   t state columns after the round (after M_E)
 *   per partial round           1 S-box output (x_0 + rc)^7
 *   per second-half full round  t state columns; the last round's state is the output
 *
 * One constraint per column: 141, each of degree 7. All of them live within one row: the engine
 * checks transition constraints on rows 0..n-2 only, so an AIR using this gadget must not rely on it
 * in the last row (the chain AIR makes that row padding). Round constants and the diagonal enter as
 * `ops.constant`.
 */
import type { ConstraintOps } from '../air.ts';
import { add } from '../field.ts';
import {
  externalLayer,
  fullRound,
  internalLayer,
  type Poseidon2Instance,
  poseidon2BabyBear16,
  sbox,
} from './permutation.ts';

/** The S-box degree: each constraint is a committed value minus a linear form of (x + rc)^7. */
export const POSEIDON2_CONSTRAINT_DEGREE = 7;

export interface Poseidon2Layout {
  /** Columns one permutation takes (its input not included). */
  readonly columns: number;
  /** Constraints it emits: one per column. */
  readonly constraints: number;
  /** Offset of the output state (t columns) from `base`. */
  readonly output: number;
}

export function poseidon2Layout(instance: Poseidon2Instance = poseidon2BabyBear16()): Poseidon2Layout {
  const columns = instance.width * instance.fullRounds + instance.partialRounds;
  return { columns, constraints: columns, output: columns - instance.width };
}

/** M4 on four expressions (see permutation.ts), additions only. */
function m4Ops<F>(ops: ConstraintOps<F>, a: F, b: F, c: F, d: F): F[] {
  const ab = ops.add(a, b);
  const cd = ops.add(c, d);
  const ab2 = ops.add(ab, ab);
  const cd2 = ops.add(cd, cd);
  const r1 = ops.add(ops.add(ab2, ab2), ops.add(ops.add(b, b), cd));
  const r3 = ops.add(ops.add(cd2, cd2), ops.add(ops.add(d, d), ab));
  return [ops.add(r1, ops.add(ab, ops.add(d, d))), r1, ops.add(r3, ops.add(cd, ops.add(b, b))), r3];
}

function externalLayerOps<F>(ops: ConstraintOps<F>, s: readonly F[]): F[] {
  const t = s.length;
  const y: F[] = [];
  for (let at = 0; at < t; at += 4) y.push(...m4Ops(ops, s[at]!, s[at + 1]!, s[at + 2]!, s[at + 3]!));
  const sums: F[] = [];
  for (let lane = 0; lane < 4; lane++) {
    let sum: F = y[lane]!;
    for (let i = lane + 4; i < t; i += 4) sum = ops.add(sum, y[i]!);
    sums.push(sum);
  }
  return y.map((v, i) => ops.add(v, sums[i % 4]!));
}

function internalLayerOps<F>(ops: ConstraintOps<F>, s: readonly F[], diagonalMinusOne: readonly F[]): F[] {
  let sum: F = s[0]!;
  for (let i = 1; i < s.length; i++) sum = ops.add(sum, s[i]!);
  return s.map((v, i) => ops.add(ops.mul(v, diagonalMinusOne[i]!), sum));
}

/**
 * Writes the constraints that the layout's columns from `base` in `row` hold the permutation of
 * `input` (t expressions of degree 1) into out[outBase..outBase + constraints): each is zero iff that
 * round of the permutation is right.
 */
export function poseidon2Constraints<F>(
  ops: ConstraintOps<F>,
  input: readonly F[],
  row: readonly F[],
  base: number,
  out: F[],
  outBase: number,
  instance: Poseidon2Instance = poseidon2BabyBear16(),
): void {
  const t = instance.width;
  if (input.length !== t) throw new RangeError(`a permutation takes ${t} elements`);
  const half = instance.fullRounds / 2;
  const pow7 = (x: F) => {
    const x2 = ops.mul(x, x);
    const x3 = ops.mul(x2, x);
    return ops.mul(ops.mul(x3, x3), x);
  };
  let col = base;
  let k = outBase;
  let s = externalLayerOps(ops, input);

  const fullRoundConstraints = (constants: Uint32Array) => {
    const next = externalLayerOps(
      ops,
      s.map((v, i) => pow7(ops.add(v, ops.constant(constants[i]!)))),
    );
    for (let i = 0; i < t; i++) out[k++] = ops.sub(row[col + i]!, next[i]!);
    s = row.slice(col, col + t);
    col += t;
  };

  for (let r = 0; r < half; r++) fullRoundConstraints(instance.externalConstants[r]!);
  const diagonal = Array.from(instance.internalDiagonalMinusOne, (d) => ops.constant(d));
  for (let r = 0; r < instance.partialRounds; r++) {
    const y = row[col]!;
    out[k++] = ops.sub(y, pow7(ops.add(s[0]!, ops.constant(instance.internalConstants[r]!))));
    s = internalLayerOps(ops, [y, ...s.slice(1)], diagonal);
    col += 1;
  }
  for (let r = half; r < instance.fullRounds; r++) fullRoundConstraints(instance.externalConstants[r]!);
}

/** The values of the layout's columns for the permutation of `input`, in layout order. */
export function poseidon2RoundValues(
  input: ArrayLike<number>,
  instance: Poseidon2Instance = poseidon2BabyBear16(),
): Uint32Array {
  const t = instance.width;
  if (input.length !== t) throw new RangeError(`a permutation takes ${t} elements`);
  const out = new Uint32Array(poseidon2Layout(instance).columns);
  let col = 0;
  const s = Uint32Array.from(input);
  externalLayer(s);
  const half = instance.fullRounds / 2;
  for (let r = 0; r < instance.fullRounds; r++) {
    if (r === half) {
      for (let p = 0; p < instance.partialRounds; p++) {
        s[0] = sbox(add(s[0]!, instance.internalConstants[p]!));
        out[col++] = s[0];
        internalLayer(s, instance.internalDiagonalMinusOne);
      }
    }
    fullRound(s, instance.externalConstants[r]!);
    out.set(s, col);
    col += t;
  }
  return out;
}

/**
 * Fills the layout's columns (from `base`) of trace row `row` for the permutation of `input`;
 * returns the output state.
 */
export function fillPoseidon2(
  trace: readonly Uint32Array[],
  row: number,
  base: number,
  input: ArrayLike<number>,
  instance: Poseidon2Instance = poseidon2BabyBear16(),
): Uint32Array {
  const values = poseidon2RoundValues(input, instance);
  values.forEach((v, j) => {
    trace[base + j]![row] = v;
  });
  const { output } = poseidon2Layout(instance);
  return values.slice(output, output + instance.width);
}

/**
 * One Poseidon2 permutation as AIR constraints over the columns of one row, for any AIR that hashes
 * (the hash-chain example, the turn AIR of issue 7). Constraint degree 3: x^7 is split with an
 * auxiliary column c = x^3 (degree 3), so that x^7 = c^2 x is degree 3 too; every S-box input is a
 * linear form in committed columns because the state is committed after each full round and the
 * S-box output after each partial round (the linear layers between are folded into the constraints).
 *
 * Layout from `base` (width t = 16, R_F = 8, R_P = 13; 298 columns):
 *
 *   [0, t)                     input state
 *   per first-half full round  t cubes (x_i + rc_i)^3, then t state columns after M_E
 *   per partial round          1 cube (x_0 + rc)^3, then 1 S-box output (x_0 + rc)^7
 *   per second-half full round t cubes, then t state columns; the last round's state is the output
 *
 * Constraints per full round: t cubes and t states (2t); per partial round: 2; 282 in all, each of
 * degree at most 3. All of them live within one row: the engine checks transition constraints on
 * rows 0..n-2 only, so an AIR using this gadget must not rely on it in the last row (the chain AIR
 * makes that row padding). Round constants and the diagonal enter as `ops.constant`.
 */
import type { ConstraintOps } from '../air.ts';
import { add, mul } from '../field.ts';
import { externalLayer, internalLayer, type Poseidon2Instance, poseidon2BabyBear16 } from './permutation.ts';

export const POSEIDON2_CONSTRAINT_DEGREE = 3;

export interface Poseidon2Layout {
  /** Columns one permutation takes. */
  readonly columns: number;
  /** Constraints it emits. */
  readonly constraints: number;
  /** Offset of the input state (t columns) from `base`. */
  readonly input: number;
  /** Offset of the output state (t columns) from `base`. */
  readonly output: number;
}

export function poseidon2Layout(instance: Poseidon2Instance = poseidon2BabyBear16()): Poseidon2Layout {
  const t = instance.width;
  const rounds = 2 * t * instance.fullRounds + 2 * instance.partialRounds;
  return { columns: t + rounds, constraints: rounds, input: 0, output: t + rounds - t };
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
 * Writes the layout's constraints for the permutation whose columns start at `base` in `row` into
 * out[outBase..outBase + constraints): each is zero iff that step of the permutation is right.
 */
export function poseidon2Constraints<F>(
  ops: ConstraintOps<F>,
  row: readonly F[],
  base: number,
  out: F[],
  outBase: number,
  instance: Poseidon2Instance = poseidon2BabyBear16(),
): void {
  const t = instance.width;
  const half = instance.fullRounds / 2;
  const cube = (x: F) => ops.mul(ops.mul(x, x), x);
  let col = base + t;
  let k = outBase;
  let s = externalLayerOps(ops, row.slice(base, base + t));

  const fullRound = (constants: Uint32Array) => {
    const y: F[] = [];
    for (let i = 0; i < t; i++) {
      const x = ops.add(s[i]!, ops.constant(constants[i]!));
      const c = row[col + i]!;
      out[k++] = ops.sub(c, cube(x));
      y.push(ops.mul(ops.mul(c, c), x));
    }
    const next = externalLayerOps(ops, y);
    for (let i = 0; i < t; i++) out[k++] = ops.sub(row[col + t + i]!, next[i]!);
    s = row.slice(col + t, col + 2 * t);
    col += 2 * t;
  };

  for (let r = 0; r < half; r++) fullRound(instance.externalConstants[r]!);
  const diagonal = Array.from(instance.internalDiagonalMinusOne, (d) => ops.constant(d));
  for (let r = 0; r < instance.partialRounds; r++) {
    const x = ops.add(s[0]!, ops.constant(instance.internalConstants[r]!));
    const c = row[col]!;
    const y = row[col + 1]!;
    out[k++] = ops.sub(c, cube(x));
    out[k++] = ops.sub(y, ops.mul(ops.mul(c, c), x));
    s = internalLayerOps(ops, [y, ...s.slice(1)], diagonal);
    col += 2;
  }
  for (let r = half; r < instance.fullRounds; r++) fullRound(instance.externalConstants[r]!);
}

/** The values of every column of one permutation of `input`, in layout order. */
export function poseidon2RowValues(
  input: ArrayLike<number>,
  instance: Poseidon2Instance = poseidon2BabyBear16(),
): Uint32Array {
  const t = instance.width;
  if (input.length !== t) throw new RangeError(`a permutation takes ${t} elements`);
  const out = new Uint32Array(poseidon2Layout(instance).columns);
  out.set(Array.from(input));
  let col = t;
  const s = Uint32Array.from(input);
  externalLayer(s);
  const fullRound = (constants: Uint32Array) => {
    for (let i = 0; i < t; i++) {
      const x = add(s[i]!, constants[i]!);
      const c = mul(mul(x, x), x);
      out[col + i] = c;
      s[i] = mul(mul(c, c), x);
    }
    externalLayer(s);
    out.set(s, col + t);
    col += 2 * t;
  };
  const half = instance.fullRounds / 2;
  for (let r = 0; r < half; r++) fullRound(instance.externalConstants[r]!);
  for (let r = 0; r < instance.partialRounds; r++) {
    const x = add(s[0]!, instance.internalConstants[r]!);
    const c = mul(mul(x, x), x);
    s[0] = mul(mul(c, c), x);
    out[col] = c;
    out[col + 1] = s[0];
    internalLayer(s, instance.internalDiagonalMinusOne);
    col += 2;
  }
  for (let r = half; r < instance.fullRounds; r++) fullRound(instance.externalConstants[r]!);
  return out;
}

/** Fills the permutation's columns (from `base`) of trace row `row` for `input`; returns the output state. */
export function fillPoseidon2(
  trace: readonly Uint32Array[],
  row: number,
  base: number,
  input: ArrayLike<number>,
  instance: Poseidon2Instance = poseidon2BabyBear16(),
): Uint32Array {
  const values = poseidon2RowValues(input, instance);
  values.forEach((v, j) => {
    trace[base + j]![row] = v;
  });
  const { output } = poseidon2Layout(instance);
  return values.slice(output, output + instance.width);
}

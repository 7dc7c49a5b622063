/**
 * The bulk kernels of the prover behind one interface, so that the same protocol code runs on the
 * WASM SIMD kernels (wasm-prover/), on a worker pool, or on this pure-TypeScript fallback. Every
 * backend must produce identical words; wasm-prover/test checks that bit for bit.
 *
 * Digests are 8 little-endian words (32 bytes); extension elements are 4 consecutive words.
 */

import type { ConstraintOps } from './air.ts';
import { batchOps } from './batch-ops.ts';
import { keyedHashWords } from './blake3.ts';
import { type Ext, ebatchInvFlat, emulFlat, readExt } from './ext.ts';
import { add, inv, mul, rootOfUnity, sub } from './field.ts';
import { evaluateOnCoset, interpolateCoset, ldeColumn } from './ntt.ts';
import { grind } from './transcript.ts';

/**
 * Vectors of `size` field elements in a backend's memory, for evaluating an AIR's constraints over a
 * batch of points at once (the AIR's generic code runs with F = V). An extension vector is 4 * size
 * words, coordinate-major. Vectors live until the next begin().
 */
export interface ConstraintEvaluator<V> {
  readonly ops: ConstraintOps<V>;
  begin(): void;
  load(values: Uint32Array): V;
  extZeros(): V;
  /** acc += coeff * v (acc an extension vector, v a base vector). */
  accumulate(acc: V, coeff: Ext, v: V): void;
  /** acc *= v pointwise (acc an extension vector, v a base vector). */
  scaleExt(acc: V, v: V): void;
  /** The first `length` words of v. */
  read(v: V, length: number): Uint32Array;
  /** Index of the first non-zero element of a base vector, or size if none. */
  firstNonZero(v: V): number;
}

export interface StarkKernels {
  /**
   * Optional: runs `body` (one whole proof) while results may be views of the backend's own memory,
   * valid until `body` settles, so that large arrays are not copied out and back in. Nothing from
   * inside may be kept after it.
   */
  scope?<R>(body: () => Promise<R>): Promise<R>;
  /** Runs `use` with a constraint evaluator for batches of `size` points (a multiple of 4). */
  withEvaluator<R>(size: number, use: <V>(evaluator: ConstraintEvaluator<V>) => R): R;
  readonly name: string;
  /** Natural-order columns over the trace subgroup -> bit-reversed evaluations on shift<w_(n * 2^logBlowup)>. */
  lde(columns: readonly Uint32Array[], logBlowup: number, shift: number): Promise<Uint32Array[]>;
  /** Bit-reversed evaluations on shift<w_N> -> natural-order coefficients, per column. */
  interpolate(columns: readonly Uint32Array[], shift: number): Promise<Uint32Array[]>;
  /** The smallest nonce whose grinding hash under `key` has `bits` leading zero bits (transcript.ts). */
  grind(seed: Uint32Array, key: Uint32Array, bits: number): Promise<number>;
  /** Natural-order coefficient columns -> bit-reversed evaluations on shift<w_size>. */
  evaluate(coeffColumns: readonly Uint32Array[], size: number, shift: number): Promise<Uint32Array[]>;
  /** Leaf digests of the rows of `columns` (row i = columns[0][i], columns[1][i], ...), keyed by `key`. */
  hashRows(columns: readonly Uint32Array[], key: Uint32Array): Promise<Uint32Array>;
  /** Leaf digests of consecutive runs of `wordsPerLeaf` words. */
  hashLeaves(words: Uint32Array, wordsPerLeaf: number, key: Uint32Array): Promise<Uint32Array>;
  /**
   * The `levels` Merkle layers above `leaves` (8-word digests, a power of two of them): each parent is
   * one keyed compression of its two children (16 words). Returns the layers bottom-up.
   */
  merkleLayers(leaves: Uint32Array, levels: number, key: Uint32Array): Promise<Uint32Array[]>;
  /**
   * FRI fold by 8 of a bit-reversed layer of extension elements on shift<w_N>: coset m holds the
   * values at x_m * w_8^bitrev3(j), and `xInv[m]` = 1 / x_m. Returns the N/8 folded values.
   */
  friFold(values: Uint32Array, xInv: Uint32Array, zeta: Ext): Promise<Uint32Array>;
  /** sum_i coeffs[i] * columns[i] pointwise: base columns, extension coefficients, flat extension result. */
  combine(columns: readonly Uint32Array[], coeffs: readonly Ext[]): Promise<Uint32Array>;
  /** For each column, sum_k column[k] * weights[k] (extension weights, flat): 4 words per column. */
  dot(columns: readonly Uint32Array[], weights: Uint32Array): Promise<Uint32Array>;
  /**
   * F(x) = (A(x) - a) / (x - z) + (B(x) - b) / (x - zNext) at the points xs (none equal to z or zNext),
   * A and B flat extension arrays: the DEEP composition.
   */
  deepCompose(
    A: Uint32Array,
    B: Uint32Array,
    xs: Uint32Array,
    z: Ext,
    zNext: Ext,
    a: Ext,
    b: Ext,
  ): Promise<Uint32Array>;
}

/** w_8^(-t*k) / 8 for t, k < 8, with the coset's inputs taken in natural order t. */
export function foldMatrix(): Uint32Array {
  const w8inv = inv(rootOfUnity(3));
  const eighth = inv(8);
  const wPow = [1];
  for (let i = 1; i < 8; i++) wPow.push(mul(wPow[i - 1]!, w8inv));
  const m = new Uint32Array(64);
  for (let k = 0; k < 8; k++) {
    for (let t = 0; t < 8; t++) m[8 * k + t] = mul(wPow[(t * k) % 8]!, eighth);
  }
  return m;
}

/** Bit-reversal of 3 bits: the position in a coset leaf of the coset's t-th power of w_8. */
export const BITREV3 = [0, 4, 2, 6, 1, 5, 3, 7] as const;

const W11 = 11;

/**
 * Folds one coset: interpolate the 8 values to c_k = x^k f_k(x^8) (inverse 8-point DFT), then
 * f'(x^8) = sum_k (zeta / x)^k c_k by Horner. Writes 4 words at out[o..].
 */
export function foldCoset(
  values: Uint32Array,
  base: number,
  xInv: number,
  zeta: Ext,
  matrix: Uint32Array,
  out: Uint32Array,
  o: number,
): void {
  const r0 = mul(zeta[0], xInv);
  const r1 = mul(zeta[1], xInv);
  const r2 = mul(zeta[2], xInv);
  const r3 = mul(zeta[3], xInv);
  let a0 = 0;
  let a1 = 0;
  let a2 = 0;
  let a3 = 0;
  for (let k = 7; k >= 0; k--) {
    let c0 = 0;
    let c1 = 0;
    let c2 = 0;
    let c3 = 0;
    for (let t = 0; t < 8; t++) {
      const m = matrix[8 * k + t]!;
      const s = base + 4 * BITREV3[t as 0]!;
      c0 = add(c0, mul(values[s]!, m));
      c1 = add(c1, mul(values[s + 1]!, m));
      c2 = add(c2, mul(values[s + 2]!, m));
      c3 = add(c3, mul(values[s + 3]!, m));
    }
    // acc = acc * r + c   (extension multiply, X^4 = 11)
    const m0 = add(mul(a0, r0), mul(W11, add(add(mul(a1, r3), mul(a2, r2)), mul(a3, r1))));
    const m1 = add(add(mul(a0, r1), mul(a1, r0)), mul(W11, add(mul(a2, r3), mul(a3, r2))));
    const m2 = add(add(add(mul(a0, r2), mul(a1, r1)), mul(a2, r0)), mul(W11, mul(a3, r3)));
    const m3 = add(add(mul(a0, r3), mul(a1, r2)), add(mul(a2, r1), mul(a3, r0)));
    a0 = add(m0, c0);
    a1 = add(m1, c1);
    a2 = add(m2, c2);
    a3 = add(m3, c3);
  }
  out[o] = a0;
  out[o + 1] = a1;
  out[o + 2] = a2;
  out[o + 3] = a3;
}

const MATRIX = foldMatrix();

function hashRowsSync(columns: readonly Uint32Array[], key: Uint32Array): Uint32Array {
  const width = columns.length;
  const rows = columns[0]?.length ?? 0;
  const out = new Uint32Array(8 * rows);
  const row = new Uint32Array(width);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < width; j++) row[j] = columns[j]![i]!;
    keyedHashWords(key, row, 0, width, out, 8 * i);
  }
  return out;
}

function tsEvaluator(size: number): ConstraintEvaluator<Uint32Array> {
  return {
    ops: batchOps(size),
    begin() {},
    load: (values) => values,
    extZeros: () => new Uint32Array(4 * size),
    accumulate(acc, coeff, v) {
      for (let l = 0; l < 4; l++) {
        const c = coeff[l as 0];
        const o = l * size;
        for (let i = 0; i < size; i++) acc[o + i] = add(acc[o + i]!, mul(c, v[i]!));
      }
    },
    scaleExt(acc, v) {
      for (let l = 0; l < 4; l++) {
        const o = l * size;
        for (let i = 0; i < size; i++) acc[o + i] = mul(acc[o + i]!, v[i]!);
      }
    },
    read: (v, length) => v.slice(0, length),
    firstNonZero(v) {
      const i = v.findIndex((x) => x !== 0);
      return i < 0 ? size : i;
    },
  };
}

/** The pure-TypeScript backend: the reference the others are checked against. */
export const tsKernels: StarkKernels = {
  name: 'ts',
  withEvaluator: (size, use) => use(tsEvaluator(size)),
  async lde(columns, logBlowup, shift) {
    return columns.map((c) => ldeColumn(c, logBlowup, shift));
  },
  async interpolate(columns, shift) {
    return columns.map((c) => interpolateCoset(c, shift));
  },
  async grind(seed, key, bits) {
    return grind(seed, bits, key);
  },
  async evaluate(coeffColumns, size, shift) {
    return coeffColumns.map((c) => evaluateOnCoset(c, size, shift));
  },
  async hashRows(columns, key) {
    return hashRowsSync(columns, key);
  },
  async hashLeaves(words, wordsPerLeaf, key) {
    const leaves = words.length / wordsPerLeaf;
    const out = new Uint32Array(8 * leaves);
    for (let i = 0; i < leaves; i++) keyedHashWords(key, words, i * wordsPerLeaf, wordsPerLeaf, out, 8 * i);
    return out;
  },
  async merkleLayers(leaves, levels, key) {
    const layers: Uint32Array[] = [];
    let children = leaves;
    for (let l = 0; l < levels; l++) {
      const parents = children.length / 16;
      const out = new Uint32Array(8 * parents);
      for (let i = 0; i < parents; i++) keyedHashWords(key, children, 16 * i, 16, out, 8 * i);
      layers.push(out);
      children = out;
    }
    return layers;
  },
  async combine(columns, coeffs) {
    const n = columns[0]!.length;
    const acc = new Uint32Array(4 * n);
    for (let i = 0; i < columns.length; i++) {
      const col = columns[i]!;
      const [b0, b1, b2, b3] = coeffs[i]!;
      for (let k = 0; k < n; k++) {
        const v = col[k]!;
        const o = 4 * k;
        acc[o] = add(acc[o]!, mul(b0, v));
        acc[o + 1] = add(acc[o + 1]!, mul(b1, v));
        acc[o + 2] = add(acc[o + 2]!, mul(b2, v));
        acc[o + 3] = add(acc[o + 3]!, mul(b3, v));
      }
    }
    return acc;
  },
  async dot(columns, weights) {
    const out = new Uint32Array(4 * columns.length);
    for (let c = 0; c < columns.length; c++) {
      const col = columns[c]!;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let k = 0; k < col.length; k++) {
        const f = col[k]!;
        const o = 4 * k;
        s0 = add(s0, mul(weights[o]!, f));
        s1 = add(s1, mul(weights[o + 1]!, f));
        s2 = add(s2, mul(weights[o + 2]!, f));
        s3 = add(s3, mul(weights[o + 3]!, f));
      }
      out.set([s0, s1, s2, s3], 4 * c);
    }
    return out;
  },
  async deepCompose(A, B, xs, z, zNext, a, b) {
    const N = xs.length;
    const d = new Uint32Array(8 * N);
    for (let k = 0; k < N; k++) {
      const x = xs[k]!;
      d.set([sub(x, z[0]), sub(0, z[1]), sub(0, z[2]), sub(0, z[3])], 4 * k);
      d.set([sub(x, zNext[0]), sub(0, zNext[1]), sub(0, zNext[2]), sub(0, zNext[3])], 4 * (N + k));
    }
    const invs = ebatchInvFlat(d);
    const out = new Uint32Array(4 * N);
    const t = new Uint32Array(4);
    const u = new Uint32Array(4);
    for (let k = 0; k < N; k++) {
      const o = 4 * k;
      for (let c = 0; c < 4; c++) {
        t[c] = sub(A[o + c]!, a[c as 0]);
        u[c] = sub(B[o + c]!, b[c as 0]);
      }
      emulFlat(out, o, t, 0, invs, o);
      emulFlat(u, 0, u, 0, invs, 4 * (N + k));
      for (let c = 0; c < 4; c++) out[o + c] = add(out[o + c]!, u[c]!);
    }
    return out;
  },
  async friFold(values, xInv, zeta) {
    const cosets = values.length / 32;
    const out = new Uint32Array(4 * cosets);
    for (let m = 0; m < cosets; m++) foldCoset(values, 32 * m, xInv[m]!, zeta, MATRIX, out, 4 * m);
    return out;
  },
};

/** Folds one opened coset (8 extension elements) in the verifier, with the same arithmetic. */
export function foldOne(coset: Uint32Array, xInv: number, zeta: Ext): Ext {
  const out = new Uint32Array(4);
  foldCoset(coset, 0, xInv, zeta, MATRIX, out, 0);
  return readExt(out, 0);
}

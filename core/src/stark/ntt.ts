/**
 * Number-theoretic transforms over BabyBear, pure TypeScript. The conventions match the WASM kernels
 * (wasm-prover/) so both backends give the same words:
 *
 * - `nttDif`: natural-order coefficients in, bit-reversed evaluations out (Gentleman-Sande, no
 *   permutation pass), X[k] = sum_i a_i w^(ik) with w = rootOfUnity(logN).
 * - `inttDit`: bit-reversed evaluations in, natural-order coefficients out (Cooley-Tukey), the exact
 *   inverse of `nttDif` including the 1/N scaling.
 *
 * Keeping evaluations bit-reversed everywhere puts the 8 points of an FRI coset next to each other
 * and makes every sub-coset g<w^(2^k)> a prefix of the array.
 */
import { bitReverse, inv, mul, P, rootOfUnity } from './field.ts';

const twiddleCache = new Map<number, Uint32Array>();

/** w^0 .. w^(N/2 - 1) for the 2^logN-th root w (inverse root when `inverse`), cached per size. */
function twiddles(logN: number, inverse: boolean): Uint32Array {
  const key = inverse ? -logN - 1 : logN;
  let t = twiddleCache.get(key);
  if (t === undefined) {
    const half = 2 ** (logN - 1);
    const w = inverse ? inv(rootOfUnity(logN)) : rootOfUnity(logN);
    t = new Uint32Array(Math.max(half, 1));
    t[0] = 1;
    for (let i = 1; i < half; i++) t[i] = mul(t[i - 1]!, w);
    twiddleCache.set(key, t);
  }
  return t;
}

function log2Exact(n: number): number {
  const l = Math.log2(n);
  if (!Number.isInteger(l)) throw new RangeError(`NTT size ${n} is not a power of two`);
  return l;
}

/** In place: natural-order coefficients -> bit-reversed evaluations on <w>. */
export function nttDif(a: Uint32Array): void {
  const n = a.length;
  const logN = log2Exact(n);
  const tw = twiddles(logN, false);
  for (let len = n >>> 1, stride = 1; len >= 1; len >>>= 1, stride <<= 1) {
    for (let start = 0; start < n; start += 2 * len) {
      for (let j = 0; j < len; j++) {
        const u = a[start + j]!;
        const v = a[start + j + len]!;
        const s = u + v;
        a[start + j] = s >= P ? s - P : s;
        const d = u - v;
        a[start + j + len] = mul(d < 0 ? d + P : d, tw[j * stride]!);
      }
    }
  }
}

/** In place: bit-reversed evaluations on <w> -> natural-order coefficients (scaled by 1/N). */
export function inttDit(a: Uint32Array): void {
  const n = a.length;
  const logN = log2Exact(n);
  const tw = twiddles(logN, true);
  for (let len = 1, stride = n >>> 1; len < n; len <<= 1, stride >>>= 1) {
    for (let start = 0; start < n; start += 2 * len) {
      for (let j = 0; j < len; j++) {
        const u = a[start + j]!;
        const v = mul(a[start + j + len]!, tw[j * stride]!);
        const s = u + v;
        a[start + j] = s >= P ? s - P : s;
        const d = u - v;
        a[start + j + len] = d < 0 ? d + P : d;
      }
    }
  }
  const nInv = inv(n % P);
  for (let i = 0; i < n; i++) a[i] = mul(a[i]!, nInv);
}

/** Permutes in place into bit-reversed index order (an involution). */
export function bitReversePermute(a: Uint32Array): void {
  const n = a.length;
  const bits = log2Exact(n);
  for (let i = 0; i < n; i++) {
    const j = bitReverse(i, bits);
    if (j > i) {
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
  }
}

/** Multiplies coefficient i by shift^i, moving a polynomial's evaluation domain from <w> to shift<w>. */
export function scaleByPowers(coeffs: Uint32Array, shift: number): void {
  let s = 1;
  for (let i = 0; i < coeffs.length; i++) {
    coeffs[i] = mul(coeffs[i]!, s);
    s = mul(s, shift);
  }
}

/**
 * Low-degree extension of one column: natural-order values over the trace subgroup (size n) ->
 * bit-reversed evaluations over the coset shift<w_N> of size N = n * 2^logBlowup.
 */
export function ldeColumn(values: Uint32Array, logBlowup: number, shift: number): Uint32Array {
  const coeffs = Uint32Array.from(values);
  bitReversePermute(coeffs);
  inttDit(coeffs);
  return evaluateOnCoset(coeffs, values.length << logBlowup, shift);
}

/** Coefficients (length <= size) -> bit-reversed evaluations over shift<w_size>. */
export function evaluateOnCoset(coeffs: Uint32Array, size: number, shift: number): Uint32Array {
  const out = new Uint32Array(size);
  out.set(coeffs);
  scaleByPowers(out, shift);
  nttDif(out);
  return out;
}

/** Bit-reversed evaluations over shift<w_size> -> natural-order coefficients. */
export function interpolateCoset(evals: Uint32Array, shift: number): Uint32Array {
  const coeffs = Uint32Array.from(evals);
  inttDit(coeffs);
  scaleByPowers(coeffs, inv(shift));
  return coeffs;
}

/**
 * The degree-4 extension F_p[X] / (X^4 - 11) of BabyBear (X^4 - 11 is irreducible over F_p: 11 is
 * not a square and p = 1 mod 4, so by the standard binomial criterion). Every verifier challenge lives
 * here (~124 bits), never in the 31-bit base field (PITFALLS 14). An element is [c0, c1, c2, c3]
 * meaning c0 + c1 X + c2 X^2 + c3 X^3.
 */
import { add, inv, mul, P, sub } from './field.ts';

export type Ext = readonly [number, number, number, number];

/** W in X^4 = W. */
export const W = 11;

export const ZERO: Ext = [0, 0, 0, 0];
export const ONE: Ext = [1, 0, 0, 0];

export function fromBase(a: number): Ext {
  return [a, 0, 0, 0];
}

export function eadd(a: Ext, b: Ext): Ext {
  return [add(a[0], b[0]), add(a[1], b[1]), add(a[2], b[2]), add(a[3], b[3])];
}

export function esub(a: Ext, b: Ext): Ext {
  return [sub(a[0], b[0]), sub(a[1], b[1]), sub(a[2], b[2]), sub(a[3], b[3])];
}

export function escale(a: Ext, s: number): Ext {
  return [mul(a[0], s), mul(a[1], s), mul(a[2], s), mul(a[3], s)];
}

export function emul(a: Ext, b: Ext): Ext {
  const [a0, a1, a2, a3] = a;
  const [b0, b1, b2, b3] = b;
  const c0 = add(mul(a0, b0), mul(W, add(add(mul(a1, b3), mul(a2, b2)), mul(a3, b1))));
  const c1 = add(add(mul(a0, b1), mul(a1, b0)), mul(W, add(mul(a2, b3), mul(a3, b2))));
  const c2 = add(add(add(mul(a0, b2), mul(a1, b1)), mul(a2, b0)), mul(W, mul(a3, b3)));
  const c3 = add(add(mul(a0, b3), mul(a1, b2)), add(mul(a2, b1), mul(a3, b0)));
  return [c0, c1, c2, c3];
}

export function epow(a: Ext, exponent: number | bigint): Ext {
  let e = BigInt(exponent);
  let result: Ext = ONE;
  let b = a;
  while (e > 0n) {
    if (e & 1n) result = emul(result, b);
    b = emul(b, b);
    e >>= 1n;
  }
  return result;
}

/** Multiplication by X^k (the k-th basis element), used to rebuild an element from its base coordinates. */
export function mulByX(a: Ext, k: number): Ext {
  let r = a;
  for (let i = 0; i < k; i++) r = [mul(W, r[3]), r[0], r[1], r[2]];
  return r;
}

/**
 * Inverse through the norm: with a' = a(-X), a * a' has only even powers of X, i.e. lies in
 * F_p[X^2] / (X^4 - W), a quadratic extension; one more conjugation lands in F_p.
 */
export function einv(a: Ext): Ext {
  const [a0, a1, a2, a3] = a;
  const conj: Ext = [a0, a1 === 0 ? 0 : P - a1, a2, a3 === 0 ? 0 : P - a3];
  const b = emul(a, conj);
  // b = b0 + b2 X^2 with X^4 = W; (b0 + b2 Y)(b0 - b2 Y) = b0^2 - W b2^2 for Y = X^2.
  const b0 = b[0];
  const b2 = b[2];
  const norm = sub(mul(b0, b0), mul(W, mul(b2, b2)));
  if (norm === 0) throw new RangeError('inverse of zero');
  const n = inv(norm);
  const bInv: Ext = [mul(b0, n), 0, mul(b2 === 0 ? 0 : P - b2, n), 0];
  return emul(conj, bInv);
}

export function eequal(a: Ext, b: Ext): boolean {
  return a[0] === b[0] && a[1] === b[1] && a[2] === b[2] && a[3] === b[3];
}

export function isZero(a: Ext): boolean {
  return a[0] === 0 && a[1] === 0 && a[2] === 0 && a[3] === 0;
}

/** Reads element i of a flat array of extension elements (4 words each). */
export function readExt(flat: Uint32Array, i: number): Ext {
  const o = 4 * i;
  return [flat[o]!, flat[o + 1]!, flat[o + 2]!, flat[o + 3]!];
}

export function writeExt(flat: Uint32Array, i: number, v: Ext): void {
  flat.set(v, 4 * i);
}

/** Batch inversion in the extension (Montgomery's trick); every input must be non-zero. */
export function ebatchInv(values: Ext[]): Ext[] {
  const n = values.length;
  const prefix: Ext[] = new Array(n);
  let acc: Ext = ONE;
  for (let i = 0; i < n; i++) {
    prefix[i] = acc;
    acc = emul(acc, values[i]!);
  }
  let invAcc = einv(acc);
  const out: Ext[] = new Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = emul(prefix[i]!, invAcc);
    invAcc = emul(invAcc, values[i]!);
  }
  return out;
}

/** out[o..o+4] = a[ao..ao+4] * b[bo..bo+4] on flat arrays (no allocation: the prover's hot loops). */
export function emulFlat(
  out: Uint32Array,
  o: number,
  a: Uint32Array,
  ao: number,
  b: Uint32Array,
  bo: number,
): void {
  const a0 = a[ao]!;
  const a1 = a[ao + 1]!;
  const a2 = a[ao + 2]!;
  const a3 = a[ao + 3]!;
  const b0 = b[bo]!;
  const b1 = b[bo + 1]!;
  const b2 = b[bo + 2]!;
  const b3 = b[bo + 3]!;
  out[o] = add(mul(a0, b0), mul(W, add(add(mul(a1, b3), mul(a2, b2)), mul(a3, b1))));
  out[o + 1] = add(add(mul(a0, b1), mul(a1, b0)), mul(W, add(mul(a2, b3), mul(a3, b2))));
  out[o + 2] = add(add(add(mul(a0, b2), mul(a1, b1)), mul(a2, b0)), mul(W, mul(a3, b3)));
  out[o + 3] = add(add(mul(a0, b3), mul(a1, b2)), add(mul(a2, b1), mul(a3, b0)));
}

/** Batch inversion of a flat array of non-zero extension elements (Montgomery's trick). */
export function ebatchInvFlat(values: Uint32Array): Uint32Array {
  const n = values.length / 4;
  const prefix = new Uint32Array(4 * n);
  const acc = Uint32Array.of(1, 0, 0, 0);
  for (let i = 0; i < n; i++) {
    prefix.set(acc, 4 * i);
    emulFlat(acc, 0, acc, 0, values, 4 * i);
  }
  const invAcc = Uint32Array.from(einv(readExt(acc, 0)));
  const out = new Uint32Array(4 * n);
  for (let i = n - 1; i >= 0; i--) {
    emulFlat(out, 4 * i, prefix, 4 * i, invAcc, 0);
    emulFlat(invAcc, 0, invAcc, 0, values, 4 * i);
  }
  return out;
}

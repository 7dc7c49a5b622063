/**
 * The BabyBear prime field, p = 2^31 - 2^27 + 1 = 15 * 2^27 + 1. Elements are plain numbers in
 * [0, p), in canonical (not Montgomery) form; this is the representation of traces, openings and
 * the proof. Its 2-adicity is 27, so NTTs of every power-of-two size up to 2^27 exist.
 */

export const P = 2013265921;
/** Multiplicative generator of F_p^*; also the coset shift of every LDE (not in any 2-power subgroup). */
export const GENERATOR = 31;
export const TWO_ADICITY = 27;

const INV_P = 1 / P;

export function add(a: number, b: number): number {
  const s = a + b;
  return s >= P ? s - P : s;
}

export function sub(a: number, b: number): number {
  const d = a - b;
  return d < 0 ? d + P : d;
}

export function neg(a: number): number {
  return a === 0 ? 0 : P - a;
}

/**
 * a * b mod p without BigInt. The quotient floor(ab / p) is estimated in double precision: the
 * relative error is below 2^-50, so the estimate is off by at most one, and the remainder, computed
 * exactly modulo 2^32 with Math.imul, lands in (-p, 2p) where one correction step fixes it.
 */
export function mul(a: number, b: number): number {
  const q = Math.floor(a * b * INV_P);
  const r = (Math.imul(a, b) - Math.imul(q, P)) | 0;
  if (r < 0) return r + P;
  return r >= P ? r - P : r;
}

export function pow(base: number, exponent: number | bigint): number {
  if (typeof exponent === 'number' && Number.isSafeInteger(exponent) && exponent >= 0) {
    // The common case (inverses, roots of unity) without BigInt steps, which cost the verifier ~1 ms.
    let result = 1;
    let b = base;
    for (let e = exponent; e > 0; e = Math.floor(e / 2)) {
      if (e % 2 === 1) result = mul(result, b);
      b = mul(b, b);
    }
    return result;
  }
  let e = BigInt(exponent);
  let result = 1;
  let b = base;
  while (e > 0n) {
    if (e & 1n) result = mul(result, b);
    b = mul(b, b);
    e >>= 1n;
  }
  return result;
}

/** Inverse by Fermat (a^(p-2)); inv(0) is an internal error, never a silent zero. */
export function inv(a: number): number {
  if (a === 0) throw new RangeError('inverse of zero');
  return pow(a, P - 2);
}

/** Montgomery's batch inversion: one field inversion and 3(n-1) multiplications for n inverses. */
export function batchInv(values: Uint32Array): Uint32Array {
  const n = values.length;
  const out = new Uint32Array(n);
  if (n === 0) return out;
  let acc = 1;
  for (let i = 0; i < n; i++) {
    out[i] = acc;
    acc = mul(acc, values[i]!);
  }
  let invAcc = inv(acc);
  for (let i = n - 1; i >= 0; i--) {
    const v = values[i]!;
    out[i] = mul(out[i]!, invAcc);
    invAcc = mul(invAcc, v);
  }
  return out;
}

/** A primitive 2^logN-th root of unity: generator^((p-1) / 2^logN). */
export function rootOfUnity(logN: number): number {
  if (logN < 0 || logN > TWO_ADICITY) throw new RangeError(`no 2^${logN}-th root of unity in BabyBear`);
  return pow(GENERATOR, (P - 1) / 2 ** logN);
}

/** Reverses the low `bits` bits of i (swap halves, bytes, nibbles, pairs, bits of a 32-bit word). */
export function bitReverse(i: number, bits: number): number {
  if (bits === 0) return 0;
  let x = i >>> 0;
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  x = (x >>> 16) | (x << 16);
  return x >>> (32 - bits);
}

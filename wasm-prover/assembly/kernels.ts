/**
 * Proving kernels for BabyBear (p = 2^31 - 2^27 + 1) and BLAKE3, hand-written with 128-bit SIMD.
 *
 * Memory is managed by the TypeScript loader (src/kernels.ts): every function takes byte offsets of
 * buffers it has placed in linear memory, and works on a whole batch per call (crossing the JS/WASM
 * boundary per element would cost more than the work). Field elements are u32 in canonical form in
 * every buffer; Montgomery form (R = 2^32) appears only in twiddle tables and constants, so
 * mont_mul(x, wR) = x * w keeps data canonical. Results are bit-identical to core/src/stark.
 */

const P: u32 = 2013265921;
/** p^-1 mod 2^32, for Montgomery reduction. */
const MU: u32 = 2281701377;
/** R = 2^32 mod p, canonical. */
const R_CANON: u32 = 268435454;
/** R^2 mod p: to_mont(x) = mont_mul(x, R2). */
const R2: u32 = 1172168163;
/** 11 * R mod p: multiplies by the extension's non-residue W = 11. */
const W_MONT: u32 = 939524073;
/** floor(11 * 2^32 / p): the Shoup quotient of the non-residue 11. */
const W_QUOTIENT: u32 = 23;

// ---------------------------------------------------------------- field arithmetic

/** a * b * 2^-32 mod p for canonical inputs (Montgomery, "Montgomery Multiplication", 1985). */
@inline function mmul(a: u32, b: u32): u32 {
  const ab = <u64>a * <u64>b;
  const q = <u32>ab * MU;
  const qp = <u64>q * <u64>P;
  // The low halves of ab and qp are equal, so the difference of the high halves is exact.
  const t = <u32>(ab >> 32) - <u32>(qp >> 32);
  const u = t + P;
  return t < u ? t : u;
}

@inline function addp(a: u32, b: u32): u32 {
  const s = a + b;
  return s >= P ? s - P : s;
}

@inline function subp(a: u32, b: u32): u32 {
  return a >= b ? a - b : a + P - b;
}

@inline function mmul4(a: v128, b: v128): v128 {
  const p4 = i32x4.splat(P);
  const q = i32x4.mul(i32x4.mul(a, b), i32x4.splat(MU));
  const abHi = v128.shuffle<i32>(i64x2.extmul_low_i32x4_u(a, b), i64x2.extmul_high_i32x4_u(a, b), 1, 3, 5, 7);
  const qpHi = v128.shuffle<i32>(i64x2.extmul_low_i32x4_u(q, p4), i64x2.extmul_high_i32x4_u(q, p4), 1, 3, 5, 7);
  const d = i32x4.sub(abHi, qpHi);
  // d is in (-p, p): as unsigned, min(d, d + p) is the canonical representative.
  return i32x4.min_u(d, i32x4.add(d, p4));
}

@inline function add4(a: v128, b: v128): v128 {
  const s = i32x4.add(a, b);
  return i32x4.min_u(s, i32x4.sub(s, i32x4.splat(P)));
}

@inline function sub4(a: v128, b: v128): v128 {
  const d = i32x4.sub(a, b);
  return i32x4.min_u(d, i32x4.add(d, i32x4.splat(P)));
}

/** out[i] = a[i] * b[i] * 2^-32 mod p for i < n (n a multiple of 4). */
export function mont_mul_batch(a: usize, b: usize, out: usize, n: u32): void {
  for (let i: usize = 0; i < (<usize>n) << 2; i += 16) {
    v128.store(out + i, mmul4(v128.load(a + i), v128.load(b + i)));
  }
}

/** In place: x[i] -> x[i] R mod p (Montgomery form) for n elements, n a multiple of 4. */
export function to_mont(x: usize, n: u32): void {
  const r2 = i32x4.splat(R2);
  for (let i: usize = 0; i < (<usize>n) << 2; i += 16) v128.store(x + i, mmul4(v128.load(x + i), r2));
}

/** In place, canonical -> canonical: x[i] = x[i] * y[i] (y in Montgomery form). */
function scale_by_table(x: usize, n: u32, sMont: u32, startMont: u32): void {
  let s = startMont;
  for (let i: usize = 0; i < <usize>n; i++) {
    store<u32>(x + (i << 2), mmul(load<u32>(x + (i << 2)), s));
    s = mmul(s, sMont);
  }
}

// ---------------------------------------------------------------- NTT

// Every multiplication by a known constant (twiddles, coset scales) uses Shoup's method (V. Shoup,
// NTL; D. Harvey, "Faster arithmetic for number-theoretic transforms", 2014): with w' = floor(w 2^32 / p)
// stored beside w, a * w mod p is a - lane high product, two low products and a subtraction. It needs
// half the shuffle-port work of a Montgomery product in V8 (one 64-bit extmul pair instead of two),
// and that port is what bounds these kernels. Tables hold (w, w') pairs in groups of 4: words
// [w_4g .. w_4g+3] then [w'_4g .. w'_4g+3], so one group is a vector of w and a vector of w'.

/** Address of entry i's w in a pair table (its w' is 16 bytes further). */
@inline function pairAt(table: usize, i: usize): usize {
  return table + ((i >> 2) << 5) + ((i & 3) << 2);
}

/** Bytes of a pair table with `entries` entries (whole groups). */
@inline function pairBytes(entries: usize): usize {
  return ((entries + 3) >> 2) << 5;
}

const TWO32_OVER_P: f64 = 4294967296.0 / 2013265921.0;

/** floor(w 2^32 / p), by a float estimate and one exact integer correction (no 64-bit division). */
function shoupQuotient(w: u32): u32 {
  let q = <u64>(<f64>w * TWO32_OVER_P);
  const num = (<u64>w) << 32;
  let qp = q * <u64>P;
  if (qp > num) {
    q--;
  } else if (num - qp >= <u64>P) {
    q++;
  }
  return <u32>q;
}

/** Canonical a * w mod p for any a < 2^32, w canonical, wq = floor(w 2^32 / p). */
@inline function smul(a: u32, w: u32, wq: u32): u32 {
  const q = <u32>((<u64>a * <u64>wq) >> 32);
  const r = a * w - q * P;
  return r >= P ? r - P : r;
}

@inline function smulAt(a: u32, table: usize, i: usize): u32 {
  const e = pairAt(table, i);
  return smul(a, load<u32>(e), load<u32>(e, 16));
}

/** Four Shoup products: lanes of a (any u32) times w, with wq its quotients; canonical result. */
@inline function smul4(a: v128, w: v128, wq: v128): v128 {
  const q = v128.shuffle<i32>(i64x2.extmul_low_i32x4_u(a, wq), i64x2.extmul_high_i32x4_u(a, wq), 1, 3, 5, 7);
  const r = i32x4.sub(i32x4.mul(a, w), i32x4.mul(q, i32x4.splat(P)));
  return i32x4.min_u(r, i32x4.sub(r, i32x4.splat(P)));
}

/** Group g's products at a 16-byte-aligned pair-table group address. */
@inline function smul4At(a: v128, group: usize): v128 {
  return smul4(a, v128.load(group), v128.load(group, 16));
}

/** a - b + p in [1, 2p): an input for smul4, which takes any u32, so no reduction is needed. */
@inline function subLazy4(a: v128, b: v128): v128 {
  return i32x4.add(i32x4.sub(a, b), i32x4.splat(P));
}

@inline function mulmod(a: u32, b: u32): u32 {
  return <u32>((<u64>a * <u64>b) % <u64>P);
}

/**
 * Twiddle pair table for all NTT sizes up to 2^logN (pairBytes(2^max(logN, 2)) bytes): entry len + j
 * (j < len) is w_(2 len)^j, root = w_(2^logN) canonical. Built from the largest stage down, since
 * w_(2 len)^j = w_(4 len)^(2j).
 */
export function build_twiddles(tw: usize, logN: u32, root: u32): void {
  const half: usize = (<usize>1) << (logN - 1);
  let w: u32 = 1;
  for (let j: usize = 0; j < half; j++) {
    store<u32>(pairAt(tw, half + j), w);
    w = mulmod(w, root);
  }
  for (let len = half >> 1; len >= 1; len >>= 1) {
    for (let j: usize = 0; j < len; j++) store<u32>(pairAt(tw, len + j), load<u32>(pairAt(tw, 2 * len + 2 * j)));
  }
  for (let i: usize = 1; i < 2 * half; i++) {
    const e = pairAt(tw, i);
    store<u32>(e, shoupQuotient(load<u32>(e)), 16);
  }
}

/** Transposes 4 vectors (4 rows of 4 lanes) so that lane k of row i becomes lane i of row k. */
@inline function transpose4(a: usize): void {
  const v0 = v128.load(a);
  const v1 = v128.load(a, 16);
  const v2 = v128.load(a, 32);
  const v3 = v128.load(a, 48);
  const t0 = v128.shuffle<i32>(v0, v1, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(v0, v1, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(v2, v3, 0, 4, 1, 5);
  const t3 = v128.shuffle<i32>(v2, v3, 2, 6, 3, 7);
  v128.store(a, v128.shuffle<i32>(t0, t2, 0, 1, 4, 5));
  v128.store(a, v128.shuffle<i32>(t0, t2, 2, 3, 6, 7), 16);
  v128.store(a, v128.shuffle<i32>(t1, t3, 0, 1, 4, 5), 32);
  v128.store(a, v128.shuffle<i32>(t1, t3, 2, 3, 6, 7), 48);
}

/** Radix-4 DIF passes (stages len and len/2 fused) over [a, a + n) while len >= max(8, stop); returns len. */
function dif_radix4_passes(a: usize, n: usize, len: usize, tw: usize, stop: usize): usize {
  for (; len >= 8 && len >= stop; len >>= 2) {
    const q = len >> 1;
    // Pair-table groups of entries len + j, len + q + j and q + j (all multiples of 4).
    const w1 = tw + (len << 3);
    const w2 = tw + ((len + q) << 3);
    const w3 = tw + (q << 3);
    for (let start: usize = 0; start < n; start += 2 * len) {
      const p0 = a + (start << 2);
      const p1 = p0 + (q << 2);
      const p2 = p0 + (len << 2);
      const p3 = p2 + (q << 2);
      for (let j: usize = 0; j < q << 2; j += 16) {
        const a0 = v128.load(p0 + j);
        const a1 = v128.load(p1 + j);
        const a2 = v128.load(p2 + j);
        const a3 = v128.load(p3 + j);
        const b0 = add4(a0, a2);
        const b2 = smul4At(subLazy4(a0, a2), w1 + (j << 1));
        const b1 = add4(a1, a3);
        const b3 = smul4At(subLazy4(a1, a3), w2 + (j << 1));
        const t3 = w3 + (j << 1);
        v128.store(p0 + j, add4(b0, b1));
        v128.store(p1 + j, smul4At(subLazy4(b0, b1), t3));
        v128.store(p2 + j, add4(b2, b3));
        v128.store(p3 + j, smul4At(subLazy4(b2, b3), t3));
      }
    }
  }
  return len;
}

/** All remaining DIF stages, from half-size len down to 1, on the n elements at a. */
function dif_tail(a: usize, n: usize, len: usize, tw: usize): void {
  len = dif_radix4_passes(a, n, len, tw, 0);
  if (len === 4) {
    const w = tw + (4 << 3);
    for (let start: usize = 0; start < n; start += 8) {
      const lo = a + (start << 2);
      const u = v128.load(lo);
      const v = v128.load(lo, 16);
      v128.store(lo, add4(u, v));
      v128.store(lo, smul4At(subLazy4(u, v), w), 16);
    }
    len = 2;
  }
  if (len === 2 && n >= 16) {
    // Per group (x0, x1, x2, x3): stage len 2 pairs (x0, x2) with w^0 and (x1, x3) with w_4 (entry 3);
    // stage len 1 pairs with w^0. Multiplying by w^0 = 1 is the identity.
    const e = pairAt(tw, 3);
    const w4 = i32x4.splat(load<u32>(e));
    const w4q = i32x4.splat(load<u32>(e, 16));
    for (let start: usize = 0; start < n; start += 16) {
      const g = a + (start << 2);
      transpose4(g);
      const x0 = v128.load(g);
      const x1 = v128.load(g, 16);
      const x2 = v128.load(g, 32);
      const x3 = v128.load(g, 48);
      const y0 = add4(x0, x2);
      const y2 = sub4(x0, x2);
      const y1 = add4(x1, x3);
      const y3 = smul4(subLazy4(x1, x3), w4, w4q);
      v128.store(g, add4(y0, y1));
      v128.store(g, sub4(y0, y1), 16);
      v128.store(g, add4(y2, y3), 32);
      v128.store(g, sub4(y2, y3), 48);
      transpose4(g);
    }
    len = 0;
  }
  for (; len >= 1; len >>= 1) {
    for (let start: usize = 0; start < n; start += 2 * len) {
      for (let j: usize = 0; j < len; j++) {
        const pl = a + ((start + j) << 2);
        const ph = pl + (len << 2);
        const u = load<u32>(pl);
        const v = load<u32>(ph);
        store<u32>(pl, addp(u, v));
        store<u32>(ph, smulAt(u - v + P, tw, len + j));
      }
    }
  }
}

/** Sub-transforms of at most this many elements (16 KiB) are finished one at a time, in L1. */
const DIF_BLOCK: usize = 4096;

/**
 * Gentleman-Sande: natural-order coefficients -> bit-reversed evaluations, in place. Stages are fused
 * in pairs (a radix-4 pass does the butterflies of stage len and len/2 on 4 elements at once), which
 * halves the passes over memory; once the independent sub-transforms fit in DIF_BLOCK elements, each
 * is finished before the next is started (cache blocking). The last two stages (len 2 and 1) are
 * 4-point transforms on consecutive groups, done 4 groups at a time after a 4x4 transpose. The
 * arithmetic, and so the result, is exactly radix-2's.
 */
export function ntt_dif(a: usize, logN: u32, tw: usize): void {
  const n: usize = (<usize>1) << logN;
  const len = dif_radix4_passes(a, n, n >> 1, tw, DIF_BLOCK);
  for (let start: usize = 0; start < n; start += 2 * len) dif_tail(a + (start << 2), 2 * len, len, tw);
}

/** Cooley-Tukey: bit-reversed evaluations -> natural-order coefficients times n, in place (unscaled). */
export function intt_dit_unscaled(a: usize, logN: u32, tw: usize): void {
  const n: usize = (<usize>1) << logN;
  for (let len: usize = 1; len < n && len < 4; len <<= 1) {
    for (let start: usize = 0; start < n; start += 2 * len) {
      for (let j: usize = 0; j < len; j++) {
        const pl = a + ((start + j) << 2);
        const ph = pl + (len << 2);
        const u = load<u32>(pl);
        const v = smulAt(load<u32>(ph), tw, len + j);
        store<u32>(pl, addp(u, v));
        store<u32>(ph, subp(u, v));
      }
    }
  }
  for (let len: usize = 4; len < n; len <<= 1) {
    const t = tw + (len << 3);
    for (let start: usize = 0; start < n; start += 2 * len) {
      const lo = a + (start << 2);
      const hi = lo + (len << 2);
      for (let j: usize = 0; j < len << 2; j += 16) {
        const u = v128.load(lo + j);
        const v = smul4At(v128.load(hi + j), t + (j << 1));
        v128.store(lo + j, add4(u, v));
        v128.store(hi + j, sub4(u, v));
      }
    }
  }
}

function bit_reverse_permute(a: usize, logN: u32): void {
  const n: u32 = 1 << logN;
  for (let i: u32 = 0; i < n; i++) {
    const j: u32 = logN === 0 ? 0 : reverseBits32(i) >>> (32 - logN);
    if (j > i) {
      const pi = a + (<usize>i << 2);
      const pj = a + (<usize>j << 2);
      const t = load<u32>(pi);
      store<u32>(pi, load<u32>(pj));
      store<u32>(pj, t);
    }
  }
}

@inline function reverseBits32(x: u32): u32 {
  x = ((x >>> 1) & 0x55555555) | ((x & 0x55555555) << 1);
  x = ((x >>> 2) & 0x33333333) | ((x & 0x33333333) << 2);
  x = ((x >>> 4) & 0x0f0f0f0f) | ((x & 0x0f0f0f0f) << 4);
  x = ((x >>> 8) & 0x00ff00ff) | ((x & 0x00ff00ff) << 8);
  return (x >>> 16) | (x << 16);
}

/**
 * Scale tables for the blocks of a coset evaluation: pair table b (pairBytes(m) bytes from
 * tables + b * pairBytes(m)) holds base * s_b^i for the canonical block shifts s_b at shifts (see
 * coset_blocks); base canonical.
 */
export function build_block_tables(tables: usize, m: u32, blocks: u32, shifts: usize, base: u32): void {
  const stride = pairBytes(<usize>m);
  for (let b: usize = 0; b < <usize>blocks; b++) {
    const s = load<u32>(shifts + (b << 2));
    const sq = shoupQuotient(s);
    let t = base;
    const row = tables + b * stride;
    for (let i: usize = 0; i < <usize>m; i++) {
      const e = pairAt(row, i);
      store<u32>(e, t);
      store<u32>(e, shoupQuotient(t), 16);
      t = smul(t, s, sq);
    }
  }
}

/**
 * Evaluates the polynomial whose m coefficients are at dst[0..m) on a coset of size m * blocks, in
 * bit-reversed order, as `blocks` NTTs of size m: in bit-reversed order, block b of the result is the
 * evaluation on s_b <w_m> with s_b = shift * w_(m blocks)^bitrev(b), i.e. the size-m NTT of the
 * coefficients scaled by s_b^i (table b). Smaller transforms than one of size m * blocks, the same
 * result, and no zero padding. Block 0 overwrites the coefficients, so it is done last.
 */
function coset_blocks(dst: usize, logM: u32, blocks: u32, tables: usize, twFwd: usize): void {
  const m: usize = (<usize>1) << logM;
  const stride = pairBytes(m);
  for (let b: isize = <isize>blocks - 1; b >= 0; b--) {
    const out = dst + ((<usize>b * m) << 2);
    const table = tables + <usize>b * stride;
    if (m >= 4) {
      for (let i: usize = 0; i < m << 2; i += 16) v128.store(out + i, smul4At(v128.load(dst + i), table + (i << 1)));
    } else {
      for (let i: usize = 0; i < m; i++) store<u32>(out + (i << 2), smulAt(load<u32>(dst + (i << 2)), table, i));
    }
    ntt_dif(out, logM, twFwd);
  }
}

/**
 * Coset low-degree extension of `cols` columns: column c's n = 2^logN natural-order values at
 * input + c * n words become its N = n * 2^logBlowup bit-reversed evaluations on shift<w_N> at
 * output + c * N words. `tables` come from build_block_tables with base 1/n, which also applies
 * the 1/n of the inverse transform.
 */
export function lde_columns(
  input: usize,
  output: usize,
  cols: u32,
  logN: u32,
  logBlowup: u32,
  twFwd: usize,
  twInv: usize,
  tables: usize,
): void {
  const n: usize = (<usize>1) << logN;
  const bigN: usize = n << logBlowup;
  for (let c: usize = 0; c < <usize>cols; c++) {
    const dst = output + ((c * bigN) << 2);
    memory.copy(dst, input + ((c * n) << 2), n << 2);
    // The unscaled inverse transform as a forward one with the inverse root (the radix-4 blocked
    // DIF, faster than the radix-2 DIT), whose bit-reversed output is then put in natural order.
    ntt_dif(dst, logN, twInv);
    bit_reverse_permute(dst, logN);
    coset_blocks(dst, logN, 1 << logBlowup, tables, twFwd);
  }
}

/**
 * Evaluates `cols` coefficient columns of m = 2^logM words each on a coset of size 2^logSize,
 * bit-reversed; output column c at output + c * 2^logSize words. `tables` from build_block_tables
 * with base 1 (no scaling).
 */
export function evaluate_columns(
  input: usize,
  output: usize,
  cols: u32,
  logM: u32,
  logSize: u32,
  twFwd: usize,
  tables: usize,
): void {
  const m: usize = (<usize>1) << logM;
  const bigN: usize = (<usize>1) << logSize;
  for (let c: usize = 0; c < <usize>cols; c++) {
    const dst = output + ((c * bigN) << 2);
    memory.copy(dst, input + ((c * m) << 2), m << 2);
    coset_blocks(dst, logM, 1 << (logSize - logM), tables, twFwd);
  }
}

// ---------------------------------------------------------------- BLAKE3 (4 lanes)

const IV0: u32 = 0x6a09e667;
const IV1: u32 = 0xbb67ae85;
const IV2: u32 = 0x3c6ef372;
const IV3: u32 = 0xa54ff53a;
const CHUNK_START: u32 = 1;
const CHUNK_END: u32 = 2;
const ROOT: u32 = 8;
const KEYED_HASH: u32 = 16;

// Rotations by shifts, not byte shuffles: V8 rebuilds a pshufb mask from immediates at every use
// (three shuffle-port uops besides the pshufb), which made the 4-lane compression shuffle-bound.
@inline function rot16(x: v128): v128 {
  return v128.shuffle<u8>(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}
@inline function rot8(x: v128): v128 {
  return v128.or(i32x4.shr_u(x, 8), i32x4.shl(x, 24));
}
@inline function rot12(x: v128): v128 {
  return v128.or(i32x4.shr_u(x, 12), i32x4.shl(x, 20));
}
@inline function rot7(x: v128): v128 {
  return v128.or(i32x4.shr_u(x, 7), i32x4.shl(x, 25));
}

/**
 * Four BLAKE3 compressions side by side (BLAKE3 spec section 2.2; lanes are independent inputs).
 * cv: 8 vectors (word i of the 4 chaining values), updated in place to the output's first half;
 * msg: 16 vectors (word i of the 4 blocks). Counter 0 in every lane: all our inputs are one chunk.
 */
function compress4(cv: usize, msg: usize, blockLen: u32, flags: u32): void {
  let v0 = v128.load(cv), v1 = v128.load(cv, 16), v2 = v128.load(cv, 32), v3 = v128.load(cv, 48);
  let v4 = v128.load(cv, 64), v5 = v128.load(cv, 80), v6 = v128.load(cv, 96), v7 = v128.load(cv, 112);
  let v8 = i32x4.splat(IV0), v9 = i32x4.splat(IV1), v10 = i32x4.splat(IV2), v11 = i32x4.splat(IV3);
  let v12 = i32x4.splat(0), v13 = i32x4.splat(0), v14 = i32x4.splat(blockLen), v15 = i32x4.splat(flags);
  // Message words are loaded where they are used (the permuted schedule is in the offsets): held
  // in 16 locals next to the 16 state vectors they made V8 spill state on every round.
  // round 0
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg)); v12 = rot16(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot12(v128.xor(v4, v8));
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 16)); v12 = rot8(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot7(v128.xor(v4, v8));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 32)); v13 = rot16(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot12(v128.xor(v5, v9));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 48)); v13 = rot8(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot7(v128.xor(v5, v9));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 64)); v14 = rot16(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot12(v128.xor(v6, v10));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 80)); v14 = rot8(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot7(v128.xor(v6, v10));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 96)); v15 = rot16(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot12(v128.xor(v7, v11));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 112)); v15 = rot8(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot7(v128.xor(v7, v11));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 128)); v15 = rot16(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot12(v128.xor(v5, v10));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 144)); v15 = rot8(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot7(v128.xor(v5, v10));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 160)); v12 = rot16(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot12(v128.xor(v6, v11));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 176)); v12 = rot8(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot7(v128.xor(v6, v11));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 192)); v13 = rot16(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot12(v128.xor(v7, v8));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 208)); v13 = rot8(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot7(v128.xor(v7, v8));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 224)); v14 = rot16(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot12(v128.xor(v4, v9));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 240)); v14 = rot8(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot7(v128.xor(v4, v9));
  // round 1
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 32)); v12 = rot16(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot12(v128.xor(v4, v8));
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 96)); v12 = rot8(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot7(v128.xor(v4, v8));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 48)); v13 = rot16(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot12(v128.xor(v5, v9));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 160)); v13 = rot8(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot7(v128.xor(v5, v9));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 112)); v14 = rot16(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot12(v128.xor(v6, v10));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg)); v14 = rot8(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot7(v128.xor(v6, v10));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 64)); v15 = rot16(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot12(v128.xor(v7, v11));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 208)); v15 = rot8(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot7(v128.xor(v7, v11));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 16)); v15 = rot16(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot12(v128.xor(v5, v10));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 176)); v15 = rot8(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot7(v128.xor(v5, v10));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 192)); v12 = rot16(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot12(v128.xor(v6, v11));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 80)); v12 = rot8(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot7(v128.xor(v6, v11));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 144)); v13 = rot16(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot12(v128.xor(v7, v8));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 224)); v13 = rot8(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot7(v128.xor(v7, v8));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 240)); v14 = rot16(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot12(v128.xor(v4, v9));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 128)); v14 = rot8(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot7(v128.xor(v4, v9));
  // round 2
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 48)); v12 = rot16(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot12(v128.xor(v4, v8));
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 64)); v12 = rot8(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot7(v128.xor(v4, v8));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 160)); v13 = rot16(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot12(v128.xor(v5, v9));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 192)); v13 = rot8(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot7(v128.xor(v5, v9));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 208)); v14 = rot16(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot12(v128.xor(v6, v10));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 32)); v14 = rot8(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot7(v128.xor(v6, v10));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 112)); v15 = rot16(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot12(v128.xor(v7, v11));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 224)); v15 = rot8(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot7(v128.xor(v7, v11));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 96)); v15 = rot16(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot12(v128.xor(v5, v10));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 80)); v15 = rot8(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot7(v128.xor(v5, v10));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 144)); v12 = rot16(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot12(v128.xor(v6, v11));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg)); v12 = rot8(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot7(v128.xor(v6, v11));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 176)); v13 = rot16(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot12(v128.xor(v7, v8));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 240)); v13 = rot8(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot7(v128.xor(v7, v8));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 128)); v14 = rot16(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot12(v128.xor(v4, v9));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 16)); v14 = rot8(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot7(v128.xor(v4, v9));
  // round 3
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 160)); v12 = rot16(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot12(v128.xor(v4, v8));
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 112)); v12 = rot8(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot7(v128.xor(v4, v8));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 192)); v13 = rot16(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot12(v128.xor(v5, v9));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 144)); v13 = rot8(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot7(v128.xor(v5, v9));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 224)); v14 = rot16(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot12(v128.xor(v6, v10));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 48)); v14 = rot8(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot7(v128.xor(v6, v10));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 208)); v15 = rot16(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot12(v128.xor(v7, v11));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 240)); v15 = rot8(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot7(v128.xor(v7, v11));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 64)); v15 = rot16(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot12(v128.xor(v5, v10));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg)); v15 = rot8(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot7(v128.xor(v5, v10));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 176)); v12 = rot16(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot12(v128.xor(v6, v11));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 32)); v12 = rot8(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot7(v128.xor(v6, v11));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 80)); v13 = rot16(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot12(v128.xor(v7, v8));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 128)); v13 = rot8(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot7(v128.xor(v7, v8));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 16)); v14 = rot16(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot12(v128.xor(v4, v9));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 96)); v14 = rot8(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot7(v128.xor(v4, v9));
  // round 4
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 192)); v12 = rot16(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot12(v128.xor(v4, v8));
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 208)); v12 = rot8(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot7(v128.xor(v4, v8));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 144)); v13 = rot16(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot12(v128.xor(v5, v9));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 176)); v13 = rot8(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot7(v128.xor(v5, v9));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 240)); v14 = rot16(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot12(v128.xor(v6, v10));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 160)); v14 = rot8(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot7(v128.xor(v6, v10));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 224)); v15 = rot16(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot12(v128.xor(v7, v11));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 128)); v15 = rot8(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot7(v128.xor(v7, v11));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 112)); v15 = rot16(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot12(v128.xor(v5, v10));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 32)); v15 = rot8(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot7(v128.xor(v5, v10));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 80)); v12 = rot16(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot12(v128.xor(v6, v11));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 48)); v12 = rot8(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot7(v128.xor(v6, v11));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg)); v13 = rot16(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot12(v128.xor(v7, v8));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 16)); v13 = rot8(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot7(v128.xor(v7, v8));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 96)); v14 = rot16(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot12(v128.xor(v4, v9));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 64)); v14 = rot8(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot7(v128.xor(v4, v9));
  // round 5
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 144)); v12 = rot16(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot12(v128.xor(v4, v8));
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 224)); v12 = rot8(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot7(v128.xor(v4, v8));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 176)); v13 = rot16(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot12(v128.xor(v5, v9));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 80)); v13 = rot8(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot7(v128.xor(v5, v9));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 128)); v14 = rot16(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot12(v128.xor(v6, v10));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 192)); v14 = rot8(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot7(v128.xor(v6, v10));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 240)); v15 = rot16(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot12(v128.xor(v7, v11));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 16)); v15 = rot8(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot7(v128.xor(v7, v11));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 208)); v15 = rot16(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot12(v128.xor(v5, v10));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 48)); v15 = rot8(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot7(v128.xor(v5, v10));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg)); v12 = rot16(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot12(v128.xor(v6, v11));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 160)); v12 = rot8(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot7(v128.xor(v6, v11));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 32)); v13 = rot16(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot12(v128.xor(v7, v8));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 96)); v13 = rot8(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot7(v128.xor(v7, v8));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 64)); v14 = rot16(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot12(v128.xor(v4, v9));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 112)); v14 = rot8(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot7(v128.xor(v4, v9));
  // round 6
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 176)); v12 = rot16(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot12(v128.xor(v4, v8));
  v0 = i32x4.add(i32x4.add(v0, v4), v128.load(msg, 240)); v12 = rot8(v128.xor(v12, v0));
  v8 = i32x4.add(v8, v12); v4 = rot7(v128.xor(v4, v8));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg, 80)); v13 = rot16(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot12(v128.xor(v5, v9));
  v1 = i32x4.add(i32x4.add(v1, v5), v128.load(msg)); v13 = rot8(v128.xor(v13, v1));
  v9 = i32x4.add(v9, v13); v5 = rot7(v128.xor(v5, v9));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 16)); v14 = rot16(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot12(v128.xor(v6, v10));
  v2 = i32x4.add(i32x4.add(v2, v6), v128.load(msg, 144)); v14 = rot8(v128.xor(v14, v2));
  v10 = i32x4.add(v10, v14); v6 = rot7(v128.xor(v6, v10));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 128)); v15 = rot16(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot12(v128.xor(v7, v11));
  v3 = i32x4.add(i32x4.add(v3, v7), v128.load(msg, 96)); v15 = rot8(v128.xor(v15, v3));
  v11 = i32x4.add(v11, v15); v7 = rot7(v128.xor(v7, v11));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 224)); v15 = rot16(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot12(v128.xor(v5, v10));
  v0 = i32x4.add(i32x4.add(v0, v5), v128.load(msg, 160)); v15 = rot8(v128.xor(v15, v0));
  v10 = i32x4.add(v10, v15); v5 = rot7(v128.xor(v5, v10));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 32)); v12 = rot16(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot12(v128.xor(v6, v11));
  v1 = i32x4.add(i32x4.add(v1, v6), v128.load(msg, 192)); v12 = rot8(v128.xor(v12, v1));
  v11 = i32x4.add(v11, v12); v6 = rot7(v128.xor(v6, v11));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 48)); v13 = rot16(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot12(v128.xor(v7, v8));
  v2 = i32x4.add(i32x4.add(v2, v7), v128.load(msg, 64)); v13 = rot8(v128.xor(v13, v2));
  v8 = i32x4.add(v8, v13); v7 = rot7(v128.xor(v7, v8));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 112)); v14 = rot16(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot12(v128.xor(v4, v9));
  v3 = i32x4.add(i32x4.add(v3, v4), v128.load(msg, 208)); v14 = rot8(v128.xor(v14, v3));
  v9 = i32x4.add(v9, v14); v4 = rot7(v128.xor(v4, v9));
  v128.store(cv, v128.xor(v0, v8));
  v128.store(cv, v128.xor(v1, v9), 16);
  v128.store(cv, v128.xor(v2, v10), 32);
  v128.store(cv, v128.xor(v3, v11), 48);
  v128.store(cv, v128.xor(v4, v12), 64);
  v128.store(cv, v128.xor(v5, v13), 80);
  v128.store(cv, v128.xor(v6, v14), 96);
  v128.store(cv, v128.xor(v7, v15), 112);
}

/** Scratch for compress4: 8 chaining vectors then 16 message vectors; set by the loader (256-aligned). */
let scratch: usize = 0;

export function set_scratch(ptr: usize): void {
  scratch = ptr;
}

/** Flags of block b of blocks for a keyed single-chunk hash. */
@inline function blockFlags(b: u32, blocks: u32): u32 {
  let f = KEYED_HASH;
  if (b === 0) f |= CHUNK_START;
  if (b === blocks - 1) f |= CHUNK_END | ROOT;
  return f;
}

function initCv(key: usize): void {
  for (let i: usize = 0; i < 8; i++) v128.store(scratch + (i << 4), i32x4.splat(load<u32>(key + (i << 2))));
}

/** Writes lane k of the 4-lane chaining value as digest number `index` (8 words) at out. */
function storeDigests(out: usize, first: u32, count: u32): void {
  if (count === 4) {
    // Words 0-3 and 4-7 of the 4 chaining values, transposed in place: row k is then digest k's
    // half, one vector store each.
    transpose4(scratch);
    transpose4(scratch + 64);
    for (let k: usize = 0; k < 4; k++) {
      const d = out + ((<usize>first + k) << 5);
      v128.store(d, v128.load(scratch + (k << 4)));
      v128.store(d, v128.load(scratch + 64 + (k << 4)), 16);
    }
    return;
  }
  for (let k: u32 = 0; k < count; k++) {
    const d = out + (<usize>(first + k) << 5);
    for (let i: usize = 0; i < 8; i++) store<u32>(d + (i << 2), load<u32>(scratch + (i << 4) + (<usize>k << 2)));
  }
}

/**
 * Keyed BLAKE3 of each of `leaves` runs of `words` words (<= 256) at input, 8-word digests to out.
 * Merkle nodes are the case words = 16 (two child digests: exactly one compression).
 */
export function hash_leaves(input: usize, leaves: u32, words: u32, key: usize, out: usize): void {
  const blocks: u32 = words === 0 ? 1 : (words + 15) >> 4;
  const msg = scratch + 128;
  for (let g: u32 = 0; g < leaves; g += 4) {
    const count = leaves - g < 4 ? leaves - g : 4;
    initCv(key);
    for (let b: u32 = 0; b < blocks; b++) {
      const first = b << 4;
      const n = words - first < 16 ? words - first : 16;
      const stride = <usize>words << 2;
      const base = input + <usize>g * stride + ((<usize>first) << 2);
      if (n === 16 && count === 4) {
        // A full block of 4 leaves: 4 words of each leaf per vector load, then 4x4 transposes
        // turn (leaf, word) into (word, leaf) vectors.
        for (let q: usize = 0; q < 4; q++) {
          const m = msg + (q << 6);
          v128.store(m, v128.load(base + (q << 4)));
          v128.store(m, v128.load(base + stride + (q << 4)), 16);
          v128.store(m, v128.load(base + 2 * stride + (q << 4)), 32);
          v128.store(m, v128.load(base + 3 * stride + (q << 4)), 48);
          transpose4(m);
        }
      } else {
        for (let i: u32 = 0; i < 16; i++) {
          let vec = i32x4.splat(0);
          if (i < n) {
            // Lanes past the last leaf re-read the first one; their digests are not stored.
            const l0 = base + ((<usize>i) << 2);
            vec = i32x4.replace_lane(vec, 0, load<u32>(l0));
            vec = i32x4.replace_lane(vec, 1, load<u32>(l0 + (count > 1 ? stride : 0)));
            vec = i32x4.replace_lane(vec, 2, load<u32>(l0 + (count > 2 ? 2 * stride : 0)));
            vec = i32x4.replace_lane(vec, 3, load<u32>(l0 + (count > 3 ? 3 * stride : 0)));
          }
          v128.store(msg + (<usize>i << 4), vec);
        }
      }
      compress4(scratch, msg, n << 2, blockFlags(b, blocks));
    }
    storeDigests(out, g, count);
  }
}

/**
 * Merkle layers above the 8-word leaf digests at `leaves` (`total` of them, a power of two): each
 * parent is one keyed compression of its two children, and the `levels` layers are written one after
 * another from out, bottom-up, each whole (total / 2^(l+1) digests). This call hashes only the
 * subtree above leaves [first, first + count) (count a power of two dividing first), so that workers
 * sharing the memory can build disjoint subtrees of one tree into the same layers.
 */
export function merkle_layers(
  leaves: usize,
  first: u32,
  count: u32,
  total: u32,
  levels: u32,
  key: usize,
  out: usize,
): void {
  let children = leaves + ((<usize>first) << 5);
  let layer = out;
  for (let l: u32 = 0; l < levels; l++) {
    count >>= 1;
    const mine = layer + ((<usize>(first >> (l + 1))) << 5);
    hash_leaves(children, count, 16, key, mine);
    children = mine;
    layer += (<usize>(total >> (l + 1))) << 5;
  }
}

/**
 * Keyed BLAKE3 of each row of a column-major matrix (`width` columns of `rows` words, column c at
 * input + c * stride words): row r is the words (col0[r], col1[r], ...). Four consecutive rows are
 * one vector load per word, so no gathering is needed. rows must be a multiple of 4.
 */
export function hash_columns(input: usize, stride: u32, rows: u32, width: u32, key: usize, out: usize): void {
  const blocks: u32 = width === 0 ? 1 : (width + 15) >> 4;
  const msg = scratch + 128;
  for (let r: u32 = 0; r < rows; r += 4) {
    initCv(key);
    for (let b: u32 = 0; b < blocks; b++) {
      const first = b << 4;
      const n = width - first < 16 ? width - first : 16;
      for (let i: u32 = 0; i < 16; i++) {
        const vec = i < n ? v128.load(input + ((<usize>(first + i) * stride + r) << 2)) : i32x4.splat(0);
        v128.store(msg + (<usize>i << 4), vec);
      }
      compress4(scratch, msg, n << 2, blockFlags(b, blocks));
    }
    storeDigests(out, r, 4);
  }
}

// ---------------------------------------------------------------- FRI folding

/**
 * Folds `cosets` cosets of 8 extension elements (bit-reversed layer) with challenge zeta, exactly as
 * core/src/stark/kernels.ts foldCoset: c_k = sum_t v_bitrev3(t) M[k][t] (inverse 8-point DFT, M in
 * Montgomery form at matrix), then f' = sum_k (zeta / x_m)^k c_k by Horner. The 4 coordinates of an
 * extension element are the 4 lanes of a vector. xInv holds canonical 1 / x_m.
 */
export function fri_fold(
  input: usize,
  xInv: usize,
  cosets: u32,
  z0: u32,
  z1: u32,
  z2: u32,
  z3: u32,
  matrix: usize,
  out: usize,
): void {
  for (let m: usize = 0; m < <usize>cosets; m++) {
    const xm = mmul(load<u32>(xInv + (m << 2)), R2);
    // r = zeta * x^-1, kept in Montgomery form for the Horner multiplications below.
    const r0 = mmul(mmul(z0, xm), R2);
    const r1 = mmul(mmul(z1, xm), R2);
    const r2 = mmul(mmul(z2, xm), R2);
    const r3 = mmul(mmul(z3, xm), R2);
    const base = input + (m << 7);
    let a0: u32 = 0, a1: u32 = 0, a2: u32 = 0, a3: u32 = 0;
    for (let k: i32 = 7; k >= 0; k--) {
      const row = matrix + (<usize>k << 5);
      let c = i32x4.splat(0);
      c = add4(c, mmul4(v128.load(base), i32x4.splat(load<u32>(row))));
      c = add4(c, mmul4(v128.load(base, 64), i32x4.splat(load<u32>(row, 4))));
      c = add4(c, mmul4(v128.load(base, 32), i32x4.splat(load<u32>(row, 8))));
      c = add4(c, mmul4(v128.load(base, 96), i32x4.splat(load<u32>(row, 12))));
      c = add4(c, mmul4(v128.load(base, 16), i32x4.splat(load<u32>(row, 16))));
      c = add4(c, mmul4(v128.load(base, 80), i32x4.splat(load<u32>(row, 20))));
      c = add4(c, mmul4(v128.load(base, 48), i32x4.splat(load<u32>(row, 24))));
      c = add4(c, mmul4(v128.load(base, 112), i32x4.splat(load<u32>(row, 28))));
      // acc = acc * r + c in F_p[X] / (X^4 - 11).
      const m0 = addp(mmul(a0, r0), mmul(addp(addp(mmul(a1, r3), mmul(a2, r2)), mmul(a3, r1)), W_MONT));
      const m1 = addp(addp(mmul(a0, r1), mmul(a1, r0)), mmul(addp(mmul(a2, r3), mmul(a3, r2)), W_MONT));
      const m2 = addp(addp(addp(mmul(a0, r2), mmul(a1, r1)), mmul(a2, r0)), mmul(mmul(a3, r3), W_MONT));
      const m3 = addp(addp(mmul(a0, r3), mmul(a1, r2)), addp(mmul(a2, r1), mmul(a3, r0)));
      a0 = addp(m0, i32x4.extract_lane(c, 0));
      a1 = addp(m1, i32x4.extract_lane(c, 1));
      a2 = addp(m2, i32x4.extract_lane(c, 2));
      a3 = addp(m3, i32x4.extract_lane(c, 3));
    }
    const o = out + (m << 4);
    store<u32>(o, a0);
    store<u32>(o, a1, 4);
    store<u32>(o, a2, 8);
    store<u32>(o, a3, 12);
  }
}

// ---------------------------------------------------------------- DEEP batching

/**
 * acc[k] += sum_c coeff_c * column_c[k] for `cols` base-field columns of n words (column c at
 * input + c * stride words) and extension coefficients in a pair table (coordinates and their Shoup
 * quotients, 32 bytes per column): the random linear combinations of the DEEP composition. An
 * extension accumulator is one vector per point.
 */
export function combine_columns(input: usize, stride: u32, cols: u32, n: u32, coeffs: usize, acc: usize): void {
  // Blocks of 1024 points keep their 16 KiB of accumulators in L1 across all columns.
  const block: usize = 1024;
  for (let k0: usize = 0; k0 < <usize>n; k0 += block) {
    const k1 = k0 + block < <usize>n ? k0 + block : <usize>n;
    for (let c: usize = 0; c < <usize>cols; c++) {
      const beta = v128.load(coeffs + (c << 5));
      const betaQ = v128.load(coeffs + (c << 5), 16);
      const col = input + ((c * <usize>stride) << 2);
      for (let k = k0; k < k1; k++) {
        const p = acc + (k << 4);
        v128.store(p, add4(v128.load(p), smul4(i32x4.splat(load<u32>(col + (k << 2))), beta, betaQ)));
      }
    }
  }
}

/**
 * out[c] = sum_k column_c[k] * weight[k] for `cols` base columns of n words (column c at
 * input + c * stride words) and n extension weights in Montgomery form: barycentric evaluation of
 * every trace column at the DEEP point.
 */
export function dot_columns(input: usize, stride: u32, cols: u32, n: u32, weights: usize, out: usize): void {
  for (let c: usize = 0; c < <usize>cols; c++) {
    const col = input + ((c * <usize>stride) << 2);
    let acc = i32x4.splat(0);
    for (let k: usize = 0; k < <usize>n; k++) {
      acc = add4(acc, mmul4(i32x4.splat(load<u32>(col + (k << 2))), v128.load(weights + (k << 4))));
    }
    v128.store(out + (c << 4), acc);
  }
}

/** A pair table (see pairAt) of the n canonical values at values, for smul4 and combine_columns. */
export function build_pairs(values: usize, n: u32, table: usize): void {
  for (let i: usize = 0; i < <usize>n; i++) {
    const e = pairAt(table, i);
    const w = load<u32>(values + (i << 2));
    store<u32>(e, w);
    store<u32>(e, shoupQuotient(w), 16);
  }
}

// Extension arithmetic on scalars, result in (e0, e1, e2, e3). With both inputs in Montgomery form the
// result is too; with one canonical and one Montgomery the result is canonical.
let e0: u32 = 0;
let e1: u32 = 0;
let e2: u32 = 0;
let e3: u32 = 0;

@inline function emulTo(a0: u32, a1: u32, a2: u32, a3: u32, b0: u32, b1: u32, b2: u32, b3: u32): void {
  const t0 = addp(mmul(a0, b0), mmul(addp(addp(mmul(a1, b3), mmul(a2, b2)), mmul(a3, b1)), W_MONT));
  const t1 = addp(addp(mmul(a0, b1), mmul(a1, b0)), mmul(addp(mmul(a2, b3), mmul(a3, b2)), W_MONT));
  const t2 = addp(addp(addp(mmul(a0, b2), mmul(a1, b1)), mmul(a2, b0)), mmul(mmul(a3, b3), W_MONT));
  const t3 = addp(addp(mmul(a0, b3), mmul(a1, b2)), addp(mmul(a2, b1), mmul(a3, b0)));
  e0 = t0;
  e1 = t1;
  e2 = t2;
  e3 = t3;
}

/** (e0..e3) = a^(p^4 - 2) = a^-1 in Montgomery form (Fermat in F_(p^4); ~190 multiplications, once per batch). */
function einvMontTo(a0: u32, a1: u32, a2: u32, a3: u32, oneMont: u32): void {
  const hi: u64 = 0xc5c100069780001;
  const lo: u64 = 0x51800001dfffffff;
  let r0 = oneMont, r1: u32 = 0, r2: u32 = 0, r3: u32 = 0;
  for (let i: i32 = 123; i >= 0; i--) {
    emulTo(r0, r1, r2, r3, r0, r1, r2, r3);
    r0 = e0; r1 = e1; r2 = e2; r3 = e3;
    const bit = i >= 64 ? (hi >> <u64>(i - 64)) & 1 : (lo >> <u64>i) & 1;
    if (bit !== 0) {
      emulTo(r0, r1, r2, r3, a0, a1, a2, a3);
      r0 = e0; r1 = e1; r2 = e2; r3 = e3;
    }
  }
  e0 = r0; e1 = r1; e2 = r2; e3 = r3;
}

// Extension arithmetic on 4 points at once, one vector per coordinate (lane j = point j); result in
// (x0, x1, x2, x3). Forms as for emulTo: Montgomery times Montgomery stays Montgomery, Montgomery
// times canonical is canonical.
let x0: v128 = i32x4.splat(0);
let x1: v128 = i32x4.splat(0);
let x2: v128 = i32x4.splat(0);
let x3: v128 = i32x4.splat(0);

/** s * 11 (the extension's non-residue), in whichever form s is. */
@inline function mulW4(s: v128): v128 {
  return smul4(s, i32x4.splat(11), i32x4.splat(W_QUOTIENT));
}

@inline function emul4(a0: v128, a1: v128, a2: v128, a3: v128, b0: v128, b1: v128, b2: v128, b3: v128): void {
  const t0 = add4(mmul4(a0, b0), mulW4(add4(add4(mmul4(a1, b3), mmul4(a2, b2)), mmul4(a3, b1))));
  const t1 = add4(add4(mmul4(a0, b1), mmul4(a1, b0)), mulW4(add4(mmul4(a2, b3), mmul4(a3, b2))));
  const t2 = add4(add4(add4(mmul4(a0, b2), mmul4(a1, b1)), mmul4(a2, b0)), mulW4(mmul4(a3, b3)));
  const t3 = add4(add4(mmul4(a0, b3), mmul4(a1, b2)), add4(mmul4(a2, b1), mmul4(a3, b0)));
  x0 = t0;
  x1 = t1;
  x2 = t2;
  x3 = t3;
}

/**
 * r * (d, c1, c2, c3) for 4 points, where only the first coordinate d varies and c1..c3 are
 * constants (canonical, with Shoup quotients q1..q3): a denominator x - z of the DEEP composition.
 */
@inline function emulDenominator4(
  r0: v128,
  r1: v128,
  r2: v128,
  r3: v128,
  d: v128,
  c1: v128,
  q1: v128,
  c2: v128,
  q2: v128,
  c3: v128,
  q3: v128,
): void {
  const t0 = add4(mmul4(r0, d), mulW4(add4(add4(smul4(r1, c3, q3), smul4(r2, c2, q2)), smul4(r3, c1, q1))));
  const t1 = add4(add4(smul4(r0, c1, q1), mmul4(r1, d)), mulW4(add4(smul4(r2, c3, q3), smul4(r3, c2, q2))));
  const t2 = add4(add4(add4(smul4(r0, c2, q2), smul4(r1, c1, q1)), mmul4(r2, d)), mulW4(smul4(r3, c3, q3)));
  const t3 = add4(add4(smul4(r0, c3, q3), smul4(r1, c2, q2)), add4(smul4(r2, c1, q1), mmul4(r3, d)));
  x0 = t0;
  x1 = t1;
  x2 = t2;
  x3 = t3;
}

/** The 4 extension elements (16 words, one after another) at p as coordinate vectors, in (x0..x3). */
@inline function loadTransposed(p: usize): void {
  const v0 = v128.load(p);
  const v1 = v128.load(p, 16);
  const v2 = v128.load(p, 32);
  const v3 = v128.load(p, 48);
  const t0 = v128.shuffle<i32>(v0, v1, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(v0, v1, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(v2, v3, 0, 4, 1, 5);
  const t3 = v128.shuffle<i32>(v2, v3, 2, 6, 3, 7);
  x0 = v128.shuffle<i32>(t0, t2, 0, 1, 4, 5);
  x1 = v128.shuffle<i32>(t0, t2, 2, 3, 6, 7);
  x2 = v128.shuffle<i32>(t1, t3, 0, 1, 4, 5);
  x3 = v128.shuffle<i32>(t1, t3, 2, 3, 6, 7);
}

/** Stores coordinate vectors c0..c3 of 4 extension elements as 16 words, element after element. */
@inline function storeTransposed(p: usize, c0: v128, c1: v128, c2: v128, c3: v128): void {
  const t0 = v128.shuffle<i32>(c0, c1, 0, 4, 1, 5);
  const t1 = v128.shuffle<i32>(c0, c1, 2, 6, 3, 7);
  const t2 = v128.shuffle<i32>(c2, c3, 0, 4, 1, 5);
  const t3 = v128.shuffle<i32>(c2, c3, 2, 6, 3, 7);
  v128.store(p, v128.shuffle<i32>(t0, t2, 0, 1, 4, 5));
  v128.store(p, v128.shuffle<i32>(t0, t2, 2, 3, 6, 7), 16);
  v128.store(p, v128.shuffle<i32>(t1, t3, 0, 1, 4, 5), 32);
  v128.store(p, v128.shuffle<i32>(t1, t3, 2, 3, 6, 7), 48);
}

/**
 * deep_compose for n a multiple of 4, 4 points per step: lane j of every vector belongs to points
 * 4g + j, so Montgomery's trick runs as 4 independent chains (4 extension inversions at the end)
 * and every extension product is 4 points' worth of vector products. Same results as deep_compose.
 */
function deep_compose4(
  a: usize,
  b: usize,
  xs: usize,
  n: u32,
  consts: usize,
  prefix: usize,
  oneMont: u32,
  out: usize,
): void {
  // x - z = (x - z0, -z1, -z2, -z3): its constant coordinates canonical, for Shoup products.
  const z0 = i32x4.splat(load<u32>(consts));
  const w0 = i32x4.splat(load<u32>(consts, 16));
  const nz1 = subp(0, mmul(load<u32>(consts, 4), 1));
  const nz2 = subp(0, mmul(load<u32>(consts, 8), 1));
  const nz3 = subp(0, mmul(load<u32>(consts, 12), 1));
  const nw1 = subp(0, mmul(load<u32>(consts, 20), 1));
  const nw2 = subp(0, mmul(load<u32>(consts, 24), 1));
  const nw3 = subp(0, mmul(load<u32>(consts, 28), 1));
  const cz1 = i32x4.splat(nz1), qz1 = i32x4.splat(shoupQuotient(nz1));
  const cz2 = i32x4.splat(nz2), qz2 = i32x4.splat(shoupQuotient(nz2));
  const cz3 = i32x4.splat(nz3), qz3 = i32x4.splat(shoupQuotient(nz3));
  const cw1 = i32x4.splat(nw1), qw1 = i32x4.splat(shoupQuotient(nw1));
  const cw2 = i32x4.splat(nw2), qw2 = i32x4.splat(shoupQuotient(nw2));
  const cw3 = i32x4.splat(nw3), qw3 = i32x4.splat(shoupQuotient(nw3));
  const r2 = i32x4.splat(R2);
  let r0 = i32x4.splat(oneMont), r1 = i32x4.splat(0), r2v = i32x4.splat(0), r3 = i32x4.splat(0);
  for (let g: usize = 0; g < <usize>n; g += 4) {
    const x = mmul4(v128.load(xs + (g << 2)), r2);
    const p = prefix + (g << 5);
    v128.store(p, r0); v128.store(p, r1, 16); v128.store(p, r2v, 32); v128.store(p, r3, 48);
    emulDenominator4(r0, r1, r2v, r3, sub4(x, z0), cz1, qz1, cz2, qz2, cz3, qz3);
    v128.store(p, x0, 64); v128.store(p, x1, 80); v128.store(p, x2, 96); v128.store(p, x3, 112);
    emulDenominator4(x0, x1, x2, x3, sub4(x, w0), cw1, qw1, cw2, qw2, cw3, qw3);
    r0 = x0; r1 = x1; r2v = x2; r3 = x3;
  }
  // Invert each lane's product.
  const tmp = scratch + 128;
  v128.store(tmp, r0); v128.store(tmp, r1, 16); v128.store(tmp, r2v, 32); v128.store(tmp, r3, 48);
  for (let j: usize = 0; j < 4; j++) {
    einvMontTo(load<u32>(tmp + (j << 2)), load<u32>(tmp + (j << 2), 16), load<u32>(tmp + (j << 2), 32), load<u32>(tmp + (j << 2), 48), oneMont);
    store<u32>(tmp + (j << 2), e0, 64); store<u32>(tmp + (j << 2), e1, 80); store<u32>(tmp + (j << 2), e2, 96); store<u32>(tmp + (j << 2), e3, 112);
  }
  let i0 = v128.load(tmp, 64), i1 = v128.load(tmp, 80), i2 = v128.load(tmp, 96), i3 = v128.load(tmp, 112);
  const ca0 = i32x4.splat(load<u32>(consts, 32)), ca1 = i32x4.splat(load<u32>(consts, 36));
  const ca2 = i32x4.splat(load<u32>(consts, 40)), ca3 = i32x4.splat(load<u32>(consts, 44));
  const cb0 = i32x4.splat(load<u32>(consts, 48)), cb1 = i32x4.splat(load<u32>(consts, 52));
  const cb2 = i32x4.splat(load<u32>(consts, 56)), cb3 = i32x4.splat(load<u32>(consts, 60));
  for (let g: isize = <isize>n - 4; g >= 0; g -= 4) {
    const x = mmul4(v128.load(xs + (<usize>g << 2)), r2);
    const p = prefix + (<usize>g << 5);
    // 1 / (x - z w) = prefix-through-(x - z) * inv; then inv *= (x - z w).
    emul4(v128.load(p, 64), v128.load(p, 80), v128.load(p, 96), v128.load(p, 112), i0, i1, i2, i3);
    const v0 = x0, v1 = x1, v2 = x2, v3 = x3;
    emulDenominator4(i0, i1, i2, i3, sub4(x, w0), cw1, qw1, cw2, qw2, cw3, qw3);
    i0 = x0; i1 = x1; i2 = x2; i3 = x3;
    // 1 / (x - z) = prefix-before * inv; then inv *= (x - z).
    emul4(v128.load(p), v128.load(p, 16), v128.load(p, 32), v128.load(p, 48), i0, i1, i2, i3);
    const u0 = x0, u1 = x1, u2 = x2, u3 = x3;
    emulDenominator4(i0, i1, i2, i3, sub4(x, z0), cz1, qz1, cz2, qz2, cz3, qz3);
    i0 = x0; i1 = x1; i2 = x2; i3 = x3;
    const o = <usize>g << 4;
    // Canonical numerators times Montgomery inverses give canonical terms.
    loadTransposed(b + o);
    emul4(sub4(x0, cb0), sub4(x1, cb1), sub4(x2, cb2), sub4(x3, cb3), v0, v1, v2, v3);
    const f0 = x0, f1 = x1, f2 = x2, f3 = x3;
    loadTransposed(a + o);
    emul4(sub4(x0, ca0), sub4(x1, ca1), sub4(x2, ca2), sub4(x3, ca3), u0, u1, u2, u3);
    storeTransposed(out + o, add4(x0, f0), add4(x1, f1), add4(x2, f2), add4(x3, f3));
  }
}

/**
 * The DEEP composition F(x) = (A(x) - a) / (x - z) + (B(x) - b) / (x - z w) at n points x (canonical,
 * at xs), with A and B flat extension arrays (canonical) and consts = [z, z w] in Montgomery form then
 * [a, b] canonical (16 words). The 2n denominators are inverted with one extension inversion
 * (Montgomery's trick) using `prefix` (8n words of scratch). oneMont = R.
 */
export function deep_compose(
  a: usize,
  b: usize,
  xs: usize,
  n: u32,
  consts: usize,
  prefix: usize,
  oneMont: u32,
  out: usize,
): void {
  if ((n & 3) === 0) {
    deep_compose4(a, b, xs, n, consts, prefix, oneMont, out);
    return;
  }
  const z0 = load<u32>(consts), z1 = load<u32>(consts, 4), z2 = load<u32>(consts, 8), z3 = load<u32>(consts, 12);
  const w0 = load<u32>(consts, 16), w1 = load<u32>(consts, 20), w2 = load<u32>(consts, 24), w3 = load<u32>(consts, 28);
  const nz1 = subp(0, z1), nz2 = subp(0, z2), nz3 = subp(0, z3);
  const nw1 = subp(0, w1), nw2 = subp(0, w2), nw3 = subp(0, w3);
  let r0 = oneMont, r1: u32 = 0, r2: u32 = 0, r3: u32 = 0;
  for (let k: usize = 0; k < <usize>n; k++) {
    const x = mmul(load<u32>(xs + (k << 2)), R2);
    const p = prefix + (k << 5);
    store<u32>(p, r0); store<u32>(p, r1, 4); store<u32>(p, r2, 8); store<u32>(p, r3, 12);
    emulTo(r0, r1, r2, r3, subp(x, z0), nz1, nz2, nz3);
    store<u32>(p, e0, 16); store<u32>(p, e1, 20); store<u32>(p, e2, 24); store<u32>(p, e3, 28);
    emulTo(e0, e1, e2, e3, subp(x, w0), nw1, nw2, nw3);
    r0 = e0; r1 = e1; r2 = e2; r3 = e3;
  }
  einvMontTo(r0, r1, r2, r3, oneMont);
  let i0 = e0, i1 = e1, i2 = e2, i3 = e3;
  const a0 = load<u32>(consts, 32), a1 = load<u32>(consts, 36), a2 = load<u32>(consts, 40), a3 = load<u32>(consts, 44);
  const b0 = load<u32>(consts, 48), b1 = load<u32>(consts, 52), b2 = load<u32>(consts, 56), b3 = load<u32>(consts, 60);
  for (let k: isize = <isize>n - 1; k >= 0; k--) {
    const x = mmul(load<u32>(xs + (<usize>k << 2)), R2);
    const p = prefix + (<usize>k << 5);
    // 1 / (x - z w) = prefix-through-(x - z) * inv; then inv *= (x - z w).
    emulTo(load<u32>(p, 16), load<u32>(p, 20), load<u32>(p, 24), load<u32>(p, 28), i0, i1, i2, i3);
    const v0 = e0, v1 = e1, v2 = e2, v3 = e3;
    emulTo(i0, i1, i2, i3, subp(x, w0), nw1, nw2, nw3);
    i0 = e0; i1 = e1; i2 = e2; i3 = e3;
    // 1 / (x - z) = prefix-before * inv; then inv *= (x - z).
    emulTo(load<u32>(p), load<u32>(p, 4), load<u32>(p, 8), load<u32>(p, 12), i0, i1, i2, i3);
    const u0 = e0, u1 = e1, u2 = e2, u3 = e3;
    emulTo(i0, i1, i2, i3, subp(x, z0), nz1, nz2, nz3);
    i0 = e0; i1 = e1; i2 = e2; i3 = e3;
    const o = <usize>k << 4;
    // Canonical numerators times Montgomery inverses give canonical terms.
    emulTo(subp(load<u32>(a + o), a0), subp(load<u32>(a + o, 4), a1), subp(load<u32>(a + o, 8), a2), subp(load<u32>(a + o, 12), a3), u0, u1, u2, u3);
    const f0 = e0, f1 = e1, f2 = e2, f3 = e3;
    emulTo(subp(load<u32>(b + o), b0), subp(load<u32>(b + o, 4), b1), subp(load<u32>(b + o, 8), b2), subp(load<u32>(b + o, 12), b3), v0, v1, v2, v3);
    store<u32>(out + o, addp(f0, e0));
    store<u32>(out + o, addp(f1, e1), 4);
    store<u32>(out + o, addp(f2, e2), 8);
    store<u32>(out + o, addp(f3, e3), 12);
  }
}

// ---------------------------------------------------------------- vector arithmetic for constraints

/** out = a + b, a - b, a * b elementwise over n canonical elements (n a multiple of 4). */
export function vadd(a: usize, b: usize, out: usize, n: u32): void {
  for (let i: usize = 0; i < (<usize>n) << 2; i += 16) v128.store(out + i, add4(v128.load(a + i), v128.load(b + i)));
}

export function vsub(a: usize, b: usize, out: usize, n: u32): void {
  for (let i: usize = 0; i < (<usize>n) << 2; i += 16) v128.store(out + i, sub4(v128.load(a + i), v128.load(b + i)));
}

/** Canonical product: mont_mul(a, b) = ab / R, and one more mont_mul by R^2 restores ab. */
export function vmul(a: usize, b: usize, out: usize, n: u32): void {
  // ab / R times the constant R, the latter as a Shoup product (cheaper than a second Montgomery one).
  const r = i32x4.splat(R_CANON);
  const rq = i32x4.splat(shoupQuotient(R_CANON));
  for (let i: usize = 0; i < (<usize>n) << 2; i += 16) {
    v128.store(out + i, smul4(mmul4(v128.load(a + i), v128.load(b + i)), r, rq));
  }
}

export function vfill(out: usize, value: u32, n: u32): void {
  const v = i32x4.splat(value);
  for (let i: usize = 0; i < (<usize>n) << 2; i += 16) v128.store(out + i, v);
}

/** acc_l += c_l * v for l < 4: four coordinate vectors at acc + l * n words, c canonical (Shoup products). */
export function vaxpy4(acc: usize, c0: u32, c1: u32, c2: u32, c3: u32, v: usize, n: u32): void {
  const bytes = (<usize>n) << 2;
  const k0 = i32x4.splat(c0);
  const k1 = i32x4.splat(c1);
  const k2 = i32x4.splat(c2);
  const k3 = i32x4.splat(c3);
  const q0 = i32x4.splat(shoupQuotient(c0));
  const q1 = i32x4.splat(shoupQuotient(c1));
  const q2 = i32x4.splat(shoupQuotient(c2));
  const q3 = i32x4.splat(shoupQuotient(c3));
  for (let i: usize = 0; i < bytes; i += 16) {
    const x = v128.load(v + i);
    const p0 = acc + i;
    v128.store(p0, add4(v128.load(p0), smul4(x, k0, q0)));
    const p1 = p0 + bytes;
    v128.store(p1, add4(v128.load(p1), smul4(x, k1, q1)));
    const p2 = p1 + bytes;
    v128.store(p2, add4(v128.load(p2), smul4(x, k2, q2)));
    const p3 = p2 + bytes;
    v128.store(p3, add4(v128.load(p3), smul4(x, k3, q3)));
  }
}

/** acc_l *= v for l < 4 (canonical v). */
export function vscale4(acc: usize, v: usize, n: u32): void {
  const bytes = (<usize>n) << 2;
  const r2 = i32x4.splat(R2);
  for (let i: usize = 0; i < bytes; i += 16) {
    const x = mmul4(v128.load(v + i), r2);
    for (let l: usize = 0; l < 4; l++) {
      const p = acc + l * bytes + i;
      v128.store(p, mmul4(v128.load(p), x));
    }
  }
}

/** Index of the first non-zero element of n, or n if all are zero. */
export function vfirst_nonzero(a: usize, n: u32): u32 {
  for (let i: u32 = 0; i < n; i++) if (load<u32>(a + (<usize>i << 2)) !== 0) return i;
  return n;
}

/**
 * Bit-reversed evaluations on shift<w_N> -> natural-order coefficients, for `cols` columns of N words
 * in place: inverse NTT, then coefficient i times shift^-i / N (scaleMont = (1/N) R, shiftInvMont =
 * shift^-1 R).
 */
export function interpolate_columns(data: usize, cols: u32, logN: u32, twInv: usize, scaleMont: u32, shiftInvMont: u32): void {
  const n: usize = (<usize>1) << logN;
  for (let c: usize = 0; c < <usize>cols; c++) {
    const col = data + ((c * n) << 2);
    intt_dit_unscaled(col, logN, twInv);
    scale_by_table(col, <u32>n, shiftInvMont, scaleMont);
  }
}

// ---------------------------------------------------------------- proof-of-work

/**
 * The smallest nonce >= start (tried in groups of 4, one per lane) whose grinding hash, keyed BLAKE3
 * of (seed: 8 words, nonce: 1 word), has at least `bits` leading zero bits counted from its first byte;
 * returns 0xffffffff if none below start + count. Same hash as core/src/stark/transcript.ts powLeadingZeros.
 */
export function grind(seed: usize, key: usize, bits: u32, start: u32, count: u32): u32 {
  const msg = scratch + 128;
  for (let i: usize = 0; i < 8; i++) v128.store(msg + (i << 4), i32x4.splat(load<u32>(seed + (i << 2))));
  for (let i: usize = 9; i < 16; i++) v128.store(msg + (i << 4), i32x4.splat(0));
  for (let nonce: u32 = start; nonce - start < count; nonce += 4) {
    let lanes = i32x4.splat(nonce);
    lanes = i32x4.add(lanes, i32x4(0, 1, 2, 3));
    v128.store(msg + (8 << 4), lanes);
    initCv(key);
    compress4(scratch, msg, 36, KEYED_HASH | CHUNK_START | CHUNK_END | ROOT);
    const first = v128.load(scratch);
    for (let k: u8 = 0; k < 4; k++) {
      let w: u32 = 0;
      if (k === 0) w = i32x4.extract_lane(first, 0);
      else if (k === 1) w = i32x4.extract_lane(first, 1);
      else if (k === 2) w = i32x4.extract_lane(first, 2);
      else w = i32x4.extract_lane(first, 3);
      if (<u32>clz(bswap(w)) >= bits) return nonce + k;
    }
  }
  return 0xffffffff;
}

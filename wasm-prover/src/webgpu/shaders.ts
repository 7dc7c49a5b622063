/**
 * WGSL compute shaders for the LDE (NTT stages) and Merkle leaf hashing. WGSL has no 64-bit
 * integers, so the 31x31-bit products are assembled from 16-bit limbs (four u32 partial products);
 * reduction is Montgomery's with R = 2^32, exactly as the WASM kernels, so results are bit-identical
 * (canonical data, twiddles and scale factors in Montgomery form).
 */

export const FIELD_WGSL = /* wgsl */ `
const P: u32 = 2013265921u;
const MU: u32 = 2281701377u; // p^-1 mod 2^32

// The 64-bit product of two u32 as (lo, hi), from 16-bit limbs.
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let p11 = a1 * b1;
  let mid = p01 + p10;
  let mid_carry = select(0u, 0x10000u, mid < p01);
  let lo = p00 + (mid << 16u);
  let lo_carry = select(0u, 1u, lo < p00);
  let hi = p11 + (mid >> 16u) + mid_carry + lo_carry;
  return vec2<u32>(lo, hi);
}

// a * b * 2^-32 mod p for canonical a, b (Montgomery).
fn mmul(a: u32, b: u32) -> u32 {
  let ab = mul_wide(a, b);
  let q = ab.x * MU;
  let qp = mul_wide(q, P);
  // Low halves are equal by construction, so the high halves' difference is exact, in (-p, p).
  let t = ab.y - qp.y;
  return min(t, t + P);
}

fn addp(a: u32, b: u32) -> u32 {
  let s = a + b;
  return min(s, s - P);
}

fn subp(a: u32, b: u32) -> u32 {
  let d = a - b;
  return min(d, d + P);
}
`;

/**
 * NTT stages over `cols` columns stored `1 << stride_log` words apart; each invocation is one
 * butterfly of the stage with half-size `len` of a transform of 2^log_n. Twiddle table layout as in
 * the WASM kernels: entry len + j is w_(2 len)^j in Montgomery form.
 */
export const NTT_WGSL = /* wgsl */ `${FIELD_WGSL}
struct Params {
  log_n: u32,
  len: u32,
  cols: u32,
  stride_log: u32,
  row_width: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@group(0) @binding(1) var<storage, read> tw: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

fn butterfly(gid: vec3<u32>) -> vec3<u32> {
  let b = gid.x + gid.y * params.row_width;
  let half = 1u << (params.log_n - 1u);
  let col = b >> (params.log_n - 1u);
  let j = b & (half - 1u);
  let off = j & (params.len - 1u);
  let i0 = (col << params.stride_log) + ((j - off) << 1u) + off;
  return vec3<u32>(i0, i0 + params.len, off);
}

@compute @workgroup_size(64)
fn dif_stage(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x + gid.y * params.row_width >= (params.cols << (params.log_n - 1u))) { return; }
  let ix = butterfly(gid);
  let u = data[ix.x];
  let v = data[ix.y];
  data[ix.x] = addp(u, v);
  data[ix.y] = mmul(subp(u, v), tw[params.len + ix.z]);
}

@compute @workgroup_size(64)
fn dit_stage(@builtin(global_invocation_id) gid: vec3<u32>) {
  if (gid.x + gid.y * params.row_width >= (params.cols << (params.log_n - 1u))) { return; }
  let ix = butterfly(gid);
  let u = data[ix.x];
  let v = mmul(data[ix.y], tw[params.len + ix.z]);
  data[ix.x] = addp(u, v);
  data[ix.y] = subp(u, v);
}
`;

/**
 * LDE prologue: column c's natural-order values (2^log_n words at c * 2^log_n of src) go bit-reversed
 * to the start of its 2^stride_log-word slot in data (the rest stays zero: the padding).
 * After the inverse NTT, scale multiplies coefficient i by shift^i / n (Montgomery table).
 */
export const LDE_WGSL = /* wgsl */ `${FIELD_WGSL}
struct Params {
  log_n: u32,
  len: u32,
  cols: u32,
  stride_log: u32,
  row_width: u32,
}

@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn gather_bit_reversed(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_width;
  if (i >= (params.cols << params.log_n)) { return; }
  let col = i >> params.log_n;
  let k = i & ((1u << params.log_n) - 1u);
  let r = reverseBits(k) >> (32u - params.log_n);
  data[(col << params.stride_log) + k] = src[(col << params.log_n) + r];
}

@compute @workgroup_size(64)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.row_width;
  if (i >= (params.cols << params.log_n)) { return; }
  let col = i >> params.log_n;
  let k = i & ((1u << params.log_n) - 1u);
  let at = (col << params.stride_log) + k;
  data[at] = mmul(data[at], src[k]);
}
`;

/**
 * BLAKE3 keyed hashing of one chunk per invocation (BLAKE3 spec section 2.2): leaves are rows of a
 * column-major matrix (hash_rows: word w of row r at w * rows + r) or contiguous runs (hash_runs:
 * Merkle nodes are runs of 16 words). Output: 8 words per leaf.
 */
export const BLAKE3_WGSL = /* wgsl */ `
struct Params {
  leaves: u32,
  words: u32,
  row_width: u32,
  by_columns: u32,
}

@group(0) @binding(0) var<storage, read> input: array<u32>;
@group(0) @binding(1) var<storage, read_write> output: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read> key: array<u32, 8>;

var<private> IV: array<u32, 8> = array<u32, 8>(0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
                         0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u);
var<private> PERM: array<u32, 16> = array<u32, 16>(2u, 6u, 3u, 10u, 7u, 0u, 4u, 13u, 1u, 11u, 12u, 5u, 9u, 14u, 15u, 8u);

fn rotr(x: u32, n: u32) -> u32 {
  return (x >> n) | (x << (32u - n));
}

fn g(v: ptr<function, array<u32, 16>>, a: u32, b: u32, c: u32, d: u32, x: u32, y: u32) {
  (*v)[a] = (*v)[a] + (*v)[b] + x;
  (*v)[d] = rotr((*v)[d] ^ (*v)[a], 16u);
  (*v)[c] = (*v)[c] + (*v)[d];
  (*v)[b] = rotr((*v)[b] ^ (*v)[c], 12u);
  (*v)[a] = (*v)[a] + (*v)[b] + y;
  (*v)[d] = rotr((*v)[d] ^ (*v)[a], 8u);
  (*v)[c] = (*v)[c] + (*v)[d];
  (*v)[b] = rotr((*v)[b] ^ (*v)[c], 7u);
}

fn compress(cv: ptr<function, array<u32, 8>>, block: array<u32, 16>, block_len: u32, flags: u32) {
  var v: array<u32, 16>;
  for (var i = 0u; i < 8u; i++) { v[i] = (*cv)[i]; }
  v[8] = IV[0]; v[9] = IV[1]; v[10] = IV[2]; v[11] = IV[3];
  v[12] = 0u; v[13] = 0u; v[14] = block_len; v[15] = flags;
  var m = block;
  for (var r = 0u; r < 7u; r++) {
    g(&v, 0u, 4u, 8u, 12u, m[0], m[1]);
    g(&v, 1u, 5u, 9u, 13u, m[2], m[3]);
    g(&v, 2u, 6u, 10u, 14u, m[4], m[5]);
    g(&v, 3u, 7u, 11u, 15u, m[6], m[7]);
    g(&v, 0u, 5u, 10u, 15u, m[8], m[9]);
    g(&v, 1u, 6u, 11u, 12u, m[10], m[11]);
    g(&v, 2u, 7u, 8u, 13u, m[12], m[13]);
    g(&v, 3u, 4u, 9u, 14u, m[14], m[15]);
    var next: array<u32, 16>;
    for (var i = 0u; i < 16u; i++) { next[i] = m[PERM[i]]; }
    m = next;
  }
  for (var i = 0u; i < 8u; i++) { (*cv)[i] = v[i] ^ v[i + 8u]; }
}

@compute @workgroup_size(64)
fn hash(@builtin(global_invocation_id) gid: vec3<u32>) {
  let leaf = gid.x + gid.y * params.row_width;
  if (leaf >= params.leaves) { return; }
  var cv: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) { cv[i] = key[i]; }
  let blocks = max(1u, (params.words + 15u) / 16u);
  for (var b = 0u; b < blocks; b++) {
    // Explicitly zeroed each iteration: without the initializer SwiftShader kept the previous block's
    // words in this loop-local array, corrupting a partial last block (seen in e2e/tests/webgpu.spec.ts).
    var block = array<u32, 16>();
    let first = b * 16u;
    let n = min(16u, params.words - first);
    for (var i = 0u; i < n; i++) {
      let w = first + i;
      if (params.by_columns == 1u) {
        block[i] = input[w * params.leaves + leaf];
      } else {
        block[i] = input[leaf * params.words + w];
      }
    }
    var flags = 16u; // KEYED_HASH
    if (b == 0u) { flags |= 1u; } // CHUNK_START
    if (b == blocks - 1u) { flags |= 10u; } // CHUNK_END | ROOT
    compress(&cv, block, n * 4u, flags);
  }
  for (var i = 0u; i < 8u; i++) { output[leaf * 8u + i] = cv[i]; }
}
`;

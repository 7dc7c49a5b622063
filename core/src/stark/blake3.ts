/**
 * The BLAKE3 compression function (BLAKE3 spec, section 2.2) and keyed hashing of one chunk, over
 * 32-bit words. Written here rather than called through @noble/hashes because Merkle trees hash
 * millions of 64-byte inputs and the per-call setup of a general hasher dominates at that size; the
 * outputs are checked against @noble/hashes and the official test vectors.
 */

export const IV = Uint32Array.of(
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
);

export const CHUNK_START = 1;
export const CHUNK_END = 2;
export const ROOT = 8;
export const KEYED_HASH = 16;

/** Message word order of each of the 7 rounds (the spec's permutation applied r times). */
const SCHEDULE: readonly (readonly number[])[] = (() => {
  const perm = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];
  const rounds: number[][] = [];
  let order = Array.from({ length: 16 }, (_, i) => i);
  for (let r = 0; r < 7; r++) {
    rounds.push(order);
    order = perm.map((p) => order[p]!);
  }
  return rounds;
})();

const v = new Uint32Array(16);

function g(a: number, b: number, c: number, d: number, x: number, y: number): void {
  v[a] = (v[a]! + v[b]! + x) | 0;
  let t = v[d]! ^ v[a]!;
  v[d] = (t >>> 16) | (t << 16);
  v[c] = (v[c]! + v[d]!) | 0;
  t = v[b]! ^ v[c]!;
  v[b] = (t >>> 12) | (t << 20);
  v[a] = (v[a]! + v[b]! + y) | 0;
  t = v[d]! ^ v[a]!;
  v[d] = (t >>> 8) | (t << 24);
  v[c] = (v[c]! + v[d]!) | 0;
  t = v[b]! ^ v[c]!;
  v[b] = (t >>> 7) | (t << 25);
}

/**
 * Compresses one 64-byte block (16 words at `block[offset..]`) into the chaining value `cv`
 * (8 words, updated in place to the first half of the output, which is all a hash of <= 1 chunk needs).
 */
export function compressInPlace(
  cv: Uint32Array,
  block: Uint32Array,
  offset: number,
  counter: number,
  blockLen: number,
  flags: number,
): void {
  for (let i = 0; i < 8; i++) v[i] = cv[i]!;
  v[8] = IV[0]!;
  v[9] = IV[1]!;
  v[10] = IV[2]!;
  v[11] = IV[3]!;
  v[12] = counter;
  v[13] = 0;
  v[14] = blockLen;
  v[15] = flags;
  for (let r = 0; r < 7; r++) {
    const s = SCHEDULE[r]!;
    const m = (i: number): number => block[offset + s[i]!]!;
    g(0, 4, 8, 12, m(0), m(1));
    g(1, 5, 9, 13, m(2), m(3));
    g(2, 6, 10, 14, m(4), m(5));
    g(3, 7, 11, 15, m(6), m(7));
    g(0, 5, 10, 15, m(8), m(9));
    g(1, 6, 11, 12, m(10), m(11));
    g(2, 7, 8, 13, m(12), m(13));
    g(3, 4, 9, 14, m(14), m(15));
  }
  for (let i = 0; i < 8; i++) cv[i] = (v[i]! ^ v[i + 8]!) >>> 0;
}

const blockBuf = new Uint32Array(16);

/**
 * BLAKE3 keyed hash (32-byte output) of `words` as little-endian bytes, for inputs of at most one
 * chunk (1024 bytes, 256 words): every Merkle leaf and node of the STARK is this small. Writes the
 * digest's 8 words at out[outOffset..].
 */
export function keyedHashWords(
  key: Uint32Array,
  words: Uint32Array,
  start: number,
  length: number,
  out: Uint32Array,
  outOffset: number,
): void {
  if (length > 256) throw new RangeError('keyedHashWords hashes at most one 1024-byte chunk');
  const cv = out.subarray(outOffset, outOffset + 8);
  cv.set(key);
  const blocks = Math.max(1, Math.ceil(length / 16));
  for (let b = 0; b < blocks; b++) {
    const first = b * 16;
    const n = Math.min(16, length - first);
    let flags = KEYED_HASH;
    if (b === 0) flags |= CHUNK_START;
    if (b === blocks - 1) flags |= CHUNK_END | ROOT;
    if (n === 16) {
      compressInPlace(cv, words, start + first, 0, 64, flags);
    } else {
      blockBuf.fill(0);
      for (let i = 0; i < n; i++) blockBuf[i] = words[start + first + i]!;
      compressInPlace(cv, blockBuf, 0, 0, 4 * Math.max(n, 0), flags);
    }
  }
}

/** Little-endian words of a 32-byte key. */
export function keyWords(key: Uint8Array): Uint32Array {
  if (key.length !== 32) throw new RangeError('BLAKE3 keys are 32 bytes');
  const dv = new DataView(key.buffer, key.byteOffset, 32);
  const w = new Uint32Array(8);
  for (let i = 0; i < 8; i++) w[i] = dv.getUint32(4 * i, true);
  return w;
}

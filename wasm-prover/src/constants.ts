/** Field constants and table sizes the kernel loaders share (BabyBear, p = 2^31 - 2^27 + 1). */

export const P = 2013265921n;
const R = (1n << 32n) % P;

export function modPow(b: bigint, e: bigint): bigint {
  let r = 1n;
  let x = b % P;
  let k = e;
  while (k > 0n) {
    if (k & 1n) r = (r * x) % P;
    x = (x * x) % P;
    k >>= 1n;
  }
  return r;
}

export const toMont = (x: bigint | number): number => Number((BigInt(x) * R) % P);
export const inverse = (x: bigint | number): bigint => modPow(BigInt(x), P - 2n);
/** The generator of the order-2^log subgroup (31 generates the multiplicative group). */
export const root = (log: number): bigint => modPow(31n, (P - 1n) >> BigInt(log));

/**
 * Bytes of a kernel pair table of `entries` constants (assembly/kernels.ts pairAt): each group of 4
 * constants is stored with their Shoup quotients, 32 bytes.
 */
export const pairBytes = (entries: number): number => 32 * Math.ceil(entries / 4);

/** A pair table (assembly/kernels.ts pairAt) of canonical values: groups of 4 values, then their Shoup quotients. */
export function pairTable(values: readonly number[]): Uint32Array {
  const table = new Uint32Array(pairBytes(values.length) / 4);
  values.forEach((w, i) => {
    const at = 8 * Math.floor(i / 4) + (i % 4);
    table[at] = w;
    table[at + 4] = Number((BigInt(w) << 32n) / P);
  });
  return table;
}

/** The 8x8 FRI fold matrix w_8^(-t k) / 8 in Montgomery form (assembly fri_fold). */
export function foldMatrixMont(): Uint32Array {
  const w8inv = inverse(root(3));
  const eighth = inverse(8);
  const m = new Uint32Array(64);
  for (let k = 0; k < 8; k++) {
    for (let t = 0; t < 8; t++) m[8 * k + t] = toMont((modPow(w8inv, BigInt((t * k) % 8)) * eighth) % P);
  }
  return m;
}

/** Canonical shifts s_b = shift * w_(m blocks)^bitrev(b) of the blocks of a coset evaluation (assembly coset_blocks). */
export function blockShifts(m: number, blocks: number, shift: number): Uint32Array {
  const logBlocks = Math.log2(blocks);
  const w = root(Math.log2(m * blocks));
  const shifts = new Uint32Array(Math.max(4, blocks));
  for (let b = 0; b < blocks; b++) {
    let r = 0;
    for (let i = 0; i < logBlocks; i++) r |= ((b >>> i) & 1) << (logBlocks - 1 - i);
    shifts[b] = Number((BigInt(shift) * modPow(w, BigInt(r))) % P);
  }
  return shifts;
}

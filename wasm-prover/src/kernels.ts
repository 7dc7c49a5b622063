/**
 * Thin loader for the AssemblyScript kernels (assembly/kernels.ts -> build/kernels.wasm). It owns the
 * module's linear memory: a fixed area (BLAKE3 scratch, the FRI fold matrix, twiddle tables for the
 * largest size seen so far) followed by a per-call area that is reused by every call. Each method
 * copies its batch in, makes one WASM call and copies the result out.
 *
 * The object it returns has the shape of core's StarkKernels (this package depends on nothing of
 * ours, so the interface is matched structurally) plus the raw kernels the benchmarks time. The same
 * module built over an imported shared memory (build/kernels-shared.wasm) serves SharedKernelPool.
 */

import { blockShifts, foldMatrixMont, inverse, pairBytes, root, toMont } from './constants.ts';

export interface Exports {
  memory: WebAssembly.Memory;
  set_scratch(ptr: number): void;
  to_mont(a: number, n: number): void;
  mont_mul_batch(a: number, b: number, out: number, n: number): void;
  build_twiddles(tw: number, logN: number, root: number): void;
  ntt_dif(a: number, logN: number, tw: number): void;
  intt_dit_unscaled(a: number, logN: number, tw: number): void;
  build_block_tables(tables: number, m: number, blocks: number, shifts: number, base: number): void;
  lde_columns(
    input: number,
    output: number,
    cols: number,
    logN: number,
    logBlowup: number,
    twFwd: number,
    twInv: number,
    tables: number,
  ): void;
  evaluate_columns(
    input: number,
    output: number,
    cols: number,
    logM: number,
    logSize: number,
    twFwd: number,
    tables: number,
  ): void;
  hash_leaves(input: number, leaves: number, words: number, key: number, out: number): void;
  merkle_layers(
    leaves: number,
    first: number,
    count: number,
    total: number,
    levels: number,
    key: number,
    out: number,
  ): void;
  build_pairs(values: number, n: number, table: number): void;
  hash_columns(input: number, stride: number, rows: number, width: number, key: number, out: number): void;
  combine_columns(input: number, stride: number, cols: number, n: number, coeffs: number, acc: number): void;
  dot_columns(input: number, stride: number, cols: number, n: number, weights: number, out: number): void;
  interpolate_columns(
    data: number,
    cols: number,
    logN: number,
    twInv: number,
    scaleMont: number,
    shiftInvMont: number,
  ): void;
  grind(seed: number, key: number, bits: number, start: number, count: number): number;
  vadd(a: number, b: number, out: number, n: number): void;
  vsub(a: number, b: number, out: number, n: number): void;
  vmul(a: number, b: number, out: number, n: number): void;
  vfill(out: number, value: number, n: number): void;
  vaxpy4(acc: number, c0: number, c1: number, c2: number, c3: number, v: number, n: number): void;
  vscale4(acc: number, v: number, n: number): void;
  vfirst_nonzero(a: number, n: number): number;
  deep_compose(
    a: number,
    b: number,
    xs: number,
    n: number,
    consts: number,
    prefix: number,
    oneMont: number,
    out: number,
  ): void;
  fri_fold(
    input: number,
    xInv: number,
    cosets: number,
    z0: number,
    z1: number,
    z2: number,
    z3: number,
    matrix: number,
    out: number,
  ): void;
}

const FIXED = 65536;
const SCRATCH = FIXED;
const MATRIX = FIXED + 512;
const KEY = FIXED + 768;
const TABLES = FIXED + 1024;

export type Ext4 = readonly [number, number, number, number];

/** The module's kernel functions, by export name. */
export type KernelExport = Exclude<keyof Exports, 'memory'>;

/** Runs one kernel export with numeric arguments, in the worker that holds the instance (SharedKernelPool). */
export type KernelCall = (name: KernelExport, args: number[]) => number | Promise<number>;

/** The initial size (pages) the module declares; a shared memory for it starts at least this big. */
const MODULE_PAGES = 2;
/** The maximum the shared build declares (asconfig.json): all of wasm32's 4 GiB. */
const SHARED_MAX_PAGES = 65536;

/** A memory for build/kernels-shared.wasm: every worker of a SharedKernelPool runs over it, the caller fills it. */
export function sharedKernelMemory(): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: MODULE_PAGES, maximum: SHARED_MAX_PAGES, shared: true });
}

/** Constraint evaluation over vectors in this module's memory (core's ConstraintEvaluator<number>). */
export interface WasmEvaluator {
  readonly ops: {
    add(a: number, b: number): number;
    sub(a: number, b: number): number;
    mul(a: number, b: number): number;
    constant(c: number): number;
  };
  begin(): void;
  load(values: Uint32Array): number;
  extZeros(): number;
  accumulate(acc: number, coeff: Ext4, v: number): void;
  scaleExt(acc: number, v: number): void;
  read(v: number, length: number): Uint32Array;
  firstNonZero(v: number): number;
}

export class WasmKernels {
  readonly name = 'wasm-simd';
  private readonly x: Exports;
  private tableLog = 0;
  private heap = TABLES;
  private top = TABLES;

  constructor(instance: WebAssembly.Instance) {
    this.x = instance.exports as unknown as Exports;
    this.reserve(TABLES);
    this.x.set_scratch(SCRATCH);
    this.u32().set(foldMatrixMont(), MATRIX / 4);
  }

  private u32(): Uint32Array {
    return new Uint32Array(this.x.memory.buffer);
  }

  private reserve(bytes: number): void {
    const have = this.x.memory.buffer.byteLength;
    if (bytes > have) this.x.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** Twiddle tables (forward, inverse) valid for every NTT size up to 2^log. */
  private tables(log: number): { fwd: number; inv: number } {
    if (log > this.tableLog) {
      this.reserve(TABLES + 2 * pairBytes(2 ** log));
      this.x.build_twiddles(TABLES, log, Number(root(log)));
      this.x.build_twiddles(TABLES + pairBytes(2 ** log), log, Number(inverse(root(log))));
      this.tableLog = log;
      this.heap = TABLES + 2 * pairBytes(2 ** log);
    }
    return { fwd: TABLES, inv: TABLES + pairBytes(2 ** this.tableLog) };
  }

  /** Starts a call's allocations after the fixed area. */
  private begin(): void {
    this.top = this.heap;
  }

  private alloc(words: number): number {
    const ptr = this.top;
    this.top += 4 * words + ((16 - ((4 * words) % 16)) % 16);
    this.reserve(this.top);
    return ptr;
  }

  private put(words: Uint32Array): number {
    const ptr = this.alloc(words.length);
    this.u32().set(words, ptr / 4);
    return ptr;
  }

  private get(ptr: number, words: number): Uint32Array {
    return this.u32().slice(ptr / 4, ptr / 4 + words);
  }

  private setKey(key: Uint32Array): void {
    this.u32().set(key, KEY / 4);
  }

  /**
   * For the benchmarks: places two random batches of n elements in memory once and returns a
   * function that runs only the multiply kernel over them `reps` times (no copying), to time the
   * kernel itself.
   */
  mulKernel(n: number, reps = 1): () => void {
    this.tables(1);
    this.begin();
    const random = (): Uint32Array =>
      Uint32Array.from({ length: n }, () => Math.floor(Math.random() * 2013265921));
    const pa = this.put(random());
    const pb = this.put(random());
    const out = this.alloc(n);
    return () => {
      for (let r = 0; r < reps; r++) this.x.mont_mul_batch(pa, pb, out, n);
    };
  }

  /** For the benchmarks: a function running the in-place forward NTT of one resident column of 2^log. */
  nttKernel(log: number): () => void {
    const { fwd } = this.tables(log);
    this.begin();
    const pa = this.put(Uint32Array.from({ length: 2 ** log }, () => Math.floor(Math.random() * 2013265921)));
    return () => this.x.ntt_dif(pa, log, fwd);
  }

  /**
   * Runs `use` with vectors of `size` elements (a multiple of 4) allocated in this module's memory;
   * begin() releases the previous batch's vectors. No other kernel may run inside `use`.
   */
  withEvaluator<R>(size: number, use: (evaluator: WasmEvaluator) => R): R {
    if (size % 4 !== 0) throw new RangeError('vector size must be a multiple of 4');
    const x = this.x;
    const vec = (): number => this.alloc(size);
    const binary =
      (f: (a: number, b: number, out: number, n: number) => void) =>
      (a: number, b: number): number => {
        const out = vec();
        f(a, b, out, size);
        return out;
      };
    const evaluator: WasmEvaluator = {
      ops: {
        add: binary(x.vadd),
        sub: binary(x.vsub),
        mul: binary(x.vmul),
        constant: (c) => {
          const out = vec();
          x.vfill(out, c, size);
          return out;
        },
      },
      begin: () => this.begin(),
      load: (values) => {
        const out = vec();
        this.u32().set(values.subarray(0, size), out / 4);
        return out;
      },
      extZeros: () => {
        const out = this.alloc(4 * size);
        x.vfill(out, 0, 4 * size);
        return out;
      },
      accumulate: (acc, c, v) => x.vaxpy4(acc, c[0], c[1], c[2], c[3], v, size),
      scaleExt: (acc, v) => x.vscale4(acc, v, size),
      read: (v, length) => this.get(v, length),
      firstNonZero: (v) => x.vfirst_nonzero(v, size),
    };
    this.begin();
    return use(evaluator);
  }

  /** a[i] * b[i] * 2^-32 mod p (Montgomery multiplication), length a multiple of 4. */
  montMul(a: Uint32Array, b: Uint32Array): Uint32Array {
    this.tables(1);
    this.begin();
    const pa = this.put(a);
    const pb = this.put(b);
    const out = this.alloc(a.length);
    this.x.mont_mul_batch(pa, pb, out, a.length);
    return this.get(out, a.length);
  }

  /** Forward NTT: natural-order coefficients -> bit-reversed evaluations (as core's nttDif). */
  nttDif(a: Uint32Array): Uint32Array {
    const log = Math.log2(a.length);
    const { fwd } = this.tables(log);
    this.begin();
    const pa = this.put(a);
    this.x.ntt_dif(pa, log, fwd);
    return this.get(pa, a.length);
  }

  /** Inverse NTT without the 1/n factor (the LDE folds it into the coset shift). */
  inttDitUnscaled(a: Uint32Array): Uint32Array {
    const log = Math.log2(a.length);
    const { inv } = this.tables(log);
    this.begin();
    const pa = this.put(a);
    this.x.intt_dit_unscaled(pa, log, inv);
    return this.get(pa, a.length);
  }

  /**
   * Scale tables for evaluating m coefficients on shift<w_(m * blocks)> as `blocks` NTTs of size m:
   * block b's shift is shift * w^bitrev(b) (see coset_blocks in assembly/kernels.ts).
   */
  private blockTables(m: number, blocks: number, shift: number, base: bigint): number {
    const ps = this.put(blockShifts(m, blocks, shift));
    const tables = this.alloc((blocks * pairBytes(m)) / 4);
    this.x.build_block_tables(tables, m, blocks, ps, Number(base));
    return tables;
  }

  async lde(columns: readonly Uint32Array[], logBlowup: number, shift: number): Promise<Uint32Array[]> {
    const n = columns[0]!.length;
    const logN = Math.log2(n);
    const big = n << logBlowup;
    const { fwd, inv } = this.tables(logN + logBlowup);
    this.begin();
    const tables = this.blockTables(n, 2 ** logBlowup, shift, inverse(n));
    const input = this.alloc(n * columns.length);
    const mem = this.u32();
    for (let i = 0; i < columns.length; i++) mem.set(columns[i]!, input / 4 + i * n);
    const output = this.alloc(big * columns.length);
    this.x.lde_columns(input, output, columns.length, logN, logBlowup, fwd, inv, tables);
    return columns.map((_, i) => this.get(output + 4 * i * big, big));
  }

  async interpolate(columns: readonly Uint32Array[], shift: number): Promise<Uint32Array[]> {
    const n = columns[0]!.length;
    const log = Math.log2(n);
    const { inv } = this.tables(log);
    this.begin();
    const data = this.alloc(n * columns.length);
    const mem = this.u32();
    for (let i = 0; i < columns.length; i++) mem.set(columns[i]!, data / 4 + i * n);
    this.x.interpolate_columns(data, columns.length, log, inv, toMont(inverse(n)), toMont(inverse(shift)));
    return columns.map((_, i) => this.get(data + 4 * i * n, n));
  }

  async grind(seed: Uint32Array, key: Uint32Array, bits: number): Promise<number> {
    this.begin();
    const ps = this.put(seed);
    this.setKey(key);
    const step = 1 << 20;
    for (let start = 0; start <= 0xffffffff - step; start += step) {
      const nonce = this.x.grind(ps, KEY, bits, start, step) >>> 0;
      if (nonce !== 0xffffffff) return nonce;
    }
    throw new RangeError('no proof-of-work nonce found');
  }

  async evaluate(coeffColumns: readonly Uint32Array[], size: number, shift: number): Promise<Uint32Array[]> {
    const m = coeffColumns[0]!.length;
    if (coeffColumns.some((c) => c.length !== m) || m > size || !Number.isInteger(Math.log2(m))) {
      throw new RangeError('coefficient columns must share one power-of-two length');
    }
    const logSize = Math.log2(size);
    const { fwd } = this.tables(logSize);
    this.begin();
    const tables = this.blockTables(m, size / m, shift, 1n);
    const input = this.alloc(m * coeffColumns.length);
    const mem = this.u32();
    for (let i = 0; i < coeffColumns.length; i++) mem.set(coeffColumns[i]!, input / 4 + i * m);
    const output = this.alloc(size * coeffColumns.length);
    this.x.evaluate_columns(input, output, coeffColumns.length, Math.log2(m), logSize, fwd, tables);
    return coeffColumns.map((_, i) => this.get(output + 4 * i * size, size));
  }

  async hashRows(columns: readonly Uint32Array[], key: Uint32Array): Promise<Uint32Array> {
    const rows = columns[0]?.length ?? 0;
    // hash_columns takes 4 rows per step: pad to a multiple of 4 and drop the extra digests.
    const padded = Math.ceil(rows / 4) * 4;
    this.begin();
    const input = this.alloc(padded * columns.length);
    const mem = this.u32();
    mem.fill(0, input / 4, input / 4 + padded * columns.length);
    for (let i = 0; i < columns.length; i++) mem.set(columns[i]!, input / 4 + i * padded);
    const out = this.alloc(8 * padded);
    this.setKey(key);
    this.x.hash_columns(input, padded, padded, columns.length, KEY, out);
    return this.get(out, 8 * rows);
  }

  async hashLeaves(words: Uint32Array, wordsPerLeaf: number, key: Uint32Array): Promise<Uint32Array> {
    if (wordsPerLeaf > 256) throw new RangeError('a leaf is at most one 1024-byte chunk');
    const leaves = words.length / wordsPerLeaf;
    this.begin();
    const input = this.put(words);
    const out = this.alloc(8 * leaves);
    this.setKey(key);
    this.x.hash_leaves(input, leaves, wordsPerLeaf, KEY, out);
    return this.get(out, 8 * leaves);
  }

  /** All `levels` layers in one call: each layer is hashed from the previous one in place in memory. */
  async merkleLayers(leaves: Uint32Array, levels: number, key: Uint32Array): Promise<Uint32Array[]> {
    this.begin();
    const first = this.put(leaves);
    const total = leaves.length / 8;
    // Back to back, as merkle_layers writes them.
    const layers = this.alloc(8 * (total - (total >> levels)));
    this.setKey(key);
    this.x.merkle_layers(first, 0, total, total, levels, KEY, layers);
    return Array.from({ length: levels }, (_, l) =>
      this.get(layers + 32 * (total - (total >> l)), 8 * (total >> (l + 1))),
    );
  }

  async combine(columns: readonly Uint32Array[], coeffs: readonly Ext4[]): Promise<Uint32Array> {
    const n = columns[0]!.length;
    const batch = 16;
    this.begin();
    const acc = this.alloc(4 * n);
    const pc = this.alloc((columns.length * pairBytes(4)) / 4);
    this.x.build_pairs(this.put(Uint32Array.from(coeffs.flat())), 4 * columns.length, pc);
    const input = this.alloc(n * batch);
    this.u32().fill(0, acc / 4, acc / 4 + 4 * n);
    for (let first = 0; first < columns.length; first += batch) {
      const count = Math.min(batch, columns.length - first);
      const mem = this.u32();
      for (let i = 0; i < count; i++) mem.set(columns[first + i]!, input / 4 + i * n);
      this.x.combine_columns(input, n, count, n, pc + first * pairBytes(4), acc);
    }
    return this.get(acc, 4 * n);
  }

  async dot(columns: readonly Uint32Array[], weights: Uint32Array): Promise<Uint32Array> {
    const n = columns[0]!.length;
    this.begin();
    const pw = this.put(weights);
    this.x.to_mont(pw, 4 * n);
    const input = this.alloc(n * columns.length);
    const out = this.alloc(4 * columns.length);
    const mem = this.u32();
    for (let i = 0; i < columns.length; i++) mem.set(columns[i]!, input / 4 + i * n);
    this.x.dot_columns(input, n, columns.length, n, pw, out);
    return this.get(out, 4 * columns.length);
  }

  async deepCompose(
    A: Uint32Array,
    B: Uint32Array,
    xs: Uint32Array,
    z: Ext4,
    zNext: Ext4,
    a: Ext4,
    b: Ext4,
  ): Promise<Uint32Array> {
    const n = xs.length;
    this.begin();
    const pa = this.put(A);
    const pb = this.put(B);
    const px = this.put(xs);
    const consts = this.put(Uint32Array.from([...z.map(toMont), ...zNext.map(toMont), ...a, ...b]));
    const prefix = this.alloc(8 * n);
    const out = this.alloc(4 * n);
    this.x.deep_compose(pa, pb, px, n, consts, prefix, toMont(1), out);
    return this.get(out, 4 * n);
  }

  async friFold(values: Uint32Array, xInv: Uint32Array, zeta: Ext4): Promise<Uint32Array> {
    const cosets = values.length / 32;
    this.begin();
    const input = this.put(values);
    const px = this.put(xInv);
    const out = this.alloc(4 * cosets);
    this.x.fri_fold(input, px, cosets, zeta[0], zeta[1], zeta[2], zeta[3], MATRIX, out);
    return this.get(out, 4 * cosets);
  }
}

const abortImport = {
  abort: () => {
    throw new Error('wasm-prover kernel aborted');
  },
};

/**
 * Instantiates the kernels in this thread from the module's bytes (fetch them in a browser, read
 * them in Node) or from a compiled module (which can be posted to workers, so each compiles nothing).
 */
export async function instantiateKernels(source: BufferSource | WebAssembly.Module): Promise<WasmKernels> {
  const imports = { env: abortImport };
  const instance =
    source instanceof WebAssembly.Module
      ? await WebAssembly.instantiate(source, imports)
      : (await WebAssembly.instantiate(source, imports)).instance;
  return new WasmKernels(instance);
}

/**
 * Instantiates the shared build (build/kernels-shared.wasm) over `memory` from sharedKernelMemory(),
 * in a worker of SharedKernelPool, and returns how to run its kernels there.
 */
export async function instantiateSharedModule(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
): Promise<KernelCall> {
  const instance = await WebAssembly.instantiate(module, { env: { ...abortImport, memory } });
  const x = instance.exports as unknown as Omit<Exports, 'memory'>;
  return (name, args) => (x[name] as (...a: number[]) => number)(...args) ?? 0;
}

export {
  type KernelApi,
  KernelPool,
  type KernelWorkerApi,
  lazyWorkerApi,
  workerApi,
} from './pool.ts';
export { createSharedKernelPool, SharedKernelPool } from './shared-pool.ts';

/**
 * The shared-memory kernel pool: one WebAssembly.Memory shared by this thread and every worker, each
 * worker running the shared build (build/kernels-shared.wasm) over it. This thread lays out the
 * memory, writes inputs into it, and posts each worker only the numbers of a kernel call on its part
 * of the batch (columns, rows, leaves or points); the workers write their parts of the result in
 * place, side by side, so nothing is concatenated.
 *
 * Inside scope() results are views of the shared memory rather than copies, and an input that is
 * such a view (the trace LDE, leaf digests, a FRI layer) is used where it lies: the prover's large
 * arrays are written once and never copied between threads. The views are valid until the scope
 * ends, when the memory is reused. Outside a scope every result is a fresh copy.
 *
 * Needs SharedArrayBuffer: always in Node's worker_threads, in browsers only when the page is
 * crossOriginIsolated (else use KernelPool, which posts copies).
 */
import { blockShifts, foldMatrixMont, inverse, pairBytes, pairTable, root, toMont } from './constants.ts';
import {
  type Ext4,
  instantiateSharedModule,
  type KernelCall,
  sharedKernelMemory,
  type WasmEvaluator,
  type WasmKernels,
} from './kernels.ts';
import type { KernelApi, KernelWorkerApi } from './pool.ts';

/** Below this many elements per call a batch goes to one worker: messaging would cost more. */
const MIN_SPLIT = 1 << 12;

/** The module's own static area ends here; per-worker areas (scratch, key) follow, 1 KiB each. */
const FIXED = 65536;
const AREA = 1024;

/** Where a column-major matrix lies: column c at ptr + 4 c stride. */
interface Placed {
  readonly ptr: number;
  readonly stride: number;
}

function ranges(total: number, parts: number, align: number): [number, number][] {
  const out: [number, number][] = [];
  const step = Math.ceil(total / parts / align) * align;
  for (let start = 0; start < total; start += step) out.push([start, Math.min(total, start + step)]);
  return out;
}

export class SharedKernelPool implements KernelApi {
  readonly name: string;
  private readonly matrix: number;
  private readonly tablesAt: number;
  private tableLog = 0;
  private twiddles: number;
  private tablesInScope = false;
  private heap: number;
  private top: number;
  private depth = 0;
  /** Every buffer object the memory has handed out (a grown shared memory hands out a new one). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private turn: Promise<unknown> = Promise.resolve();

  /**
   * `calls[w]` runs a kernel in worker w, whose instance is over `memory`; `local` evaluates
   * constraints on this thread (that step runs the AIR's own code, which cannot be sent to a worker).
   * `inline`, if given, is an instance over `memory` on this thread with worker 0's scratch area: a
   * call too small to split runs there, synchronously, instead of costing a message round trip (the
   * calls of a small proof, such as a turn's, are mostly that small).
   */
  constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly calls: readonly KernelCall[],
    private readonly local: Pick<WasmKernels, 'withEvaluator'>,
    private readonly close: () => void,
    private readonly inline?: KernelCall,
  ) {
    this.name = `pool-${calls.length}x-shared`;
    this.matrix = FIXED + AREA * calls.length;
    this.tablesAt = this.matrix + AREA;
    this.twiddles = this.tablesAt;
    this.heap = this.tablesAt;
    this.top = this.heap;
    this.reserve(this.heap);
    this.u32().set(foldMatrixMont(), this.matrix / 4);
  }

  get size(): number {
    return this.calls.length;
  }

  private scratch(w: number): number {
    return FIXED + AREA * w;
  }

  private key(w: number): number {
    return this.scratch(w) + 512;
  }

  private u32(): Uint32Array {
    const buffer = this.memory.buffer;
    this.buffers.add(buffer);
    return new Uint32Array(buffer);
  }

  private reserve(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / 65536));
  }

  /** Runs `body` after every earlier call has finished: calls share the allocation state. */
  private exclusive<R>(body: () => Promise<R>): Promise<R> {
    const result = this.turn.then(body);
    this.turn = result.catch(() => {});
    return result;
  }

  /**
   * Runs `body` (the prover) with results left in the shared memory as views, valid until it
   * returns; nothing from inside may be kept after.
   */
  async scope<R>(body: () => Promise<R>): Promise<R> {
    this.depth++;
    try {
      return await body();
    } finally {
      this.depth--;
      if (this.depth === 0) {
        this.top = this.heap;
        if (this.tablesInScope) this.tableLog = 0;
      }
    }
  }

  /** Starts a call: outside a scope, everything allocated by the previous call is free again. */
  private begin(): void {
    if (this.depth === 0) this.top = this.heap;
  }

  private alloc(words: number): number {
    const ptr = this.top;
    this.top += Math.ceil((4 * words) / 64) * 64;
    this.reserve(this.top);
    return ptr;
  }

  private put(words: Uint32Array | readonly number[]): number {
    const ptr = this.alloc(words.length);
    this.u32().set(words, ptr / 4);
    return ptr;
  }

  /** A result: a view in a scope, else a copy. */
  private result(ptr: number, words: number): Uint32Array {
    const view = this.u32().subarray(ptr / 4, ptr / 4 + words);
    return this.depth > 0 ? view : view.slice();
  }

  private ours(a: Uint32Array): boolean {
    return this.buffers.has(a.buffer);
  }

  /**
   * Columns of `length` words as a matrix in the memory: where they already lie evenly spaced in it
   * (columns of one earlier result), in place; else copied in, `length` apart. `contiguous` demands
   * stride = length.
   */
  private place(columns: readonly Uint32Array[], length: number, contiguous = false): Placed {
    const first = columns[0]!;
    if (columns.every((c) => c.length === length && this.ours(c))) {
      const stride = columns.length > 1 ? (columns[1]!.byteOffset - first.byteOffset) / 4 : length;
      const even = columns.every((c, i) => c.byteOffset === first.byteOffset + 4 * i * stride);
      if (even && stride >= length && (!contiguous || stride === length))
        return { ptr: first.byteOffset, stride };
    }
    const ptr = this.alloc(length * columns.length);
    const mem = this.u32();
    columns.forEach((c, i) => {
      mem.set(c, ptr / 4 + i * length);
    });
    return { ptr, stride: length };
  }

  private placeOne(words: Uint32Array): number {
    return this.place([words], words.length).ptr;
  }

  /**
   * As place(columns, length, true), but a copy is made only by the returned `copy(a, b)` (columns
   * [a, b)), to be called per part just before its kernel call.
   */
  private placeLater(
    columns: readonly Uint32Array[],
    length: number,
  ): Placed & { copy(a: number, b: number): void } {
    const first = columns[0]!;
    if (
      columns.every(
        (c, i) => c.length === length && this.ours(c) && c.byteOffset === first.byteOffset + 4 * i * length,
      )
    ) {
      return { ptr: first.byteOffset, stride: length, copy: () => {} };
    }
    const ptr = this.alloc(length * columns.length);
    return {
      ptr,
      stride: length,
      copy: (a, b) => {
        const mem = this.u32();
        for (let i = a; i < b; i++) mem.set(columns[i]!, ptr / 4 + i * length);
      },
    };
  }

  /** Contiguous parts of `total` items of `weight` elements each, one per worker (aligned to `align`). */
  private split(total: number, weight: number, align = 1): [number, number][] {
    return total * weight < MIN_SPLIT ? [[0, total]] : ranges(total, this.calls.length, align);
  }

  /** Runs `kernel(a, b)` in worker w for each part [a, b) of `parts`, all at once. */
  private async each(
    parts: [number, number][],
    name: Parameters<KernelCall>[0],
    args: (a: number, b: number, w: number) => number[],
    before: (a: number, b: number) => void = () => {},
  ): Promise<number[]> {
    // `before` copies a part's input just before its call is posted, so that the copying of the
    // next parts overlaps the work of the first.
    if (parts.length === 1 && this.inline !== undefined) {
      const [a, b] = parts[0]!;
      before(a, b);
      return [await this.inline(name, args(a, b, 0))];
    }
    return Promise.all(
      parts.map(([a, b], w) => {
        before(a, b);
        return this.calls[w]!(name, args(a, b, w));
      }),
    );
  }

  private setKey(key: Uint32Array, workers: number): void {
    const mem = this.u32();
    for (let w = 0; w < workers; w++) mem.set(key, this.key(w) / 4);
  }

  /**
   * Twiddle tables (forward, inverse) valid for every NTT size up to 2^log, shared by all workers.
   * They stay below the per-call area; if they must grow while a scope holds results, the larger
   * ones are made in the scope's area and rebuilt in place after it.
   */
  private async tables(log: number): Promise<{ fwd: number; inv: number }> {
    if (log > this.tableLog) {
      const bytes = pairBytes(2 ** log);
      let at = this.tablesAt;
      if (this.depth === 0 || this.top === this.heap) {
        this.heap = at + 2 * bytes;
        this.top = this.heap;
        this.reserve(this.heap);
        this.tablesInScope = false;
      } else {
        at = this.alloc((2 * bytes) / 4);
        this.tablesInScope = true;
      }
      await Promise.all([
        this.calls[0]!('build_twiddles', [at, log, Number(root(log))]),
        this.calls[1 % this.calls.length]!('build_twiddles', [at + bytes, log, Number(inverse(root(log)))]),
      ]);
      this.tableLog = log;
      this.twiddles = at;
    }
    return { fwd: this.twiddles, inv: this.twiddles + pairBytes(2 ** this.tableLog) };
  }

  /** Scale tables for `blocks` coset blocks of m (see WasmKernels.blockTables), built by all workers. */
  private async blockTables(m: number, blocks: number, shift: number, base: bigint): Promise<number> {
    const ps = this.put(blockShifts(m, blocks, shift));
    const tables = this.alloc((blocks * pairBytes(m)) / 4);
    await this.each(this.split(blocks, m), 'build_block_tables', (a, b) => [
      tables + a * pairBytes(m),
      m,
      b - a,
      ps + 4 * a,
      Number(base),
    ]);
    return tables;
  }

  lde(columns: readonly Uint32Array[], logBlowup: number, shift: number): Promise<Uint32Array[]> {
    return this.exclusive(async () => {
      const n = columns[0]!.length;
      const logN = Math.log2(n);
      const big = n << logBlowup;
      // Tables first: growing them resets the allocations of a scope's first call.
      const { fwd, inv } = await this.tables(logN + logBlowup);
      this.begin();
      const tables = await this.blockTables(n, 2 ** logBlowup, shift, inverse(n));
      const input = this.placeLater(columns, n);
      const output = this.alloc(big * columns.length);
      await this.each(
        this.split(columns.length, n),
        'lde_columns',
        (a, b) => [input.ptr + 4 * a * n, output + 4 * a * big, b - a, logN, logBlowup, fwd, inv, tables],
        input.copy,
      );
      return columns.map((_, i) => this.result(output + 4 * i * big, big));
    });
  }

  evaluate(coeffColumns: readonly Uint32Array[], size: number, shift: number): Promise<Uint32Array[]> {
    const m = coeffColumns[0]!.length;
    if (coeffColumns.some((c) => c.length !== m) || m > size || !Number.isInteger(Math.log2(m))) {
      return Promise.reject(new RangeError('coefficient columns must share one power-of-two length'));
    }
    return this.exclusive(async () => {
      const logSize = Math.log2(size);
      const { fwd } = await this.tables(logSize);
      this.begin();
      const tables = await this.blockTables(m, size / m, shift, 1n);
      const input = this.place(coeffColumns, m, true).ptr;
      const output = this.alloc(size * coeffColumns.length);
      await this.each(this.split(coeffColumns.length, size), 'evaluate_columns', (a, b) => [
        input + 4 * a * m,
        output + 4 * a * size,
        b - a,
        Math.log2(m),
        logSize,
        fwd,
        tables,
      ]);
      return coeffColumns.map((_, i) => this.result(output + 4 * i * size, size));
    });
  }

  interpolate(columns: readonly Uint32Array[], shift: number): Promise<Uint32Array[]> {
    return this.exclusive(async () => {
      const n = columns[0]!.length;
      const log = Math.log2(n);
      const { inv } = await this.tables(log);
      this.begin();
      // In place, so always a copy of the input.
      const data = this.alloc(n * columns.length);
      const mem = this.u32();
      columns.forEach((c, i) => {
        mem.set(c, data / 4 + i * n);
      });
      const scale = toMont(inverse(n));
      const shiftInv = toMont(inverse(shift));
      await this.each(this.split(columns.length, n), 'interpolate_columns', (a, b) => [
        data + 4 * a * n,
        b - a,
        log,
        inv,
        scale,
        shiftInv,
      ]);
      return columns.map((_, i) => this.result(data + 4 * i * n, n));
    });
  }

  /** One worker grinds: the expected 2^bits hashes take a few milliseconds in WASM. */
  grind(seed: Uint32Array, key: Uint32Array, bits: number): Promise<number> {
    return this.exclusive(async () => {
      this.begin();
      const ps = this.put(seed);
      this.setKey(key, 1);
      const step = 1 << 20;
      for (let start = 0; start <= 0xffffffff - step; start += step) {
        const nonce = (await this.calls[0]!('grind', [ps, this.key(0), bits, start, step])) >>> 0;
        if (nonce !== 0xffffffff) return nonce;
      }
      throw new RangeError('no proof-of-work nonce found');
    });
  }

  hashRows(columns: readonly Uint32Array[], key: Uint32Array): Promise<Uint32Array> {
    return this.exclusive(async () => {
      const rows = columns[0]?.length ?? 0;
      this.begin();
      // hash_columns takes 4 rows per step: pad to a multiple of 4 (a copy) and drop the extra digests.
      const padded = Math.ceil(rows / 4) * 4;
      let input: Placed;
      if (padded === rows) {
        input = this.place(columns, rows);
      } else {
        const ptr = this.alloc(padded * columns.length);
        const mem = this.u32();
        mem.fill(0, ptr / 4, ptr / 4 + padded * columns.length);
        columns.forEach((c, i) => {
          mem.set(c, ptr / 4 + i * padded);
        });
        input = { ptr, stride: padded };
      }
      const out = this.alloc(8 * padded);
      const parts = this.split(padded, columns.length, 4);
      this.setKey(key, parts.length);
      await this.each(parts, 'hash_columns', (a, b, w) => [
        input.ptr + 4 * a,
        input.stride,
        b - a,
        columns.length,
        this.key(w),
        out + 32 * a,
      ]);
      return this.result(out, 8 * rows);
    });
  }

  hashLeaves(words: Uint32Array, wordsPerLeaf: number, key: Uint32Array): Promise<Uint32Array> {
    if (wordsPerLeaf > 256) return Promise.reject(new RangeError('a leaf is at most one 1024-byte chunk'));
    return this.exclusive(async () => {
      const leaves = words.length / wordsPerLeaf;
      this.begin();
      // Where the words are not in the memory yet, each part is copied in just before its call.
      const inPlace = this.ours(words);
      const input = inPlace ? words.byteOffset : this.alloc(words.length);
      const out = this.alloc(8 * leaves);
      const parts = this.split(leaves, wordsPerLeaf);
      this.setKey(key, parts.length);
      const mem = this.u32();
      await this.each(
        parts,
        'hash_leaves',
        (a, b, w) => [input + 4 * a * wordsPerLeaf, b - a, wordsPerLeaf, this.key(w), out + 32 * a],
        (a, b) => {
          if (!inPlace)
            mem.set(words.subarray(a * wordsPerLeaf, b * wordsPerLeaf), input / 4 + a * wordsPerLeaf);
        },
      );
      return this.result(out, 8 * leaves);
    });
  }

  /**
   * Each worker builds the subtree over its share of the leaves straight into the shared layers;
   * one worker then hashes the few layers above the subtrees' roots.
   */
  merkleLayers(leaves: Uint32Array, levels: number, key: Uint32Array): Promise<Uint32Array[]> {
    return this.exclusive(async () => {
      const total = leaves.length / 8;
      this.begin();
      const input = this.placeOne(leaves);
      // The layers lie back to back (merkle_layers finds each from the first).
      const layers = this.alloc(8 * (total - (total >> levels)));
      const layerAt = Array.from({ length: levels }, (_, l) => layers + 32 * (total - (total >> l)));
      const workers = this.calls.length;
      const split =
        total * 8 >= MIN_SPLIT &&
        (workers & (workers - 1)) === 0 &&
        total >= 2 * workers &&
        levels >= Math.log2(workers);
      const share = split ? total / workers : total;
      const below = Math.min(levels, Math.log2(share));
      this.setKey(key, workers);
      if (below > 0) {
        await this.each(split ? ranges(total, workers, 1) : [[0, total]], 'merkle_layers', (a, b, w) => [
          input,
          a,
          b - a,
          total,
          below,
          this.key(w),
          layerAt[0]!,
        ]);
      }
      if (levels > below) {
        const top = total >> below;
        await (this.inline ?? this.calls[0]!)('merkle_layers', [
          below === 0 ? input : layerAt[below - 1]!,
          0,
          top,
          top,
          levels - below,
          this.key(0),
          layerAt[below]!,
        ]);
      }
      return layerAt.map((ptr, l) => this.result(ptr, 8 * (total >> (l + 1))));
    });
  }

  friFold(values: Uint32Array, xInv: Uint32Array, zeta: Ext4): Promise<Uint32Array> {
    return this.exclusive(async () => {
      const cosets = values.length / 32;
      this.begin();
      const input = this.placeOne(values);
      const px = this.placeOne(xInv);
      const out = this.alloc(4 * cosets);
      await this.each(this.split(cosets, 32), 'fri_fold', (a, b) => [
        input + 128 * a,
        px + 4 * a,
        b - a,
        zeta[0],
        zeta[1],
        zeta[2],
        zeta[3],
        this.matrix,
        out + 16 * a,
      ]);
      return this.result(out, 4 * cosets);
    });
  }

  combine(columns: readonly Uint32Array[], coeffs: readonly Ext4[]): Promise<Uint32Array> {
    return this.exclusive(async () => {
      const n = columns[0]!.length;
      this.begin();
      const input = this.place(columns, n);
      // The coefficients' pair table is written here, so the workers' calls are posted at once (a
      // caller may then run other work on this thread while they combine).
      const pairs = this.put(pairTable(coeffs.flat()));
      const acc = this.alloc(4 * n);
      this.u32().fill(0, acc / 4, acc / 4 + 4 * n);
      await this.each(this.split(n, columns.length, 4), 'combine_columns', (a, b) => [
        input.ptr + 4 * a,
        input.stride,
        columns.length,
        b - a,
        pairs,
        acc + 16 * a,
      ]);
      return this.result(acc, 4 * n);
    });
  }

  dot(columns: readonly Uint32Array[], weights: Uint32Array): Promise<Uint32Array> {
    return this.exclusive(async () => {
      const n = columns[0]!.length;
      this.begin();
      const input = this.place(columns, n);
      const pw = this.alloc(4 * n);
      this.u32().set(weights, pw / 4);
      await this.calls[0]!('to_mont', [pw, 4 * n]);
      const out = this.alloc(4 * columns.length);
      await this.each(this.split(columns.length, n), 'dot_columns', (a, b) => [
        input.ptr + 4 * a * input.stride,
        input.stride,
        b - a,
        n,
        pw,
        out + 16 * a,
      ]);
      return this.result(out, 4 * columns.length);
    });
  }

  deepCompose(
    A: Uint32Array,
    B: Uint32Array,
    xs: Uint32Array,
    z: Ext4,
    zNext: Ext4,
    a: Ext4,
    b: Ext4,
  ): Promise<Uint32Array> {
    return this.exclusive(async () => {
      const n = xs.length;
      this.begin();
      const pa = this.placeOne(A);
      const pb = this.placeOne(B);
      const px = this.placeOne(xs);
      const consts = this.put([...z.map(toMont), ...zNext.map(toMont), ...a, ...b]);
      const prefix = this.alloc(8 * n);
      const out = this.alloc(4 * n);
      await this.each(this.split(n, 4, 4), 'deep_compose', (s, e) => [
        pa + 16 * s,
        pb + 16 * s,
        px + 4 * s,
        e - s,
        consts,
        prefix + 32 * s,
        toMont(1),
        out + 16 * s,
      ]);
      return this.result(out, 4 * n);
    });
  }

  withEvaluator<R>(size: number, use: (evaluator: WasmEvaluator) => R): R {
    return this.local.withEvaluator(size, use);
  }

  terminate(): void {
    this.close();
  }
}

/**
 * Starts the shared-memory pool over `workers` (lazyWorkerApi proxies): one shared memory, the
 * shared build instantiated over it in each worker.
 */
export async function createSharedKernelPool(
  workers: readonly Pick<KernelWorkerApi, 'initShared' | 'call'>[],
  sharedModule: WebAssembly.Module,
  local: Pick<WasmKernels, 'withEvaluator'>,
  close: () => void,
  options: { readonly inlineSmallCalls?: boolean } = {},
): Promise<SharedKernelPool> {
  const memory = sharedKernelMemory();
  await Promise.all(workers.map((w) => w.initShared(sharedModule, memory)));
  const calls: KernelCall[] = workers.map((w) => (name, args) => w.call(name, args));
  const inline = options.inlineSmallCalls ? await instantiateSharedModule(sharedModule, memory) : undefined;
  if (inline !== undefined) inline('set_scratch', [FIXED]);
  const pool = new SharedKernelPool(memory, calls, local, close, inline);
  await Promise.all(calls.map((call, w) => call('set_scratch', [FIXED + AREA * w])));
  return pool;
}

/**
 * A pool of kernel workers (one per core) behind the same interface as one WasmKernels, so the
 * prover parallelises without knowing it. Each batch is split into contiguous parts, one per worker,
 * and the parts' results are concatenated: columns for LDE and evaluation, rows for leaf hashing and
 * the DEEP combination, leaves and cosets for Merkle layers and FRI folding. Every kernel is
 * elementwise over the split, so the result is bit-identical to one worker's.
 *
 * This pool posts each part to a worker's own kernels and the results back (moved, not cloned): the
 * path for browsers without SharedArrayBuffer (not crossOriginIsolated). Where shared memory exists,
 * SharedKernelPool (shared-pool.ts) does the same work without copying batches between threads; the
 * workers serve both (lazyWorkerApi).
 *
 * The workers are comlink proxies: Web Workers in browsers (worker/src/prover), worker_threads in
 * Node (./node.ts).
 */
import { transfer } from 'comlink';
import {
  type Ext4,
  instantiateKernels,
  instantiateSharedModule,
  type KernelCall,
  type KernelExport,
  type WasmEvaluator,
  type WasmKernels,
} from './kernels.ts';

export type KernelApi = Pick<
  WasmKernels,
  | 'lde'
  | 'evaluate'
  | 'interpolate'
  | 'grind'
  | 'hashRows'
  | 'hashLeaves'
  | 'merkleLayers'
  | 'friFold'
  | 'combine'
  | 'dot'
  | 'deepCompose'
>;

/** Below this many elements per call a batch goes to one worker: messaging would cost more. */
const MIN_SPLIT = 1 << 12;

function ranges(total: number, parts: number, align: number): [number, number][] {
  const out: [number, number][] = [];
  const step = Math.ceil(total / parts / align) * align;
  for (let start = 0; start < total; start += step) out.push([start, Math.min(total, start + step)]);
  return out;
}

function concat(parts: Uint32Array[]): Uint32Array {
  const out = new Uint32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Marks fresh copies to be moved, not cloned, to a worker (the sender no longer needs them), so a
 * large batch crosses the thread boundary without a second copy.
 */
function moved<T extends Uint32Array | Uint32Array[]>(value: T): T {
  const arrays: Uint32Array[] = Array.isArray(value) ? value : [value as Uint32Array];
  return transfer(
    value,
    arrays.map((a) => a.buffer as ArrayBuffer),
  );
}

/**
 * The object a kernel worker exposes: the kernels, with every result moved back to the caller
 * rather than cloned (results are fresh copies out of the worker's WASM memory).
 */
export function workerApi(kernels: KernelApi): KernelApi {
  const back = moved;
  return {
    lde: async (...args) => back(await kernels.lde(...args)),
    evaluate: async (...args) => back(await kernels.evaluate(...args)),
    interpolate: async (...args) => back(await kernels.interpolate(...args)),
    grind: (...args) => kernels.grind(...args),
    hashRows: async (...args) => back(await kernels.hashRows(...args)),
    hashLeaves: async (...args) => back(await kernels.hashLeaves(...args)),
    merkleLayers: async (...args) => back(await kernels.merkleLayers(...args)),
    friFold: async (...args) => back(await kernels.friFold(...args)),
    combine: async (...args) => back(await kernels.combine(...args)),
    dot: async (...args) => back(await kernels.dot(...args)),
    deepCompose: async (...args) => back(await kernels.deepCompose(...args)),
  };
}

/** A kernel worker that receives its compiled module from the page (no URL to resolve inside it). */
export interface KernelWorkerApi extends KernelApi {
  init(module: WebAssembly.Module): Promise<void>;
  /** Instantiates the shared build (kernels-shared.wasm) over `memory`, for createSharedKernelPool. */
  initShared(module: WebAssembly.Module, memory: WebAssembly.Memory): Promise<void>;
  /** Runs one kernel of the shared instance (the caller has placed its data in the shared memory). */
  call(name: KernelExport, args: number[]): Promise<number>;
}

/**
 * The API a kernel worker exposes: kernels exist once init() has instantiated the module (the
 * message path) or initShared() the shared build (the shared-memory path).
 */
export function lazyWorkerApi(): KernelWorkerApi {
  let api: KernelApi | undefined;
  let shared: KernelCall | undefined;
  const ready = (): KernelApi => {
    if (api === undefined) throw new Error('kernel worker used before init()');
    return api;
  };
  return {
    init: async (module) => {
      api = workerApi(await instantiateKernels(module));
    },
    initShared: async (module, memory) => {
      shared = await instantiateSharedModule(module, memory);
    },
    call: async (name, args) => {
      if (shared === undefined) throw new Error('kernel worker used before initShared()');
      return shared(name, args);
    },
    lde: (...args) => ready().lde(...args),
    evaluate: (...args) => ready().evaluate(...args),
    interpolate: (...args) => ready().interpolate(...args),
    grind: (...args) => ready().grind(...args),
    hashRows: (...args) => ready().hashRows(...args),
    hashLeaves: (...args) => ready().hashLeaves(...args),
    merkleLayers: (...args) => ready().merkleLayers(...args),
    friFold: (...args) => ready().friFold(...args),
    combine: (...args) => ready().combine(...args),
    dot: (...args) => ready().dot(...args),
    deepCompose: (...args) => ready().deepCompose(...args),
  };
}

export class KernelPool implements KernelApi {
  readonly name: string;

  /**
   * `local` evaluates constraints on this thread (that step runs the AIR's own code, which cannot be
   * sent to a worker) and hashes the top of Merkle trees.
   */
  constructor(
    private readonly workers: readonly KernelApi[],
    private readonly local: Pick<WasmKernels, 'withEvaluator' | 'merkleLayers'>,
    private readonly close: () => void,
  ) {
    this.name = `pool-${workers.length}x`;
  }

  /** Elements [a, b) of `array`, copied to be moved to a worker. */
  private part(array: Uint32Array, a: number, b: number): Uint32Array {
    return moved(array.slice(a, b));
  }

  private parts(arrays: readonly Uint32Array[], a: number, b: number): Uint32Array[] {
    return moved(arrays.map((c) => c.slice(a, b)));
  }

  get size(): number {
    return this.workers.length;
  }

  /** Contiguous parts of `total` items of `weight` elements each, one per worker (rows in fours). */
  private split(total: number, weight: number, align = 1): [number, number][] {
    return total * weight < MIN_SPLIT ? [[0, total]] : ranges(total, this.workers.length, align);
  }

  async lde(columns: readonly Uint32Array[], logBlowup: number, shift: number): Promise<Uint32Array[]> {
    const parts = this.split(columns.length, columns[0]!.length);
    const results = await Promise.all(
      parts.map(([a, b], i) => this.workers[i]!.lde(columns.slice(a, b), logBlowup, shift)),
    );
    return results.flat();
  }

  async evaluate(coeffColumns: readonly Uint32Array[], size: number, shift: number): Promise<Uint32Array[]> {
    const parts = this.split(coeffColumns.length, size);
    const results = await Promise.all(
      parts.map(([a, b], i) => this.workers[i]!.evaluate(coeffColumns.slice(a, b), size, shift)),
    );
    return results.flat();
  }

  async interpolate(columns: readonly Uint32Array[], shift: number): Promise<Uint32Array[]> {
    const parts = this.split(columns.length, columns[0]!.length);
    const results = await Promise.all(
      parts.map(([a, b], i) => this.workers[i]!.interpolate(columns.slice(a, b), shift)),
    );
    return results.flat();
  }

  /** One worker grinds: the expected 2^bits hashes take a few milliseconds in WASM. */
  async grind(seed: Uint32Array, key: Uint32Array, bits: number): Promise<number> {
    return this.workers[0]!.grind(seed, key, bits);
  }

  async hashRows(columns: readonly Uint32Array[], key: Uint32Array): Promise<Uint32Array> {
    const rows = columns[0]?.length ?? 0;
    const parts = this.split(rows, columns.length, 4);
    const results = await Promise.all(
      parts.map(([a, b], i) => this.workers[i]!.hashRows(this.parts(columns, a, b), key)),
    );
    return concat(results);
  }

  async hashLeaves(words: Uint32Array, wordsPerLeaf: number, key: Uint32Array): Promise<Uint32Array> {
    const leaves = words.length / wordsPerLeaf;
    const parts = this.split(leaves, wordsPerLeaf);
    const results = await Promise.all(
      parts.map(([a, b], i) =>
        this.workers[i]!.hashLeaves(this.part(words, a * wordsPerLeaf, b * wordsPerLeaf), wordsPerLeaf, key),
      ),
    );
    return concat(results);
  }

  /**
   * Each worker builds the subtree over its share of the leaves; the few layers above the subtrees'
   * roots are hashed here.
   */
  async merkleLayers(leaves: Uint32Array, levels: number, key: Uint32Array): Promise<Uint32Array[]> {
    const count = leaves.length / 8;
    const parts = this.workers.length;
    if (count * 8 < MIN_SPLIT || parts & (parts - 1) || count < 2 * parts || levels < Math.log2(parts)) {
      return this.local.merkleLayers(leaves, levels, key);
    }
    const share = leaves.length / parts;
    const below = Math.min(levels, Math.log2(count / parts));
    const subtrees = await Promise.all(
      this.workers.map((w, i) => w.merkleLayers(this.part(leaves, i * share, (i + 1) * share), below, key)),
    );
    const layers = Array.from({ length: below }, (_, l) => concat(subtrees.map((t) => t[l]!)));
    const top = await this.local.merkleLayers(layers[below - 1]!, levels - below, key);
    return [...layers, ...top];
  }

  async friFold(values: Uint32Array, xInv: Uint32Array, zeta: Ext4): Promise<Uint32Array> {
    const parts = this.split(values.length / 32, 32);
    const results = await Promise.all(
      parts.map(([a, b], i) =>
        this.workers[i]!.friFold(this.part(values, 32 * a, 32 * b), this.part(xInv, a, b), zeta),
      ),
    );
    return concat(results);
  }

  async combine(columns: readonly Uint32Array[], coeffs: readonly Ext4[]): Promise<Uint32Array> {
    const parts = this.split(columns[0]!.length, columns.length, 4);
    const results = await Promise.all(
      parts.map(([a, b], i) => this.workers[i]!.combine(this.parts(columns, a, b), coeffs)),
    );
    return concat(results);
  }

  async dot(columns: readonly Uint32Array[], weights: Uint32Array): Promise<Uint32Array> {
    const parts = this.split(columns.length, columns[0]!.length);
    const results = await Promise.all(
      parts.map(([a, b], i) => this.workers[i]!.dot(columns.slice(a, b), weights)),
    );
    return concat(results);
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
    const parts = this.split(xs.length, 4, 4);
    const results = await Promise.all(
      parts.map(([s, e], i) =>
        this.workers[i]!.deepCompose(
          this.part(A, 4 * s, 4 * e),
          this.part(B, 4 * s, 4 * e),
          this.part(xs, s, e),
          z,
          zNext,
          a,
          b,
        ),
      ),
    );
    return concat(results);
  }

  withEvaluator<R>(size: number, use: (evaluator: WasmEvaluator) => R): R {
    return this.local.withEvaluator(size, use);
  }

  terminate(): void {
    this.close();
  }
}

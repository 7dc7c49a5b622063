/** Node-only: loads the built kernels from disk (`npm run build -w wasm-prover` makes them) and runs pools. */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { wrap } from 'comlink';
import { instantiateKernels, type WasmKernels } from './kernels.ts';
import { nodeEndpoint } from './node-endpoint.ts';
import { KernelPool, type KernelWorkerApi } from './pool.ts';
import { createSharedKernelPool, type SharedKernelPool } from './shared-pool.ts';

export const KERNELS_WASM_URL = new URL('../build/kernels.wasm', import.meta.url);
/** The build that imports a shared memory (for the shared-memory pool's workers). */
export const KERNELS_SHARED_WASM_URL = new URL('../build/kernels-shared.wasm', import.meta.url);

export async function loadKernels(): Promise<WasmKernels> {
  return instantiateKernels(await readFile(KERNELS_WASM_URL));
}

export interface NodePoolOptions {
  /** Workers share memory with this thread (default); false: the message path browsers fall back to. */
  readonly shared?: boolean;
}

/**
 * A pool of `size` worker threads (default: one per core), each with its own WASM instance. The
 * workers are TypeScript modules: node-worker-boot.mjs registers the tsx loader in each thread first.
 */
export async function createNodeKernelPool(
  size = availableParallelism(),
  options: NodePoolOptions = {},
): Promise<KernelPool | SharedKernelPool> {
  const workers = Array.from(
    { length: size },
    () => new Worker(new URL('./node-worker-boot.mjs', import.meta.url)),
  );
  const apis = workers.map((w) => wrap<KernelWorkerApi>(nodeEndpoint(w)));
  const close = (): void => {
    for (const w of workers) void w.terminate();
  };
  const local = await loadKernels();
  if (options.shared ?? true) {
    return createSharedKernelPool(
      apis,
      await WebAssembly.compile(await readFile(KERNELS_SHARED_WASM_URL)),
      local,
      close,
    );
  }
  const module = await WebAssembly.compile(await readFile(KERNELS_WASM_URL));
  await Promise.all(apis.map((api) => api.init(module)));
  return new KernelPool(apis, local, close);
}

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

function startWorkers(size: number): { apis: KernelWorkerApi[]; close: () => void } {
  const workers = Array.from(
    { length: size },
    () => new Worker(new URL('./node-worker-boot.mjs', import.meta.url)),
  );
  return {
    apis: workers.map((w) => wrap<KernelWorkerApi>(nodeEndpoint(w))),
    close: () => {
      for (const w of workers) void w.terminate();
    },
  };
}

/**
 * A pool of `size` worker threads (default: one per core) sharing one memory with this thread. The
 * workers are TypeScript modules: node-worker-boot.mjs registers the tsx loader in each thread first.
 */
export async function createNodeKernelPool(size = availableParallelism()): Promise<SharedKernelPool> {
  const { apis, close } = startWorkers(size);
  const module = await WebAssembly.compile(await readFile(KERNELS_SHARED_WASM_URL));
  return createSharedKernelPool(apis, module, await loadKernels(), close, { inlineSmallCalls: true });
}

/** The same workers behind the message pool (each with its own memory), the path browsers fall back to. */
export async function createNodeMessagePool(size = availableParallelism()): Promise<KernelPool> {
  const { apis, close } = startWorkers(size);
  const module = await WebAssembly.compile(await readFile(KERNELS_WASM_URL));
  await Promise.all(apis.map((api) => api.init(module)));
  return new KernelPool(apis, await loadKernels(), close);
}

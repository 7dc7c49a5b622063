/** Node-only: loads the built kernels from disk (`npm run build -w wasm-prover` makes them) and runs pools. */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { wrap } from 'comlink';
import { instantiateKernels, type WasmKernels } from './kernels.ts';
import { nodeEndpoint } from './node-endpoint.ts';
import { type KernelApi, KernelPool } from './pool.ts';

export const KERNELS_WASM_URL = new URL('../build/kernels.wasm', import.meta.url);

export async function loadKernels(): Promise<WasmKernels> {
  return instantiateKernels(await readFile(KERNELS_WASM_URL));
}

/**
 * A pool of `size` worker threads (default: one per core), each with its own WASM instance. The
 * workers are TypeScript modules: node-worker-boot.mjs registers the tsx loader in each thread first.
 */
export async function createNodeKernelPool(size = availableParallelism()): Promise<KernelPool> {
  const workers = Array.from(
    { length: size },
    () => new Worker(new URL('./node-worker-boot.mjs', import.meta.url)),
  );
  return new KernelPool(
    workers.map((w) => wrap<KernelApi>(nodeEndpoint(w))),
    await loadKernels(),
    () => {
      for (const w of workers) void w.terminate();
    },
  );
}

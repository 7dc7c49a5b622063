/**
 * The browser prover pool: one module Web Worker per core, each running the WASM kernels, combined
 * by KernelPool into one StarkKernels for the prover. The page compiles the kernels once (from
 * wherever its bundler put kernels.wasm) and posts the module to every worker. `proveInPool`
 * forwards the prover's progress events (phase, fraction) to the caller, for a progress bar.
 */

import { instantiateKernels, KernelPool, type KernelWorkerApi } from '@cipherclerk/wasm-prover';
import { wrap } from 'comlink';
import type { Air, ProgressListener } from '../../../core/src/stark/index.ts';
import { prove } from '../../../core/src/stark/index.ts';

/** Compiles the kernels module from its URL (e.g. a bundler's `kernels.wasm?url` import). */
export function compileKernels(url: string | URL): Promise<WebAssembly.Module> {
  return WebAssembly.compileStreaming(fetch(url));
}

export async function createBrowserKernelPool(
  module: WebAssembly.Module,
  size = navigator.hardwareConcurrency || 2,
): Promise<KernelPool> {
  const workers = Array.from(
    { length: size },
    () => new Worker(new URL('./kernel-worker.ts', import.meta.url), { type: 'module' }),
  );
  const apis = workers.map((w) => wrap<KernelWorkerApi>(w));
  await Promise.all(apis.map((api) => api.init(module)));
  return new KernelPool(apis, await instantiateKernels(module), () => {
    for (const w of workers) w.terminate();
  });
}

export async function proveInPool(
  pool: KernelPool,
  air: Air,
  trace: readonly Uint32Array[],
  publicInputs: readonly number[],
  onProgress?: ProgressListener,
): Promise<Uint8Array> {
  return prove(air, trace, publicInputs, { kernels: pool, ...(onProgress ? { onProgress } : {}) });
}

/**
 * The browser prover pool: one module Web Worker per core, each running the WASM kernels, combined
 * by KernelPool into one StarkKernels for the prover. The page compiles the kernels once (from
 * wherever its bundler put kernels.wasm) and posts the module to every worker; where WebAssembly
 * SIMD is missing, `chooseKernels` falls back to the TypeScript kernels. `proveInPool`
 * forwards the prover's progress events (phase, fraction) to the caller, for a progress bar.
 */

import { instantiateKernels, KernelPool, type KernelWorkerApi } from '@cipherclerk/wasm-prover';
import { wrap } from 'comlink';
import type { Air, ProgressListener, StarkKernels } from '../../../core/src/stark/index.ts';
import { prove, tsKernels } from '../../../core/src/stark/index.ts';

/**
 * The kernels the prover should use in this browser: a pool of WASM workers where the engine
 * validates the module (it needs WebAssembly SIMD), the pure-TypeScript kernels otherwise.
 * `url` is where the bundler put kernels.wasm (e.g. a `kernels.wasm?url` import).
 */
export async function chooseKernels(url: string | URL, size?: number): Promise<StarkKernels> {
  const bytes = await (await fetch(url)).arrayBuffer();
  if (!WebAssembly.validate(bytes)) return tsKernels;
  return createBrowserKernelPool(await WebAssembly.compile(bytes), size);
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
  pool: StarkKernels,
  air: Air,
  trace: readonly Uint32Array[],
  publicInputs: readonly number[],
  onProgress?: ProgressListener,
): Promise<Uint8Array> {
  return prove(air, trace, publicInputs, { kernels: pool, ...(onProgress ? { onProgress } : {}) });
}

/**
 * The browser prover pool: one module Web Worker per core, each running the WASM kernels, combined
 * by KernelPool into one StarkKernels for the prover. `proveInPool` forwards the prover's progress
 * events (phase, fraction) to the caller, for a progress bar.
 */

import { instantiateKernels, type KernelApi, KernelPool } from '@cipherclerk/wasm-prover';
import { wrap } from 'comlink';
import type { Air, ProgressListener } from '../../../core/src/stark/index.ts';
import { prove } from '../../../core/src/stark/index.ts';

export async function createBrowserKernelPool(
  size = navigator.hardwareConcurrency || 2,
): Promise<KernelPool> {
  const workers = Array.from(
    { length: size },
    () => new Worker(new URL('./kernel-worker.ts', import.meta.url), { type: 'module' }),
  );
  const response = await fetch(new URL('@cipherclerk/wasm-prover/kernels.wasm', import.meta.url));
  return new KernelPool(
    workers.map((w) => wrap<KernelApi>(w)),
    await instantiateKernels(await response.arrayBuffer()),
    () => {
      for (const w of workers) w.terminate();
    },
  );
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

/**
 * The browser prover: one module Web Worker per core, each running the WASM kernels, combined by
 * KernelPool into one StarkKernels; WebGPU takes the LDE and the leaf hashing where a GPU is worth
 * using. The page compiles the kernels once (from wherever its bundler put kernels.wasm) and posts
 * the module to every worker; where WebAssembly SIMD is missing, the TypeScript kernels run instead.
 * `proveWith` forwards the prover's progress events (phase, fraction) for a progress bar.
 */

import {
  type Air,
  type ProgressListener,
  prove,
  type StarkKernels,
  tsKernels,
} from '@cipherclerk/core/stark';
import { instantiateKernels, KernelPool, type KernelWorkerApi } from '@cipherclerk/wasm-prover';
import { createWebGpuKernels, type WebGpuKernels } from '@cipherclerk/wasm-prover/webgpu';
import { wrap } from 'comlink';

/**
 * When the prover uses WebGPU. 'auto': only on a hardware adapter, since a software adapter
 * (SwiftShader, what headless Chromium offers) is correct but many times slower than the WASM pool.
 * 'always': whenever an adapter exists (how the e2e suite checks the path). 'never': WASM only.
 */
export type GpuPolicy = 'auto' | 'always' | 'never';

export interface ProverOptions {
  /** Kernel workers to start; one per core by default. */
  readonly workers?: number;
  readonly gpu?: GpuPolicy;
}

/** The kernels a prover runs on here, described for the UI ("wasm pool-4x + webgpu (…)"). */
export interface ProverBackend {
  readonly kernels: StarkKernels;
  readonly description: string;
  /** Whether WebGPU takes part. */
  readonly gpu: boolean;
  /** Stops the workers and releases the GPU device. */
  close(): void;
}

/** `url` is where the bundler put kernels.wasm (e.g. a `kernels.wasm?url` import). */
export async function openProver(url: string | URL, options: ProverOptions = {}): Promise<ProverBackend> {
  const bytes = await (await fetch(url)).arrayBuffer();
  const cpu = WebAssembly.validate(bytes)
    ? await createBrowserKernelPool(await WebAssembly.compile(bytes), options.workers)
    : undefined;
  const base: StarkKernels = cpu ?? tsKernels;
  const gpu = await gpuFor(options.gpu ?? 'auto');
  return {
    kernels: gpu === null ? base : gpuAssisted(base, gpu),
    description: `${cpu?.name ?? 'typescript'}${gpu === null ? '' : ` + webgpu (${gpu.adapter})`}`,
    gpu: gpu !== null,
    close: () => {
      cpu?.terminate();
      gpu?.destroy();
    },
  };
}

async function gpuFor(policy: GpuPolicy): Promise<WebGpuKernels | null> {
  if (policy === 'never') return null;
  const gpu = await createWebGpuKernels();
  if (gpu === null || policy === 'always' || !gpu.software) return gpu;
  gpu.destroy();
  return null;
}

/**
 * `base` with the trace and quotient LDE and the leaf hashing moved to the GPU: the bulk of a proof's
 * arithmetic and hashing. Every backend produces the same words, so the proof is byte-identical.
 */
export function gpuAssisted(
  base: StarkKernels,
  gpu: Pick<WebGpuKernels, 'lde' | 'hashRows' | 'hashLeaves'>,
): StarkKernels {
  return {
    name: `${base.name}+webgpu`,
    withEvaluator: (size, use) => base.withEvaluator(size, use),
    lde: (columns, logBlowup, shift) => gpu.lde(columns, logBlowup, shift),
    hashRows: (columns, key) => gpu.hashRows(columns, key),
    hashLeaves: (words, wordsPerLeaf, key) => gpu.hashLeaves(words, wordsPerLeaf, key),
    interpolate: (columns, shift) => base.interpolate(columns, shift),
    grind: (seed, key, bits) => base.grind(seed, key, bits),
    evaluate: (columns, size, shift) => base.evaluate(columns, size, shift),
    merkleLayers: (leaves, levels, key) => base.merkleLayers(leaves, levels, key),
    friFold: (values, xInv, zeta) => base.friFold(values, xInv, zeta),
    combine: (columns, coeffs) => base.combine(columns, coeffs),
    dot: (columns, weights) => base.dot(columns, weights),
    deepCompose: (A, B, xs, z, zNext, a, b) => base.deepCompose(A, B, xs, z, zNext, a, b),
  };
}

/**
 * One worker per core. Each is started from a packaged module file, never a blob URL, so this also
 * runs in the extension's offscreen document.
 */
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

export function proveWith(
  backend: ProverBackend,
  air: Air,
  trace: readonly Uint32Array[],
  publicInputs: readonly number[],
  onProgress?: ProgressListener,
): Promise<Uint8Array> {
  return prove(air, trace, publicInputs, { kernels: backend.kernels, ...(onProgress ? { onProgress } : {}) });
}

/** Node-only: loads the built kernels from disk (`npm run build -w wasm-prover` makes them). */
import { readFile } from 'node:fs/promises';
import { instantiateKernels, type WasmKernels } from './kernels.ts';

export const KERNELS_WASM_URL = new URL('../build/kernels.wasm', import.meta.url);

export async function loadKernels(): Promise<WasmKernels> {
  return instantiateKernels(await readFile(KERNELS_WASM_URL));
}

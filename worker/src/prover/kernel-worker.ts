/**
 * Web Worker entry of the prover pool: fetches the WASM kernels once and exposes them with comlink.
 * Start it as a module worker (see pool.ts). Loaded from a packaged file, never a blob URL, so it also
 * runs in the extension's offscreen document.
 */
import { instantiateKernels, workerApi } from '@cipherclerk/wasm-prover';
import { expose } from 'comlink';

const response = await fetch(new URL('@cipherclerk/wasm-prover/kernels.wasm', import.meta.url));
expose(workerApi(await instantiateKernels(await response.arrayBuffer())));

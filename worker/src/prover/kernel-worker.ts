/**
 * Web Worker entry of the prover pool: exposes the WASM kernels with comlink once the page has sent
 * the compiled module (init). Start it as a module worker from a packaged file, never a blob URL, so
 * it also runs in the extension's offscreen document (an MV3 service worker cannot start workers).
 */
import { lazyWorkerApi } from '@cipherclerk/wasm-prover';
import { expose } from 'comlink';

expose(lazyWorkerApi());

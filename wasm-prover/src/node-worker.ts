/** Node-only worker_threads entry: one WasmKernels instance exposed to the pool through comlink. */
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink';
import { loadKernels } from './node.ts';
import { nodeEndpoint } from './node-endpoint.ts';
import { workerApi } from './pool.ts';

if (parentPort === null) throw new Error('node-worker.ts runs only as a worker thread');
expose(workerApi(await loadKernels()), nodeEndpoint(parentPort));

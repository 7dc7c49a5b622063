/** Node-only worker_threads entry: the same kernel worker API as a browser's (lazyWorkerApi), through comlink. */
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink';
import { nodeEndpoint } from './node-endpoint.ts';
import { lazyWorkerApi } from './pool.ts';

if (parentPort === null) throw new Error('node-worker.ts runs only as a worker thread');
expose(lazyWorkerApi(), nodeEndpoint(parentPort));

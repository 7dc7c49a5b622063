// Node-only worker_threads bootstrap: registers the tsx loader in this thread, then runs the
// TypeScript worker entry (loader flags in a Worker's execArgv do not reach its module loader on Node 20).
import { register } from 'tsx/esm/api';

register();
await import('./node-worker.ts');

/**
 * The page's handle on the light node: starts the worker and wraps it so every call resolves with
 * plain data or rejects with a `DreggError` (its `code` intact), never with comlink's bare `Error`.
 */
import { proxy, wrap } from 'comlink';
import type { LightNodeApi, NodeEvent } from './api.ts';
import { errorFromWire } from './errors.ts';

export type * from './api.ts';

export function startLightNode(): LightNodeApi {
  const worker = new Worker(new URL('./entry.ts', import.meta.url), { type: 'module', name: 'light-node' });
  const remote = wrap<LightNodeApi>(worker);
  return new Proxy({} as LightNodeApi, {
    // `then` must stay undefined, or `await startLightNode()` would take the handle for a promise.
    get: (_target, name) =>
      name === 'then'
        ? undefined
        : async (...args: unknown[]) => {
            if (name === 'subscribe') args = [proxy(args[0] as (e: NodeEvent) => void)];
            const method = Reflect.get(remote, name) as (...a: unknown[]) => Promise<unknown>;
            try {
              return await method(...args);
            } catch (e) {
              throw errorFromWire(e);
            }
          },
  });
}

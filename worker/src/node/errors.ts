/**
 * Errors across the worker boundary. comlink sends a thrown `Error` as its message and stack only, so
 * a `DreggError`'s `code` would be lost; instead the worker throws a plain `WireError` (which comlink
 * clones as is) and the page turns it back into a `DreggError`. Anything that is not a `DreggError`
 * is a bug in the worker: it crosses as `E_INTERNAL` with a fixed sentence, so no stray message (which
 * might quote a secret) leaves the worker.
 */
import { DreggError, ErrorCodes, isDreggError } from '@cipherclerk/core';
import type { WireError } from './api.ts';

export function errorToWire(e: unknown): WireError {
  if (isDreggError(e)) return { code: e.code, message: e.message };
  return { code: 'E_INTERNAL', message: 'The light node failed unexpectedly; see the worker console' };
}

export function isWireError(v: unknown): v is WireError {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as WireError).message === 'string' &&
    Object.hasOwn(ErrorCodes, (v as WireError).code)
  );
}

export function errorFromWire(v: unknown): DreggError {
  if (isWireError(v)) return new DreggError(v.code, v.message);
  return new DreggError('E_INTERNAL', 'The light node answered with something that is not an error');
}

/**
 * The object the worker exposes: every method waits for the node to be ready (opening IndexedDB
 * takes a moment, and comlink must be listening before the page's first call), and whatever it throws
 * crosses the boundary as a `WireError`. Non-DreggErrors are logged here, inside the worker.
 */
export function guarded<T extends object>(ready: Promise<T>): T {
  return new Proxy({} as T, {
    // `then` must stay undefined, or anything awaiting this object would take it for a promise.
    get: (_target, name) =>
      name === 'then'
        ? undefined
        : async (...args: unknown[]) => {
            try {
              const api = await ready;
              const method: unknown = Reflect.get(api, name);
              if (typeof method !== 'function')
                throw new DreggError('E_UNSUPPORTED', `No method ${String(name)}`);
              return await method.apply(api, args);
            } catch (e) {
              if (!isDreggError(e)) console.error(`light node: ${String(name)} failed`, e);
              throw errorToWire(e);
            }
          },
  });
}

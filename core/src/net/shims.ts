/**
 * What js-libp2p 3 expects of its runtime and Node 20 lacks. Isomorphic: nothing here touches a
 * Node built-in, so the browser bundle (where every modern engine already has these) may import it.
 * The Node-only half (a global `WebSocket` from the `ws` package) is core/src/node/libp2p-shims.ts.
 *
 * Order matters: call `installLibp2pShims()` (or import core/src/node/libp2p-shims.ts in Node) before
 * creating a libp2p node. This module imports nothing from libp2p, so importing it first is enough.
 */

interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

type PromiseWithResolvers = { withResolvers?: <T>() => Resolvers<T> };

/** Polyfills `Promise.withResolvers` (ES2024; Node 22+, Chromium 119+) where it is missing. Idempotent. */
export function installLibp2pShims(): void {
  const P = Promise as unknown as PromiseWithResolvers;
  if (typeof P.withResolvers === 'function') return;
  // A property, as the engines define it (writable, configurable, not enumerable).
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T>(): Resolvers<T> {
      let resolve!: Resolvers<T>['resolve'];
      let reject!: Resolvers<T>['reject'];
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

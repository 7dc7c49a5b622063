/**
 * Node-only: a comlink Endpoint over a worker_threads MessagePort or Worker, whose events carry the
 * message itself rather than a MessageEvent. (comlink's own adapter ships without types for its .mjs.)
 */
import type { MessagePort, Worker } from 'node:worker_threads';
import type { Endpoint } from 'comlink';

type Listener = (event: MessageEvent) => void;

export function nodeEndpoint(port: MessagePort | Worker): Endpoint {
  const wrapped = new WeakMap<Listener, (data: unknown) => void>();
  return {
    postMessage: (message: unknown, transfer?: Transferable[]) => {
      port.postMessage(message, transfer as never);
    },
    addEventListener: (_type: string, listener: EventListenerOrEventListenerObject) => {
      const l = listener as Listener;
      const w = (data: unknown): void => l({ data } as MessageEvent);
      wrapped.set(l, w);
      port.on('message', w);
    },
    removeEventListener: (_type: string, listener: EventListenerOrEventListenerObject) => {
      const w = wrapped.get(listener as Listener);
      if (w !== undefined) port.off('message', w);
    },
  };
}

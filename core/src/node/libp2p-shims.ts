/**
 * Node-only runtime shims for js-libp2p 3 (FIELD-NOTES): `Promise.withResolvers` and a global
 * `WebSocket` (Node 20 has none without `--experimental-websocket`; @libp2p/websockets dials with the
 * global one). Importing this module installs both, so import it before anything that creates a
 * libp2p node. Node 22+ needs neither and is left untouched.
 */
import { createRequire } from 'node:module';
import { installLibp2pShims } from '../net/shims.ts';

/** Installs the isomorphic shims and, where absent, `globalThis.WebSocket` from `ws`. Idempotent. */
export function installNodeLibp2pShims(): void {
  installLibp2pShims();
  const g = globalThis as { WebSocket?: unknown };
  // `ws` ships no type declarations (and @types/ws is not a dependency): only its constructor is needed.
  if (g.WebSocket === undefined)
    g.WebSocket = (createRequire(import.meta.url)('ws') as { WebSocket: unknown }).WebSocket;
}

installNodeLibp2pShims();

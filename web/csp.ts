/**
 * The dashboard's Content-Security-Policy. Scripts, styles, workers and WebAssembly come only from the
 * page's own origin ('wasm-unsafe-eval' lets the prover compile its .wasm, nothing else); no inline
 * script or style; nothing is fetched from elsewhere. Network connections are WebSockets, to relays:
 * this policy allows any ws/wss endpoint, and a server that knows the configured relay narrows it
 * with `servedPolicy` (both policies apply, so the stricter wins).
 */
const BASE = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
];

export const CONTENT_SECURITY_POLICY = [...BASE, "connect-src 'self' ws: wss:"].join('; ');

/**
 * A local firmament's bridge listens on 127.0.0.1 on a port chosen at each launch, so the served policy
 * allows WebSockets to any port of 127.0.0.1 (the bridge itself admits only allowed origins with its token).
 */
export const FIRMAMENT_BRIDGES = 'ws://127.0.0.1:*';

/** The policy to serve as a header when the relays' WebSocket origins are known (e.g. ws://127.0.0.1:4013). */
export function servedPolicy(relayOrigins: readonly string[]): string {
  return [
    ...BASE,
    `connect-src 'self' ${[...relayOrigins, FIRMAMENT_BRIDGES].join(' ')}`,
    "frame-ancestors 'none'",
  ].join('; ');
}

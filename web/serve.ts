/**
 * Serves the production build of the dashboard (web/dist) on 127.0.0.1 with its security headers:
 * the Content-Security-Policy narrowed to the configured relays' WebSocket origins, and no framing or
 * sniffing. Used by `npm start` (scripts/start.ts) and the dashboard's end-to-end tests.
 */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { servedPolicy } from './csp.ts';

export const DIST = join(import.meta.dirname, 'dist');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface ServedDashboard {
  readonly url: string;
  close(): Promise<void>;
}

/** The ws:// origin of a multiaddr like /ip4/127.0.0.1/tcp/4013/ws/p2p/… (what the CSP must allow). */
export function wsOrigin(multiaddr: string): string {
  const m = /^\/(ip4|ip6|dns4|dns6|dns)\/([^/]+)\/tcp\/(\d+)\/(ws|wss)(\/|$)/.exec(multiaddr);
  if (m === null) throw new Error(`Not a WebSocket multiaddr: ${multiaddr}`);
  const host = m[1] === 'ip6' ? `[${m[2]}]` : m[2];
  return `${m[4]}://${host}:${m[3]}`;
}

export async function serveDashboard(o: { relays?: readonly string[]; port?: number; dir?: string } = {}) {
  const dir = o.dir ?? DIST;
  const csp = servedPolicy((o.relays ?? []).map(wsOrigin));
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = normalize(join(dir, path === '/' ? 'index.html' : path));
    const headers = {
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
    };
    if (!file.startsWith(dir)) {
      res.writeHead(403, headers).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404, headers).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(o.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  const served: ServedDashboard = {
    url: `http://127.0.0.1:${address.port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return served;
}

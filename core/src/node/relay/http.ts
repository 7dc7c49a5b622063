/**
 * The operators' HTTP endpoint: `/healthz` and `/metrics`, nothing else. Clients never use HTTP; they
 * speak the libp2p contract (PITFALLS 22). Bind it to loopback unless a scraper elsewhere needs it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DreggError } from '../../errors.ts';
import type { RelayMetrics } from './metrics.ts';

export interface Health {
  readonly ok: boolean;
  readonly [field: string]: unknown;
}

export interface OpsServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Parses `HOST:PORT` (port 0 picks a free one). */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(text);
  const port = m === null ? Number.NaN : Number(m[2]);
  if (m === null || port > 65535)
    throw new DreggError(
      'E_ARGUMENT',
      `Expected HOST:PORT for the HTTP endpoint, got ${JSON.stringify(text)}`,
    );
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export async function serveOps(
  listen: string,
  metrics: RelayMetrics,
  health: () => Promise<Health>,
): Promise<OpsServer> {
  const { host, port } = parseHostPort(listen);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain', 'GET only\n');
    if (path === '/healthz')
      return void health().then(
        (h) => send(h.ok ? 200 : 503, 'application/json', `${JSON.stringify(h)}\n`),
        () => send(503, 'application/json', '{"ok":false}\n'),
      );
    if (path === '/metrics')
      return void metrics.registry.metrics().then(
        (text) => send(200, metrics.registry.contentType, text),
        () => send(500, 'text/plain', 'metrics unavailable\n'),
      );
    send(404, 'text/plain', 'not found: this endpoint serves /healthz and /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(new DreggError('E_IO', `Cannot listen on ${listen}: ${(e as Error).message}`)),
    );
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${shown}:${a.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

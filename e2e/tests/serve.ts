/**
 * Builds an entry module for the browser with Vite (the same bundler the dashboard uses) and serves it
 * on 127.0.0.1 (a secure context, so WebCrypto is available) for the duration of a test file.
 */

import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { build } from 'vite';

export interface Served {
  readonly url: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm' };

/**
 * Serves the bundle at /bundle.js, every chunk it emitted (module workers are separate files) by
 * path, and `files` (URL path -> file on disk), e.g. the prover's kernels.wasm.
 */
export async function serveBundle(entry: string, files: Record<string, string> = {}): Promise<Served> {
  const outDir = mkdtempSync(join(tmpdir(), 'cipherclerk-e2e-'));
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: true,
      minify: false,
      lib: { entry, formats: ['es'], fileName: () => 'bundle.js' },
    },
  });
  const page = Buffer.from('<!doctype html><meta charset="utf-8"><title>cipherclerk e2e</title>');
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://e2e').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
      return;
    }
    // A URL path is absolute, so normalize() cannot climb above outDir.
    const file = files[path] ?? join(outDir, normalize(path));
    readFile(file).then(
      (body) => {
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        res.end(body);
      },
      () => {
        res.writeHead(404);
        res.end();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

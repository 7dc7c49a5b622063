/**
 * Builds an entry module for the browser with Vite (the same bundler the dashboard uses) and serves it
 * on 127.0.0.1 (a secure context, so WebCrypto is available) for the duration of a test file.
 */

import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';

export interface Served {
  readonly url: string;
  close(): Promise<void>;
}

export async function serveBundle(entry: string): Promise<Served> {
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
  const bundle = await readFile(join(outDir, 'bundle.js'));
  const page = Buffer.from('<!doctype html><meta charset="utf-8"><title>cipherclerk e2e</title>');
  const server: Server = createServer((req, res) => {
    const js = req.url === '/bundle.js';
    res.writeHead(js || req.url === '/' ? 200 : 404, {
      'content-type': js ? 'text/javascript' : 'text/html',
    });
    res.end(js ? bundle : page);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  return {
    url: `http://127.0.0.1:${address.port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

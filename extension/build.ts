/**
 * `npm run build -w extension`: one Vite build of the pages, the background and the light node's
 * worker, two IIFE builds of the content scripts (a content script cannot be a module), then the
 * same files under dist/chromium and dist/firefox with each browser's manifest.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { build } from 'vite';
import { manifest, PAGES, type Target } from './manifest.ts';

const HERE = import.meta.dirname;
const SRC = join(HERE, 'src');
const DIST = join(HERE, 'dist');
const OUT = join(DIST, 'chromium');
const { version } = JSON.parse(readFileSync(join(HERE, 'package.json'), 'utf8')) as { version: string };

rmSync(DIST, { recursive: true, force: true });

await build({
  configFile: false,
  logLevel: 'warn',
  root: SRC,
  base: './',
  plugins: [svelte({ configFile: false })],
  worker: { format: 'es' },
  build: {
    outDir: OUT,
    emptyOutDir: true,
    target: 'es2022',
    // The service worker has no `document`: no modulepreload helper in any chunk.
    modulePreload: false,
    rollupOptions: {
      input: {
        popup: join(SRC, PAGES.popup),
        approval: join(SRC, PAGES.approval),
        offscreen: join(SRC, PAGES.offscreen),
        background: join(SRC, 'background/main.ts'),
      },
      output: {
        // The offscreen document checks that node calls come from exactly this script.
        entryFileNames: (chunk) =>
          chunk.name === 'background' ? 'background.js' : 'assets/[name]-[hash].js',
      },
    },
  },
});

for (const name of ['content', 'provider'])
  await build({
    configFile: false,
    logLevel: 'warn',
    build: {
      outDir: OUT,
      emptyOutDir: false,
      target: 'es2022',
      lib: {
        entry: join(SRC, 'content', `${name}.ts`),
        formats: ['iife'],
        name,
        fileName: () => `${name}.js`,
      },
    },
  });

const targets: Target[] = ['chromium', 'firefox'];
for (const target of targets) {
  const dir = join(DIST, target);
  if (dir !== OUT) cpSync(OUT, dir, { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest(target, version), null, 2)}\n`);
}

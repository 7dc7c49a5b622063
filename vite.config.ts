import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import { testWatchdog } from './scripts/test-watchdog.ts';
import { CONTENT_SECURITY_POLICY } from './web/csp.ts';

const repository = import.meta.dirname;

/**
 * The production page carries its Content-Security-Policy as a meta tag. Only in the build: the dev
 * server injects styles for hot reloading, which a strict policy would block.
 */
const strictCsp = (): Plugin => ({
  name: 'cipherclerk-csp',
  apply: 'build',
  transformIndexHtml: () => [
    {
      tag: 'meta',
      attrs: { 'http-equiv': 'Content-Security-Policy', content: CONTENT_SECURITY_POLICY },
      injectTo: 'head-prepend',
    },
  ],
});

/**
 * The light node's worker imports the prover's kernels.wasm, a build output that git does not hold:
 * build it (AssemblyScript, a few seconds) when a fresh clone has not yet, in dev and build alike.
 */
const proverKernels = (): Plugin => ({
  name: 'cipherclerk-prover-kernels',
  buildStart() {
    if (existsSync(`${repository}/wasm-prover/build/kernels.wasm`)) return;
    execFileSync('npm', ['run', 'build', '-w', 'wasm-prover'], { cwd: repository, stdio: 'inherit' });
  },
});

// One Vite config for the repository: it builds and serves web/ (the dashboard) and holds the
// unit/property test settings, so there is one place to look. Tests are found from the repository
// root, not from web/.
const TESTS = '{core,wasm-prover,worker,web,extension,sel4-bridge}/test/**/*.test.ts';
/** Suites that start several relay processes (a federation) or wait out rings' deadlines. */
const FEDERATIONS = [
  'core/test/federation/**/*.test.ts',
  'core/test/intents/{desk-crash,federation}*.test.ts',
  'worker/test/federation*.test.ts',
];

export default defineConfig({
  root: `${repository}/web`,
  plugins: [svelte({ configFile: false }), strictCsp(), proverKernels()],
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  worker: { format: 'es' },
  // In dev, find the light node's dependencies (libp2p, loaded when it connects) up front: discovered
  // on first use, they would be optimized then and the worker's pending import of them would fail.
  optimizeDeps: { entries: ['index.html', `${repository}/worker/src/node/entry.ts`] },
  server: { host: '127.0.0.1' },
  test: {
    root: repository,
    environment: 'node',
    testTimeout: 30_000,
    pool: 'forks',
    setupFiles: ['scripts/test-setup.ts'],
    // The federations of child-process relays first, one file at a time: side by side with anything,
    // on CI's 2 cores, their rounds starved (decision 196). Then the rest, two files at a time, which
    // keeps both cores busy where one file at a time left one mostly idle (decision 202). The order is
    // explicit from 1: Vitest puts a one-worker project of group order 0 in a group of its own that
    // runs last.
    projects: [
      {
        extends: true,
        test: {
          name: 'federations',
          include: FEDERATIONS,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
      {
        extends: true,
        test: {
          name: 'unit',
          include: [TESTS],
          exclude: FEDERATIONS,
          maxWorkers: 2,
          sequence: { groupOrder: 2 },
        },
      },
    ],
    // On CI, name each test as it starts and fail a run that stalls (scripts/test-watchdog.ts).
    reporters: process.env.CI ? ['default', testWatchdog()] : ['default'],
  },
});

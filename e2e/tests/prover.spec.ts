/**
 * The browser prover in real Chromium: module Web Workers running the WASM kernels (one per core),
 * and WebGPU on SwiftShader taking the LDE and leaf hashing. Either way the proof must be the very
 * bytes the TypeScript kernels produce in Node, verify in the page, and report progress to 100%.
 */
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import { cubeChainAir, cubeChainTrace, prove } from '../../core/src/stark/index.ts';
import { KERNELS_WASM_URL } from '../../wasm-prover/src/node.ts';
import type { GpuPolicy } from '../../worker/src/prover/pool.ts';
import { chromiumLaunchOptions } from './chromium.ts';
import { type Served, serveBundle } from './serve.ts';

test.use({ launchOptions: chromiumLaunchOptions(['--enable-unsafe-webgpu']) });

type Entry = typeof import('../fixtures/prover-entry.ts');

interface Proved {
  readonly description: string;
  readonly proof: number[];
  readonly verified: boolean;
  readonly progress: [string, number][];
}

const LOG_N = 8;
const WIDTH = 16;
const FIRST_ROW = Array.from({ length: WIDTH }, (_, i) => 1000 + 7 * i);

let served: Served;
let expected: number[];
test.beforeAll(async () => {
  served = await serveBundle(join(import.meta.dirname, '..', 'fixtures', 'prover-entry.ts'), {
    '/kernels.wasm': KERNELS_WASM_URL.pathname,
  });
  const { trace, publicInputs } = cubeChainTrace(LOG_N, FIRST_ROW);
  expected = Array.from(await prove(cubeChainAir(LOG_N, WIDTH), trace, publicInputs));
});
test.afterAll(async () => served.close());

function proveInPage(page: Page, gpu: GpuPolicy): Promise<Proved> {
  return page.evaluate(
    async ([logN, firstRow, gpu]) => {
      const m: Entry = await import('/bundle.js' as string);
      const prover = await m.openProver('/kernels.wasm', { workers: 2, gpu });
      try {
        const air = m.cubeChainAir(logN, firstRow.length);
        const { trace, publicInputs } = m.cubeChainTrace(logN, firstRow);
        const progress: [string, number][] = [];
        const proof = await m.proveWith(prover, air, trace, publicInputs, (phase, f) => {
          progress.push([phase, f]);
        });
        let verified = true;
        try {
          m.verify(air, publicInputs, proof);
        } catch {
          verified = false;
        }
        return { description: prover.description, proof: Array.from(proof), verified, progress };
      } finally {
        prover.close();
      }
    },
    [LOG_N, FIRST_ROW, gpu] as const,
  );
}

function expectFullProgress(progress: [string, number][]): void {
  const fractions = progress.map(([, f]) => f);
  expect(fractions.length).toBeGreaterThan(3);
  expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
  expect(progress.at(-1)).toEqual(['queries', 1]);
}

test('a pool of WASM Web Workers proves; the proof is the Node TypeScript proof, byte for byte', async ({
  page,
}) => {
  await page.goto(served.url);
  const got = await proveInPage(page, 'never');
  expect(got.description).toBe('pool-2x');
  expect(got.verified).toBe(true);
  expect(got.proof).toEqual(expected);
  expectFullProgress(got.progress);
});

test('with WebGPU taking the LDE and leaf hashing the proof is byte-identical', async ({ page }) => {
  await page.goto(served.url);
  const got = await proveInPage(page, 'always');
  expect(got.description).toMatch(/^pool-2x \+ webgpu \(.*swiftshader.*\)$/i);
  expect(got.verified).toBe(true);
  expect(got.proof).toEqual(expected);
  expectFullProgress(got.progress);
});

test('by default a software WebGPU adapter is left out (it is slower than the WASM pool)', async ({
  page,
}) => {
  await page.goto(served.url);
  const got = await proveInPage(page, 'auto');
  expect(got.description).toBe('pool-2x');
  expect(got.proof).toEqual(expected);
});

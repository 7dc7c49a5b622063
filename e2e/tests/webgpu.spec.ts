/**
 * The WGSL kernels (wasm-prover/src/webgpu) in headless Chromium with WebGPU on SwiftShader must give
 * exactly the words of the WASM kernels: coset LDE (NTT stages with 16-bit-limb Montgomery
 * multiplication) and BLAKE3 leaf and node hashing.
 */
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { LEAF_KEY, NODE_KEY } from '../../core/src/stark/merkle.ts';
import type { WasmKernels } from '../../wasm-prover/src/kernels.ts';
import { loadKernels } from '../../wasm-prover/src/node.ts';
import type { WebGpuKernels } from '../../wasm-prover/src/webgpu/kernels.ts';
import { chromiumLaunchOptions } from './chromium.ts';
import { type Served, serveBundle } from './serve.ts';

declare global {
  interface Window {
    gpu: WebGpuKernels | null;
  }
}

test.use({ launchOptions: chromiumLaunchOptions(['--enable-unsafe-webgpu']) });

let served: Served;
let wasm: WasmKernels;
test.beforeAll(async () => {
  served = await serveBundle(
    join(import.meta.dirname, '..', '..', 'wasm-prover', 'src', 'webgpu', 'kernels.ts'),
  );
  wasm = await loadKernels();
});
test.afterAll(async () => served.close());

test.beforeEach(async ({ page }) => {
  await page.goto(served.url);
  const adapter = await page.evaluate(async () => {
    const m: typeof import('../../wasm-prover/src/webgpu/kernels.ts') = await import('/bundle.js' as string);
    window.gpu = await m.createWebGpuKernels();
    return window.gpu?.adapter ?? null;
  });
  expect(adapter, 'headless Chromium with --enable-unsafe-webgpu exposes an adapter').not.toBeNull();
});

/** Deterministic field elements (xorshift), so a mismatch reproduces. */
function columns(count: number, rows: number, seed: number): Uint32Array[] {
  let s = seed;
  return Array.from({ length: count }, () =>
    Uint32Array.from({ length: rows }, () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return (s >>> 0) % 2013265921;
    }),
  );
}

test('WGSL coset LDE equals the WASM LDE word for word', async ({ page }) => {
  for (const [logN, logBlowup, count] of [
    [1, 3, 1],
    [4, 3, 3],
    [10, 3, 4],
  ] as const) {
    const cols = columns(count, 2 ** logN, 7 + logN);
    const expected = (await wasm.lde(cols, logBlowup, 31)).map((c) => Array.from(c));
    const got = await page.evaluate(
      async ([c, b]) =>
        (
          await window.gpu!.lde(
            c.map((x) => Uint32Array.from(x)),
            b,
            31,
          )
        ).map((x) => Array.from(x)),
      [cols.map((c) => Array.from(c)), logBlowup] as const,
    );
    expect(got).toEqual(expected);
  }
});

test('WGSL BLAKE3 leaf (row) and node hashing equals the WASM hashing', async ({ page }) => {
  for (const [rows, width] of [
    [8, 1],
    [64, 17],
    [256, 64],
  ] as const) {
    const cols = columns(width, rows, rows + width);
    const expected = Array.from(await wasm.hashRows(cols, LEAF_KEY));
    const got = await page.evaluate(
      async ([c, k]) =>
        Array.from(
          await window.gpu!.hashRows(
            c.map((x) => Uint32Array.from(x)),
            Uint32Array.from(k),
          ),
        ),
      [cols.map((c) => Array.from(c)), Array.from(LEAF_KEY)] as const,
    );
    expect(got).toEqual(expected);
  }
  const nodes = columns(1, 16 * 100, 3)[0]!;
  const expectedNodes = Array.from((await wasm.merkleLayers(nodes, 1, NODE_KEY))[0]!);
  const gotNodes = await page.evaluate(
    async ([w, k]) => Array.from(await window.gpu!.hashLeaves(Uint32Array.from(w), 16, Uint32Array.from(k))),
    [Array.from(nodes), Array.from(NODE_KEY)] as const,
  );
  expect(gotNodes).toEqual(expectedNodes);
});

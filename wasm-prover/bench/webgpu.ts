/**
 * webgpu_lde_2^16x64: the LDE of 2^16 rows x 64 columns on WebGPU, timed inside Debian's headless
 * Chromium (`--enable-unsafe-webgpu`). On a machine without a GPU the adapter is SwiftShader (a CPU
 * emulation), so the figure measures correctness plumbing, not GPU speed; the adapter is reported.
 */
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { chromiumLaunchOptions } from '../../e2e/tests/chromium.ts';
import { serveBundle } from '../../e2e/tests/serve.ts';
import type { WebGpuKernels } from '../src/webgpu/kernels.ts';

export interface WebGpuLdeResult {
  readonly adapter: string | null;
  readonly samples: number[];
}

export async function benchWebGpuLde(logN: number, width: number, runs: number): Promise<WebGpuLdeResult> {
  const served = await serveBundle(join(import.meta.dirname, '..', 'src', 'webgpu', 'kernels.ts'));
  const browser = await chromium.launch(chromiumLaunchOptions(['--enable-unsafe-webgpu']));
  try {
    const page = await browser.newPage();
    await page.goto(served.url);
    return await page.evaluate(
      async ([log, w, r]) => {
        const m: { createWebGpuKernels(): Promise<WebGpuKernels | null> } = await import(
          '/bundle.js' as string
        );
        const gpu = await m.createWebGpuKernels();
        if (gpu === null) return { adapter: null, samples: [] };
        const columns = Array.from({ length: w }, () =>
          Uint32Array.from({ length: 2 ** log }, () => Math.floor(Math.random() * 2013265921)),
        );
        const samples: number[] = [];
        for (let i = 0; i < r; i++) {
          const t = performance.now();
          await gpu.lde(columns, 3, 31);
          samples.push(performance.now() - t);
        }
        return { adapter: gpu.adapter, samples };
      },
      [logN, width, runs] as const,
    );
  } finally {
    await browser.close();
    await served.close();
  }
}

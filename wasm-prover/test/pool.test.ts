import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cubeChainAir, cubeChainTrace } from '../../core/src/stark/airs/cube-chain.ts';
import { P } from '../../core/src/stark/field.ts';
import { LEAF_KEY, NODE_KEY } from '../../core/src/stark/merkle.ts';
import { type ProvePhase, prove } from '../../core/src/stark/prover.ts';
import { verify } from '../../core/src/stark/verifier.ts';
import type { WasmKernels } from '../src/kernels.ts';
import {
  createNodeKernelPool,
  createNodeMessagePool,
  KERNELS_SHARED_WASM_URL,
  KERNELS_WASM_URL,
  loadKernels,
} from '../src/node.ts';
import { type KernelApi, KernelPool, lazyWorkerApi } from '../src/pool.ts';
import type { SharedKernelPool } from '../src/shared-pool.ts';

let shared: SharedKernelPool;
let messages: KernelPool;
let single: WasmKernels;
beforeAll(async () => {
  shared = await createNodeKernelPool(2);
  messages = await createNodeMessagePool(2);
  single = await loadKernels();
});
afterAll(() => {
  shared.terminate();
  messages.terminate();
});

const elem = fc.integer({ min: 0, max: P - 1 });
const column = (n: number): Uint32Array => Uint32Array.from(fc.sample(elem, n));

describe('browser kernel worker API', () => {
  it('refuses work before init and then runs the kernels from a posted module', async () => {
    const api = lazyWorkerApi();
    const cols = [column(64)];
    expect(() => api.lde(cols, 3, 31)).toThrow(/before init/);
    await api.init(await WebAssembly.compile(await readFile(KERNELS_WASM_URL)));
    expect(await api.lde(cols, 3, 31)).toEqual(await single.lde(cols, 3, 31));
  });
});

describe('kernel pool splitting', () => {
  it('gives every worker a part of each large batch', async () => {
    const calls = [new Map<string, number>(), new Map<string, number>()];
    const counting = (i: number): KernelApi =>
      new Proxy(single, {
        get(target, prop) {
          const f = Reflect.get(target, prop);
          if (typeof f !== 'function') return f;
          return (...args: unknown[]) => {
            calls[i]!.set(String(prop), (calls[i]!.get(String(prop)) ?? 0) + 1);
            return f.apply(target, args);
          };
        },
      });
    const split = new KernelPool([counting(0), counting(1)], single, () => {});
    const cols = Array.from({ length: 4 }, () => column(4096));
    const words = column(32 * 512);
    await split.lde(cols, 3, 31);
    await split.evaluate(cols, 4096 * 8, 31);
    await split.interpolate(cols, 31);
    await split.hashRows(cols, LEAF_KEY);
    await split.hashLeaves(words, 32, LEAF_KEY);
    await split.merkleLayers(words, 5, NODE_KEY);
    await split.friFold(words, column(512), [1, 2, 3, 4]);
    await split.combine(cols, [
      [1, 0, 0, 0],
      [2, 0, 0, 0],
      [3, 0, 0, 0],
      [4, 0, 0, 0],
    ]);
    await split.dot(cols, column(4 * 4096));
    await split.deepCompose(
      column(4 * 4096),
      column(4 * 4096),
      column(4096),
      [0, 1, 0, 0],
      [0, 2, 0, 0],
      [1, 1, 1, 1],
      [2, 2, 2, 2],
    );
    const methods = [
      'lde',
      'evaluate',
      'interpolate',
      'hashRows',
      'hashLeaves',
      'friFold',
      'combine',
      'dot',
      'deepCompose',
    ];
    for (const m of methods) {
      expect([calls[0]!.get(m), calls[1]!.get(m)], m).toEqual([1, 1]);
    }
  });
});

describe.each([
  ['shared-memory', () => shared],
  ['message', () => messages],
] as const)('%s worker_threads kernel pool', (_, poolOf) => {
  it('splits every kernel across workers with results identical to one worker', async () => {
    const pool = poolOf();
    expect(pool.size).toBe(2);
    const cols = Array.from({ length: 6 }, () => column(1024));
    expect(await pool.lde(cols, 3, 31)).toEqual(await single.lde(cols, 3, 31));
    expect(await pool.evaluate(cols, 8192, 31)).toEqual(await single.evaluate(cols, 8192, 31));
    expect(await pool.hashRows(cols, LEAF_KEY)).toEqual(await single.hashRows(cols, LEAF_KEY));
    // A row count that is not a multiple of 4 (padded in the kernel's memory), split across workers.
    const odd = Array.from({ length: 3 }, () => column(4097));
    expect(await pool.hashRows(odd, LEAF_KEY)).toEqual(await single.hashRows(odd, LEAF_KEY));
    const words = column(16 * 4096);
    expect(await pool.hashLeaves(words, 32, LEAF_KEY)).toEqual(await single.hashLeaves(words, 32, LEAF_KEY));
    for (const levels of [0, 3, 13]) {
      expect(await pool.merkleLayers(words, levels, NODE_KEY)).toEqual(
        await single.merkleLayers(words, levels, NODE_KEY),
      );
    }
    const xInv = column(2048);
    const zeta = [1, 2, 3, 4] as const;
    expect(await pool.friFold(words, xInv, zeta)).toEqual(await single.friFold(words, xInv, zeta));
    const coeffs = cols.map((_, i) => [i, 7, 11, i + 1] as const);
    expect(await pool.combine(cols, coeffs)).toEqual(await single.combine(cols, coeffs));
    const weights = column(4 * 1024);
    expect(await pool.dot(cols, weights)).toEqual(await single.dot(cols, weights));
    const ext = column(4 * 4096);
    const ext2 = column(4 * 4096);
    const xs = column(4096);
    const z = [5, 6, 7, 8] as const;
    const zNext = [9, 10, 11, 12] as const;
    expect(await pool.deepCompose(ext, ext2, xs, z, zNext, zeta, z)).toEqual(
      await single.deepCompose(ext, ext2, xs, z, zNext, zeta, z),
    );
    expect(await pool.interpolate(cols, 31)).toEqual(await single.interpolate(cols, 31));
  });

  it('proves in the pool with progress events, byte-identical to the single-thread proof', async () => {
    const pool = poolOf();
    const air = cubeChainAir(6);
    const { trace, publicInputs } = cubeChainTrace(
      6,
      Array.from({ length: 64 }, (_, i) => i * i),
    );
    const phases = new Set<ProvePhase>();
    let last = 0;
    const proof = await prove(air, trace, publicInputs, {
      kernels: pool,
      onProgress: (phase, fraction) => {
        phases.add(phase);
        last = fraction;
      },
    });
    expect(phases).toEqual(new Set(['trace', 'quotient', 'deep', 'fri', 'queries']));
    expect(last).toBe(1);
    expect(proof).toEqual(await prove(air, trace, publicInputs, { kernels: single }));
    expect(() => verify(air, publicInputs, proof)).not.toThrow();
  });
});

describe('shared-memory pool scopes', () => {
  it('hands out views inside a scope, takes them back as inputs in place, and copies outside one', async () => {
    const cols = Array.from({ length: 5 }, () => column(1024));
    const key = LEAF_KEY;
    const expectedLde = await single.lde(cols, 3, 31);
    const expectedLeaves = await single.hashRows(expectedLde, key);
    const expectedLayers = await single.merkleLayers(expectedLeaves, 13, NODE_KEY);
    const coeffs = cols.map((_, i) => [i + 1, 2, 3, 4] as const);
    const expectedCombined = await single.combine(expectedLde, coeffs);
    const memory = (lde: Uint32Array[]): ArrayBufferLike => lde[0]!.buffer;
    let inside: Uint32Array[] = [];
    await shared.scope(async () => {
      inside = await shared.lde(cols, 3, 31);
      expect(inside).toEqual(expectedLde);
      // Views of one shared memory, the columns back to back: hashRows reads them where they are.
      expect(memory(inside)).toBeInstanceOf(SharedArrayBuffer);
      expect(inside[1]!.byteOffset - inside[0]!.byteOffset).toBe(4 * inside[0]!.length);
      const leaves = await shared.hashRows(inside, key);
      expect(leaves).toEqual(expectedLeaves);
      expect(await shared.merkleLayers(leaves, 13, NODE_KEY)).toEqual(expectedLayers);
      expect(await shared.combine(inside, coeffs)).toEqual(expectedCombined);
      // A view that is not evenly spaced with the others is copied in, with the same result.
      const shuffled = [inside[2]!, inside[0]!, inside[4]!, inside[1]!, inside[3]!];
      const single2 = await single.hashRows(shuffled, key);
      expect(await shared.hashRows(shuffled, key)).toEqual(single2);
    });
    const outside = await shared.lde(cols, 3, 31);
    expect(outside[0]!.buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(outside).toEqual(expectedLde);
  });

  it('proves byte-identically when twiddle tables must grow inside a scope', async () => {
    // A fresh pool has tables for no size: the proof grows them once per size it meets.
    const fresh = await createNodeKernelPool(2);
    try {
      const air = cubeChainAir(5);
      const { trace, publicInputs } = cubeChainTrace(
        5,
        Array.from({ length: 64 }, (_, i) => 3 * i + 1),
      );
      const expected = await prove(air, trace, publicInputs, { kernels: single });
      await fresh.scope(async () => {
        await fresh.hashLeaves(column(64), 16, LEAF_KEY);
        expect(await prove(air, trace, publicInputs, { kernels: fresh })).toEqual(expected);
      });
      expect(await prove(air, trace, publicInputs, { kernels: fresh })).toEqual(expected);
    } finally {
      fresh.terminate();
    }
  });

  it('runs in a browser-style worker API given the shared build and a shared memory', async () => {
    const api = lazyWorkerApi();
    await expect(api.call('set_scratch', [65536])).rejects.toThrow(/before initShared/);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 65536, shared: true });
    await api.initShared(await WebAssembly.compile(await readFile(KERNELS_SHARED_WASM_URL)), memory);
    const at = 65536 + 4096;
    const words = new Uint32Array(memory.buffer, at, 8);
    words.set([1, 2, 3, 4, 5, 6, 7, 8]);
    await api.call('to_mont', [at, 8]);
    // to_mont in the worker API's instance wrote x R mod p into the memory this thread reads.
    expect(Array.from(words)).toEqual(
      [1, 2, 3, 4, 5, 6, 7, 8].map((x) => Number((BigInt(x) << 32n) % BigInt(P))),
    );
  });
});

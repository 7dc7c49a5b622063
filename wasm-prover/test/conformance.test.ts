import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { cubeChainAir, cubeChainTrace } from '../../core/src/stark/airs/cube-chain.ts';
import { inv, mul, P } from '../../core/src/stark/field.ts';
import { type ConstraintEvaluator, tsKernels } from '../../core/src/stark/kernels.ts';
import { LEAF_KEY, NODE_KEY } from '../../core/src/stark/merkle.ts';
import { inttDit, nttDif } from '../../core/src/stark/ntt.ts';
import { prove } from '../../core/src/stark/prover.ts';
import { POW_KEY } from '../../core/src/stark/transcript.ts';
import { verify } from '../../core/src/stark/verifier.ts';
import vectors from '../../core/test/vectors/blake3.json' with { type: 'json' };
import type { WasmKernels } from '../src/kernels.ts';
import { loadKernels } from '../src/node.ts';

let wasm: WasmKernels;
beforeAll(async () => {
  wasm = await loadKernels();
});

const elem = fc.integer({ min: 0, max: P - 1 });
const column = (n: number): fc.Arbitrary<Uint32Array> =>
  fc.array(elem, { minLength: n, maxLength: n }).map((a) => Uint32Array.from(a));
const words = (n: number): fc.Arbitrary<Uint32Array> =>
  fc
    .array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: n, maxLength: n })
    .map((a) => Uint32Array.from(a));
const R_INV = inv(2 ** 32 % P);

describe('WASM kernels agree bit for bit with the TypeScript kernels', () => {
  it('Montgomery multiplication', () => {
    fc.assert(
      fc.property(column(64), column(64), (a, b) => {
        expect(wasm.montMul(a, b)).toEqual(a.map((x, i) => mul(mul(x, b[i]!), R_INV)));
      }),
      { numRuns: 50 },
    );
    const edge = Uint32Array.of(0, 1, P - 1, P - 2);
    expect(wasm.montMul(edge, edge)).toEqual(edge.map((x) => mul(mul(x, x), R_INV)));
  });

  it('forward and inverse NTT at every size from 2 to 2^12', () => {
    for (let log = 1; log <= 12; log++) {
      fc.assert(
        fc.property(column(2 ** log), (a) => {
          const expected = a.slice();
          nttDif(expected);
          expect(wasm.nttDif(a)).toEqual(expected);
          const back = wasm.inttDitUnscaled(expected);
          inttDit(expected);
          expect(back).toEqual(expected.map((x) => mul(x, 2 ** log)));
        }),
        { numRuns: 3 },
      );
    }
  });

  it('coset LDE and coset evaluation', async () => {
    for (const [logN, logBlowup, cols] of [
      [1, 3, 1],
      [2, 3, 3],
      [5, 3, 4],
      [8, 2, 2],
      [10, 3, 5],
    ] as const) {
      const columns = fc.sample(column(2 ** logN), cols);
      expect(await wasm.lde(columns, logBlowup, 31)).toEqual(await tsKernels.lde(columns, logBlowup, 31));
      expect(await wasm.evaluate(columns, 2 ** (logN + logBlowup), 7)).toEqual(
        await tsKernels.evaluate(columns, 2 ** (logN + logBlowup), 7),
      );
    }
  });

  it('BLAKE3 leaf hashing of rows (column-major input), any width and row count', async () => {
    for (const [rows, width] of [
      [16, 1],
      [8, 2],
      [5, 16],
      [12, 17],
      [64, 64],
      [7, 72],
      [4, 256],
    ] as const) {
      const columns = fc.sample(words(rows), width);
      expect(await wasm.hashRows(columns, LEAF_KEY)).toEqual(await tsKernels.hashRows(columns, LEAF_KEY));
    }
  });

  it('BLAKE3 hashing of contiguous leaves and Merkle nodes', async () => {
    for (const [leaves, per] of [
      [1, 1],
      [9, 16],
      [5, 32],
      [6, 100],
      [3, 256],
      [64, 8],
    ] as const) {
      const input = fc.sample(words(leaves * per), 1)[0]!;
      expect(await wasm.hashLeaves(input, per, LEAF_KEY)).toEqual(
        await tsKernels.hashLeaves(input, per, LEAF_KEY),
      );
    }
    const children = fc.sample(words(8 * 16), 1)[0]!;
    for (const levels of [0, 1, 4]) {
      expect(await wasm.merkleLayers(children, levels, NODE_KEY)).toEqual(
        await tsKernels.merkleLayers(children, levels, NODE_KEY),
      );
    }
  });

  it('BLAKE3 keyed hash matches the official vector for a full 1024-byte chunk', async () => {
    const key = new Uint32Array(new TextEncoder().encode(vectors.key).buffer);
    const c = vectors.cases.find((v) => v.input_len === 1024)!;
    const input = new Uint32Array(new Uint8Array(1024).map((_, i) => i % 251).buffer);
    const digest = await wasm.hashLeaves(input, 256, key);
    expect(Buffer.from(digest.buffer, digest.byteOffset, 32).toString('hex')).toBe(c.keyed_hash.slice(0, 64));
  });

  it('FRI folding by 8', async () => {
    fc.assert(
      fc.asyncProperty(
        column(32 * 16),
        column(16),
        fc.tuple(elem, elem, elem, elem),
        async (values, xInv, zeta) => {
          expect(await wasm.friFold(values, xInv, zeta)).toEqual(await tsKernels.friFold(values, xInv, zeta));
        },
      ),
      { numRuns: 20 },
    );
  });

  it('DEEP linear combination of base columns with extension coefficients', async () => {
    for (const cols of [1, 5, 16, 17, 40]) {
      const columns = fc.sample(column(64), cols);
      const coeffs = fc.sample(fc.tuple(elem, elem, elem, elem), cols);
      expect(await wasm.combine(columns, coeffs)).toEqual(await tsKernels.combine(columns, coeffs));
    }
  });

  it('dot products of base columns with extension weights', async () => {
    for (const [cols, n] of [
      [1, 4],
      [3, 64],
      [9, 128],
    ] as const) {
      const columns = fc.sample(column(n), cols);
      const weights = fc.sample(column(4 * n), 1)[0]!;
      expect(await wasm.dot(columns, weights)).toEqual(await tsKernels.dot(columns, weights));
    }
  });

  it('DEEP composition with its batched extension inversion (4 points per vector, and the scalar rest)', async () => {
    const ext4 = fc.tuple(elem, elem, elem, elem);
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 70 }).chain((n) => fc.tuple(column(4 * n), column(4 * n), column(n))),
        ext4,
        ext4,
        ext4,
        ext4,
        async ([A, B, xs], z, zn, a, b) => {
          // z and zn have non-zero X coordinates, so no base-field point x equals them.
          const zz = [z[0], z[1] || 1, z[2], z[3]] as const;
          const zzn = [zn[0], zn[1], zn[2], zn[3] || 5] as const;
          expect(await wasm.deepCompose(A, B, xs, zz, zzn, a, b)).toEqual(
            await tsKernels.deepCompose(A, B, xs, zz, zzn, a, b),
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('coset interpolation', async () => {
    for (const log of [1, 2, 5, 9]) {
      const columns = fc.sample(column(2 ** log), 3);
      expect(await wasm.interpolate(columns, 31)).toEqual(await tsKernels.interpolate(columns, 31));
    }
  });

  it('constraint evaluator: vector add, sub, mul, constants, extension accumulate and scale', () => {
    const size = 64;
    const ext = fc.tuple(elem, elem, elem, elem);
    fc.assert(
      fc.property(column(size), column(size), column(size), elem, ext, (a, b, c, k, coeff) => {
        // The same program on both evaluators: ((a * b) - c + k) accumulated with coeff, then scaled by b.
        const run = <V>(e: ConstraintEvaluator<V>): Uint32Array => {
          e.begin();
          const [va, vb, vc] = [e.load(a), e.load(b), e.load(c)];
          const t = e.ops.add(e.ops.sub(e.ops.mul(va, vb), vc), e.ops.constant(k));
          const acc = e.extZeros();
          e.accumulate(acc, coeff, t);
          e.accumulate(acc, coeff, va);
          e.scaleExt(acc, vb);
          return Uint32Array.from([...e.read(t, size), ...e.read(acc, 4 * size)]);
        };
        expect(wasm.withEvaluator(size, run)).toEqual(tsKernels.withEvaluator(size, run));
      }),
      { numRuns: 50 },
    );
  });

  it('proof-of-work grinding finds the same (smallest) nonce', async () => {
    for (const seedWords of fc.sample(words(8), 4)) {
      for (const bits of [0, 3, 10]) {
        expect(await wasm.grind(seedWords, POW_KEY, bits)).toBe(
          await tsKernels.grind(seedWords, POW_KEY, bits),
        );
      }
    }
  });

  it('a proof made with the WASM kernels is byte-identical to the TypeScript one and verifies', async () => {
    const air = cubeChainAir(4);
    const { trace, publicInputs } = cubeChainTrace(
      4,
      Array.from({ length: 64 }, (_, i) => 3 * i + 2),
    );
    const viaWasm = await prove(air, trace, publicInputs, { kernels: wasm });
    expect(viaWasm).toEqual(await prove(air, trace, publicInputs));
    expect(() => verify(air, publicInputs, viaWasm)).not.toThrow();
  });
});

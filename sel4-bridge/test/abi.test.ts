/**
 * The kernel and core agree: the built header is what the generator makes from core today, and the
 * kernel's mint orders rights exactly as core's `narrows` (a property over random rights).
 */
import { readFileSync } from 'node:fs';
import {
  ErrorCodes,
  FIRMAMENT_ACTIONS,
  type FirmamentConnection,
  mintArgs,
  narrows,
  type Rights,
} from '@cipherclerk/core';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { abiHeader } from '../src/abi.ts';
import { buildImage, HEADER } from '../src/build.ts';
import { bootKernel, type Kernel } from '../src/kernel.ts';

let kernel: Kernel;
beforeAll(async () => {
  kernel = await bootKernel({ elf: buildImage({ quiet: true }) });
});
afterAll(() => kernel.halt());

describe('the generated ABI header', () => {
  it('is the one the generator makes from core now', () => {
    expect(readFileSync(HEADER, 'utf8')).toBe(abiHeader());
  });

  it('numbers every error code of core, in order, and one bit per action', () => {
    const header = readFileSync(HEADER, 'utf8');
    Object.keys(ErrorCodes).forEach((code, i) => {
      expect(header).toContain(`#define FW_${code} ${i + 1}\n`);
    });
    FIRMAMENT_ACTIONS.forEach((a, i) => {
      expect(header).toContain(`#define FW_ACTION_${a.toUpperCase()} (1u << ${i})\n`);
    });
  });

  it('makes the kernel refuse a widening with the code core uses', async () => {
    const root = await kernel.call('new', ['ep', '0']);
    const narrow = await kernel.call('mint', [`${root.slot}:${root.gen}`, '0', '3', '10', '0', '-']);
    await expect(
      kernel.call('mint', [`${narrow.slot}:${narrow.gen}`, '0', '7', '10', '0', '-']),
    ).rejects.toMatchObject({
      code: 'E_WIDENING',
    });
    await kernel.call('delete', [`${root.slot}:${root.gen}`]);
  });
});

const actions = fc.subarray([...FIRMAMENT_ACTIONS]);
const bound = fc.option(fc.integer({ min: 0, max: 2000 }), { nil: null });
const rights = (withGrant: boolean) =>
  fc.record({ actions, budget: bound, notBefore: fc.integer({ min: 0, max: 2000 }), expiry: bound }).map(
    (r): Rights => ({
      services: 'all',
      actions: new Set(withGrant ? ['grant', ...r.actions] : r.actions),
      budget: r.budget,
      notBefore: r.notBefore,
      expiry: r.expiry === null ? null : 1_000_000_000 + r.expiry,
      caveats: new Set(),
    }),
  );

describe("the kernel's mint and core's narrows", () => {
  it('agree on every pair of rights: the kernel refuses exactly the widenings', async () => {
    const conn: FirmamentConnection = { call: (verb, args) => kernel.call(verb, args) };
    await fc.assert(
      fc.asyncProperty(rights(true), rights(false), async (parent, child) => {
        const root = await conn.call('new', ['ep', '0']);
        const ref = `${root.slot}:${root.gen}`;
        try {
          const p = await conn.call('mint', [ref, '0', ...mintArgs(parent)]);
          const minted = await conn.call('mint', [`${p.slot}:${p.gen}`, '0', ...mintArgs(child)]).then(
            () => true,
            (e: { code?: string }) => {
              expect(e.code).toBe('E_WIDENING');
              return false;
            },
          );
          expect(minted).toBe(narrows(child, parent));
        } finally {
          await conn.call('delete', [ref]);
        }
      }),
      { numRuns: 60 },
    );
  });
});

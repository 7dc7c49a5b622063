/**
 * Helpers for the effect behaviour tests: a snapshot of everything an executor shows (every cell's
 * canonical encoding, the ledger root, the supply, the agents' receipt heads), `refused` (submit a
 * turn that must fail and check it changed none of that), grants, and a memory store through which
 * the non-cell ledger records (messages, meters, boxes) can be read back.
 */
import { expect } from 'vitest';
import type { Caveat } from '../../src/caps/caveats.ts';
import type { Handle } from '../../src/caps/handle.ts';
import { encodeCell } from '../../src/cells/cell.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { type CborMap, decodeCbor } from '../../src/encoding/cbor.ts';
import type { ErrorCode } from '../../src/errors.ts';
import type { Store, Write } from '../../src/store/store.ts';
import type { Effect, Source, Via } from '../../src/turns/effects.ts';
import type { Receipt } from '../../src/turns/receipt.ts';
import type { Turn, TurnBody } from '../../src/turns/turn.ts';
import { codeOf } from '../caps/fixtures.ts';
import { type Person, T0, type World } from './fixtures.ts';

export { T0 };

/** Budget ids are 16 hex digits. */
export const BUDGET_A = 'aaaaaaaaaaaaaaaa';
export const BUDGET_B = 'bbbbbbbbbbbbbbbb';

/** Everything observable about the executor's state, in comparable form. */
export function snapshot(w: World) {
  const cells = w.executor
    .cells()
    .map((c) => [c.id, toHex(encodeCell(c))] as const)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return {
    cells,
    root: toHex(w.executor.ledgerRoot()),
    supply: w.executor.supply(),
    audit: w.executor.audit(),
    heads: [w.alice, w.bob, w.carol].map((p) => w.executor.head(p.did)),
  };
}

/**
 * Submits a turn that must be refused; checks the executor's state is byte-identical afterwards, the
 * acting cell's nonce unchanged, and no receipt was added. Returns the error code.
 */
export async function refused(
  w: World,
  who: Person,
  effects: Effect[],
  options?: Partial<TurnBody> & { cell?: string },
): Promise<ErrorCode> {
  const acting = options?.cell ?? who.cell;
  const nonce = w.executor.cell(acting)?.nonce;
  const before = snapshot(w);
  const receipts = (await w.executor.receipts(who.did)).length;
  const code = await codeOf(w.act(who, effects, options));
  expect(snapshot(w)).toEqual(before);
  expect(w.executor.cell(acting)?.nonce).toBe(nonce);
  expect((await w.executor.receipts(who.did)).length).toBe(receipts);
  return code;
}

/** Value is conserved: what cells, escrows, locks and the pool hold is what the supply ledger says. */
export function expectConserved(w: World): void {
  const { held, expected } = w.executor.audit();
  expect(held).toBe(expected);
}

/** Submits an already built turn that must be refused with `code`; the state must be as before. */
export async function expectRefused(w: World, turn: Promise<Turn> | Turn, code: string): Promise<void> {
  const before = snapshot(w);
  expect(await codeOf(w.executor.submit(await turn))).toBe(code);
  expect(snapshot(w)).toEqual(before);
  expectConserved(w);
}

/** `by` grants a handle derived from `source` into cell `to`; returns the result ({slot, channel?}). */
export async function grant(
  w: World,
  by: Person,
  source: Source,
  to: string,
  caveats: Caveat[],
  extra: { revocable?: boolean; via?: Via } = {},
): Promise<{ slot: number; channel?: string }> {
  const r = await w.act(by, [{ type: 'grant-capability', source, to, caveats, ...extra }]);
  return r.results[0] as { slot: number; channel?: string };
}

export function handleAt(w: World, cell: string, slot: number): Handle | undefined {
  return w.executor.cell(cell)?.clist.get(slot);
}

export function balanceOf(w: World, cell: string): bigint {
  return w.executor.cell(cell)!.balance;
}

export function result<T>(r: Receipt, i = 0): T {
  return r.results[i] as T;
}

export function actions(...names: string[]): Caveat {
  return { t: 'actions', actions: [...names].sort() };
}

export function budget(id: string, max: number): Caveat {
  return { t: 'budget', id, max };
}

export function exp(at: number): Caveat {
  return { t: 'exp', at };
}

/** A minimal in-memory `Store`, to read back the ledger records an executor persists. */
export function memoryStore(collections: readonly string[]): Store & {
  records(prefix: string): Map<string, CborMap>;
} {
  const data = new Map<string, Map<string, Uint8Array>>(collections.map((c) => [c, new Map()]));
  const col = (c: string) => {
    const m = data.get(c);
    if (m === undefined) throw new Error(`no collection ${c}`);
    return m;
  };
  return {
    collections,
    async get(c, k) {
      return col(c).get(k)?.slice();
    },
    async list(c, o = {}) {
      return [...col(c).entries()]
        .filter(([k]) => o.prefix === undefined || k.startsWith(o.prefix))
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .slice(0, o.limit)
        .map(([key, value]) => ({ key, value: value.slice() }));
    },
    async transact(writes: readonly Write[]) {
      for (const w of writes) {
        if (w.op === 'put') col(w.collection).set(w.key, w.value.slice());
        else col(w.collection).delete(w.key);
      }
    },
    async close() {},
    records(prefix) {
      const out = new Map<string, CborMap>();
      for (const [k, v] of col('ledger')) {
        if (k.startsWith(prefix)) out.set(k.slice(prefix.length), decodeCbor(v, k) as CborMap);
      }
      return out;
    },
  };
}

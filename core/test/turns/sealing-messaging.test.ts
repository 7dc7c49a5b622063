/**
 * Events, sealing and messaging: emit-event; create-seal-pair, seal, unseal; introduce,
 * pipelined-send, create-obligation.
 */
import { describe, expect, it } from 'vitest';
import type { Caveat } from '../../src/caps/caveats.ts';
import { handleRights } from '../../src/caps/handle.ts';
import { narrows } from '../../src/caps/rights.ts';
import type { Effect } from '../../src/turns/effects.ts';
import { EXECUTOR_COLLECTIONS } from '../../src/turns/executor.ts';
import {
  actions,
  BUDGET_A,
  balanceOf,
  budget,
  exp,
  grant,
  handleAt,
  memoryStore,
  refused,
  result,
} from './effect-helpers.ts';
import { type Person, saltOf, T0, type World, world } from './fixtures.ts';

const transferFrom = (w: World, from: string, slot: number, amount = 1n): Effect => ({
  type: 'transfer',
  from,
  to: w.carol.cell,
  amount,
  via: { slot },
});

describe('emit-event', () => {
  it('puts events, in order, in the receipt', async () => {
    const w = await world();
    const bytes = new Uint8Array([9, 8, 7]);
    const r = await w.act(w.alice, [
      { type: 'emit-event', topic: 'order.placed', data: 'x' },
      { type: 'set-field', cell: w.alice.cell, key: 'k', value: 1 },
      { type: 'emit-event', topic: 'raw', data: bytes },
      { type: 'emit-event', topic: 'empty', data: null },
    ]);
    expect(r.results).toEqual([null, null, null, null]);
    expect(r.events).toEqual([
      { cell: w.alice.cell, topic: 'order.placed', data: 'x' },
      { cell: w.alice.cell, topic: 'raw', data: bytes },
      { cell: w.alice.cell, topic: 'empty', data: null },
    ]);
    const stored = await w.executor.receipts(w.alice.did);
    expect(stored.at(-1)!.events).toEqual(r.events);
    // A turn without events has none.
    const r2 = await w.act(w.alice, [{ type: 'set-field', cell: w.alice.cell, key: 'k', value: 2 }]);
    expect(r2.events).toEqual([]);
  });

  it("is refused when the acting cell's permission for it is none", async () => {
    const w = await world();
    await w.act(w.alice, [
      { type: 'set-permissions', cell: w.alice.cell, permissions: { 'emit-event': 'none' } },
    ]);
    expect(await refused(w, w.alice, [{ type: 'emit-event', topic: 'x', data: null }])).toBe('E_DENIED');
  });
});

describe('sealing', () => {
  /** Alice: a seal pair (slots 0, 1) and a handle to her own cell (slot 2); Bob holds the unsealer. */
  async function setup(content: Caveat[] = [actions('transfer')], revocable = false) {
    const w = await world();
    const r = await w.act(w.alice, [{ type: 'create-seal-pair' }]);
    const pair = result<{ pair: string; sealer: number; unsealer: number }>(r);
    const c = await grant(w, w.alice, { cell: w.alice.cell }, w.alice.cell, content, { revocable });
    const bobUnsealer = (await grant(w, w.alice, { slot: pair.unsealer }, w.bob.cell, [])).slot;
    return { w, pair, content: c, bobUnsealer };
  }

  it('create-seal-pair puts a sealer and an unsealer of one pair in the acting cell', async () => {
    const w = await world();
    const r = await w.act(w.alice, [{ type: 'create-seal-pair' }, { type: 'create-seal-pair' }]);
    const p0 = result<{ pair: string; sealer: number; unsealer: number }>(r, 0);
    const p1 = result<{ pair: string; sealer: number; unsealer: number }>(r, 1);
    expect(p0.pair).toMatch(/^[0-9a-f]{32}$/);
    expect(p1.pair).not.toBe(p0.pair);
    expect([p0.sealer, p0.unsealer, p1.sealer, p1.unsealer]).toEqual([0, 1, 2, 3]);
    expect(handleAt(w, w.alice.cell, 0)).toEqual({ target: { kind: 'sealer', id: p0.pair }, caveats: [] });
    expect(handleAt(w, w.alice.cell, 1)).toEqual({ target: { kind: 'unsealer', id: p0.pair }, caveats: [] });
  });

  it('seal then unseal elsewhere: the holder of the unsealer gets the boxed handle, no wider', async () => {
    const { w, pair, content, bobUnsealer } = await setup();
    const appended = [budget(BUDGET_A, 30)];
    const r = await w.act(w.alice, [
      { type: 'seal', sealer: pair.sealer, slot: content.slot, caveats: appended },
    ]);
    const box = result<string>(r);
    expect(box).toMatch(/^[0-9a-f]{32}$/);
    // Sealing does not move the handle out of the sealer's c-list.
    expect(handleAt(w, w.alice.cell, content.slot)).toBeDefined();

    const u = await w.act(w.bob, [{ type: 'unseal', unsealer: bobUnsealer, box }]);
    const slot = result<number>(u);
    const sealed = handleAt(w, w.alice.cell, content.slot)!;
    const unsealed = handleAt(w, w.bob.cell, slot)!;
    expect(unsealed).toEqual({ target: sealed.target, caveats: [...sealed.caveats, ...appended] });
    expect(narrows(handleRights(unsealed), handleRights(sealed))).toBe(true);

    await w.act(w.bob, [transferFrom(w, w.alice.cell, slot, 30n)]);
    expect(await refused(w, w.bob, [transferFrom(w, w.alice.cell, slot, 1n)])).toBe('E_BUDGET');
    expect(
      await refused(w, w.bob, [{ type: 'set-field', cell: w.alice.cell, key: 'k', value: 1, via: { slot } }]),
    ).toBe('E_DENIED');
    expect(balanceOf(w, w.carol.cell)).toBe(1030n);
  });

  it("another pair's unsealer cannot open the box (E_DENIED)", async () => {
    const { w, pair, content } = await setup();
    const box = result<string>(
      await w.act(w.alice, [{ type: 'seal', sealer: pair.sealer, slot: content.slot, caveats: [] }]),
    );
    const other = result<{ sealer: number; unsealer: number }>(
      await w.act(w.bob, [{ type: 'create-seal-pair' }]),
    );
    expect(await refused(w, w.bob, [{ type: 'unseal', unsealer: other.unsealer, box }])).toBe('E_DENIED');
    // Nor does a sealer, nor a cell handle, act as an unsealer.
    expect(await refused(w, w.alice, [{ type: 'unseal', unsealer: pair.sealer, box }])).toBe('E_DENIED');
    expect(await refused(w, w.alice, [{ type: 'unseal', unsealer: content.slot, box }])).toBe('E_DENIED');
    // A cell handle does not seal either.
    expect(
      await refused(w, w.alice, [{ type: 'seal', sealer: content.slot, slot: content.slot, caveats: [] }]),
    ).toBe('E_DENIED');
  });

  it('an unknown box is E_NOT_FOUND; widening caveats at seal are E_WIDENING', async () => {
    const { w, pair, content, bobUnsealer } = await setup();
    expect(await refused(w, w.bob, [{ type: 'unseal', unsealer: bobUnsealer, box: 'ab'.repeat(16) }])).toBe(
      'E_NOT_FOUND',
    );
    expect(
      await refused(w, w.alice, [
        { type: 'seal', sealer: pair.sealer, slot: content.slot, caveats: [actions('burn', 'transfer')] },
      ]),
    ).toBe('E_WIDENING');
  });

  it("a box whose content's channel was tripped does not unseal (E_REVOKED)", async () => {
    const { w, pair, content, bobUnsealer } = await setup([actions('transfer')], true);
    const box = result<string>(
      await w.act(w.alice, [{ type: 'seal', sealer: pair.sealer, slot: content.slot, caveats: [] }]),
    );
    await w.act(w.alice, [{ type: 'revoke-delegation', channel: content.channel! }]);
    expect(await refused(w, w.bob, [{ type: 'unseal', unsealer: bobUnsealer, box }])).toBe('E_REVOKED');
  });

  it('a box unsealed before its channel trips yields a handle that dies with it', async () => {
    const { w, pair, content, bobUnsealer } = await setup([actions('transfer')], true);
    const box = result<string>(
      await w.act(w.alice, [{ type: 'seal', sealer: pair.sealer, slot: content.slot, caveats: [] }]),
    );
    const slot = result<number>(await w.act(w.bob, [{ type: 'unseal', unsealer: bobUnsealer, box }]));
    await w.act(w.bob, [transferFrom(w, w.alice.cell, slot)]);
    await w.act(w.alice, [{ type: 'revoke-delegation', channel: content.channel! }]);
    expect(await refused(w, w.bob, [transferFrom(w, w.alice.cell, slot)])).toBe('E_REVOKED');
  });

  it('an expired box does not unseal (E_EXPIRED); an audience carries into the box', async () => {
    const { w, pair, content, bobUnsealer } = await setup();
    const box = result<string>(
      await w.act(w.alice, [
        { type: 'seal', sealer: pair.sealer, slot: content.slot, caveats: [exp(T0 + 10)] },
      ]),
    );
    const forAlice = result<string>(
      await w.act(w.alice, [
        { type: 'seal', sealer: pair.sealer, slot: content.slot, caveats: [{ t: 'aud', did: w.alice.did }] },
      ]),
    );
    expect(await refused(w, w.bob, [{ type: 'unseal', unsealer: bobUnsealer, box: forAlice }])).toBe(
      'E_AUDIENCE',
    );
    w.clock.advance(10_000);
    expect(await refused(w, w.bob, [{ type: 'unseal', unsealer: bobUnsealer, box }])).toBe('E_EXPIRED');
  });

  it("the unsealer's own limits hold: a mask without unseal, an expiry", async () => {
    const { w, pair, content } = await setup();
    const box = result<string>(
      await w.act(w.alice, [{ type: 'seal', sealer: pair.sealer, slot: content.slot, caveats: [] }]),
    );
    const masked = (await grant(w, w.alice, { slot: pair.unsealer }, w.bob.cell, [actions('seal')])).slot;
    expect(await refused(w, w.bob, [{ type: 'unseal', unsealer: masked, box }])).toBe('E_DENIED');
    const brief = (await grant(w, w.alice, { slot: pair.unsealer }, w.bob.cell, [exp(T0 + 5)])).slot;
    w.clock.advance(5_000);
    expect(await refused(w, w.bob, [{ type: 'unseal', unsealer: brief, box }])).toBe('E_EXPIRED');
    // A masked sealer does not seal either.
    const sealerNoSeal = (await grant(w, w.alice, { slot: pair.sealer }, w.alice.cell, [actions('unseal')]))
      .slot;
    expect(
      await refused(w, w.alice, [{ type: 'seal', sealer: sealerNoSeal, slot: content.slot, caveats: [] }]),
    ).toBe('E_DENIED');
  });

  it("a frozen cell's c-list does not change: no seal pair, no unsealing into it", async () => {
    const { w, pair, content, bobUnsealer } = await setup();
    const box = result<string>(
      await w.act(w.alice, [{ type: 'seal', sealer: pair.sealer, slot: content.slot, caveats: [] }]),
    );
    await w.act(w.bob, [{ type: 'set-permissions', cell: w.bob.cell, lifecycle: 'frozen' }]);
    expect(await refused(w, w.bob, [{ type: 'create-seal-pair' }])).toBe('E_DENIED');
    expect(await refused(w, w.bob, [{ type: 'unseal', unsealer: bobUnsealer, box }])).toBe('E_DENIED');
    await w.act(w.bob, [{ type: 'set-permissions', cell: w.bob.cell, lifecycle: 'active' }]);
    await w.act(w.bob, [{ type: 'unseal', unsealer: bobUnsealer, box }]);
  });
});

describe('introduce', () => {
  /** Carol gives Alice a handle to Carol's cell (slot `toCarol`); Alice holds a handle to her own cell. */
  async function setup(recipientMask: Caveat[] = [actions('introduce')], introduced: Caveat[] = []) {
    const w = await world();
    const toCarol = (await grant(w, w.carol, { cell: w.carol.cell }, w.alice.cell, recipientMask)).slot;
    const own = await grant(
      w,
      w.alice,
      { cell: w.alice.cell },
      w.alice.cell,
      [actions('transfer'), ...introduced],
      {
        revocable: true,
      },
    );
    return { w, toCarol, own };
  }

  it('the recipient gets the introduced handle, narrowed; every limit carries over', async () => {
    const { w, toCarol, own } = await setup([actions('introduce')], [exp(T0 + 1000)]);
    // Carol closes her cell to grants: introduce needs her handle, not the open permission.
    await w.act(w.carol, [
      { type: 'set-permissions', cell: w.carol.cell, permissions: { 'grant-capability': 'owner' } },
    ]);
    const r = await w.act(w.alice, [
      { type: 'introduce', slot: own.slot, to: toCarol, caveats: [budget(BUDGET_A, 10)] },
    ]);
    const slot = result<number>(r);
    const parent = handleAt(w, w.alice.cell, own.slot)!;
    const got = handleAt(w, w.carol.cell, slot)!;
    expect(got).toEqual({
      target: { kind: 'cell', id: w.alice.cell },
      caveats: [...parent.caveats, budget(BUDGET_A, 10)],
    });
    expect(narrows(handleRights(got), handleRights(parent))).toBe(true);

    await w.act(w.carol, [transferFrom(w, w.alice.cell, slot, 10n)]);
    expect(await refused(w, w.carol, [transferFrom(w, w.alice.cell, slot, 1n)])).toBe('E_BUDGET');
    expect(await refused(w, w.carol, [{ type: 'burn', cell: w.alice.cell, amount: 1n, via: { slot } }])).toBe(
      'E_DENIED',
    );
    // The introducer's channel reaches the introduced copy.
    await w.act(w.alice, [{ type: 'revoke-delegation', channel: own.channel! }]);
    expect(await refused(w, w.carol, [transferFrom(w, w.alice.cell, slot, 1n)])).toBe('E_REVOKED');
  });

  it('the introduced expiry binds the recipient', async () => {
    const { w, toCarol, own } = await setup([actions('introduce')], [exp(T0 + 100)]);
    const slot = result<number>(
      await w.act(w.alice, [{ type: 'introduce', slot: own.slot, to: toCarol, caveats: [] }]),
    );
    w.clock.advance(100_000);
    expect(await refused(w, w.carol, [transferFrom(w, w.alice.cell, slot)])).toBe('E_EXPIRED');
  });

  it("needs a handle to the recipient whose mask allows 'introduce'", async () => {
    const { w, toCarol, own } = await setup([actions('grant-capability', 'transfer')]);
    expect(await refused(w, w.alice, [{ type: 'introduce', slot: own.slot, to: toCarol, caveats: [] }])).toBe(
      'E_DENIED',
    );
    // A seal-pair handle is not a recipient.
    const pair = result<{ sealer: number }>(await w.act(w.alice, [{ type: 'create-seal-pair' }]));
    expect(
      await refused(w, w.alice, [{ type: 'introduce', slot: own.slot, to: pair.sealer, caveats: [] }]),
    ).toBe('E_DENIED');
  });

  it('refuses widening, dead handles on either side, and a frozen recipient', async () => {
    const { w, toCarol, own } = await setup([actions('introduce'), exp(T0 + 50)]);
    const intro = (caveats: Caveat[] = []): Effect => ({
      type: 'introduce',
      slot: own.slot,
      to: toCarol,
      caveats,
    });
    expect(await refused(w, w.alice, [intro([actions('burn')])])).toBe('E_WIDENING');
    await w.act(w.carol, [{ type: 'set-permissions', cell: w.carol.cell, lifecycle: 'frozen' }]);
    expect(await refused(w, w.alice, [intro()])).toBe('E_DENIED');
    await w.act(w.carol, [{ type: 'set-permissions', cell: w.carol.cell, lifecycle: 'active' }]);
    await w.act(w.alice, [intro()]);
    await w.act(w.alice, [{ type: 'revoke-delegation', channel: own.channel! }]);
    expect(await refused(w, w.alice, [intro()])).toBe('E_REVOKED');
    const fresh = (await grant(w, w.alice, { cell: w.alice.cell }, w.alice.cell, [])).slot;
    w.clock.advance(50_000);
    expect(await refused(w, w.alice, [{ type: 'introduce', slot: fresh, to: toCarol, caveats: [] }])).toBe(
      'E_EXPIRED',
    );
  });

  it('the introducer is the acting party: nobody introduces with handles of a cell they do not act as', async () => {
    const { w, toCarol, own } = await setup();
    const intro: Effect = { type: 'introduce', slot: own.slot, to: toCarol, caveats: [] };
    expect(await refused(w, w.bob, [intro], { cell: w.alice.cell })).toBe('E_DENIED');
    // In Bob's own cell those slots are empty.
    expect(await refused(w, w.bob, [intro])).toBe('E_NOT_FOUND');
  });
});

describe('pipelined-send', () => {
  async function storedWorld() {
    const store = memoryStore(EXECUTOR_COLLECTIONS);
    const w = await world({ store });
    return { w, store };
  }

  it('sends to a cell created earlier in the same turn ($n)', async () => {
    const { w, store } = await storedWorld();
    const r = await w.act(w.alice, [
      { type: 'create-cell', salt: saltOf(90), balance: 0n },
      { type: 'pipelined-send', to: '$0', topic: 'hello', data: 'world' },
      { type: 'pipelined-send', to: '$0', topic: 'again', data: null },
    ]);
    const id = result<string>(r, 0);
    const m1 = result<string>(r, 1);
    const m2 = result<string>(r, 2);
    expect(m1).toMatch(/^[0-9a-f]{32}$/);
    expect(m2).not.toBe(m1);
    const msgs = store.records('msg:');
    expect(msgs.get(m1)).toEqual({
      to: id,
      from: w.alice.cell,
      agent: w.alice.did,
      topic: 'hello',
      data: 'world',
    });
    expect(msgs.get(m2)).toEqual({
      to: id,
      from: w.alice.cell,
      agent: w.alice.did,
      topic: 'again',
      data: null,
    });
  });

  it('needs authority over the recipient: ownership, permission anyone, or a handle naming it', async () => {
    const { w, store } = await storedWorld();
    // A cell created in the turn for someone else is not the sender's to write to.
    expect(
      await refused(w, w.alice, [
        { type: 'create-cell', salt: saltOf(91), balance: 0n, owner: w.bob.did },
        { type: 'pipelined-send', to: '$0', topic: 'hello', data: null },
      ]),
    ).toBe('E_DENIED');
    const send: Effect = { type: 'pipelined-send', to: w.bob.cell, topic: 'hi', data: 1 };
    expect(await refused(w, w.alice, [send])).toBe('E_DENIED');
    const masked = (await grant(w, w.bob, { cell: w.bob.cell }, w.alice.cell, [actions('transfer')])).slot;
    expect(await refused(w, w.alice, [{ ...send, via: { slot: masked } } as Effect])).toBe('E_DENIED');
    const ok = (await grant(w, w.bob, { cell: w.bob.cell }, w.alice.cell, [actions('pipelined-send')])).slot;
    const r = await w.act(w.alice, [{ ...send, via: { slot: ok } } as Effect]);
    expect(store.records('msg:').get(result<string>(r))?.to).toBe(w.bob.cell);
    await w.act(w.bob, [
      { type: 'set-permissions', cell: w.bob.cell, permissions: { 'pipelined-send': 'anyone' } },
    ]);
    await w.act(w.carol, [{ ...send }]);
    expect(store.records('msg:').size).toBe(2);
  });

  it('$n must name a cell an earlier effect created', async () => {
    const w = await world();
    expect(await refused(w, w.alice, [{ type: 'pipelined-send', to: '$0', topic: 'x', data: null }])).toBe(
      'E_INVALID',
    );
  });
});

describe('create-obligation', () => {
  const obligation = (w: World, from: Person, amount: bigint, due: number): Effect => ({
    type: 'create-obligation',
    from: from.cell,
    to: w.bob.cell,
    amount,
    due,
  });

  it('moves the amount into escrow (value conserved)', async () => {
    const w = await world();
    const r = await w.act(w.alice, [obligation(w, w.alice, 250n, T0 + 1)]);
    expect(result<string>(r)).toMatch(/^[0-9a-f]{32}$/);
    expect(balanceOf(w, w.alice.cell)).toBe(750n);
    expect(balanceOf(w, w.bob.cell)).toBe(1000n);
    const { held, expected } = w.executor.audit();
    expect(held).toBe(expected);
  });

  it('refuses a due date that is not in the future (E_INVALID)', async () => {
    const w = await world();
    expect(await refused(w, w.alice, [obligation(w, w.alice, 1n, T0 - 1)])).toBe('E_INVALID');
    expect(await refused(w, w.alice, [obligation(w, w.alice, 1n, T0)])).toBe('E_INVALID');
    expect(await refused(w, w.alice, [obligation(w, w.alice, 1n, 0)])).toBe('E_INVALID');
  });

  it('refuses too little, an unknown creditor, and a debtor cell without authority', async () => {
    const w = await world();
    expect(await refused(w, w.alice, [obligation(w, w.alice, 1001n, T0 + 10)])).toBe('E_INSUFFICIENT');
    expect(
      await refused(w, w.alice, [
        { type: 'create-obligation', from: w.alice.cell, to: 'ab'.repeat(32), amount: 1n, due: T0 + 10 },
      ]),
    ).toBe('E_NOT_FOUND');
    expect(await refused(w, w.alice, [obligation(w, w.carol, 1n, T0 + 10)])).toBe('E_DENIED');
  });

  it('through a handle: needs create-obligation in the mask, and is charged to its budget', async () => {
    const w = await world();
    const { slot } = await grant(w, w.carol, { cell: w.carol.cell }, w.alice.cell, [
      actions('create-obligation'),
      budget(BUDGET_A, 100),
    ]);
    const o = (amount: bigint): Effect =>
      ({ ...obligation(w, w.carol, amount, T0 + 10), via: { slot } }) as Effect;
    await w.act(w.alice, [o(100n)]);
    expect(await refused(w, w.alice, [o(1n)])).toBe('E_BUDGET');
    expect(balanceOf(w, w.carol.cell)).toBe(900n);
  });
});

/**
 * Capability effects (grant-capability, revoke-capability, revoke-delegation, spawn-with-delegation)
 * and authority in general: no ownership and no handle, a handle to another cell, expiry, audience,
 * and that every refused turn leaves the executor byte-identical.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Caveat } from '../../src/caps/caveats.ts';
import { handleRights } from '../../src/caps/handle.ts';
import { narrows } from '../../src/caps/rights.ts';
import { cellId } from '../../src/cells/cell.ts';
import type { Effect } from '../../src/turns/effects.ts';
import {
  actions,
  BUDGET_A,
  BUDGET_B,
  balanceOf,
  budget,
  exp,
  grant,
  handleAt,
  refused,
  result,
  snapshot,
} from './effect-helpers.ts';
import { saltOf, T0, type World, world } from './fixtures.ts';

const transferFrom = (w: World, from: string, slot: number, amount = 1n): Effect => ({
  type: 'transfer',
  from,
  to: w.bob.cell,
  amount,
  via: { slot },
});

describe('grant-capability', () => {
  it('from ownership: the recipient’s lowest free slot gets {target, caveats}', async () => {
    const w = await world();
    const caveats: Caveat[] = [actions('transfer'), budget(BUDGET_A, 50)];
    const r = await w.act(w.alice, [
      { type: 'grant-capability', source: { cell: w.alice.cell }, to: w.bob.cell, caveats },
      { type: 'grant-capability', source: { cell: w.alice.cell }, to: w.bob.cell, caveats: [] },
    ]);
    expect(r.results).toEqual([{ slot: 0 }, { slot: 1 }]);
    expect(handleAt(w, w.bob.cell, 0)).toEqual({ target: { kind: 'cell', id: w.alice.cell }, caveats });
    expect(handleAt(w, w.bob.cell, 1)).toEqual({ target: { kind: 'cell', id: w.alice.cell }, caveats: [] });
    await w.act(w.bob, [transferFrom(w, w.alice.cell, 0, 50n)]);
    expect(balanceOf(w, w.bob.cell)).toBe(1050n);
    // A freed slot is reused.
    await w.act(w.bob, [{ type: 'revoke-capability', cell: w.bob.cell, slot: 0 }]);
    expect((await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [])).slot).toBe(0);
  });

  it('from ownership only of a cell the agent owns', async () => {
    const w = await world();
    expect(
      await refused(w, w.alice, [
        { type: 'grant-capability', source: { cell: w.bob.cell }, to: w.alice.cell, caveats: [] },
      ]),
    ).toBe('E_DENIED');
  });

  it('into a cell that closed receiving: only with a handle allowing grant-capability', async () => {
    const w = await world();
    await w.act(w.bob, [
      { type: 'set-permissions', cell: w.bob.cell, permissions: { 'grant-capability': 'owner' } },
    ]);
    const g: Effect = {
      type: 'grant-capability',
      source: { cell: w.alice.cell },
      to: w.bob.cell,
      caveats: [],
    };
    expect(await refused(w, w.alice, [g])).toBe('E_DENIED');
    // Bob gives Alice a handle to his cell allowing grants into it.
    const { slot } = await grant(w, w.bob, { cell: w.bob.cell }, w.alice.cell, [actions('grant-capability')]);
    await w.act(w.alice, [{ ...g, via: { slot } }] as Effect[]);
    expect(handleAt(w, w.bob.cell, 0)!.target.id).toBe(w.alice.cell);
  });

  it('from a slot: the parent’s caveats, then the appended ones; every limit carries over', async () => {
    const w = await world();
    const parent: Caveat[] = [actions('set-field', 'transfer'), exp(T0 + 1000), budget(BUDGET_A, 100)];
    const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, parent);
    const appended: Caveat[] = [actions('transfer'), budget(BUDGET_B, 40)];
    const c = await grant(w, w.bob, { slot }, w.carol.cell, appended);
    const child = handleAt(w, w.carol.cell, c.slot)!;
    expect(child).toEqual({ target: { kind: 'cell', id: w.alice.cell }, caveats: [...parent, ...appended] });
    expect(narrows(handleRights(child), handleRights(handleAt(w, w.bob.cell, slot)!))).toBe(true);

    // The narrower mask holds: set-field is Bob's, not Carol's.
    await w.act(w.bob, [{ type: 'set-field', cell: w.alice.cell, key: 'k', value: 1, via: { slot } }]);
    expect(
      await refused(w, w.carol, [
        { type: 'set-field', cell: w.alice.cell, key: 'k', value: 2, via: { slot: c.slot } },
      ]),
    ).toBe('E_DENIED');
    await w.act(w.carol, [transferFrom(w, w.alice.cell, c.slot, 40n)]);
    expect(await refused(w, w.carol, [transferFrom(w, w.alice.cell, c.slot, 1n)])).toBe('E_BUDGET');
    // The parent's expiry binds the child.
    w.clock.advance(1000_000);
    expect(
      await refused(w, w.carol, [transferFrom(w, w.alice.cell, c.slot, 1n)], { validUntil: T0 + 9999 }),
    ).toBe('E_EXPIRED');
    expect(
      await refused(w, w.bob, [transferFrom(w, w.alice.cell, slot, 1n)], { validUntil: T0 + 9999 }),
    ).toBe('E_EXPIRED');
  });

  it('refuses widening: an effect the parent lacks, a later expiry, a bigger budget (E_WIDENING)', async () => {
    const w = await world();
    const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
      actions('transfer'),
      exp(T0 + 1000),
      budget(BUDGET_A, 100),
    ]);
    const g = (caveats: Caveat[]): Effect => ({
      type: 'grant-capability',
      source: { slot },
      to: w.carol.cell,
      caveats,
    });
    expect(await refused(w, w.bob, [g([actions('burn')])])).toBe('E_WIDENING');
    expect(await refused(w, w.bob, [g([actions('burn', 'transfer')])])).toBe('E_WIDENING');
    expect(await refused(w, w.bob, [g([exp(T0 + 1001)])])).toBe('E_WIDENING');
    expect(await refused(w, w.bob, [g([budget(BUDGET_B, 101)])])).toBe('E_WIDENING');
    expect(await refused(w, w.bob, [g([budget(BUDGET_A, 101)])])).toBe('E_WIDENING');
    // Equal or narrower is fine.
    await w.act(w.bob, [g([actions('transfer'), exp(T0 + 1000), budget(BUDGET_B, 100)])]);
  });

  it('refuses a dead or missing source slot', async () => {
    const w = await world();
    const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [exp(T0 + 10)]);
    const g: Effect = { type: 'grant-capability', source: { slot }, to: w.carol.cell, caveats: [] };
    expect(await refused(w, w.bob, [{ ...g, source: { slot: 9 } }] as Effect[])).toBe('E_NOT_FOUND');
    w.clock.advance(10_000);
    expect(await refused(w, w.bob, [g])).toBe('E_EXPIRED');
  });

  describe('revocable', () => {
    it('has a channel; its owner trips it and every handle carrying it dies, wherever it is', async () => {
      const w = await world();
      const r = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [actions('transfer')], {
        revocable: true,
      });
      expect(r.channel).toMatch(/^[0-9a-f]{32}$/);
      const bobs = handleAt(w, w.bob.cell, r.slot)!;
      expect(bobs.caveats).toContainEqual({ t: 'rev', channel: r.channel, owner: w.alice.did });
      const c = await grant(w, w.bob, { slot: r.slot }, w.carol.cell, []);
      expect(handleAt(w, w.carol.cell, c.slot)!.caveats).toEqual(bobs.caveats);
      await w.act(w.bob, [transferFrom(w, w.alice.cell, r.slot)]);
      await w.act(w.carol, [transferFrom(w, w.alice.cell, c.slot)]);

      // Only the channel's owner may trip it.
      expect(await refused(w, w.bob, [{ type: 'revoke-delegation', channel: r.channel! }])).toBe('E_DENIED');
      expect(await refused(w, w.carol, [{ type: 'revoke-delegation', channel: r.channel! }])).toBe(
        'E_DENIED',
      );

      const rr = await w.act(w.alice, [{ type: 'revoke-delegation', channel: r.channel! }]);
      expect(rr.results).toEqual([null]);
      expect(await refused(w, w.bob, [transferFrom(w, w.alice.cell, r.slot)])).toBe('E_REVOKED');
      expect(await refused(w, w.carol, [transferFrom(w, w.alice.cell, c.slot)])).toBe('E_REVOKED');
      expect(
        await refused(w, w.bob, [
          { type: 'grant-capability', source: { slot: r.slot }, to: w.carol.cell, caveats: [] },
        ]),
      ).toBe('E_REVOKED');
      // An unrelated grant from the same owner still works.
      const other = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [actions('transfer')]);
      await w.act(w.bob, [transferFrom(w, w.alice.cell, other.slot)]);
    });

    it('a grant from a slot may be revocable too; each channel is its granter’s', async () => {
      const w = await world();
      const a = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [], { revocable: true });
      const b = await grant(w, w.bob, { slot: a.slot }, w.carol.cell, [], { revocable: true });
      expect(b.channel).not.toBe(a.channel);
      expect(handleAt(w, w.carol.cell, b.slot)!.caveats).toEqual([
        { t: 'rev', channel: a.channel, owner: w.alice.did },
        { t: 'rev', channel: b.channel, owner: w.bob.did },
      ]);
      // Bob cuts Carol off without touching his own handle.
      await w.act(w.bob, [{ type: 'revoke-delegation', channel: b.channel! }]);
      expect(await refused(w, w.carol, [transferFrom(w, w.alice.cell, b.slot)])).toBe('E_REVOKED');
      await w.act(w.bob, [transferFrom(w, w.alice.cell, a.slot)]);
    });

    it('an unknown channel is E_NOT_FOUND, and a caveat naming one is dead (PITFALLS 9)', async () => {
      const w = await world();
      expect(await refused(w, w.alice, [{ type: 'revoke-delegation', channel: 'ee'.repeat(16) }])).toBe(
        'E_NOT_FOUND',
      );
      const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
        { t: 'rev', channel: 'ee'.repeat(16), owner: w.alice.did },
      ]);
      expect(await refused(w, w.bob, [transferFrom(w, w.alice.cell, slot)])).toBe('E_REVOKED');
    });
  });
});

describe('revoke-capability', () => {
  it('empties a slot of a cell the agent has authority over', async () => {
    const w = await world();
    const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, []);
    const c = await grant(w, w.bob, { slot }, w.carol.cell, []);
    // Alice has no authority over Bob's c-list.
    expect(await refused(w, w.alice, [{ type: 'revoke-capability', cell: w.bob.cell, slot }])).toBe(
      'E_DENIED',
    );
    await w.act(w.bob, [{ type: 'revoke-capability', cell: w.bob.cell, slot }]);
    expect(handleAt(w, w.bob.cell, slot)).toBeUndefined();
    expect(await refused(w, w.bob, [transferFrom(w, w.alice.cell, slot)])).toBe('E_NOT_FOUND');
    expect(await refused(w, w.bob, [{ type: 'revoke-capability', cell: w.bob.cell, slot }])).toBe(
      'E_NOT_FOUND',
    );
    // It removes one copy only: what was derived from it lives on (revoke-delegation is the kill switch).
    await w.act(w.carol, [transferFrom(w, w.alice.cell, c.slot)]);
  });

  it('through a handle naming revoke-capability', async () => {
    const w = await world();
    const dummy = await grant(w, w.carol, { cell: w.carol.cell }, w.bob.cell, []);
    const { slot } = await grant(w, w.bob, { cell: w.bob.cell }, w.alice.cell, [
      actions('revoke-capability'),
    ]);
    await w.act(w.alice, [{ type: 'revoke-capability', cell: w.bob.cell, slot: dummy.slot, via: { slot } }]);
    expect(handleAt(w, w.bob.cell, dummy.slot)).toBeUndefined();
  });
});

describe('spawn-with-delegation', () => {
  it('creates a funded cell whose slots 0… hold the derived handles', async () => {
    const w = await world();
    const { slot } = await grant(w, w.carol, { cell: w.carol.cell }, w.alice.cell, [
      actions('set-field', 'transfer'),
      exp(T0 + 500),
    ]);
    const r = await w.act(w.alice, [
      {
        type: 'spawn-with-delegation',
        salt: saltOf(80),
        balance: 100n,
        owner: w.bob.did,
        grants: [
          { source: { cell: w.alice.cell }, caveats: [actions('transfer'), budget(BUDGET_A, 20)] },
          { source: { slot }, caveats: [actions('set-field')] },
        ],
      },
    ]);
    const child = result<string>(r);
    expect(child).not.toBe(cellId(w.bob.did, saltOf(80))); // salt mixed with the turn: see create-cell
    const c = w.executor.cell(child)!;
    expect(c.owner).toBe(w.bob.did);
    expect(c.balance).toBe(100n);
    expect(balanceOf(w, w.alice.cell)).toBe(900n);
    expect([...c.clist.keys()]).toEqual([0, 1]);
    expect(c.clist.get(0)).toEqual({
      target: { kind: 'cell', id: w.alice.cell },
      caveats: [actions('transfer'), budget(BUDGET_A, 20)],
    });
    expect(c.clist.get(1)).toEqual({
      target: { kind: 'cell', id: w.carol.cell },
      caveats: [actions('set-field', 'transfer'), exp(T0 + 500), actions('set-field')],
    });
    // Bob acts as the child and uses them.
    await w.act(w.bob, [transferFrom(w, w.alice.cell, 0, 20n)], { cell: child });
    expect(await refused(w, w.bob, [transferFrom(w, w.alice.cell, 0, 1n)], { cell: child })).toBe('E_BUDGET');
    await w.act(w.bob, [{ type: 'set-field', cell: w.carol.cell, key: 'k', value: 'v', via: { slot: 1 } }], {
      cell: child,
    });
    expect(await refused(w, w.bob, [transferFrom(w, w.carol.cell, 1)], { cell: child })).toBe('E_DENIED');
    expect(w.executor.audit().held).toBe(w.executor.audit().expected);
  });

  it('cannot be wider than its sources, nor derive from what the agent does not hold', async () => {
    const w = await world();
    const { slot } = await grant(w, w.carol, { cell: w.carol.cell }, w.alice.cell, [actions('set-field')]);
    const spawn = (grants: { source: { slot: number } | { cell: string }; caveats: Caveat[] }[]): Effect => ({
      type: 'spawn-with-delegation',
      salt: saltOf(81),
      balance: 10n,
      grants,
    });
    expect(await refused(w, w.alice, [spawn([{ source: { slot }, caveats: [actions('transfer')] }])])).toBe(
      'E_WIDENING',
    );
    expect(await refused(w, w.alice, [spawn([{ source: { cell: w.bob.cell }, caveats: [] }])])).toBe(
      'E_DENIED',
    );
    expect(await refused(w, w.alice, [spawn([{ source: { slot: 7 }, caveats: [] }])])).toBe('E_NOT_FOUND');
    expect(w.executor.cell(cellId(w.alice.did, saltOf(81)))).toBeUndefined();
    expect(
      await refused(w, w.alice, [
        { type: 'spawn-with-delegation', salt: saltOf(81), balance: 1001n, grants: [] },
      ]),
    ).toBe('E_INSUFFICIENT');
  });
});

describe('authority in general', () => {
  it('without ownership, permission or handle, every effect on a cell is E_DENIED', async () => {
    const w = await world();
    const a = w.alice.cell;
    const effects: Effect[] = [
      { type: 'set-field', cell: a, key: 'k', value: 1 },
      { type: 'increment-nonce', cell: a },
      { type: 'set-permissions', cell: a, lifecycle: 'frozen' },
      { type: 'set-verification-key', cell: a, key: w.carol.did },
      { type: 'transfer', from: a, to: w.carol.cell, amount: 1n },
      { type: 'burn', cell: a, amount: 1n },
      { type: 'revoke-capability', cell: a, slot: 0 },
      { type: 'pipelined-send', to: a, topic: 'hi', data: null },
      { type: 'create-obligation', from: a, to: w.carol.cell, amount: 1n, due: T0 + 100 },
      { type: 'grant-capability', source: { cell: a }, to: w.carol.cell, caveats: [] },
    ];
    for (const e of effects) expect(await refused(w, w.carol, [e]), e.type).toBe('E_DENIED');
    // Nor may Carol act as Alice's cell.
    expect(await refused(w, w.carol, [{ type: 'emit-event', topic: 'x', data: null }], { cell: a })).toBe(
      'E_DENIED',
    );
  });

  it('a handle works only on its own target, and a seal-pair handle on no cell', async () => {
    const w = await world();
    const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, []);
    expect(await refused(w, w.bob, [{ type: 'burn', cell: w.carol.cell, amount: 1n, via: { slot } }])).toBe(
      'E_DENIED',
    );
    const pair = result<{ sealer: number; unsealer: number }>(
      await w.act(w.bob, [{ type: 'create-seal-pair' }]),
    );
    expect(
      await refused(w, w.bob, [{ type: 'burn', cell: w.bob.cell, amount: 1n, via: { slot: pair.sealer } }]),
    ).toBe('E_DENIED');
    expect(
      await refused(w, w.bob, [{ type: 'burn', cell: w.alice.cell, amount: 1n, via: { slot: 99 } }]),
    ).toBe('E_NOT_FOUND');
  });

  it('validity window: E_EXPIRED at and after exp, E_NOT_YET_VALID before nbf', async () => {
    const w = await world();
    const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
      { t: 'nbf', at: T0 + 10 },
      exp(T0 + 20),
    ]);
    const until = { validUntil: T0 + 9999 };
    expect(await refused(w, w.bob, [transferFrom(w, w.alice.cell, slot)], until)).toBe('E_NOT_YET_VALID');
    w.clock.advance(10_000);
    await w.act(w.bob, [transferFrom(w, w.alice.cell, slot)], until);
    w.clock.advance(9_999);
    await w.act(w.bob, [transferFrom(w, w.alice.cell, slot)], until);
    w.clock.advance(1);
    expect(await refused(w, w.bob, [transferFrom(w, w.alice.cell, slot)], until)).toBe('E_EXPIRED');
  });

  it('an aud caveat binds the handle to one agent (E_AUDIENCE for anyone else)', async () => {
    const w = await world();
    const forCarol = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
      { t: 'aud', did: w.carol.did },
    ]);
    expect(await refused(w, w.bob, [transferFrom(w, w.alice.cell, forCarol.slot)])).toBe('E_AUDIENCE');
    const forBob = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
      { t: 'aud', did: w.bob.did },
    ]);
    await w.act(w.bob, [transferFrom(w, w.alice.cell, forBob.slot)]);
    // Passed on to Carol, it stays Bob's: the audience carries over.
    const c = await grant(w, w.bob, { slot: forBob.slot }, w.carol.cell, []);
    expect(await refused(w, w.carol, [transferFrom(w, w.alice.cell, c.slot)])).toBe('E_AUDIENCE');
  });

  it('services caveats must list cells; epoch caveats are not honoured on cells', async () => {
    const w = await world();
    const wrong = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
      { t: 'services', services: ['mail'] },
    ]);
    expect(await refused(w, w.bob, [transferFrom(w, w.alice.cell, wrong.slot)])).toBe('E_DENIED');
    const right = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
      { t: 'services', services: ['cells', 'mail'] },
    ]);
    await w.act(w.bob, [transferFrom(w, w.alice.cell, right.slot)]);
    const epoch = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
      { t: 'epoch', by: w.alice.did, epoch: 0 },
    ]);
    expect(await refused(w, w.bob, [transferFrom(w, w.alice.cell, epoch.slot)])).toBe('E_DENIED');
  });

  it('property: a turn whose last effect is refused changes nothing, whatever came before it', async () => {
    const w = await world();
    // Some standing state for the effects to work on.
    const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
      actions('transfer'),
      budget(BUDGET_A, 1000),
    ]);
    await w.act(w.bob, [{ type: 'create-seal-pair' }]);
    const good = (i: number): Effect[] => [
      { type: 'set-field', cell: w.bob.cell, key: `k${i}`, value: i },
      { type: 'transfer', from: w.bob.cell, to: w.carol.cell, amount: BigInt(i + 1) },
      { type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: BigInt(i + 1), via: { slot } },
      { type: 'create-cell', salt: saltOf(100 + i), balance: BigInt(i) },
      { type: 'emit-event', topic: 'e', data: i },
      { type: 'burn', cell: w.bob.cell, amount: 1n },
      { type: 'increment-nonce', cell: w.bob.cell },
      {
        type: 'grant-capability',
        source: { cell: w.bob.cell },
        to: w.carol.cell,
        caveats: [],
        revocable: true,
      },
      { type: 'create-obligation', from: w.bob.cell, to: w.alice.cell, amount: 2n, due: T0 + 50 },
      { type: 'create-seal-pair' },
      { type: 'seal', sealer: 1, slot: 0, caveats: [] },
      { type: 'set-permissions', cell: w.bob.cell, permissions: { transfer: 'anyone' }, lifecycle: 'frozen' },
      { type: 'set-verification-key', cell: w.bob.cell, key: w.carol.did },
      { type: 'pipelined-send', to: w.bob.cell, topic: 't', data: 'x' },
      // Not slot 0: a later create-seal-pair would refill it with a sealer, which `bad` could then grant.
      { type: 'revoke-capability', cell: w.bob.cell, slot: 2 },
    ];
    const bad: Effect[] = [
      { type: 'transfer', from: w.bob.cell, to: w.carol.cell, amount: 1_000_000n },
      { type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 1001n, via: { slot } },
      { type: 'set-field', cell: w.carol.cell, key: 'x', value: 1 },
      { type: 'grant-capability', source: { slot }, to: w.carol.cell, caveats: [actions('burn')] },
      { type: 'revoke-delegation', channel: 'ee'.repeat(16) },
      { type: 'unseal', unsealer: 2, box: 'ee'.repeat(16) },
      { type: 'create-obligation', from: w.bob.cell, to: w.alice.cell, amount: 1n, due: T0 - 1 },
      { type: 'set-field', cell: '$63', key: 'x', value: 1 },
      { type: 'create-cell', salt: saltOf(2), balance: 0n },
    ];
    const before = snapshot(w);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.nat(good(0).length - 1), { maxLength: 6 }),
        fc.nat(bad.length - 1),
        async (prefix, b) => {
          const effects = [...prefix.map((i) => good(i)[i]!), bad[b]!];
          await refused(w, w.bob, effects);
          expect(snapshot(w)).toEqual(before);
        },
      ),
      { numRuns: 60 },
    );
  });
});

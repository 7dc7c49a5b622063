/**
 * Transfer group: transfer (between cells, through a c-list handle with an effect mask and budget
 * caveats, out of an obligation's escrow) and burn. Conservation (`audit`) is checked after each.
 */
import { describe, expect, it } from 'vitest';
import type { Effect } from '../../src/turns/effects.ts';
import {
  actions,
  BUDGET_A,
  BUDGET_B,
  balanceOf,
  budget,
  grant,
  handleAt,
  refused,
  result,
} from './effect-helpers.ts';
import { T0, type World, world } from './fixtures.ts';

function conserved(w: World): void {
  const { held, expected } = w.executor.audit();
  expect(held).toBe(expected);
}

describe('transfer', () => {
  it('moves value between cells, in order within a turn', async () => {
    const w = await world();
    const r = await w.act(w.alice, [
      { type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 300n },
      { type: 'transfer', from: w.alice.cell, to: w.carol.cell, amount: 700n },
    ]);
    expect(r.results).toEqual([null, null]);
    expect(balanceOf(w, w.alice.cell)).toBe(0n);
    expect(balanceOf(w, w.bob.cell)).toBe(1300n);
    expect(balanceOf(w, w.carol.cell)).toBe(1700n);
    expect(r.burned).toBe(0n);
    conserved(w);
  });

  it('refuses more than the cell holds (E_INSUFFICIENT), rolling back earlier effects', async () => {
    const w = await world();
    const t = (amount: bigint): Effect => ({ type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount });
    expect(await refused(w, w.alice, [t(1001n)])).toBe('E_INSUFFICIENT');
    expect(await refused(w, w.alice, [t(600n), t(401n)])).toBe('E_INSUFFICIENT');
    expect(balanceOf(w, w.alice.cell)).toBe(1000n);
    await w.act(w.alice, [t(600n), t(400n)]);
    expect(balanceOf(w, w.alice.cell)).toBe(0n);
  });

  it('refuses an unknown recipient, and a sender that is not the agent’s', async () => {
    const w = await world();
    const nowhere = 'ab'.repeat(32);
    expect(
      await refused(w, w.alice, [{ type: 'transfer', from: w.alice.cell, to: nowhere, amount: 1n }]),
    ).toBe('E_NOT_FOUND');
    expect(
      await refused(w, w.alice, [{ type: 'transfer', from: w.bob.cell, to: w.alice.cell, amount: 1n }]),
    ).toBe('E_DENIED');
  });

  describe('through a c-list handle', () => {
    it('needs transfer in the effect mask', async () => {
      const w = await world();
      const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
        actions('burn', 'set-field'),
      ]);
      expect(
        await refused(w, w.bob, [
          { type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 1n, via: { slot } },
        ]),
      ).toBe('E_DENIED');
      const ok = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [actions('transfer')]);
      await w.act(w.bob, [
        { type: 'transfer', from: w.alice.cell, to: w.carol.cell, amount: 10n, via: { slot: ok.slot } },
      ]);
      expect(balanceOf(w, w.alice.cell)).toBe(990n);
      expect(balanceOf(w, w.carol.cell)).toBe(1010n);
    });

    it('meters cumulative amounts against the budget caveat (E_BUDGET)', async () => {
      const w = await world();
      const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
        actions('transfer'),
        budget(BUDGET_A, 100),
      ]);
      const t = (amount: bigint): Effect => ({
        type: 'transfer',
        from: w.alice.cell,
        to: w.bob.cell,
        amount,
        via: { slot },
      });
      await w.act(w.bob, [t(60n)]);
      expect(await refused(w, w.bob, [t(41n)])).toBe('E_BUDGET');
      await w.act(w.bob, [t(30n)]);
      // Within one turn too: 5 + 6 = 11 > 10 left.
      expect(await refused(w, w.bob, [t(5n), t(6n)])).toBe('E_BUDGET');
      await w.act(w.bob, [t(4n), t(6n)]);
      expect(await refused(w, w.bob, [t(1n)])).toBe('E_BUDGET');
      expect(balanceOf(w, w.alice.cell)).toBe(900n);
      expect(balanceOf(w, w.bob.cell)).toBe(1100n);
      // The owner is not bound by the handles it grants.
      await w.act(w.alice, [{ type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 500n }]);
      conserved(w);
    });

    it('a refused turn leaves the meter untouched', async () => {
      const w = await world();
      const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
        actions('transfer'),
        budget(BUDGET_A, 100),
      ]);
      const t = { type: 'transfer' as const, from: w.alice.cell, to: w.bob.cell, amount: 60n, via: { slot } };
      // The metered transfer succeeds, then a later effect fails: the whole turn, meter included, rolls back.
      expect(
        await refused(w, w.bob, [t, { type: 'transfer', from: w.bob.cell, to: w.carol.cell, amount: 5000n }]),
      ).toBe('E_INSUFFICIENT');
      await w.act(w.bob, [{ ...t, amount: 100n }]);
      expect(balanceOf(w, w.bob.cell)).toBe(1100n);
    });

    it('a derived handle spends from its parent’s budget, and its own smaller one', async () => {
      const w = await world();
      const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
        actions('transfer'),
        budget(BUDGET_A, 100),
      ]);
      const c = await grant(w, w.bob, { slot }, w.carol.cell, [budget(BUDGET_B, 30)]);
      const t = (amount: bigint, s: number): Effect => ({
        type: 'transfer',
        from: w.alice.cell,
        to: w.carol.cell,
        amount,
        via: { slot: s },
      });
      expect(await refused(w, w.carol, [t(31n, c.slot)])).toBe('E_BUDGET');
      await w.act(w.carol, [t(30n, c.slot)]);
      expect(await refused(w, w.carol, [t(1n, c.slot)])).toBe('E_BUDGET');
      // Bob's budget has 70 left after Carol's 30.
      expect(await refused(w, w.bob, [t(71n, slot)])).toBe('E_BUDGET');
      await w.act(w.bob, [t(70n, slot)]);
      expect(balanceOf(w, w.alice.cell)).toBe(900n);
    });

    it('a derived handle may restate its parent’s budget id with a smaller cap: one meter, charged once', async () => {
      const w = await world();
      const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
        actions('transfer'),
        budget(BUDGET_A, 100),
      ]);
      const c = await grant(w, w.bob, { slot }, w.carol.cell, [budget(BUDGET_A, 50)]);
      const t = (amount: bigint, s: number): Effect => ({
        type: 'transfer',
        from: w.alice.cell,
        to: w.carol.cell,
        amount,
        via: { slot: s },
      });
      await w.act(w.carol, [t(30n, c.slot)]);
      await w.act(w.carol, [t(20n, c.slot)]);
      expect(await refused(w, w.carol, [t(1n, c.slot)])).toBe('E_BUDGET');
      // The shared meter stands at 50: Bob has 50 of his 100 left.
      expect(await refused(w, w.bob, [t(51n, slot)])).toBe('E_BUDGET');
      await w.act(w.bob, [t(50n, slot)]);
      expect(balanceOf(w, w.alice.cell)).toBe(900n);
    });

    it("someone else's handle with the same budget id does not spend this handle's budget", async () => {
      const w = await world();
      const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
        actions('transfer'),
        budget(BUDGET_A, 100),
      ]);
      // Carol reads the budget id off Bob's c-list and mints herself a handle to her own cell with it.
      const caveat = handleAt(w, w.bob.cell, slot)!.caveats.find((c) => c.t === 'budget')!;
      const own = await grant(w, w.carol, { cell: w.carol.cell }, w.carol.cell, [
        { ...caveat, max: 1_000_000 } as typeof caveat,
      ]);
      await w.act(w.carol, [
        { type: 'transfer', from: w.carol.cell, to: w.carol.cell, amount: 500n, via: { slot: own.slot } },
      ]);
      await w.act(w.bob, [
        { type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 100n, via: { slot } },
      ]);
      expect(balanceOf(w, w.bob.cell)).toBe(1100n);
    });

    it('a handle to another cell is refused', async () => {
      const w = await world();
      const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [actions('transfer')]);
      expect(
        await refused(w, w.bob, [
          { type: 'transfer', from: w.carol.cell, to: w.bob.cell, amount: 1n, via: { slot } },
        ]),
      ).toBe('E_DENIED');
    });
  });

  describe('out of an obligation', () => {
    async function setup() {
      const w = await world();
      const r = await w.act(w.alice, [
        { type: 'create-obligation', from: w.alice.cell, to: w.bob.cell, amount: 100n, due: T0 + 100 },
      ]);
      const id = result<string>(r);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      expect(balanceOf(w, w.alice.cell)).toBe(900n);
      conserved(w);
      const collect = (to: string, amount: bigint): Effect => ({
        type: 'transfer',
        obligation: id,
        to,
        amount,
      });
      return { w, id, collect };
    }

    it('before it is due: the creditor collects, in parts; the debtor and others are refused', async () => {
      const { w, collect } = await setup();
      expect(await refused(w, w.alice, [collect(w.alice.cell, 1n)])).toBe('E_DENIED');
      expect(await refused(w, w.carol, [collect(w.carol.cell, 1n)])).toBe('E_DENIED');
      await w.act(w.bob, [collect(w.bob.cell, 40n)]);
      expect(balanceOf(w, w.bob.cell)).toBe(1040n);
      conserved(w);
      expect(await refused(w, w.bob, [collect(w.bob.cell, 61n)])).toBe('E_INSUFFICIENT');
      // The creditor may direct it to any cell.
      await w.act(w.bob, [collect(w.carol.cell, 60n)]);
      expect(balanceOf(w, w.carol.cell)).toBe(1060n);
      conserved(w);
      // Fully collected: the obligation is gone.
      expect(await refused(w, w.bob, [collect(w.bob.cell, 1n)])).toBe('E_NOT_FOUND');
    });

    it('once due: only the debtor takes back what is left', async () => {
      const { w, collect } = await setup();
      await w.act(w.bob, [collect(w.bob.cell, 25n)]);
      w.clock.advance(100_000);
      expect(await refused(w, w.bob, [collect(w.bob.cell, 1n)])).toBe('E_DENIED');
      expect(await refused(w, w.carol, [collect(w.carol.cell, 1n)])).toBe('E_DENIED');
      expect(await refused(w, w.alice, [collect(w.alice.cell, 76n)])).toBe('E_INSUFFICIENT');
      await w.act(w.alice, [collect(w.alice.cell, 75n)]);
      expect(balanceOf(w, w.alice.cell)).toBe(975n);
      expect(balanceOf(w, w.bob.cell)).toBe(1025n);
      conserved(w);
      expect(await refused(w, w.alice, [collect(w.alice.cell, 1n)])).toBe('E_NOT_FOUND');
    });

    it('is not collected through a handle', async () => {
      const { w, id } = await setup();
      const { slot } = await grant(w, w.bob, { cell: w.bob.cell }, w.bob.cell, []);
      expect(
        await refused(w, w.bob, [
          { type: 'transfer', obligation: id, to: w.bob.cell, amount: 1n, via: { slot } },
        ]),
      ).toBe('E_INVALID');
    });

    it('an unknown obligation is E_NOT_FOUND', async () => {
      const w = await world();
      expect(
        await refused(w, w.bob, [
          { type: 'transfer', obligation: 'cd'.repeat(16), to: w.bob.cell, amount: 1n },
        ]),
      ).toBe('E_NOT_FOUND');
    });
  });
});

describe('burn', () => {
  it('takes value out of circulation, recorded in the supply and in the receipt', async () => {
    const w = await world();
    const r = await w.act(w.alice, [
      { type: 'burn', cell: w.alice.cell, amount: 30n },
      { type: 'burn', cell: w.alice.cell, amount: 20n },
    ]);
    expect(r.burned).toBe(50n);
    expect(balanceOf(w, w.alice.cell)).toBe(950n);
    expect(w.executor.supply().burned).toBe(50n);
    conserved(w);
    const r2 = await w.act(w.alice, [{ type: 'burn', cell: w.alice.cell, amount: 1n }]);
    expect(r2.burned).toBe(1n);
    expect(w.executor.supply().burned).toBe(51n);
    // A turn without burns records none.
    const r3 = await w.act(w.alice, [{ type: 'set-field', cell: w.alice.cell, key: 'k', value: 1 }]);
    expect(r3.burned).toBe(0n);
  });

  it('refuses more than the cell holds, and a cell the agent has no authority over', async () => {
    const w = await world();
    expect(await refused(w, w.alice, [{ type: 'burn', cell: w.alice.cell, amount: 1001n }])).toBe(
      'E_INSUFFICIENT',
    );
    expect(await refused(w, w.alice, [{ type: 'burn', cell: w.bob.cell, amount: 1n }])).toBe('E_DENIED');
    expect(w.executor.supply().burned).toBe(0n);
  });

  it('through a handle: needs burn in the mask, and is charged to its budget', async () => {
    const w = await world();
    const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
      actions('burn'),
      budget(BUDGET_A, 10),
    ]);
    await w.act(w.bob, [{ type: 'burn', cell: w.alice.cell, amount: 10n, via: { slot } }]);
    expect(await refused(w, w.bob, [{ type: 'burn', cell: w.alice.cell, amount: 1n, via: { slot } }])).toBe(
      'E_BUDGET',
    );
    expect(
      await refused(w, w.bob, [
        { type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 1n, via: { slot } },
      ]),
    ).toBe('E_DENIED');
    expect(w.executor.supply().burned).toBe(10n);
    conserved(w);
  });
});

/**
 * State effects: set-field, create-cell, increment-nonce, set-permissions (permissions and lifecycle),
 * set-verification-key. Every refusal is checked to leave the executor byte-identical (`refused`).
 */
import { describe, expect, it } from 'vitest';
import { cellId } from '../../src/cells/cell.ts';
import { codeOf } from '../caps/fixtures.ts';
import { actions, balanceOf, grant, refused, result } from './effect-helpers.ts';
import { saltOf, world } from './fixtures.ts';

describe('set-field', () => {
  it('stores text, integers, booleans and bytes, and null deletes', async () => {
    const w = await world();
    const bytes = new Uint8Array([1, 2, 3]);
    const r = await w.act(w.alice, [
      { type: 'set-field', cell: w.alice.cell, key: 'name', value: 'alice' },
      { type: 'set-field', cell: w.alice.cell, key: 'age', value: 42 },
      { type: 'set-field', cell: w.alice.cell, key: 'big', value: 1n << 60n },
      { type: 'set-field', cell: w.alice.cell, key: 'ok', value: true },
      { type: 'set-field', cell: w.alice.cell, key: 'raw', value: bytes },
    ]);
    expect(r.results).toEqual([null, null, null, null, null]);
    expect(w.executor.cell(w.alice.cell)!.fields).toEqual({
      name: 'alice',
      age: 42,
      big: 1n << 60n,
      ok: true,
      raw: bytes,
    });
    await w.act(w.alice, [
      { type: 'set-field', cell: w.alice.cell, key: 'name', value: 'alice2' },
      { type: 'set-field', cell: w.alice.cell, key: 'age', value: null },
      { type: 'set-field', cell: w.alice.cell, key: 'never-set', value: null },
    ]);
    expect(w.executor.cell(w.alice.cell)!.fields).toEqual({
      name: 'alice2',
      big: 1n << 60n,
      ok: true,
      raw: bytes,
    });
  });

  it("is refused on someone else's cell without a handle", async () => {
    const w = await world();
    expect(await refused(w, w.bob, [{ type: 'set-field', cell: w.alice.cell, key: 'x', value: 1 }])).toBe(
      'E_DENIED',
    );
  });

  it('works through a handle whose mask names set-field, and only then', async () => {
    const w = await world();
    const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [actions('set-field')]);
    await w.act(w.bob, [
      { type: 'set-field', cell: w.alice.cell, key: 'note', value: 'from bob', via: { slot } },
    ]);
    expect(w.executor.cell(w.alice.cell)!.fields.note).toBe('from bob');

    const t = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [actions('transfer')]);
    expect(
      await refused(w, w.bob, [
        { type: 'set-field', cell: w.alice.cell, key: 'note', value: 'no', via: { slot: t.slot } },
      ]),
    ).toBe('E_DENIED');
  });

  it('holds at most 64 fields; replacing one at the limit is fine', async () => {
    const w = await world();
    const set = (k: string, v: number | null) => ({
      type: 'set-field' as const,
      cell: w.alice.cell,
      key: k,
      value: v,
    });
    await w.act(
      w.alice,
      Array.from({ length: 64 }, (_, i) => set(`f${i}`, i)),
    );
    expect(Object.keys(w.executor.cell(w.alice.cell)!.fields)).toHaveLength(64);
    expect(await refused(w, w.alice, [set('f64', 64)])).toBe('E_INVALID');
    await w.act(w.alice, [set('f0', 100), set('f1', null), set('f64', 64)]);
    expect(w.executor.cell(w.alice.cell)!.fields.f64).toBe(64);
    expect(w.executor.cell(w.alice.cell)!.fields.f0).toBe(100);
  });
});

describe('create-cell', () => {
  it('creates a cell for the agent, funded from the acting cell (supply unchanged)', async () => {
    const w = await world();
    const r = await w.act(w.alice, [{ type: 'create-cell', salt: saltOf(50), balance: 300n }]);
    const id = result<string>(r);
    expect(id).toBe(cellId(w.alice.did, saltOf(50)));
    const c = w.executor.cell(id)!;
    expect(c.owner).toBe(w.alice.did);
    expect(c.balance).toBe(300n);
    expect(c.nonce).toBe(0);
    expect(c.lifecycle).toBe('active');
    expect(c.clist.size).toBe(0);
    expect(balanceOf(w, w.alice.cell)).toBe(700n);
    expect(w.executor.audit().held).toBe(w.executor.audit().expected);
    expect(w.executor.supply().genesis).toBe(3000n);
    // The agent can act as the new cell.
    await w.act(w.alice, [{ type: 'set-field', cell: id, key: 'k', value: 'v' }], { cell: id });
    expect(w.executor.cell(id)!.nonce).toBe(1);
  });

  it('creates a cell for another owner, who then acts as it (and the creator does not)', async () => {
    const w = await world();
    const r = await w.act(w.alice, [
      { type: 'create-cell', salt: saltOf(51), balance: 10n, owner: w.bob.did },
    ]);
    const id = result<string>(r);
    // Not the id Bob would get from that salt: nobody can occupy the ids an owner chooses for itself.
    expect(id).not.toBe(cellId(w.bob.did, saltOf(51)));
    expect(w.executor.cell(id)!.owner).toBe(w.bob.did);
    const own = result<string>(await w.act(w.bob, [{ type: 'create-cell', salt: saltOf(51) }]));
    expect(own).toBe(cellId(w.bob.did, saltOf(51)));
    await w.act(w.bob, [{ type: 'transfer', from: id, to: w.bob.cell, amount: 10n }], { cell: id });
    expect(balanceOf(w, w.bob.cell)).toBe(1010n);
    expect(await refused(w, w.alice, [{ type: 'set-field', cell: id, key: 'k', value: 1 }])).toBe('E_DENIED');
  });

  it('with a zero balance, and usable later in the same turn as $n', async () => {
    const w = await world();
    const r = await w.act(w.alice, [
      { type: 'emit-event', topic: 'first', data: null },
      { type: 'create-cell', salt: saltOf(52), balance: 0n },
      { type: 'set-field', cell: '$1', key: 'k', value: 'v' },
      { type: 'transfer', from: w.alice.cell, to: '$1', amount: 5n },
    ]);
    const id = result<string>(r, 1);
    expect(w.executor.cell(id)!.fields).toEqual({ k: 'v' });
    expect(balanceOf(w, id)).toBe(5n);
  });

  it('refuses $n that names a later effect or one that created no cell', async () => {
    const w = await world();
    expect(
      await refused(w, w.alice, [
        { type: 'set-field', cell: '$1', key: 'k', value: 'v' },
        { type: 'create-cell', salt: saltOf(53), balance: 0n },
      ]),
    ).toBe('E_INVALID');
    expect(
      await refused(w, w.alice, [
        { type: 'emit-event', topic: 'x', data: null },
        { type: 'set-field', cell: '$0', key: 'k', value: 'v' },
      ]),
    ).toBe('E_INVALID');
  });

  it('refuses an existing id (E_EXISTS) and a balance the acting cell lacks (E_INSUFFICIENT)', async () => {
    const w = await world();
    await w.act(w.alice, [{ type: 'create-cell', salt: saltOf(54), balance: 1n }]);
    expect(await refused(w, w.alice, [{ type: 'create-cell', salt: saltOf(54), balance: 0n }])).toBe(
      'E_EXISTS',
    );
    // Two creations of the same id in one turn: the second is refused and the first rolled back.
    expect(
      await refused(w, w.alice, [
        { type: 'create-cell', salt: saltOf(55), balance: 0n },
        { type: 'create-cell', salt: saltOf(55), balance: 0n },
      ]),
    ).toBe('E_EXISTS');
    expect(w.executor.cell(cellId(w.alice.did, saltOf(55)))).toBeUndefined();
    expect(await refused(w, w.alice, [{ type: 'create-cell', salt: saltOf(56), balance: 1000n }])).toBe(
      'E_INSUFFICIENT',
    );
    expect(w.executor.cell(cellId(w.alice.did, saltOf(56)))).toBeUndefined();
  });
});

describe('increment-nonce', () => {
  it("bumps another cell's nonce, which cancels a turn signed for the old nonce", async () => {
    const w = await world();
    const r = await w.act(w.alice, [{ type: 'create-cell', salt: saltOf(60), balance: 100n }]);
    const id = result<string>(r);
    const pending = await w.turn(w.alice, [{ type: 'transfer', from: id, to: w.bob.cell, amount: 100n }], {
      cell: id,
    });
    const r2 = await w.act(w.alice, [{ type: 'increment-nonce', cell: id }]);
    expect(r2.results).toEqual([1]);
    expect(w.executor.cell(id)!.nonce).toBe(1);
    expect(await codeOf(w.executor.submit(pending))).toBe('E_STALE');
    expect(balanceOf(w, id)).toBe(100n);
  });

  it('on the acting cell adds to the turn’s own increment', async () => {
    const w = await world();
    const r = await w.act(w.alice, [{ type: 'increment-nonce', cell: w.alice.cell }]);
    expect(r.results).toEqual([1]);
    expect(w.executor.cell(w.alice.cell)!.nonce).toBe(2);
  });

  it("is refused on someone else's cell, and allowed through a handle naming it", async () => {
    const w = await world();
    expect(await refused(w, w.bob, [{ type: 'increment-nonce', cell: w.alice.cell }])).toBe('E_DENIED');
    const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
      actions('increment-nonce'),
    ]);
    const n = w.executor.cell(w.alice.cell)!.nonce;
    await w.act(w.bob, [{ type: 'increment-nonce', cell: w.alice.cell, via: { slot } }]);
    expect(w.executor.cell(w.alice.cell)!.nonce).toBe(n + 1);
  });
});

describe('set-permissions', () => {
  it("'anyone' lets any agent cause that effect without a handle; 'owner' takes it back", async () => {
    const w = await world();
    expect(await refused(w, w.bob, [{ type: 'set-field', cell: w.alice.cell, key: 'x', value: 1 }])).toBe(
      'E_DENIED',
    );
    await w.act(w.alice, [
      { type: 'set-permissions', cell: w.alice.cell, permissions: { 'set-field': 'anyone' } },
    ]);
    expect(w.executor.cell(w.alice.cell)!.permissions).toEqual({
      'grant-capability': 'anyone',
      'set-field': 'anyone',
    });
    await w.act(w.bob, [{ type: 'set-field', cell: w.alice.cell, key: 'x', value: 1 }]);
    expect(w.executor.cell(w.alice.cell)!.fields.x).toBe(1);
    // Only that effect: a transfer is still the owner's.
    expect(
      await refused(w, w.bob, [{ type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 1n }]),
    ).toBe('E_DENIED');

    await w.act(w.alice, [
      { type: 'set-permissions', cell: w.alice.cell, permissions: { 'set-field': 'owner' } },
    ]);
    expect(w.executor.cell(w.alice.cell)!.permissions).toEqual({ 'grant-capability': 'anyone' });
    expect(await refused(w, w.bob, [{ type: 'set-field', cell: w.alice.cell, key: 'x', value: 2 }])).toBe(
      'E_DENIED',
    );
  });

  it("'none' forbids the effect to everyone: owner, handle holders and 'anyone'", async () => {
    const w = await world();
    const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [actions('transfer')]);
    await w.act(w.alice, [
      { type: 'set-permissions', cell: w.alice.cell, permissions: { transfer: 'none' } },
    ]);
    const t = { type: 'transfer' as const, from: w.alice.cell, to: w.bob.cell, amount: 1n };
    expect(await refused(w, w.alice, [t])).toBe('E_DENIED');
    expect(await refused(w, w.bob, [{ ...t, via: { slot } }])).toBe('E_DENIED');
    // Other effects are unaffected.
    await w.act(w.alice, [{ type: 'set-field', cell: w.alice.cell, key: 'still', value: true }]);
    // The owner lifts it.
    await w.act(w.alice, [
      { type: 'set-permissions', cell: w.alice.cell, permissions: { transfer: 'owner' } },
    ]);
    await w.act(w.bob, [{ ...t, via: { slot } }]);
    expect(balanceOf(w, w.bob.cell)).toBe(1001n);
  });

  it('is the owner’s alone: not another agent, not with an “anyone” permission, not with a handle', async () => {
    const w = await world();
    const sp = {
      type: 'set-permissions' as const,
      cell: w.alice.cell,
      permissions: { transfer: 'anyone' as const },
    };
    expect(await refused(w, w.bob, [sp])).toBe('E_DENIED');
    expect(await refused(w, w.bob, [{ ...sp, permissions: undefined, lifecycle: 'frozen' }])).toBe(
      'E_DENIED',
    );
    await w.act(w.alice, [
      { type: 'set-permissions', cell: w.alice.cell, permissions: { 'set-permissions': 'anyone' } },
    ]);
    expect(await refused(w, w.bob, [sp])).toBe('E_DENIED');
  });

  describe('lifecycle', () => {
    it('a frozen cell refuses every effect on it, by anyone, until its owner thaws it', async () => {
      const w = await world();
      const { slot } = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
        actions('set-field', 'transfer'),
      ]);
      await w.act(w.alice, [
        { type: 'set-permissions', cell: w.alice.cell, permissions: { burn: 'anyone' }, lifecycle: 'frozen' },
      ]);
      expect(w.executor.cell(w.alice.cell)!.lifecycle).toBe('frozen');

      const a = w.alice.cell;
      // The owner.
      expect(await refused(w, w.alice, [{ type: 'set-field', cell: a, key: 'x', value: 1 }])).toBe(
        'E_DENIED',
      );
      expect(await refused(w, w.alice, [{ type: 'transfer', from: a, to: w.bob.cell, amount: 1n }])).toBe(
        'E_DENIED',
      );
      expect(await refused(w, w.alice, [{ type: 'increment-nonce', cell: a }])).toBe('E_DENIED');
      expect(await refused(w, w.alice, [{ type: 'emit-event', topic: 'x', data: null }])).toBe('E_DENIED');
      expect(await refused(w, w.alice, [{ type: 'set-verification-key', cell: a, key: w.bob.did }])).toBe(
        'E_DENIED',
      );
      // Value cannot leave a frozen cell by funding a new one either.
      expect(await refused(w, w.alice, [{ type: 'create-cell', salt: saltOf(70), balance: 10n }])).toBe(
        'E_DENIED',
      );
      expect(
        await refused(w, w.alice, [
          { type: 'spawn-with-delegation', salt: saltOf(71), balance: 10n, grants: [] },
        ]),
      ).toBe('E_DENIED');
      // A handle holder.
      expect(
        await refused(w, w.bob, [{ type: 'transfer', from: a, to: w.bob.cell, amount: 1n, via: { slot } }]),
      ).toBe('E_DENIED');
      // 'anyone'.
      expect(await refused(w, w.bob, [{ type: 'burn', cell: a, amount: 1n }])).toBe('E_DENIED');
      // Granting into it.
      expect(
        await refused(w, w.bob, [
          { type: 'grant-capability', source: { cell: w.bob.cell }, to: a, caveats: [] },
        ]),
      ).toBe('E_DENIED');
      // Only its owner thaws it.
      expect(await refused(w, w.bob, [{ type: 'set-permissions', cell: a, lifecycle: 'active' }])).toBe(
        'E_DENIED',
      );

      await w.act(w.alice, [{ type: 'set-permissions', cell: a, lifecycle: 'active' }]);
      expect(w.executor.cell(a)!.lifecycle).toBe('active');
      // Permissions set with the freeze survive it.
      expect(w.executor.cell(a)!.permissions).toEqual({ 'grant-capability': 'anyone', burn: 'anyone' });
      await w.act(w.bob, [{ type: 'transfer', from: a, to: w.bob.cell, amount: 1n, via: { slot } }]);
      await w.act(w.alice, [{ type: 'set-field', cell: a, key: 'x', value: 1 }]);
      expect(w.executor.cell(a)!.fields.x).toBe(1);
    });

    it('the owner may thaw from another cell, and changing only permissions keeps the lifecycle', async () => {
      const w = await world();
      const r = await w.act(w.alice, [{ type: 'create-cell', salt: saltOf(72), balance: 0n }]);
      const other = result<string>(r);
      await w.act(w.alice, [{ type: 'set-permissions', cell: w.alice.cell, lifecycle: 'frozen' }]);
      await w.act(w.alice, [{ type: 'set-permissions', cell: w.alice.cell, permissions: { burn: 'none' } }], {
        cell: other,
      });
      expect(w.executor.cell(w.alice.cell)!.lifecycle).toBe('frozen');
      await w.act(w.alice, [{ type: 'set-permissions', cell: w.alice.cell, lifecycle: 'active' }], {
        cell: other,
      });
      expect(w.executor.cell(w.alice.cell)!.lifecycle).toBe('active');
      expect(w.executor.cell(w.alice.cell)!.permissions).toEqual({
        'grant-capability': 'anyone',
        burn: 'none',
      });
    });
  });
});

describe('set-verification-key', () => {
  it('lets the key’s agent act as the cell until the owner removes it', async () => {
    const w = await world();
    const a = w.alice.cell;
    expect(await refused(w, w.bob, [{ type: 'set-field', cell: a, key: 'x', value: 1 }], { cell: a })).toBe(
      'E_DENIED',
    );
    await w.act(w.alice, [{ type: 'set-verification-key', cell: a, key: w.bob.did }]);
    expect(w.executor.cell(a)!.vk).toBe(w.bob.did);

    // Bob signs turns acting as Alice's cell: fields, value, and its own nonce sequence.
    const r = await w.act(
      w.bob,
      [
        { type: 'set-field', cell: a, key: 'by', value: 'bob' },
        { type: 'transfer', from: a, to: w.bob.cell, amount: 25n },
      ],
      { cell: a },
    );
    expect(r.agent).toBe(w.bob.did);
    expect(r.cell).toBe(a);
    expect(w.executor.cell(a)!.fields.by).toBe('bob');
    expect(balanceOf(w, w.bob.cell)).toBe(1025n);
    // The owner still acts too.
    await w.act(w.alice, [{ type: 'set-field', cell: a, key: 'by', value: 'alice' }]);
    // Carol is neither.
    expect(await refused(w, w.carol, [{ type: 'set-field', cell: a, key: 'x', value: 1 }], { cell: a })).toBe(
      'E_DENIED',
    );

    await w.act(w.alice, [{ type: 'set-verification-key', cell: a, key: null }]);
    expect(w.executor.cell(a)!.vk).toBeNull();
    expect(await refused(w, w.bob, [{ type: 'set-field', cell: a, key: 'x', value: 1 }], { cell: a })).toBe(
      'E_DENIED',
    );
  });

  it('only the owner sets it', async () => {
    const w = await world();
    expect(
      await refused(w, w.bob, [{ type: 'set-verification-key', cell: w.alice.cell, key: w.bob.did }]),
    ).toBe('E_DENIED');
    expect(w.executor.cell(w.alice.cell)!.vk).toBeNull();
  });
});

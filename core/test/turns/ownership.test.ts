/**
 * Moving a cell's owner: `set-permissions` with `owner` (core/docs/effects.md). Only the owner may move
 * it (not a handle, not its `vk`, not an "anyone" permission); the id stays; afterwards the new owner
 * acts as the cell and the old one is refused. Every refusal leaves the executor byte-identical
 * (`refused`), and a decoded turn re-encodes to the bytes that were signed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import type { CborMap } from '../../src/encoding/cbor.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { turnWitness } from '../../src/proofs/turn-proof.ts';
import { type Effect, effectsFromValue, type Permission } from '../../src/turns/effects.ts';
import { decodeTurn, encodeTurn } from '../../src/turns/turn.ts';
import { codeOf } from '../caps/fixtures.ts';
import { actions, grant, refused, result } from './effect-helpers.ts';
import { saltOf, seedOf, type World, world } from './fixtures.ts';

/** Alice's second cell (a name entry, say), with a field and 10 computrons. */
async function entry(w: World): Promise<string> {
  const id = result<string>(await w.act(w.alice, [{ type: 'create-cell', salt: saltOf(60), balance: 10n }]));
  await w.act(w.alice, [{ type: 'set-field', cell: id, key: 'name', value: 'alice.market' }]);
  return id;
}

const move = (cell: string, owner: string): Effect => ({ type: 'set-permissions', cell, owner });

describe('set-permissions with an owner', () => {
  it('moves ownership: the id stays, the new owner sets fields, permissions and freezes; the old owner is refused', async () => {
    const w = await world();
    const id = await entry(w);
    await w.act(w.alice, [move(id, w.bob.did)]);
    const moved = w.executor.cell(id)!;
    expect(moved.id).toBe(id);
    expect(moved.owner).toBe(w.bob.did);
    // Fields, balance and nonce go with the cell.
    expect(moved.fields).toEqual({ name: 'alice.market' });
    expect(moved.balance).toBe(10n);

    // The old owner: no field, no permissions, no move back, no acting as the cell.
    const set = { type: 'set-field' as const, cell: id, key: 'name', value: 'mine again' };
    expect(await refused(w, w.alice, [set])).toBe('E_DENIED');
    expect(await refused(w, w.alice, [move(id, w.alice.did)])).toBe('E_DENIED');
    expect(await refused(w, w.alice, [{ type: 'set-permissions', cell: id, lifecycle: 'frozen' }])).toBe(
      'E_DENIED',
    );
    expect(await refused(w, w.alice, [{ type: 'increment-nonce', cell: id }], { cell: id })).toBe('E_DENIED');

    // The new owner: fields, acting as it, permissions, a freeze and a thaw.
    await w.act(w.bob, [{ ...set, value: 'bob.market' }]);
    await w.act(w.bob, [{ type: 'transfer', from: id, to: w.bob.cell, amount: 4n }], { cell: id });
    await w.act(w.bob, [
      { type: 'set-permissions', cell: id, permissions: { burn: 'none' }, lifecycle: 'frozen' },
    ]);
    expect(await refused(w, w.bob, [{ ...set, value: 'frozen' }])).toBe('E_DENIED');
    await w.act(w.bob, [{ type: 'set-permissions', cell: id, lifecycle: 'active' }]);
    const now = w.executor.cell(id)!;
    expect(now).toMatchObject({ owner: w.bob.did, fields: { name: 'bob.market' }, balance: 6n });
    expect(now.permissions).toEqual({ 'grant-capability': 'anyone', burn: 'none' });
    expect(w.executor.audit().held).toBe(w.executor.audit().expected);
  });

  it('is the owner’s alone: a handle holder (even one allowed everything), the vk agent and "anyone" are refused', async () => {
    const w = await world();
    const id = await entry(w);
    const all = await grant(w, w.alice, { cell: id }, w.bob.cell, []);
    await grant(w, w.alice, { cell: id }, w.bob.cell, [actions('set-permissions')]);
    await w.act(w.alice, [{ type: 'set-verification-key', cell: id, key: w.carol.did }]);
    await w.act(w.alice, [
      { type: 'set-permissions', cell: id, permissions: { 'set-permissions': 'anyone' } },
    ]);
    // set-permissions takes no `via`: the decoder refuses one, so a handle cannot even be named.
    expect(
      await codeOf(() =>
        effectsFromValue([{ type: 'set-permissions', cell: id, owner: w.bob.did, via: { slot: all.slot } }]),
      ),
    ).toBe('E_INVALID');
    expect(await refused(w, w.bob, [move(id, w.bob.did)])).toBe('E_DENIED');
    expect(await refused(w, w.carol, [move(id, w.carol.did)])).toBe('E_DENIED');
    expect(await refused(w, w.carol, [move(id, w.carol.did)], { cell: id })).toBe('E_DENIED');
    expect(w.executor.cell(id)!.owner).toBe(w.alice.did);
  });

  it('clears the verification key (the old owner’s delegate), and leaves earlier handles to their channels', async () => {
    const w = await world();
    const id = await entry(w);
    await w.act(w.alice, [{ type: 'set-verification-key', cell: id, key: w.carol.did }]);
    const g = await grant(w, w.alice, { cell: id }, w.carol.cell, [actions('set-field')], {
      revocable: true,
    });
    await w.act(w.alice, [move(id, w.bob.did)]);
    expect(w.executor.cell(id)!.vk).toBeNull();
    const set = { type: 'set-field' as const, cell: id, key: 'k', value: 1 };
    expect(await refused(w, w.carol, [set], { cell: id })).toBe('E_DENIED');
    // Carol's handle, granted by Alice before the move, still works: only its channel ends it.
    await w.act(w.carol, [{ ...set, via: { slot: g.slot } }]);
    await w.act(w.alice, [{ type: 'revoke-delegation', channel: g.channel! }]);
    expect(await refused(w, w.carol, [{ ...set, via: { slot: g.slot } }])).toBe('E_REVOKED');
  });

  it('rolls back whole: a move followed by a failing effect leaves the executor byte-identical', async () => {
    const w = await world();
    const id = await entry(w);
    expect(
      await refused(w, w.alice, [
        move(id, w.bob.did),
        { type: 'transfer', from: id, to: w.bob.cell, amount: 99n },
      ]),
    ).toBe('E_DENIED');
    expect(
      await refused(w, w.alice, [
        move(id, w.bob.did),
        { type: 'transfer', from: w.alice.cell, to: id, amount: 1n << 40n },
      ]),
    ).toBe('E_INSUFFICIENT');
    expect(w.executor.cell(id)!.owner).toBe(w.alice.did);
  });

  it('the decoder types its refusals: a malformed or unusable owner, an empty change', async () => {
    const w = await world();
    const id = await entry(w);
    const bad: CborMap[] = [
      { type: 'set-permissions', cell: id, owner: 'did:web:example.com' },
      { type: 'set-permissions', cell: id, owner: 42 },
      // The right shape, but no Ed25519 point: nobody could ever act for it.
      { type: 'set-permissions', cell: id, owner: didKeyFromEd25519(new Uint8Array(32).fill(0xff)) },
      { type: 'set-permissions', cell: id },
      { type: 'set-permissions', cell: id, owner: w.bob.did, extra: 1 },
    ];
    for (const e of bad) expect(await codeOf(() => effectsFromValue([e]))).toBe('E_INVALID');
    const [ok] = effectsFromValue([{ type: 'set-permissions', cell: id, owner: w.bob.did }]);
    expect(ok).toMatchObject({ type: 'set-permissions', cell: id, owner: w.bob.did });
  });

  it('a proved turn cannot move an owner (E_UNSUPPORTED)', async () => {
    const w = await world();
    const cell = w.executor.cell(w.alice.cell)!;
    const turn = await w.turn(w.alice, [move(cell.id, w.bob.did)]);
    expect(await codeOf(() => turnWitness(cell, turn, new Uint8Array(32).fill(7)))).toBe('E_UNSUPPORTED');
  });

  it('property: a decoded set-permissions turn re-encodes to its signed bytes (absent options stay absent) and executes', async () => {
    const owners = [1, 2, 3, 4].map((i) => didKeyFromEd25519(ed25519PublicKey(seedOf(i))));
    const perm = fc.constantFrom<Permission>('owner', 'anyone', 'none');
    const change = fc
      .record(
        {
          permissions: fc.dictionary(fc.constantFrom('burn', 'transfer', 'emit-event'), perm, { maxKeys: 3 }),
          lifecycle: fc.constantFrom('active' as const, 'frozen' as const),
          owner: fc.constantFrom(...owners),
        },
        { requiredKeys: [] },
      )
      .filter((c) => Object.keys(c).length > 0);
    const w = await world();
    let made = 0;
    const present = (e: object) =>
      Object.entries(e)
        .filter(([, v]) => v !== undefined)
        .map(([k]) => k)
        .sort();
    await fc.assert(
      fc.asyncProperty(change, async (c) => {
        const salt = saltOf(100 + made++);
        const id = result<string>(await w.act(w.alice, [{ type: 'create-cell', salt }]));
        const turn = await w.turn(w.alice, [{ type: 'set-permissions', cell: id, ...c }]);
        const bytes = encodeTurn(turn);
        const decoded = decodeTurn(bytes);
        expect(encodeTurn(decoded)).toEqual(bytes);
        expect(present(decoded.effects[0]!)).toEqual(['cell', 'type', ...Object.keys(c)].sort());
        await w.executor.submit(decoded);
        expect(w.executor.cell(id)!.owner).toBe(c.owner ?? w.alice.did);
      }),
      { numRuns: 30 },
    );
  });
});

/**
 * Wrapped assets through the real executor: a bridge mint from 'away' credits `w-away` (this ledger's
 * genesis says so), then transfers, burns and obligations of it; every refusal leaves every ledger
 * record byte-identical; each asset and the computrons are conserved after every turn. The optional
 * `asset` field leaves turns without it encoding as before.
 */
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/encoding/bytes.ts';
import { turnWitness } from '../../src/proofs/turn-proof.ts';
import { signAttestation } from '../../src/turns/apply/bridge.ts';
import { holdingKey, isAssetId } from '../../src/turns/assets.ts';
import { type Effect, effectFromValue, effectToCbor } from '../../src/turns/effects.ts';
import { applyTurn, EXECUTOR_COLLECTIONS, loadState } from '../../src/turns/executor.ts';
import { encodeValue } from '../../src/turns/state.ts';
import { decodeTurn, encodeTurn } from '../../src/turns/turn.ts';
import { codeOf } from '../caps/fixtures.ts';
import { actions, budget, grant, memoryStore, refused } from './effect-helpers.ts';
import { FEDERATION_SEED, type Person, T0, type World, world } from './fixtures.ts';

const ASSET = 'w-away';
const EXPIRES = T0 + 7200;

async function assetWorld() {
  const store = memoryStore(EXECUTOR_COLLECTIONS);
  const w = await world({ store, wrapped: new Map([['away', ASSET]]) });
  return { w, store };
}

/** 'away' attests a lock of `amount` for `to`'s owner; the mint credits `w-away` to `to`'s cell. */
async function mintAsset(w: World, to: Person, amount: bigint, lock: string): Promise<void> {
  const attestation = await signAttestation(
    { kind: 'locked', from: 'away', to: 'home', lock, amount, recipient: to.did, expires: EXPIRES },
    FEDERATION_SEED,
    w.ed,
  );
  await w.act(w.carol, [
    { type: 'bridge-mint', federation: 'away', lock, amount, to: to.cell, expires: EXPIRES, attestation },
  ]);
}

const held = (w: World, p: Person) => w.executor.holdings(p.cell).get(ASSET) ?? 0n;

/** Computrons and every asset are conserved. */
function expectConserved(w: World): void {
  const a = w.executor.audit();
  expect(a.held).toBe(a.expected);
  for (const [asset, x] of a.assets) expect(x.held, asset).toBe(x.expected);
}

describe('wrapped assets on the ledger', () => {
  it('a bridge mint from a wrapped federation credits the asset, not computrons; its supply is counted apart', async () => {
    const { w, store } = await assetWorld();
    await mintAsset(w, w.bob, 70n, 'a1'.repeat(16));
    expect(held(w, w.bob)).toBe(70n);
    expect(w.executor.cell(w.bob.cell)!.balance).toBe(1000n);
    expect(w.executor.supply().bridgedIn).toBe(0n);
    expect(w.executor.audit().assets.get(ASSET)).toEqual({ held: 70n, expected: 70n });
    // Read back from the store: small integers decode as numbers.
    expect(store.records('supply:').get(ASSET)).toEqual({ bridgedIn: 70, burned: 0 });
    expect(store.records('hold:').get(`${w.bob.cell}/${ASSET}`)).toEqual({ amount: 70 });
    expect(store.records('minted:').get(`away/${'a1'.repeat(16)}`)).toMatchObject({ asset: ASSET });
    expectConserved(w);
  });

  it('transfers and burns move holdings; a holding of 0 is no record', async () => {
    const { w, store } = await assetWorld();
    await mintAsset(w, w.alice, 100n, 'a2'.repeat(16));
    await w.act(w.alice, [
      { type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 30n, asset: ASSET },
    ]);
    expect([held(w, w.alice), held(w, w.bob)]).toEqual([70n, 30n]);
    expectConserved(w);
    await w.act(w.bob, [{ type: 'burn', cell: w.bob.cell, amount: 30n, asset: ASSET }]);
    expect(held(w, w.bob)).toBe(0n);
    expect(store.records('hold:').has(`${w.bob.cell}/${ASSET}`)).toBe(false);
    expect(w.executor.audit().assets.get(ASSET)).toEqual({ held: 70n, expected: 70n });
    expect(w.executor.supply().burned).toBe(0n);
    // Computrons never moved.
    expect(w.executor.cell(w.alice.cell)!.balance).toBe(1000n);
    expectConserved(w);
  });

  it('refuses too little of an asset, an asset nobody holds, a missing cell (E_INSUFFICIENT / E_NOT_FOUND), changing nothing', async () => {
    const { w } = await assetWorld();
    await mintAsset(w, w.alice, 10n, 'a3'.repeat(16));
    const send = (amount: bigint, asset = ASSET, to = w.bob.cell): Effect => ({
      type: 'transfer',
      from: w.alice.cell,
      to,
      amount,
      asset,
    });
    expect(await refused(w, w.alice, [send(11n)])).toBe('E_INSUFFICIENT');
    expect(await refused(w, w.alice, [send(1n, 'w-other')])).toBe('E_INSUFFICIENT');
    expect(await refused(w, w.alice, [send(1n, ASSET, 'ab'.repeat(32))])).toBe('E_NOT_FOUND');
    expect(await refused(w, w.alice, [{ type: 'burn', cell: w.alice.cell, amount: 11n, asset: ASSET }])).toBe(
      'E_INSUFFICIENT',
    );
    // A turn that moved the asset, then failed, leaves the holdings as they were.
    expect(await refused(w, w.alice, [send(5n), send(6n)])).toBe('E_INSUFFICIENT');
    expect([held(w, w.alice), held(w, w.bob)]).toEqual([10n, 0n]);
    expectConserved(w);
  });

  it('a failed turn rolls every record back byte for byte, holdings and supply included (applyTurn)', async () => {
    const { w, store } = await assetWorld();
    await mintAsset(w, w.alice, 10n, 'a4'.repeat(16));
    await mintAsset(w, w.bob, 4n, 'a5'.repeat(16));
    const state = await loadState(store);
    const bytes = () => new Map([...state].map(([k, v]) => [k, toHex(encodeValue(v))]));
    const before = bytes();
    const turn = await w.turn(w.alice, [
      { type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 10n, asset: ASSET }, // empties alice's
      { type: 'burn', cell: w.alice.cell, amount: 1n }, // moves the supply of computrons
      { type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 1n, asset: ASSET }, // fails
    ]);
    const options = { now: T0, federation: 'home', federations: new Map(), executor: w.executor.did };
    expect(await codeOf(() => applyTurn(state, turn, options))).toBe('E_INSUFFICIENT');
    expect(bytes()).toEqual(before);
    expect(state.has(holdingKey(w.alice.cell, ASSET))).toBe(true);
  });

  it('an obligation of an asset escrows it, pays it out to its creditor, and back to its debtor once due', async () => {
    const { w, store } = await assetWorld();
    await mintAsset(w, w.alice, 50n, 'a6'.repeat(16));
    const r = await w.act(w.alice, [
      {
        type: 'create-obligation',
        from: w.alice.cell,
        to: w.bob.cell,
        amount: 20n,
        asset: ASSET,
        due: T0 + 100,
      },
    ]);
    const id = r.results[0] as string;
    expect(store.records('obl:').get(id)).toMatchObject({ amount: 20, asset: ASSET });
    expect(held(w, w.alice)).toBe(30n);
    expectConserved(w);
    // Collected in its own unit only.
    expect(await refused(w, w.bob, [{ type: 'transfer', obligation: id, to: w.bob.cell, amount: 5n }])).toBe(
      'E_INVALID',
    );
    expect(
      await refused(w, w.bob, [
        { type: 'transfer', obligation: id, to: w.bob.cell, amount: 21n, asset: ASSET },
      ]),
    ).toBe('E_INSUFFICIENT');
    await w.act(w.bob, [{ type: 'transfer', obligation: id, to: w.bob.cell, amount: 5n, asset: ASSET }]);
    expect(held(w, w.bob)).toBe(5n);
    w.clock.set((T0 + 100) * 1000);
    await w.act(w.alice, [{ type: 'transfer', obligation: id, to: w.alice.cell, amount: 15n, asset: ASSET }]);
    expect(held(w, w.alice)).toBe(45n);
    expect(store.records('obl:').has(id)).toBe(false);
    expectConserved(w);
    // A computron obligation's record is as it always was: no asset key.
    const c = await w.act(w.alice, [
      { type: 'create-obligation', from: w.alice.cell, to: w.bob.cell, amount: 3n, due: T0 + 200 },
    ]);
    expect(Object.keys(store.records('obl:').get(c.results[0] as string)!).sort()).toEqual([
      'amount',
      'due',
      'from',
      'to',
    ]);
  });

  it('a handle with a budget caveat moves no asset (E_BUDGET); one without may', async () => {
    const { w } = await assetWorld();
    await mintAsset(w, w.alice, 50n, 'a7'.repeat(16));
    const budgeted = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [
      actions('transfer'),
      budget('aaaaaaaaaaaaaaaa', 1000),
    ]);
    const open = await grant(w, w.alice, { cell: w.alice.cell }, w.bob.cell, [actions('transfer')]);
    const take = (slot: number): Effect => ({
      type: 'transfer',
      from: w.alice.cell,
      to: w.bob.cell,
      amount: 1n,
      asset: ASSET,
      via: { slot },
    });
    expect(await refused(w, w.bob, [take(budgeted.slot)])).toBe('E_BUDGET');
    await w.act(w.bob, [take(open.slot)]);
    expect(held(w, w.bob)).toBe(1n);
    // Computrons under the same budgeted handle still flow, metered.
    await w.act(w.bob, [{ type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 5n, via: budgeted }]);
  });

  it('a mint from a federation the genesis does not wrap still credits computrons', async () => {
    const w = await world({ wrapped: new Map([['elsewhere', 'w-elsewhere']]) });
    await mintAsset(w, w.bob, 8n, 'a8'.repeat(16));
    expect(w.executor.cell(w.bob.cell)!.balance).toBe(1008n);
    expect(w.executor.holdings(w.bob.cell).size).toBe(0);
    expect(w.executor.supply().bridgedIn).toBe(8n);
  });
});

describe('the optional asset field', () => {
  it('a turn without it encodes to the same bytes as before; decoded turns re-encode to their signed bytes', async () => {
    const w = await world();
    const plain: Effect = { type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 5n };
    expect(Object.keys(effectToCbor(plain))).not.toContain('asset');
    for (const effects of [
      [plain],
      [{ ...plain, asset: ASSET }],
      [{ type: 'burn', cell: w.alice.cell, amount: 1n, asset: ASSET }],
      [
        {
          type: 'create-obligation',
          from: w.alice.cell,
          to: w.bob.cell,
          amount: 2n,
          asset: ASSET,
          due: T0 + 9,
        },
      ],
    ] as Effect[][]) {
      const bytes = encodeTurn(await w.turn(w.alice, effects));
      expect(toHex(encodeTurn(decodeTurn(bytes)))).toBe(toHex(bytes));
    }
  });

  it('refuses an asset id that is not one, with E_INVALID naming the field', async () => {
    const base = { type: 'burn', cell: 'ab'.repeat(32), amount: 1n };
    for (const asset of ['W-Gold', 'computrons', '', 7, 'x'.repeat(65), '-lead'])
      expect(() => effectFromValue({ ...base, asset }, 'effects[0]')).toThrowError(/effects\[0\]\.asset/);
    for (const asset of ['W-Gold', 5]) expect(isAssetId(asset)).toBe(false);
    expect(await codeOf(() => effectFromValue({ ...base, asset: 'X' }, 'effects[0]'))).toBe('E_INVALID');
    expect(effectFromValue({ ...base, asset: 'w-gold' }, 'e')).toMatchObject({ asset: 'w-gold' });
  });

  it('a proved turn cannot move an asset (E_INVALID)', async () => {
    const w = await world();
    const cell = w.executor.cell(w.alice.cell)!;
    for (const e of [
      { type: 'transfer', from: cell.id, to: w.bob.cell, amount: 1n, asset: ASSET },
      { type: 'burn', cell: cell.id, amount: 1n, asset: ASSET },
    ] as Effect[]) {
      const turn = await w.turn(w.alice, [e]);
      expect(await codeOf(() => turnWitness(cell, turn, new Uint8Array(32)))).toBe('E_INVALID');
    }
  });
});

/**
 * Rings of every settleable item kind against the real executor: computrons and wrapped assets escrowed
 * as obligations; capabilities, services and storage as revocable grants into the escrow cell,
 * delegated on attenuated by the receiver's want; names as their entry cells handed to the coordinator
 * and on to the receiver — all in one settling turn, or nothing. Assets come in as a bridge would
 * bring them: a mint attested by the 'away' federation, which this ledger's configuration wraps as
 * `w-gold`.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Caveat } from '../../src/caps/caveats.ts';
import { handleRights } from '../../src/caps/handle.ts';
import { narrows, rightsOf } from '../../src/caps/rights.ts';
import { manualClock } from '../../src/clock.ts';
import { nobleEd25519 as ed, ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { type Grant, ledgerForm, serviceBudgetId } from '../../src/intents/escrow.ts';
import { intentId, signIntent } from '../../src/intents/intent.ts';
import { type ExchangeItem, satisfies } from '../../src/intents/items.ts';
import { escrowOf, reclaimTurn } from '../../src/intents/reclaim.ts';
import { type EscrowPlan, openSettlement, type Settlement } from '../../src/intents/settle.ts';
import { findRings, type Ring } from '../../src/intents/solver.ts';
import { signAttestation } from '../../src/turns/apply/bridge.ts';
import type { Effect } from '../../src/turns/effects.ts';
import { createExecutor, type Executor } from '../../src/turns/executor.ts';
import type { Receipt } from '../../src/turns/receipt.ts';
import { signTurn, type Turn } from '../../src/turns/turn.ts';
import { codeOf } from '../caps/fixtures.ts';
import { FEDERATION_SEED, saltOf, seedOf, T0 } from '../turns/fixtures.ts';
import { commitEscrows } from './fixtures.ts';

const DEADLINE = T0 + 600;
const CUTOFF = T0 + 500;

interface Party {
  readonly did: string;
  readonly seed: Uint8Array;
  /** Where it pays from and receives into. */
  readonly cell: string;
  /** A second cell: what its capabilities designate (a vault, a service, a name entry). */
  readonly own: string;
}

const GOLD = 'w-gold';

async function ledger() {
  const clock = manualClock(T0 * 1000);
  const executor = await createExecutor({
    ed,
    clock,
    seed: seedOf(100),
    federation: 'home',
    federations: new Map([['away', ed25519PublicKey(FEDERATION_SEED)]]),
    wrapped: new Map([['away', GOLD]]),
  });
  const act = async (p: Omit<Party, 'own'>, effects: Effect[], cell = p.cell): Promise<Receipt> =>
    executor.submit(await turnOf(executor, p, cell, effects));
  const party = async (i: number, fields: Record<string, string> = {}): Promise<Party> => {
    const seed = seedOf(i);
    const did = didKeyFromEd25519(ed25519PublicKey(seed));
    const cell = (await executor.genesis(did, saltOf(i), 1000n)).id;
    const own = (await executor.genesis(did, saltOf(100 + i), 500n)).id;
    const p = { did, seed, cell, own };
    const set: Effect[] = Object.entries(fields).map(([key, value]) => ({
      type: 'set-field',
      cell: own,
      key,
      value,
    }));
    if (set.length > 0) await act(p, set);
    return p;
  };
  let locks = 0;
  /** 'away' locked `amount` for `p`: a bridge mint credits that much `w-gold` to its cell. */
  const fund = async (p: Party, amount: bigint): Promise<void> => {
    const lock = (++locks).toString(16).padStart(32, '0');
    const expires = T0 + 7200;
    const attestation = await signAttestation(
      { kind: 'locked', from: 'away', to: 'home', lock, amount, recipient: p.did, expires },
      FEDERATION_SEED,
      ed,
    );
    await act(p, [
      { type: 'bridge-mint', federation: 'away', lock, amount, to: p.cell, expires, attestation },
    ]);
  };
  return { executor, clock, act, party, fund, coordinator: await party(50) };
}

const gold = (x: Executor, cell: string) => x.holdings(cell).get(GOLD) ?? 0n;

function turnOf(
  x: Executor,
  p: { did: string; seed: Uint8Array },
  cell: string,
  effects: Effect[],
): Promise<Turn> {
  return signTurn(
    {
      ledger: x.ledger,
      agent: p.did,
      cell,
      nonce: x.cell(cell)!.nonce,
      prev: x.head(p.did).prev,
      effects,
      fee: 0n,
      validUntil: DEADLINE,
    },
    p.seed,
    ed,
  );
}

type Ledger = Awaited<ReturnType<typeof ledger>>;

/**
 * Signed intents of `parties` and the ring through all of them, in that order: participant i offers
 * `terms[i].offer` and the next participant wants `terms[i].want` of it.
 */
async function ringOf(
  parties: readonly Party[],
  terms: readonly { offer: ExchangeItem; want: ExchangeItem }[],
) {
  const n = parties.length;
  const intents = await Promise.all(
    parties.map((p, i) =>
      signIntent(
        {
          zone: 'market',
          offers: [terms[i]!.offer],
          wants: [terms[(i + n - 1) % n]!.want],
          expires: T0 + 3600,
        },
        p.seed,
        new Uint8Array(16).fill(i + 1),
        ed,
      ),
    ),
  );
  const ids = intents.map(intentId);
  const byId = new Map(intents.map((t, i) => [ids[i]!, t]));
  const partyOf = new Map(ids.map((id, i) => [id, parties[i]!]));
  // Participant i gives its one offer to participant i + 1's one want.
  const ring: Ring = {
    legs: ids.map((from, i) => ({ from, to: ids[(i + 1) % ids.length]!, gives: [{ offer: 0, want: 0 }] })),
    wants: ids.length,
  };
  return { byId, partyOf, ring, ids };
}

/** Opens `r`'s ring on `l`, coordinated by its coordinator, with this file's deadline and cutoff. */
const settlementOn = (l: Ledger, r: Pick<Awaited<ReturnType<typeof ringOf>>, 'ring' | 'byId'>) =>
  openSettlement(r.ring, r.byId, {
    ledger: l.executor,
    coordinator: l.coordinator,
    ed,
    deadline: DEADLINE,
    cutoff: CUTOFF,
  });

type Escrow = (s: Settlement, id: string, p: Party) => EscrowPlan;

/** The honest escrow: what is owed, every capability given from ownership of the party's second cell. */
const honest: Escrow = (s, id, p) => {
  const w = s.owes.get(id)!;
  return {
    computrons: w.computrons,
    assets: w.assets,
    grants: w.grants.map((grant) => ({ grant, source: { cell: p.own } })),
  };
};

/** Everyone commits to `escrow`'s turn; returns the reveals. */
const commitAll = (l: Ledger, s: Settlement, partyOf: ReadonlyMap<string, Party>, escrow: Escrow) =>
  commitEscrows(l.executor, s, partyOf, (id, p) => escrow(s, id, p));

/** Everyone commits honestly and all but the last participant reveal; `revealLast` completes the ring. */
async function revealAllButLast(
  l: Ledger,
  s: Settlement,
  partyOf: ReadonlyMap<string, Party>,
  ids: readonly string[],
) {
  const reveals = await commitAll(l, s, partyOf, honest);
  const reveal = async (id: string) => {
    const r = reveals.get(id)!;
    await s.reveal(id, r.turn, r.salt);
  };
  for (const id of ids.slice(0, -1)) await reveal(id);
  return { revealLast: () => reveal(ids.at(-1)!) };
}

const actions = (...a: string[]): Caveat => ({ t: 'actions', actions: [...a].sort() });
const budget = (max: number): Caveat => ({ t: 'budget', id: '0123456789abcdef', max });
const clist = (x: Executor, cell: string) => [...x.cell(cell)!.clist.entries()];

/** A 3-ring: A pays computrons to B, B gives C a capability to its vault, C gives A units of its GPU service. */
async function threeRing() {
  const l = await ledger();
  const a = await l.party(1);
  const b = await l.party(2);
  const c = await l.party(3, { service: 'gpu' });
  const r = await ringOf(
    [a, b, c],
    [
      { offer: { kind: 'computrons', amount: 50n }, want: { kind: 'computrons', amount: 40n } },
      {
        offer: { kind: 'capability', caveats: [actions('set-field', 'transfer'), budget(100)] },
        want: { kind: 'capability', caveats: [actions('transfer'), budget(30)] },
      },
      {
        offer: { kind: 'service', service: 'gpu', units: 5 },
        want: { kind: 'service', service: 'gpu', units: 3 },
      },
    ],
  );
  const s = await settlementOn(l, r);
  return { l, a, b, c, s, ...r };
}

/** A 3-ring: A pays B computrons, B gives C wrapped gold (it holds `funded`), C gives A a capability. */
async function assetRing(funded = 10n) {
  const l = await ledger();
  const a = await l.party(1);
  const b = await l.party(2);
  const c = await l.party(3);
  await l.fund(b, funded);
  const r = await ringOf(
    [a, b, c],
    [
      { offer: { kind: 'computrons', amount: 50n }, want: { kind: 'computrons', amount: 40n } },
      {
        offer: { kind: 'asset', asset: GOLD, amount: 10n },
        want: { kind: 'asset', asset: GOLD, amount: 7n },
      },
      {
        offer: { kind: 'capability', caveats: [actions('set-field', 'transfer')] },
        want: { kind: 'capability', caveats: [actions('transfer')] },
      },
    ],
  );
  expect(
    findRings(
      [...r.byId].map(([id, intent]) => ({ id, intent })),
      { now: T0 },
    ).rings,
  ).toHaveLength(1);
  const s = await settlementOn(l, r);
  return { l, a, b, c, s, ...r };
}

describe('ring settlement of every item kind', () => {
  it('a 3-ring of computrons, a capability and a service settles; each receiver can use exactly what it wanted', async () => {
    const { l, a, b, c, s, partyOf, ids } = await threeRing();
    const x = l.executor;
    expect(s.owed.get(ids[0]!)).toBe(40n);
    expect(s.owes.get(ids[1]!)!.grants).toHaveLength(1);
    const reveals = await commitAll(l, s, partyOf, honest);
    for (const [id, r] of reveals) await s.reveal(id, r.turn, r.salt);
    expect(s.state().phase).toBe('settled');
    expect(x.cell(a.cell)!.balance).toBe(960n);
    expect(x.cell(b.cell)!.balance).toBe(1040n);
    // The escrow cell keeps nothing.
    expect(clist(x, s.escrowCell)).toEqual([]);

    // C holds a handle to B's vault: transfer only, 30 computrons in all.
    const [slotC, held] = clist(x, c.cell)[0]!;
    expect(held.target).toEqual({ kind: 'cell', id: b.own });
    const via = { slot: slotC };
    await l.act(c, [{ type: 'transfer', from: b.own, to: c.cell, amount: 20n, via }]);
    expect(await codeOf(l.act(c, [{ type: 'transfer', from: b.own, to: c.cell, amount: 11n, via }]))).toBe(
      'E_BUDGET',
    );
    expect(await codeOf(l.act(c, [{ type: 'set-field', cell: b.own, key: 'k', value: 1, via }]))).toBe(
      'E_DENIED',
    );
    await l.act(c, [{ type: 'transfer', from: b.own, to: c.cell, amount: 10n, via }]);
    expect(x.cell(c.cell)!.balance).toBe(1030n);

    // A holds a handle to C's GPU cell: requests (pipelined-send) only, metered under gpu's budget, 3 units.
    const [slotA, gpu] = clist(x, a.cell)[0]!;
    expect(gpu.target).toEqual({ kind: 'cell', id: c.own });
    const rights = handleRights(gpu);
    expect([...(rights.actions as Set<string>)]).toEqual(['pipelined-send']);
    expect(rights.budget).toBe(3);
    expect(gpu.caveats).toContainEqual({ t: 'budget', id: serviceBudgetId('gpu'), max: 3 });
    await l.act(a, [
      { type: 'pipelined-send', to: c.own, topic: 'gpu', data: 'job 1', via: { slot: slotA } },
    ]);
    expect(
      await codeOf(
        l.act(a, [{ type: 'transfer', from: c.own, to: a.cell, amount: 1n, via: { slot: slotA } }]),
      ),
    ).toBe('E_DENIED');
    // The giver gave nothing beyond: B and C still own and use their cells as before.
    await l.act(b, [{ type: 'set-field', cell: b.own, key: 'k', value: 2 }], b.own);
  });

  it('a no-show leaves every grant dropped, every balance as before, and each giver can trip its channel', async () => {
    const { l, a, b, c, s, partyOf, ids } = await threeRing();
    const x = l.executor;
    const balances = () => [a, b, c].flatMap((p) => [x.cell(p.cell)!.balance, x.cell(p.own)!.balance]);
    const before = balances();
    await revealAllButLast(l, s, partyOf, ids);
    // B's capability lies in the escrow cell meanwhile; A's computrons are locked.
    expect(clist(x, s.escrowCell)).toHaveLength(1);
    expect(x.cell(a.cell)!.balance).toBe(960n);
    const receipts = await x.receipts(b.did);
    const channel = String((receipts.at(-1)!.results[0] as { channel: string }).channel);
    l.clock.set(CUTOFF * 1000);
    await s.expire(CUTOFF);
    expect(s.state()).toMatchObject({ phase: 'aborted' });
    expect(clist(x, s.escrowCell)).toEqual([]);
    for (const p of [a, b, c]) expect(clist(x, p.cell)).toEqual([]);
    expect(balances()).toEqual(before);
    // Had the coordinator vanished instead, B would kill its escrowed grant alone.
    await l.act(b, [{ type: 'revoke-delegation', channel }]);
  });

  it('a giver that trips its escrowed grant after its reveal is blamed (E_REVOKED) and everyone is made whole', async () => {
    const { l, a, b, c, s, partyOf, ids } = await threeRing();
    const x = l.executor;
    const balances = () => [a, b, c].flatMap((p) => [x.cell(p.cell)!.balance, x.cell(p.own)!.balance]);
    const before = balances();
    const { revealLast } = await revealAllButLast(l, s, partyOf, ids);
    // B withdraws the capability it escrowed, before C's reveal completes the ring.
    const escrowedB = (await x.receipts(b.did)).at(-1)!;
    await l.act(b, [
      { type: 'revoke-delegation', channel: String((escrowedB.results[0] as { channel: string }).channel) },
    ]);
    await revealLast();
    const state = s.state();
    expect(state).toMatchObject({
      phase: 'aborted',
      blame: { intent: ids[1], agent: b.did, code: 'E_REVOKED', commitment: { intent: ids[1] } },
    });
    expect(state.phase === 'aborted' && state.refund).toBeTruthy();
    expect(balances()).toEqual(before);
    expect(clist(x, s.escrowCell)).toEqual([]);
    for (const p of [a, b, c]) expect(clist(x, p.cell)).toEqual([]);
  });

  it('a settling turn that fails with every escrow still live blames nobody', async () => {
    const { l, a, s, partyOf, ids } = await threeRing();
    const { revealLast } = await revealAllButLast(l, s, partyOf, ids);
    // A's payee cell is frozen meanwhile: the settlement cannot pay it, and no giver is at fault.
    await l.act(a, [{ type: 'set-permissions', cell: a.cell, lifecycle: 'frozen' }]);
    await revealLast();
    const state = s.state();
    expect(state.phase).toBe('aborted');
    expect(state.phase === 'aborted' && state.blame).toBeUndefined();
  });

  it('taking back an escrow of computrons and a capability after the deadline trips the capability too, in one turn', async () => {
    const l = await ledger();
    const { executor: x } = l;
    const p = await l.party(7);
    const escrowCell = l.coordinator.cell;
    const turn = await turnOf(x, p, p.cell, [
      { type: 'create-obligation', from: p.cell, to: escrowCell, amount: 40n, due: DEADLINE },
      { type: 'grant-capability', source: { cell: p.own }, to: escrowCell, caveats: [], revocable: true },
    ]);
    const escrowed = await x.submit(turn);
    const escrow = escrowOf({ turn });
    const view = {
      ledger: x.ledger,
      cell: async (id: string) => x.cell(id),
      head: async (d: string) => x.head(d),
    };
    expect(escrow).toMatchObject({ cell: p.cell, amount: 40n, due: DEADLINE });
    expect(escrow.obligations.map((o) => o.id)).toEqual([String(escrowed.results[0])]);
    expect(escrow.channels).toEqual([(escrowed.results[1] as { channel: string }).channel]);
    expect(await codeOf(() => reclaimTurn(p, view, { turn }, DEADLINE - 1, ed))).toBe('E_NOT_YET_VALID');
    // Until then the escrow cell holds a live handle to the giver's cell.
    const use = () =>
      l.act(l.coordinator, [{ type: 'set-field', cell: p.own, key: 'k', value: 1, via: { slot: 0 } }]);
    await use();

    l.clock.set(DEADLINE * 1000);
    await x.submit(await reclaimTurn(p, view, { turn }, DEADLINE, ed));
    expect(x.cell(p.cell)!.balance).toBe(1000n);
    // The escrowed handle died in the same turn.
    expect(await codeOf(use())).toBe('E_REVOKED');
    // Capabilities alone: the wallet leaves them to the giver (a settled ring would lose its delivery).
    const alone = await turnOf(x, p, p.cell, [
      { type: 'grant-capability', source: { cell: p.own }, to: escrowCell, caveats: [], revocable: true },
    ]);
    expect(await codeOf(() => escrowOf({ turn: alone }))).toBe('E_UNSUPPORTED');
  });

  it('a capability escrowed narrower than the receiver wants is blamed; one wider than offered too', async () => {
    for (const [extra, code] of [
      [[actions('set-field')], 'E_INSUFFICIENT'],
      [null, 'E_WIDENING'],
    ] as const) {
      const { l, a, b, s, partyOf, ids } = await threeRing();
      const cheat: Escrow = (st, id, p) => {
        const plan = honest(st, id, p);
        if (p !== b) return plan;
        const g = plan.grants![0]!;
        const caveats = extra === null ? [actions('set-field', 'transfer')] : [...g.grant.offered, ...extra];
        return { ...plan, grants: [{ ...g, grant: { ...g.grant, offered: caveats } }] };
      };
      const reveals = await commitAll(l, s, partyOf, cheat);
      await s.reveal(ids[0]!, reveals.get(ids[0]!)!.turn, reveals.get(ids[0]!)!.salt);
      const rb = reveals.get(ids[1]!)!;
      expect(await codeOf(s.reveal(ids[1]!, rb.turn, rb.salt))).toBe(code);
      const st = s.state();
      expect(st).toMatchObject({ phase: 'aborted', blame: { intent: ids[1], agent: b.did, code } });
      if (st.phase === 'aborted') expect(st.blame!.commitment.intent).toBe(ids[1]);
      expect(clist(l.executor, s.escrowCell)).toEqual([]);
      expect(l.executor.cell(a.cell)!.balance).toBe(1000n);
    }
  });

  it('a 3-ring of computrons, a wrapped asset and a capability settles; each receiver holds what it wanted', async () => {
    const { l, a, b, c, s, partyOf, ids } = await assetRing();
    const x = l.executor;
    expect(s.owes.get(ids[1]!)).toMatchObject({ computrons: 0n, assets: [{ asset: GOLD, amount: 7n }] });
    const reveals = await commitAll(l, s, partyOf, honest);
    for (const [id, r] of reveals) await s.reveal(id, r.turn, r.salt);
    expect(s.state().phase).toBe('settled');
    // A paid B 40 computrons; B gave C 7 of its 10 gold (the surplus it offered stays); C gave A a handle.
    expect([x.cell(a.cell)!.balance, x.cell(b.cell)!.balance]).toEqual([960n, 1040n]);
    expect([gold(x, b.cell), gold(x, c.cell), gold(x, s.escrowCell)]).toEqual([3n, 7n, 0n]);
    const [, handle] = clist(x, a.cell)[0]!;
    expect(handle.target).toEqual({ kind: 'cell', id: c.own });
    expect(x.audit().assets.get(GOLD)).toEqual({ held: 10n, expected: 10n });
    // C can spend what it received.
    await l.act(c, [{ type: 'transfer', from: c.cell, to: a.cell, amount: 7n, asset: GOLD }]);
    expect(gold(x, a.cell)).toBe(7n);
  });

  it('a no-show refunds the escrowed asset; so does the payer itself after the deadline', async () => {
    for (const coordinatorVanishes of [false, true]) {
      const { l, a, b, s, partyOf, ids } = await assetRing();
      const x = l.executor;
      const reveals = await commitAll(l, s, partyOf, honest);
      for (const id of ids.slice(0, 2)) await s.reveal(id, reveals.get(id)!.turn, reveals.get(id)!.salt);
      expect([gold(x, b.cell), gold(x, s.escrowCell)]).toEqual([3n, 0n]);
      expect(x.audit().assets.get(GOLD)).toEqual({ held: 10n, expected: 10n });
      if (coordinatorVanishes) {
        const view = {
          ledger: x.ledger,
          cell: async (id: string) => x.cell(id),
          head: async (d: string) => x.head(d),
        };
        const pledge = { turn: reveals.get(ids[1]!)!.turn };
        expect(escrowOf(pledge).obligations).toEqual([{ id: expect.any(String), amount: 7n, asset: GOLD }]);
        l.clock.set(DEADLINE * 1000);
        await x.submit(await reclaimTurn(b, view, pledge, DEADLINE, ed));
      } else {
        l.clock.set(CUTOFF * 1000);
        await s.expire(CUTOFF);
        expect(s.state()).toMatchObject({ phase: 'aborted' });
      }
      expect(gold(x, b.cell)).toBe(10n);
      if (!coordinatorVanishes) expect(x.cell(a.cell)!.balance).toBe(1000n);
      expect(x.audit().assets.get(GOLD)).toEqual({ held: 10n, expected: 10n });
    }
  });

  it('an escrow short of the asset is blamed (E_INSUFFICIENT): less promised, another unit, or more than held', async () => {
    const cheats: ((w: EscrowPlan) => EscrowPlan)[] = [
      (w) => ({ ...w, assets: [{ asset: GOLD, amount: 6n }] }),
      (w) => ({ ...w, assets: [], computrons: 7n }),
      (w) => ({ ...w, assets: [{ asset: 'w-lead', amount: 7n }] }),
    ];
    for (const [i, cheat] of [...cheats, 'unfunded' as const].entries()) {
      const { l, a, b, s, partyOf, ids } = await assetRing(cheat === 'unfunded' ? 5n : 10n);
      const reveals = await commitAll(l, s, partyOf, (st, id, p) =>
        p === b && cheat !== 'unfunded' ? cheat(honest(st, id, p)) : honest(st, id, p),
      );
      await s.reveal(ids[0]!, reveals.get(ids[0]!)!.turn, reveals.get(ids[0]!)!.salt);
      const rb = reveals.get(ids[1]!)!;
      expect(await codeOf(s.reveal(ids[1]!, rb.turn, rb.salt)), `cheat ${i}`).toBe('E_INSUFFICIENT');
      expect(s.state()).toMatchObject({ phase: 'aborted', blame: { intent: ids[1], agent: b.did } });
      expect(l.executor.cell(a.cell)!.balance).toBe(1000n);
      expect(gold(l.executor, b.cell)).toBe(cheat === 'unfunded' ? 5n : 10n);
    }
  });

  it('property: rings over every settleable kind conserve computrons and every asset and give each receiver what it wanted, never more than offered — or nothing at all', async () => {
    const kinds = ['computrons', 'asset', 'capability', 'service', 'storage', 'name'] as const;
    const arbLeg = fc.record({
      kind: fc.constantFrom(...kinds),
      big: fc.integer({ min: 2, max: 9 }),
      small: fc.integer({ min: 1, max: 2 }),
      acts: fc.subarray(['transfer', 'set-field', 'pipelined-send'], { minLength: 1 }),
      wantActs: fc.integer({ min: 1, max: 3 }),
      budgeted: fc.boolean(),
      how: fc.constantFrom('honest', 'honest', 'honest', 'absent', 'short'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(arbLeg, { minLength: 2, maxLength: 4 }), async (legs) => {
        const l = await ledger();
        const terms = legs.map((g, i) => leg(g, i));
        const parties = await Promise.all(terms.map((t, i) => l.party(i + 1, t.fields)));
        for (const [i, t] of terms.entries())
          if (t.offer.kind === 'asset') await l.fund(parties[i]!, t.offer.amount);
        const golds = () => parties.map((p) => gold(l.executor, p.cell));
        const minted = golds().reduce((t, g) => t + g, 0n);
        const goldBefore = golds();
        const r = await ringOf(parties, terms);
        const x = l.executor;
        const s = await settlementOn(l, r);
        const total = () =>
          parties.reduce((t, p) => t + x.cell(p.cell)!.balance + x.cell(p.own)!.balance, 0n);
        const before = total();
        const balances = parties.map((p) => x.cell(p.cell)!.balance);
        const how = new Map(r.ids.map((id, i) => [id, legs[i]!.how]));
        const reveals = await commitAll(l, s, r.partyOf, (st, id, p) => {
          const plan = honest(st, id, p);
          if (how.get(id) !== 'short') return plan;
          if (plan.computrons > 0n) return { ...plan, computrons: plan.computrons - 1n };
          if (plan.assets!.length > 0)
            return { ...plan, assets: plan.assets!.map((a) => ({ ...a, amount: a.amount - 1n })) };
          // A name: a handle to the entry instead of the entry, or an entry cell without the fields.
          const grants = plan.grants!.map((g) =>
            !g.grant.ownership
              ? { ...g, grant: short(g.grant) }
              : legs[r.ids.indexOf(id)]!.small === 1
                ? { ...g, grant: { ...g.grant, ownership: false } }
                : { ...g, source: { cell: p.cell } },
          );
          return { ...plan, grants };
        });
        for (const [id, rv] of reveals) {
          if (how.get(id) === 'absent') continue;
          await s.reveal(id, rv.turn, rv.salt).catch(() => undefined);
          if (s.state().phase === 'aborted') break;
        }
        if (s.state().phase === 'revealing') {
          l.clock.set(CUTOFF * 1000);
          await s.expire(CUTOFF);
        }
        // Nothing is ever lost or made; the escrow cell keeps nothing.
        expect(total()).toBe(before);
        // Every asset too: all of it back in the parties' cells, none left in escrow, the audit even.
        expect(golds().reduce((t, g) => t + g, 0n)).toBe(minted);
        expect(gold(x, s.escrowCell)).toBe(0n);
        for (const [, a] of x.audit().assets) expect(a.held).toBe(a.expected);
        expect(x.cell(s.escrowCell)!.balance).toBe(0n);
        expect(clist(x, s.escrowCell)).toEqual([]);
        const settled = s.state().phase === 'settled';
        expect(settled).toBe(legs.every((g) => g.how === 'honest'));
        for (const [i, t] of terms.entries()) {
          const receiver = parties[(i + 1) % parties.length]!;
          const got = clist(x, receiver.cell).map(([, h]) => h);
          // Every cell ends owned by an agent of the ring, never the coordinator: a name's entry by its
          // receiver once settled, by its giver otherwise; everything else by its first owner.
          const name = t.offer.kind === 'name';
          expect(x.cell(parties[i]!.own)!.owner).toBe(name && settled ? receiver.did : parties[i]!.did);
          expect(x.cell(parties[i]!.cell)!.owner).toBe(parties[i]!.did);
          if (!settled || t.offer.kind === 'computrons' || t.offer.kind === 'asset' || name) {
            expect(got).toEqual([]);
            continue;
          }
          expect(got).toHaveLength(1);
          const h = got[0]!;
          expect(h.target).toEqual({ kind: 'cell', id: parties[i]!.own });
          const delivered: ExchangeItem = { kind: 'capability', caveats: h.caveats };
          expect(satisfies(delivered, { kind: 'capability', caveats: ledgerForm(t.want).caveats })).toBe(
            true,
          );
          // Everything wanted, and nothing more than wanted or than offered.
          expect(narrows(handleRights(h), rightsOf(ledgerForm(t.want).caveats))).toBe(true);
          expect(narrows(handleRights(h), rightsOf(ledgerForm(t.offer).caveats))).toBe(true);
        }
        // Computrons: each receiver got what it wanted, each payer paid it — or all as before.
        parties.forEach((p, i) => {
          const owedIn = computronsOf(terms[(i + parties.length - 1) % parties.length]!.want);
          const owedOut = computronsOf(terms[i]!.want);
          expect(x.cell(p.cell)!.balance).toBe(settled ? balances[i]! + owedIn - owedOut : balances[i]!);
          const goldIn = goldOf(terms[(i + parties.length - 1) % parties.length]!.want);
          expect(gold(x, p.cell)).toBe(
            settled ? goldBefore[i]! + goldIn - goldOf(terms[i]!.want) : goldBefore[i]!,
          );
        });
      }),
      { numRuns: 25 },
    );
  }, 120_000);
});

/** A 2-ring: the seller's name (its second cell carries the entry's fields) for the buyer's computrons. */
async function nameForComputrons() {
  const l = await ledger();
  const seller = await l.party(1, { zone: 'market', name: 'alice' });
  const buyer = await l.party(2);
  const entry = { kind: 'name', zone: 'market', name: 'alice' } as const;
  const r = await ringOf(
    [seller, buyer],
    [
      { offer: entry, want: entry },
      { offer: { kind: 'computrons', amount: 30n }, want: { kind: 'computrons', amount: 25n } },
    ],
  );
  const s = await settlementOn(l, r);
  const set = (value: string): Effect[] => [{ type: 'set-field', cell: seller.own, key: 'to', value }];
  return { l, seller, buyer, s, set, ...r };
}

describe('a name changes hands', () => {
  it('a name one way, computrons the other: the buyer owns the entry and sets its records, the seller is refused', async () => {
    const { l, seller, buyer, s, set, partyOf, ids } = await nameForComputrons();
    const x = l.executor;
    expect(s.owes.get(ids[0]!)!.grants).toMatchObject([{ ownership: true, offered: [], wanted: [] }]);
    const reveals = await commitAll(l, s, partyOf, honest);
    const rs = reveals.get(ids[0]!)!;
    expect(rs.turn.effects).toEqual([
      { type: 'set-permissions', cell: seller.own, owner: l.coordinator.did },
    ]);
    await s.reveal(ids[0]!, rs.turn, rs.salt);
    // In custody: the coordinator owns the entry, the seller cannot touch it meanwhile.
    expect(x.cell(seller.own)!.owner).toBe(l.coordinator.did);
    expect(s.progress().custody).toEqual([{ intent: ids[0], cell: seller.own }]);
    expect(await codeOf(l.act(seller, set('mine')))).toBe('E_DENIED');
    const rb = reveals.get(ids[1]!)!;
    await s.reveal(ids[1]!, rb.turn, rb.salt);
    expect(s.state().phase).toBe('settled');

    const moved = x.cell(seller.own)!;
    expect(moved).toMatchObject({ owner: buyer.did, fields: { zone: 'market', name: 'alice' } });
    expect(x.cell(seller.cell)!.balance).toBe(1025n);
    expect(x.cell(buyer.cell)!.balance).toBe(975n);
    // The buyer sets the entry's records, acts as it, can freeze it; the seller is refused every one.
    await l.act(buyer, set('bob'));
    expect(x.cell(seller.own)!.fields.to).toBe('bob');
    expect(await codeOf(l.act(seller, set('alice')))).toBe('E_DENIED');
    expect(await codeOf(l.act(seller, [{ type: 'increment-nonce', cell: seller.own }], seller.own))).toBe(
      'E_DENIED',
    );
    expect(
      await codeOf(l.act(seller, [{ type: 'set-permissions', cell: seller.own, owner: seller.did }])),
    ).toBe('E_DENIED');
    await l.act(buyer, [{ type: 'set-permissions', cell: seller.own, lifecycle: 'frozen' }]);
    // The coordinator kept nothing.
    expect(
      x
        .cells()
        .filter((c) => c.owner === l.coordinator.did)
        .map((c) => c.id)
        .sort(),
    ).toEqual([l.coordinator.cell, l.coordinator.own, s.escrowCell].sort());
  });

  it('a no-show returns the name to its giver in the refunding turn', async () => {
    const { l, seller, s, set, partyOf, ids } = await nameForComputrons();
    const reveals = await commitAll(l, s, partyOf, honest);
    const rs = reveals.get(ids[0]!)!;
    await s.reveal(ids[0]!, rs.turn, rs.salt);
    expect(l.executor.cell(seller.own)!.owner).toBe(l.coordinator.did);
    l.clock.set(CUTOFF * 1000);
    await s.expire(CUTOFF);
    expect(s.state()).toMatchObject({ phase: 'aborted' });
    expect(l.executor.cell(seller.own)!.owner).toBe(seller.did);
    await l.act(seller, set('still mine'));
  });

  it('a reveal that does not hand the entry over, or hands over a cell without its fields, is blamed; nothing stays in custody', async () => {
    const cheats: [string, Escrow][] = [
      // A handle to the entry instead of the entry.
      [
        'a handle',
        (st, id, p) => {
          const plan = honest(st, id, p);
          return {
            ...plan,
            grants: plan.grants?.map((g) => ({ ...g, grant: { ...g.grant, ownership: false } })),
          };
        },
      ],
      // Its paying cell, which carries no zone or name.
      [
        'another cell',
        (st, id, p) => {
          const plan = honest(st, id, p);
          return { ...plan, grants: plan.grants?.map((g) => ({ ...g, source: { cell: p.cell } })) };
        },
      ],
    ];
    for (const [what, cheat] of cheats) {
      const { l, seller, buyer, s, partyOf, ids } = await nameForComputrons();
      const reveals = await commitAll(l, s, partyOf, cheat);
      const rb = reveals.get(ids[1]!)!;
      await s.reveal(ids[1]!, rb.turn, rb.salt);
      const rs = reveals.get(ids[0]!)!;
      expect(await codeOf(s.reveal(ids[0]!, rs.turn, rs.salt)), what).toBe('E_INSUFFICIENT');
      expect(s.state()).toMatchObject({ phase: 'aborted', blame: { intent: ids[0], agent: seller.did } });
      for (const p of [seller, buyer]) {
        expect(l.executor.cell(p.cell)!.owner).toBe(p.did);
        expect(l.executor.cell(p.own)!.owner).toBe(p.did);
      }
      expect(l.executor.cell(buyer.cell)!.balance).toBe(1000n);
    }
  });

  it('an escrow of computrons and a name takes back the computrons only; a name alone is not the giver’s to reclaim', async () => {
    const l = await ledger();
    const p = await l.party(7, { zone: 'market', name: 'p' });
    const escrowCell = l.coordinator.cell;
    const turn = await turnOf(l.executor, p, p.cell, [
      { type: 'create-obligation', from: p.cell, to: escrowCell, amount: 40n, due: DEADLINE },
      { type: 'set-permissions', cell: p.own, owner: l.coordinator.did },
      { type: 'grant-capability', source: { cell: p.cell }, to: escrowCell, caveats: [], revocable: true },
    ]);
    const escrowed = await l.executor.submit(turn);
    const escrow = escrowOf({ turn });
    expect(escrow).toMatchObject({ cell: p.cell, amount: 40n });
    expect(escrow.channels).toEqual([(escrowed.results[2] as { channel: string }).channel]);
    const alone = await turnOf(l.executor, p, p.cell, [
      { type: 'set-permissions', cell: p.own, owner: l.coordinator.did },
    ]);
    expect(await codeOf(() => escrowOf({ turn: alone }))).toBe('E_UNSUPPORTED');
  });
});

const computronsOf = (want: ExchangeItem) => (want.kind === 'computrons' ? want.amount : 0n);
const goldOf = (want: ExchangeItem) => (want.kind === 'asset' ? want.amount : 0n);

/** A grant escrowed with one caveat more, which no want of this test survives. */
function short(g: Grant): Grant {
  return { ...g, offered: [...g.offered, actions('increment-nonce')] };
}

/** Participant i's terms for a leg of `kind` (what it offers, what the next one wants of it) and its second cell's fields. */
function leg(
  g: { kind: string; big: number; small: number; acts: string[]; wantActs: number; budgeted: boolean },
  i: number,
): { offer: ExchangeItem; want: ExchangeItem; fields: Record<string, string> } {
  switch (g.kind) {
    case 'computrons':
      return {
        offer: { kind: 'computrons', amount: BigInt(g.big) },
        want: { kind: 'computrons', amount: BigInt(g.small) },
        fields: {},
      };
    case 'capability': {
      const wanted = g.acts.slice(0, g.wantActs);
      const offered = g.budgeted ? [actions(...g.acts), budget(g.big)] : [actions(...g.acts)];
      const want = g.budgeted || g.small === 1 ? [actions(...wanted), budget(g.small)] : [actions(...wanted)];
      return {
        offer: { kind: 'capability', caveats: offered },
        want: { kind: 'capability', caveats: want },
        fields: {},
      };
    }
    case 'service':
      return {
        offer: { kind: 'service', service: 'gpu', units: g.big },
        want: { kind: 'service', service: 'gpu', units: g.small },
        fields: { service: 'gpu' },
      };
    case 'storage':
      return {
        offer: { kind: 'storage', bytes: 1000 * g.big, seconds: 60 },
        want: { kind: 'storage', bytes: 1000 * g.small, seconds: 30 },
        fields: { service: 'storage' },
      };
    case 'asset':
      return {
        offer: { kind: 'asset', asset: GOLD, amount: BigInt(g.big) },
        want: { kind: 'asset', asset: GOLD, amount: BigInt(g.small) },
        fields: {},
      };
    default: {
      const entry = { kind: 'name', zone: 'market', name: `n${i}` } as const;
      return { offer: entry, want: entry, fields: { zone: 'market', name: `n${i}` } };
    }
  }
}

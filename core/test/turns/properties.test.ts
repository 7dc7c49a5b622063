/**
 * Properties of the executor under random use:
 *  - value is conserved after every turn, accepted or refused, of random mixes of effects;
 *  - a turn that fails at any position (or at its fee, or its binding check) leaves every ledger
 *    record exactly as it was;
 *  - no sequence of grants, introductions, spawns and seal/unseal yields a handle wider than its source;
 *  - a signed turn is accepted once: a replay is stale, and no single-byte alteration is accepted.
 *
 * Runs are few and short so that the file stays under 30 s on a slow two-core machine.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Caveat } from '../../src/caps/caveats.ts';
import { type Handle, handleRights, sameTarget } from '../../src/caps/handle.ts';
import { narrows } from '../../src/caps/rights.ts';
import { newCell } from '../../src/cells/cell.ts';
import { defaultEd25519, type Ed25519, ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { type ErrorCode, isDreggError } from '../../src/errors.ts';
import type { CellRef, Effect } from '../../src/turns/effects.ts';
import { applyTurn } from '../../src/turns/executor.ts';
import { verifyReceiptChain } from '../../src/turns/receipt.ts';
import { cellKey, encodeValue, type State, supplyOf } from '../../src/turns/state.ts';
import { decodeTurn, encodeTurn, type Turn, type TurnBody } from '../../src/turns/turn.ts';
import { codeOf } from '../caps/fixtures.ts';
import { expectConserved, snapshot } from './effect-helpers.ts';
import { FEDERATION_SEED, type Person, saltOf, seedOf, T0, type World, world } from './fixtures.ts';

let ed: Ed25519;
beforeAll(async () => {
  // WebCrypto where the runtime has it: the properties sign and verify a few thousand times.
  ed = await defaultEd25519();
});

const RUNS = { small: 20, medium: 30 };

/** Runs `f`: its result, or the code of its error (a DreggError, never E_INTERNAL, nothing else). */
async function attempt<T>(f: () => Promise<T>): Promise<{ ok: T } | { code: ErrorCode }> {
  try {
    return { ok: await f() };
  } catch (e) {
    if (!isDreggError(e)) throw e;
    // E_INTERNAL is a bug, never a refusal of input.
    expect(e.code).not.toBe('E_INTERNAL');
    return { code: e.code };
  }
}

// ---------------------------------------------------------------------------------------------
// Random turns: conservation after every turn

type Op =
  | { k: 'set-field'; cell: number; key: string; value: string | number | null }
  | { k: 'transfer'; from: number; to: number; amount: bigint }
  | { k: 'burn'; cell: number; amount: bigint }
  | { k: 'create-cell'; salt: number; balance: bigint; owner: number | null }
  | { k: 'create-obligation'; from: number; to: number; amount: bigint; due: number }
  | { k: 'collect'; obligation: number; to: number; amount: bigint };

const index = fc.nat({ max: 40 });
const amount = fc.oneof(fc.bigInt({ min: 1n, max: 60n }), fc.bigInt({ min: 1n, max: 1500n }));
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    k: fc.constant('set-field' as const),
    cell: index,
    key: fc.constantFrom('a', 'b', 'name'),
    value: fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant(null)),
  }),
  fc.record({ k: fc.constant('transfer' as const), from: index, to: index, amount }),
  fc.record({ k: fc.constant('burn' as const), cell: index, amount }),
  fc.record({
    k: fc.constant('create-cell' as const),
    salt: fc.nat({ max: 4 }),
    balance: fc.bigInt({ min: 0n, max: 400n }),
    owner: fc.option(fc.nat({ max: 2 })),
  }),
  fc.record({
    k: fc.constant('create-obligation' as const),
    from: index,
    to: index,
    amount,
    due: fc.integer({ min: -10, max: 120 }),
  }),
  fc.record({ k: fc.constant('collect' as const), obligation: index, to: index, amount }),
);
const plan = fc.record({
  agent: fc.nat({ max: 2 }),
  cell: index,
  effects: fc.array(op, { minLength: 1, maxLength: 4 }),
  fee: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 5n })),
  advance: fc.nat({ max: 60 }),
});

/** The cells and obligations a history has made, for effects to refer to. */
interface Pools {
  cells: string[];
  obligations: string[];
}

function effectsOf(w: World, me: Person, ops: readonly Op[], pools: Pools, now: number): Effect[] {
  const people = [w.alice, w.bob, w.carol];
  const own = pools.cells.filter((id) => w.executor.cell(id)?.owner === me.did);
  const created: number[] = [];
  const out: Effect[] = [];
  // Index -> a known cell, or (one value in n + 1) a cell an earlier effect of this turn created.
  const cell = (i: number): CellRef => {
    const n = pools.cells.length;
    if (i % (n + 1) === n && created.length > 0) return `$${created[i % created.length]}`;
    return pools.cells[i % n]!;
  };
  // Where authority is needed: even indexes name a cell of the agent's own (so most effects can succeed).
  const source = (i: number): CellRef => (i % 2 === 0 ? own[(i / 2) % own.length]! : cell(i));
  for (const o of ops) {
    switch (o.k) {
      case 'set-field':
        out.push({ type: 'set-field', cell: source(o.cell), key: o.key, value: o.value });
        break;
      case 'transfer':
        out.push({ type: 'transfer', from: source(o.from), to: cell(o.to), amount: o.amount });
        break;
      case 'burn':
        out.push({ type: 'burn', cell: source(o.cell), amount: o.amount });
        break;
      case 'create-cell':
        created.push(out.length);
        out.push({
          type: 'create-cell',
          salt: saltOf(10 + o.salt),
          balance: o.balance,
          owner: o.owner === null ? undefined : people[o.owner]!.did,
        });
        break;
      case 'create-obligation':
        out.push({
          type: 'create-obligation',
          from: source(o.from),
          to: cell(o.to),
          amount: o.amount,
          due: Math.max(0, now + o.due),
        });
        break;
      case 'collect':
        out.push({
          type: 'transfer',
          obligation:
            pools.obligations[o.obligation % Math.max(1, pools.obligations.length)] ?? 'ff'.repeat(16),
          to: cell(o.to),
          amount: o.amount,
        });
        break;
    }
  }
  return out;
}

describe('random turns (property)', () => {
  it('conserve value after every turn, refuse without a trace, and are accepted at most once', async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(plan, { minLength: 3, maxLength: 8 }), async (plans) => {
        const w = await world({ ed });
        const people = [w.alice, w.bob, w.carol];
        const pools: Pools = { cells: people.map((p) => p.cell), obligations: [] };
        const done: Turn[] = [];
        for (const p of plans) {
          w.clock.advance(p.advance * 1000);
          const agent = people[p.agent]!;
          const own = pools.cells.filter((id) => w.executor.cell(id)?.owner === agent.did);
          const acting = own[p.cell % own.length]!;
          const now = Math.floor(w.clock.now() / 1000);
          const effects = effectsOf(w, agent, p.effects, pools, now);
          const turn = await w.turn(agent, effects, { cell: acting, fee: p.fee });
          const before = snapshot(w);
          const r = await attempt(() => w.executor.submit(turn));
          expectConserved(w);
          if ('code' in r) {
            refused++;
            expect(snapshot(w)).toEqual(before);
            continue;
          }
          accepted++;
          const receipt = r.ok;
          expect(w.executor.supply().burned - before.supply.burned).toBe(receipt.burned);
          for (const [i, e] of effects.entries()) {
            if (e.type === 'create-cell') pools.cells.push(receipt.results[i] as string);
            if (e.type === 'create-obligation') pools.obligations.push(receipt.results[i] as string);
          }
          done.push(turn);
          const after = snapshot(w);
          expect(await codeOf(w.executor.submit(turn))).toBe('E_STALE');
          expect(snapshot(w)).toEqual(after);
        }
        // Every accepted turn stays refused, and every agent's receipts form a valid chain.
        for (const t of done) expect(await codeOf(w.executor.submit(t))).toBe('E_STALE');
        for (const p of people) {
          const receipts = await w.executor.receipts(p.did);
          if (receipts.length === 0) continue;
          const head = await verifyReceiptChain(receipts, { ed, executors: [w.executor.did], after: null });
          expect(head).toBe(w.executor.head(p.did).prev);
        }
        expectConserved(w);
      }),
      { numRuns: RUNS.medium },
    );
    // The generator must exercise both outcomes, or the property says little.
    expect(accepted).toBeGreaterThan(15);
    expect(refused).toBeGreaterThan(15);
  });
});

// ---------------------------------------------------------------------------------------------
// Atomicity: a failure anywhere leaves every record as it was

const people3 = [1, 2, 3].map((i) => {
  const seed = seedOf(i);
  const did = didKeyFromEd25519(ed25519PublicKey(seed));
  return { did, seed, cell: newCell(did, saltOf(i), 1000n).id } satisfies Person;
});

function rawState(): State {
  const state: State = new Map();
  for (const [i, p] of people3.entries()) state.set(cellKey(p.cell), newCell(p.did, saltOf(i + 1), 1000n));
  state.set('supply', { genesis: 3000n, bridgedIn: 0n, bridgedOut: 0n, burned: 0n, shielded: 0n });
  return state;
}

const ENV = {
  now: T0,
  federation: 'home',
  federations: new Map([['away', ed25519PublicKey(FEDERATION_SEED)]]),
  executor: didKeyFromEd25519(ed25519PublicKey(seedOf(100))),
};

/** An effect that succeeds for `me` (amounts are small: a history never runs a cell dry). */
type Good = (me: Person, other: Person, salt: () => string) => Effect;
const GOOD: Good[] = [
  (me) => ({ type: 'set-field', cell: me.cell, key: 'k', value: 'v' }),
  (me) => ({ type: 'set-field', cell: me.cell, key: 'bytes', value: new Uint8Array([1, 2, 3]) }),
  (me, other) => ({ type: 'transfer', from: me.cell, to: other.cell, amount: 3n }),
  (me) => ({ type: 'burn', cell: me.cell, amount: 2n }),
  (_me, _o, salt) => ({ type: 'create-cell', salt: salt(), balance: 4n }),
  (me, other) => ({ type: 'create-obligation', from: me.cell, to: other.cell, amount: 5n, due: T0 + 100 }),
  (me) => ({
    type: 'grant-capability',
    source: { cell: me.cell },
    to: me.cell,
    caveats: [],
    revocable: true,
  }),
  () => ({ type: 'emit-event', topic: 'hello', data: 'x' }),
  () => ({ type: 'create-seal-pair' }),
  (me) => ({
    type: 'bridge-lock',
    from: me.cell,
    amount: 3n,
    federation: 'away',
    recipient: me.did,
    expires: T0 + 3600,
  }),
  (me) => ({ type: 'pipelined-send', to: me.cell, topic: 'ping', data: 1 }),
  (me) => ({ type: 'increment-nonce', cell: me.cell }),
];

/** An effect that fails for `me` whatever came before it in a turn of GOOD effects, and how. */
type Bad = (me: Person, other: Person) => [Effect, ErrorCode];
const BAD: Bad[] = [
  (me, other) => [{ type: 'transfer', from: me.cell, to: other.cell, amount: 1_000_000n }, 'E_INSUFFICIENT'],
  (_me, other) => [{ type: 'set-field', cell: other.cell, key: 'k', value: 1 }, 'E_DENIED'],
  () => [{ type: 'burn', cell: '99'.repeat(32), amount: 1n }, 'E_NOT_FOUND'],
  (me, other) => [
    { type: 'create-obligation', from: me.cell, to: other.cell, amount: 1n, due: T0 },
    'E_INVALID',
  ],
  (me) => [{ type: 'transfer', from: me.cell, to: '$63', amount: 1n }, 'E_INVALID'],
  () => [{ type: 'revoke-delegation', channel: 'ab'.repeat(16) }, 'E_NOT_FOUND'],
  () => [{ type: 'note-spend', note: 'cd'.repeat(32) }, 'E_NOT_FOUND'],
  () => [{ type: 'bridge-finalize', lock: 'ef'.repeat(16), attestation: new Uint8Array(64) }, 'E_NOT_FOUND'],
  (me) => [
    {
      type: 'bridge-mint',
      federation: 'elsewhere',
      lock: 'ef'.repeat(16),
      amount: 1n,
      to: me.cell,
      expires: T0 + 7200,
      attestation: new Uint8Array(64),
    },
    'E_UNTRUSTED',
  ],
  () => [{ type: 'unseal', unsealer: 300, box: '12'.repeat(16) }, 'E_NOT_FOUND'],
  (_me, other) => [
    { type: 'grant-capability', source: { cell: other.cell }, to: other.cell, caveats: [] },
    'E_DENIED',
  ],
];

/** Where the failure is: an effect at a position, the fee, or a binding signature with no notes. */
const failure = fc.oneof(
  fc.record({ at: fc.constant('effect' as const), bad: fc.nat({ max: BAD.length - 1 }) }),
  fc.record({ at: fc.constant('fee' as const) }),
  fc.record({ at: fc.constant('binding' as const) }),
);

const turnShape = fc.record({
  agent: fc.nat({ max: 2 }),
  good: fc.array(fc.nat({ max: GOOD.length - 1 }), { maxLength: 6 }),
});

function fullState(state: State): [string, string][] {
  return [...state.entries()].map(([k, v]) => [k, toHex(encodeValue(v))] as [string, string]).sort();
}

describe('atomicity (property)', () => {
  it('a turn failing at any position leaves every ledger record exactly as it was (applyTurn)', () => {
    fc.assert(
      fc.property(
        fc.array(turnShape, { maxLength: 5 }),
        turnShape,
        failure,
        fc.nat(),
        (history, last, fail, position) => {
          const state = rawState();
          let salts = 0;
          const salt = () => (++salts).toString(16).padStart(64, '0');
          const body = (who: Person, effects: Effect[], extra: Partial<TurnBody> = {}): TurnBody => ({
            ledger: 'home',
            agent: who.did,
            cell: who.cell,
            nonce: (state.get(cellKey(who.cell)) as { nonce: number }).nonce,
            prev: null,
            effects,
            fee: 0n,
            validUntil: T0 + 60,
            ...extra,
          });
          const effectsFor = (s: { agent: number; good: number[] }) => {
            const me = people3[s.agent]!;
            const other = people3[(s.agent + 1) % 3]!;
            return { me, other, effects: s.good.map((g) => GOOD[g]!(me, other, salt)) };
          };
          // A history of turns that all succeed.
          for (const h of history) {
            const { me, effects } = effectsFor(h);
            if (effects.length > 0) applyTurn(state, body(me, effects), ENV);
          }
          const { me, other, effects } = effectsFor(last);
          let turn: TurnBody;
          let code: ErrorCode;
          if (fail.at === 'effect') {
            const [bad, c] = BAD[fail.bad]!(me, other);
            effects.splice(position % (effects.length + 1), 0, bad);
            turn = body(me, effects);
            code = c;
          } else if (effects.length === 0) {
            return;
          } else if (fail.at === 'fee') {
            turn = body(me, effects, { fee: 10_000n });
            code = 'E_INSUFFICIENT';
          } else {
            turn = body(me, effects, { binding: new Uint8Array(64).fill(7) });
            code = 'E_INVALID';
          }
          const before = new Map(state);
          const encoded = fullState(state);
          const supply = supplyOf(state);
          let thrown: unknown;
          try {
            applyTurn(state, turn, ENV);
          } catch (e) {
            thrown = e;
          }
          expect(isDreggError(thrown, code)).toBe(true);
          // The same records (the very objects), hence the same encodings, supply and ledger root.
          expect([...state.keys()].sort()).toEqual([...before.keys()].sort());
          for (const [k, v] of state) expect(v).toBe(before.get(k));
          expect(fullState(state)).toEqual(encoded);
          expect(supplyOf(state)).toEqual(supply);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('a refused turn leaves the executor as it was: cells, ledger root, supply, heads, receipts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(turnShape, { maxLength: 3 }),
        turnShape,
        failure,
        fc.nat(),
        async (history, last, fail, position) => {
          const w = await world({ ed });
          const people = [w.alice, w.bob, w.carol];
          let salts = 0;
          const salt = () => (++salts).toString(16).padStart(64, '0');
          for (const h of history) {
            const me = people[h.agent]!;
            const other = people[(h.agent + 1) % 3]!;
            if (h.good.length > 0)
              await w.act(
                me,
                h.good.map((g) => GOOD[g]!(me, other, salt)),
              );
          }
          const me = people[last.agent]!;
          const other = people[(last.agent + 1) % 3]!;
          const effects = last.good.map((g) => GOOD[g]!(me, other, salt));
          const good = [...effects];
          let turn: Turn;
          let code: ErrorCode;
          if (fail.at === 'effect') {
            const [bad, c] = BAD[fail.bad]!(me, other);
            effects.splice(position % (effects.length + 1), 0, bad);
            turn = await w.turn(me, effects);
            code = c;
          } else if (effects.length === 0) {
            return;
          } else if (fail.at === 'fee') {
            turn = await w.turn(me, effects, { fee: 10_000n });
            code = 'E_INSUFFICIENT';
          } else {
            turn = await w.turn(me, effects, { binding: new Uint8Array(64).fill(7) });
            code = 'E_INVALID';
          }
          const before = snapshot(w);
          const receipts = await Promise.all(people.map((p) => w.executor.receipts(p.did)));
          expect(await codeOf(w.executor.submit(turn))).toBe(code);
          expect(snapshot(w)).toEqual(before);
          expect(await Promise.all(people.map((p) => w.executor.receipts(p.did)))).toEqual(receipts);
          expectConserved(w);
          // The same turn without the failure is then accepted, with the same nonce.
          if (good.length > 0) await w.act(me, good);
          expectConserved(w);
        },
      ),
      { numRuns: RUNS.small },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Capabilities: nothing derived is wider than its source

const ACTIONS = ['burn', 'grant-capability', 'introduce', 'seal', 'set-field', 'transfer', 'unseal'];
const caveat: fc.Arbitrary<Caveat> = fc.oneof(
  fc.subarray(ACTIONS, { minLength: 1 }).map((actions) => ({ t: 'actions' as const, actions })),
  fc.integer({ min: 1, max: 5000 }).map((d) => ({ t: 'exp' as const, at: T0 + d })),
  fc.integer({ min: -100, max: 100 }).map((d) => ({ t: 'nbf' as const, at: T0 + d })),
  fc
    .record({ id: fc.constantFrom('0123456789abcdef', 'fedcba9876543210'), max: fc.nat({ max: 1000 }) })
    .map(({ id, max }) => ({ t: 'budget' as const, id, max })),
  fc.nat({ max: 2 }).map((i) => ({ t: 'aud' as const, did: people3[i]!.did })),
);
const caveats = fc.array(caveat, { maxLength: 3 });

const capOp = fc.record({
  kind: fc.constantFrom(
    'grant',
    'grant',
    'introduce',
    'introduce',
    'spawn',
    'pair',
    'seal',
    'unseal',
    'unseal',
  ),
  agent: fc.nat({ max: 2 }),
  acting: fc.nat({ max: 20 }),
  a: fc.nat({ max: 40 }),
  b: fc.nat({ max: 40 }),
  c: fc.nat({ max: 40 }),
  ownership: fc.boolean(),
  revocable: fc.boolean(),
  caveats,
  grants: fc.array(fc.record({ a: fc.nat({ max: 40 }), ownership: fc.boolean(), caveats }), {
    minLength: 1,
    maxLength: 3,
  }),
});

describe('capabilities (property)', () => {
  it('grant, introduce, spawn and seal/unseal never yield a handle wider than its source', async () => {
    let derived = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(capOp, { minLength: 6, maxLength: 16 }), async (ops) => {
        const w = await world({ ed });
        const people = [w.alice, w.bob, w.carol];
        // Anyone may grant into anyone's cell, so handles travel between agents.
        for (const p of people)
          await w.act(p, [
            { type: 'set-permissions', cell: p.cell, permissions: { 'grant-capability': 'anyone' } },
          ]);
        const cells = people.map((p) => p.cell);
        const boxes: { id: string; pair: string; content: Handle }[] = [];
        let salts = 0;
        const clist = (id: string) => w.executor.cell(id)!.clist;
        const check = (result: Handle | undefined, source: Handle) => {
          expect(result).toBeDefined();
          expect(sameTarget(result!.target, source.target)).toBe(true);
          expect(narrows(handleRights(result!), handleRights(source))).toBe(true);
          derived++;
        };

        for (const o of ops) {
          const me = people[o.agent]!;
          const own = cells.filter((id) => w.executor.cell(id)!.owner === me.did);
          const acting = own[o.acting % own.length]!;
          let slots = [...clist(acting).keys()];
          const slotOf = (i: number) => (slots.length === 0 ? undefined : slots[i % slots.length]!);
          const sourceOf = (i: number, ownership: boolean) => {
            const slot = slotOf(i);
            if (ownership || slot === undefined) {
              const cell = own[i % own.length]!;
              return {
                source: { cell },
                handle: { target: { kind: 'cell', id: cell }, caveats: [] } as Handle,
              };
            }
            return { source: { slot }, handle: clist(acting).get(slot)! };
          };
          const act = (effects: Effect[]) => attempt(() => w.act(me, effects, { cell: acting }));

          switch (o.kind) {
            case 'grant': {
              const { source, handle } = sourceOf(o.a, o.ownership);
              const to = cells[o.b % cells.length]!;
              const r = await act([
                { type: 'grant-capability', source, to, caveats: o.caveats, revocable: o.revocable },
              ]);
              if ('ok' in r) check(clist(to).get((r.ok.results[0] as { slot: number }).slot), handle);
              break;
            }
            case 'introduce': {
              // Introduce to a cell the acting cell holds a handle to (mostly; any slot otherwise).
              const toCells = slots.filter((s) => clist(acting).get(s)!.target.kind === 'cell');
              const slot = slotOf(o.a);
              const to = toCells.length > 0 && o.c % 4 !== 0 ? toCells[o.b % toCells.length] : slotOf(o.b);
              if (slot === undefined || to === undefined) break;
              const introduced = clist(acting).get(slot)!;
              const recipient = clist(acting).get(to)!;
              const r = await act([{ type: 'introduce', slot, to, caveats: o.caveats }]);
              if ('ok' in r) check(clist(recipient.target.id).get(r.ok.results[0] as number), introduced);
              break;
            }
            case 'spawn': {
              const sources = o.grants.map((g) => sourceOf(g.a, g.ownership));
              const owner = people[o.c % 3]!.did;
              const r = await act([
                {
                  type: 'spawn-with-delegation',
                  salt: (++salts + 1000).toString(16).padStart(64, '0'),
                  balance: 0n,
                  owner,
                  grants: sources.map((s, i) => ({ source: s.source, caveats: o.grants[i]!.caveats })),
                },
              ]);
              if ('ok' in r) {
                const child = r.ok.results[0] as string;
                cells.push(child);
                expect(clist(child).size).toBe(sources.length);
                for (const [i, s] of sources.entries()) check(clist(child).get(i), s.handle);
              }
              break;
            }
            case 'pair':
              await act([{ type: 'create-seal-pair' }]);
              break;
            case 'seal': {
              const kind = (s: number) => clist(acting).get(s)!.target.kind;
              if (!slots.some((s) => kind(s) === 'sealer')) {
                // A cell with nothing to seal with makes a pair first (its two handles join its c-list).
                if ('code' in (await act([{ type: 'create-seal-pair' }]))) break;
                slots = [...clist(acting).keys()];
              }
              const sealers = slots.filter((s) => kind(s) === 'sealer');
              const slot = slotOf(o.b)!;
              const sealer = sealers[o.a % sealers.length]!;
              const content = clist(acting).get(slot)!;
              const r = await act([{ type: 'seal', sealer, slot, caveats: o.caveats }]);
              if ('ok' in r)
                boxes.push({
                  id: r.ok.results[0] as string,
                  pair: clist(acting).get(sealer)!.target.id,
                  content,
                });
              break;
            }
            case 'unseal': {
              const unsealers = slots.filter((s) => clist(acting).get(s)!.target.kind === 'unsealer');
              if (unsealers.length === 0 || boxes.length === 0) break;
              const pairOf = (s: number) => clist(acting).get(s)!.target.id;
              // Mostly a box this cell can open; sometimes any box (another pair's is refused).
              const openable = boxes.filter((b) => unsealers.some((u) => pairOf(u) === b.pair));
              const pool = openable.length > 0 && o.c % 4 !== 0 ? openable : boxes;
              const box = pool[o.b % pool.length]!;
              const unsealer =
                unsealers.find((u) => pairOf(u) === box.pair) ?? unsealers[o.a % unsealers.length]!;
              const r = await act([{ type: 'unseal', unsealer, box: box.id }]);
              if ('ok' in r) check(clist(acting).get(r.ok.results[0] as number), box.content);
              else expect(box.pair === pairOf(unsealer) && r.code === 'E_DENIED').toBe(false);
              break;
            }
          }
          expectConserved(w);
        }
      }),
      { numRuns: RUNS.small },
    );
    expect(derived).toBeGreaterThan(30);
  }, 120_000); // hundreds of signed turns: slow when the whole suite shares two cores
});

// ---------------------------------------------------------------------------------------------
// Signed turns: once only, and unalterable

describe('signed turns (property)', () => {
  it('a replay is stale, and no alteration of any byte of the encoding is ever accepted', async () => {
    const w = await world({ ed });
    const { alice, bob } = w;
    const effects: Effect[] = [
      { type: 'set-field', cell: alice.cell, key: 'blob', value: new Uint8Array([9, 8, 7]) },
      { type: 'transfer', from: alice.cell, to: bob.cell, amount: 25n },
      { type: 'create-cell', salt: saltOf(42), balance: 10n, owner: bob.did },
      {
        type: 'grant-capability',
        source: { cell: alice.cell },
        to: '$2',
        caveats: [
          { t: 'actions', actions: ['set-field', 'transfer'] },
          { t: 'exp', at: T0 + 900 },
        ],
        revocable: true,
      },
      { type: 'emit-event', topic: 'made', data: 12345 },
      { type: 'create-obligation', from: alice.cell, to: bob.cell, amount: 5n, due: T0 + 100 },
    ];
    const turn = await w.turn(alice, effects, { fee: 2n });
    const bytes = encodeTurn(turn);
    expect(encodeTurn(decodeTurn(bytes))).toEqual(bytes);
    const before = snapshot(w);

    const tampered = async (b: Uint8Array) => {
      let t: Turn;
      try {
        t = decodeTurn(b);
      } catch (e) {
        expect(isDreggError(e, 'E_DECODE') || isDreggError(e, 'E_INVALID')).toBe(true);
        return;
      }
      expect(await codeOf(w.executor.submit(t))).toBe('E_BAD_SIGNATURE');
    };
    // Every byte, with three patterns; then random patterns anywhere.
    for (let i = 0; i < bytes.length; i++) {
      for (const x of [0x01, 0x80, 0xff]) {
        const b = bytes.slice();
        b[i]! ^= x;
        await tampered(b);
      }
    }
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), async (i, x) => {
        const b = bytes.slice();
        b[i]! ^= x;
        await tampered(b);
      }),
      { numRuns: 200 },
    );
    expect(snapshot(w)).toEqual(before);

    // The genuine bytes are accepted once; every replay afterwards is stale.
    await w.executor.submit(decodeTurn(bytes));
    const after = snapshot(w);
    expect(await codeOf(w.executor.submit(turn))).toBe('E_STALE');
    expect(await codeOf(w.executor.submit(decodeTurn(bytes)))).toBe('E_STALE');
    await w.act(bob, [{ type: 'set-field', cell: bob.cell, key: 'x', value: 1 }]);
    await w.act(alice, [{ type: 'set-field', cell: alice.cell, key: 'x', value: 2 }]);
    expect(await codeOf(w.executor.submit(turn))).toBe('E_STALE');
    expect(snapshot(w).supply).toEqual(after.supply);
    expectConserved(w);
  });

  it('a turn that leaves optional fields out decodes to the bytes it was signed as, and is accepted', async () => {
    // A federation orders turns as bytes and each member decodes them: a decoder that filled in a
    // default (a created cell's balance as 0) re-encoded other bytes, and the signature broke.
    const w = await world({ ed });
    const { alice, bob } = w;
    const turn = await w.turn(alice, [
      { type: 'create-cell', salt: saltOf(43) },
      {
        type: 'spawn-with-delegation',
        salt: saltOf(44),
        grants: [{ source: { cell: alice.cell }, caveats: [] }],
      },
      { type: 'set-field', cell: alice.cell, key: 'k', value: 1 },
      { type: 'transfer', from: alice.cell, to: bob.cell, amount: 1n },
    ]);
    const bytes = encodeTurn(turn);
    const decoded = decodeTurn(bytes);
    expect(encodeTurn(decoded)).toEqual(bytes);
    expect(decoded.effects[0]).not.toHaveProperty('balance', 0n);
    await w.executor.submit(decoded);
    expectConserved(w);
  });

  it('a turn whose agent is no Ed25519 key is invalid on the wire and unsigned at submit', async () => {
    const w = await world({ ed });
    const turn = await w.turn(w.alice, [{ type: 'set-field', cell: w.alice.cell, key: 'k', value: 1 }]);
    // The right shape, but 0xff... is no point's canonical encoding.
    const notAKey = didKeyFromEd25519(new Uint8Array(32).fill(0xff));
    const forged: Turn = { ...turn, agent: notAKey };
    expect(await codeOf(() => decodeTurn(encodeTurn(forged)))).toBe('E_INVALID');
    expect(await codeOf(w.executor.submit(forged))).toBe('E_BAD_SIGNATURE');
  });

  it('a turn signed for one cell nonce or receipt head is refused once either moves on (E_STALE)', async () => {
    const w = await world({ ed });
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: 3 }), async (k) => {
        // k turns signed against the current head; only the first submitted is accepted.
        const effects: Effect[] = [{ type: 'set-field', cell: w.alice.cell, key: 'k', value: k }];
        const turns = await Promise.all(
          Array.from({ length: k + 2 }, (_, i) => w.turn(w.alice, effects, { fee: BigInt(i) })),
        );
        await w.executor.submit(turns[k]!);
        for (const t of turns) expect(await codeOf(w.executor.submit(t))).toBe('E_STALE');
        expectConserved(w);
      }),
      { numRuns: 8 },
    );
  });
});

/**
 * Rings of 2 to 6 found and settled end to end through one real relay (its desk searches up to 6),
 * an agent whose two intents fall into two rings (the second waits for the first: their escrows
 * would collide), and the property that settling whatever the solver chose conserves every computron
 * and gives each participant exactly what it wanted.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { nobleEd25519 as ed, ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { type IntentClient, intentClient, type Participant } from '../../src/intents/client.ts';
import { type Intent, intentId, signIntent } from '../../src/intents/intent.ts';
import type { ExchangeItem } from '../../src/intents/items.ts';
import {
  escrowCommitment,
  escrowTurn,
  openSettlement,
  ringPayments,
  signCommitment,
} from '../../src/intents/settle.ts';
import { chooseRings, findRings } from '../../src/intents/solver.ts';
import type { RingView } from '../../src/intents/wire.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import type { Relay } from '../../src/node/relay/relay.ts';
import { createExecutor } from '../../src/turns/executor.ts';
import { person, saltOf, tempHome, testRelay } from '../relay/fixtures.ts';
import { seedOf, T0 } from '../turns/fixtures.ts';
import { ringTerms, until } from './fixtures.ts';

let home: ReturnType<typeof tempHome>;
let relay: Relay;
let client: RelayClient;
let desk: IntentClient;

beforeAll(async () => {
  home = tempHome();
  relay = await testRelay(home.dir, {
    intents: { zones: ['ring2', 'ring5', 'ring6', 'twice'], ringSeconds: 60, solveDelayMs: 20 },
  });
  client = await connectRelay(relay.multiaddrs.filter((m) => m.includes('/ws')));
  desk = intentClient(client.call, ed);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await relay?.stop();
  home?.remove();
});

async function trader(i: number): Promise<Participant> {
  const p = person(i);
  return { ...p, cell: (await client.openCell(p.did, saltOf(i))).id };
}

let nonce = 0;
const post = async (p: Participant, zone: string, offers: ExchangeItem[], wants: ExchangeItem[]) => {
  const intent = await signIntent(
    { zone, offers, wants, expires: Math.floor(Date.now() / 1000) + 600 },
    p.seed,
    new Uint8Array(16).fill(++nonce),
    ed,
  );
  await desk.post(intent);
  return intent;
};

const balance = async (p: Participant) => (await client.cell(p.cell))!.balance;

/** The ring holding exactly `intents`, as `p` reads it, once it is in `phase` (any when absent). */
const ringOf = (p: Participant, intents: readonly Intent[], phase?: string) =>
  until(`a ring${phase ? ` ${phase}` : ''}`, async () => {
    const ids = new Set(intents.map(intentId));
    const r = (await desk.rings(p.did)).find(
      (x) => x.ring.legs.length === ids.size && x.ring.legs.every((l) => ids.has(l.from)),
    );
    return r !== undefined && (phase === undefined || r.state.phase === phase) ? r : undefined;
  });

/** Every participant of `ring` commits (in order) and then reveals, as a wallet does. */
async function approveAll(ring: RingView, intents: readonly Intent[], people: readonly Participant[]) {
  const pledges = [];
  for (const [k, p] of people.entries())
    pledges.push(
      await desk.commit(ring, intentId(intents[k]!), p, {
        ledger: client.info.ledger,
        cell: (await client.cell(p.cell))!,
        head: await client.head(p.did),
      }),
    );
  for (const pledge of pledges) await desk.reveal(pledge);
}

describe('rings of every length through one relay', () => {
  it('a 2-ring, a 5-ring and a 6-ring are found and settled; each participant gets what it wanted', async () => {
    for (const [n, base] of [
      [2, 100],
      [5, 110],
      [6, 120],
    ] as const) {
      const zone = `ring${n}`;
      const people = await Promise.all(Array.from({ length: n }, (_, k) => trader(base + k)));
      const terms = ringTerms(n);
      const before = await Promise.all(people.map(balance));
      const intents = [];
      for (const [k, p] of people.entries())
        intents.push(await post(p, zone, terms[k]!.offers, terms[k]!.wants));
      const ring = await ringOf(people[0]!, intents);
      expect(ring.ring.legs).toHaveLength(n);
      await approveAll(ring, intents, people);
      const done = await ringOf(people[n - 1]!, intents, 'settled');
      expect(done.state.phase).toBe('settled');
      // Person k paid what person k+1 wanted and received what it wanted itself.
      const after = await Promise.all(people.map(balance));
      after.forEach((b, k) => {
        expect(b - before[k]!).toBe(terms[(k + n - 1) % n]!.pays - terms[k]!.pays);
      });
    }
    expect((await relay.notary.audit()).delta).toBe(0n);
  }, 120_000);

  it('an agent in two rings at once: the second ring waits for the first to end, then both settle', async () => {
    // A trades with B and, with another intent, with C. A's two escrows would name the same chain
    // head and cell nonce, so the desk opens one ring and keeps the other's intents in the pool.
    const [a, b, c] = await Promise.all([trader(130), trader(131), trader(132)]);
    // Four pairs of an antichain (`ringTerms`): an offer covers only its own pair, so the only rings
    // are a1 <-> b1 and a2 <-> c1.
    const pair = ringTerms(4).map((t) => t.offers);
    const before = await Promise.all([a, b, c].map(balance));
    const a1 = await post(a, 'twice', pair[0]!, pair[1]!);
    const b1 = await post(b, 'twice', pair[1]!, pair[0]!);
    const a2 = await post(a, 'twice', pair[2]!, pair[3]!);
    const c1 = await post(c, 'twice', pair[3]!, pair[2]!);
    const whose = new Map([
      [intentId(a1), { p: a, i: a1 }],
      [intentId(b1), { p: b, i: b1 }],
      [intentId(a2), { p: a, i: a2 }],
      [intentId(c1), { p: c, i: c1 }],
    ]);
    const settle = async (ring: RingView) => {
      const parts = ring.ring.legs.map((l) => whose.get(l.from)!);
      await approveAll(
        ring,
        parts.map((x) => x.i),
        parts.map((x) => x.p),
      );
      return ringOf(
        parts[0]!.p,
        parts.map((x) => x.i),
        'settled',
      );
    };

    const first = await until('the first ring', async () => (await desk.rings(a.did))[0]);
    await new Promise((r) => setTimeout(r, 300)); // solving again would not open the second
    expect(await desk.rings(a.did)).toHaveLength(1);
    expect((await desk.list('twice')).map((o) => o.id).sort()).toEqual(
      [...whose.keys()].filter((id) => !first.ring.legs.some((l) => l.from === id)).sort(),
    );
    await settle(first);
    // The first ring ended: the desk solves again and opens the second.
    const second = await until('the second ring', async () =>
      (await desk.rings(a.did)).find((r) => r.id !== first.id),
    );
    expect(second.state.phase).toBe('committing');
    await settle(second);
    // A paid 110 and 102, received 106 and 98; B and C each gained 4.
    const after = await Promise.all([a, b, c].map(balance));
    expect(after.map((x, k) => x - before[k]!)).toEqual([-8n, 4n, 4n]);
  }, 60_000);
});

describe('settlement conserves every item', () => {
  it('property: settling every ring the solver chose moves no computron out of existence and pays each participant what it wanted', async () => {
    let settled = 0;
    const amounts = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 2 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ offers: amounts, wants: amounts }), { minLength: 2, maxLength: 6 }),
        async (terms) => {
          const clock = manualClock(T0 * 1000);
          const executor = await createExecutor({ ed, clock, seed: seedOf(200), federation: 'home' });
          const coin = (n: number): ExchangeItem => ({ kind: 'computrons', amount: BigInt(n) });
          const parties = await Promise.all(
            terms.map(async (_, k) => {
              const seed = seedOf(k + 1);
              const did = didKeyFromEd25519(ed25519PublicKey(seed));
              return { did, seed, cell: (await executor.genesis(did, saltOf(k + 1), 1000n)).id };
            }),
          );
          const coordinatorSeed = seedOf(99);
          const coordinatorDid = didKeyFromEd25519(ed25519PublicKey(coordinatorSeed));
          const coordinator = {
            did: coordinatorDid,
            seed: coordinatorSeed,
            cell: (await executor.genesis(coordinatorDid, saltOf(99), 0n)).id,
          };
          const intents = await Promise.all(
            terms.map((t, k) =>
              signIntent(
                { zone: 'market', offers: t.offers.map(coin), wants: t.wants.map(coin), expires: T0 + 3600 },
                parties[k]!.seed,
                new Uint8Array(16).fill(k),
                ed,
              ),
            ),
          );
          const byId = new Map(intents.map((i) => [intentId(i), i]));
          const partyOf = new Map(intents.map((i, k) => [intentId(i), parties[k]!]));
          const held = () => executor.audit();
          const total = () => parties.reduce((sum, p) => sum + executor.cell(p.cell)!.balance, 0n);
          const before = total();
          const expected = new Map(parties.map((p) => [p.cell, 1000n]));
          const { rings } = findRings(
            [...byId].map(([id, intent]) => ({ id, intent })),
            { now: T0, maxLength: 6 },
          );
          for (const ring of chooseRings(rings)) {
            const s = await openSettlement(ring, byId, {
              ledger: executor,
              coordinator,
              ed,
              deadline: T0 + 600,
            });
            const reveals = [];
            for (const [id, owed] of s.owed) {
              const p = partyOf.get(id)!;
              const turn = await escrowTurn(p, executor, s, owed, ed);
              const salt = new Uint8Array(32).fill(reveals.length + 1);
              reveals.push({ id, turn, salt });
              await s.commit(
                await signCommitment(
                  { ring: s.id, intent: id, cell: p.cell, commitment: escrowCommitment(turn, salt) },
                  p.seed,
                  ed,
                ),
              );
            }
            let escrowed = 0n;
            for (const r of reveals) {
              await s.reveal(r.id, r.turn, r.salt);
              if (s.state().phase === 'revealing') {
                // Whatever is escrowed is held, not lost: balances plus escrow are what they were.
                escrowed += s.owed.get(r.id)!;
                expect(total() + escrowed).toBe(before);
              }
            }
            expect(s.state().phase).toBe('settled');
            settled++;
            expect(executor.cell(s.escrowCell)!.balance).toBe(0n);
            // Each participant paid what its receiver wanted and received every want of its own.
            const paid = ringPayments(ring, byId);
            for (const leg of ring.legs) {
              const from = partyOf.get(leg.from)!;
              const to = byId.get(leg.to)!;
              const gives = leg.gives.map((g) => to.wants[g.want]!);
              expect(gives).toHaveLength(to.accept);
              const got = gives.reduce((sum, w) => sum + (w.kind === 'computrons' ? w.amount : 0n), 0n);
              const receiver = partyOf.get(leg.to)!;
              expected.set(receiver.cell, expected.get(receiver.cell)! + got);
              expected.set(from.cell, expected.get(from.cell)! - paid.get(leg.from)!);
            }
          }
          for (const p of parties) expect(executor.cell(p.cell)!.balance).toBe(expected.get(p.cell));
          expect(total()).toBe(before);
          expect(held().held).toBe(held().expected);
        },
      ),
      { numRuns: 30 },
    );
    expect(settled).toBeGreaterThan(0); // the pools did form rings
  }, 120_000);
});

/**
 * The relay's intent desk over the network: a real relay in this process (SQLite, libp2p on loopback),
 * real clients. Posting and its refusals, listing, withdrawing, the relay finding a ring and
 * coordinating it to a settled receipt, a no-show refunded at the cutoff, a short escrow blamed, an
 * expired intent never matched, and intents gossiped to a second relay serving the zone.
 */
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nobleEd25519 as ed } from '../../src/crypto/ed25519.ts';
import { type IntentClient, intentClient, type Participant } from '../../src/intents/client.ts';
import { intentId, signIntent } from '../../src/intents/intent.ts';
import type { ExchangeItem } from '../../src/intents/items.ts';
import { escrowCommitment, signCommitment } from '../../src/intents/settle.ts';
import {
  commitmentSalt,
  decodeRingList,
  encodeCommitment,
  encodeReveal,
  encodeRingQuery,
  type RingView,
} from '../../src/intents/wire.ts';
import { intentTopic } from '../../src/intents/zones.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import { INTENT_OPS } from '../../src/net/contract.ts';
import type { Relay } from '../../src/node/relay/relay.ts';
import { encodeTurn, signTurn } from '../../src/turns/turn.ts';
import { codeOf } from '../caps/fixtures.ts';
import { person, saltOf, tempHome, testRelay } from '../relay/fixtures.ts';
import { until } from './fixtures.ts';

let home: ReturnType<typeof tempHome>;
let relay: Relay;
let client: RelayClient;
let desk: IntentClient;

const ZONES = ['settle', 'noshow', 'blame', 'expiry', 'quota', 'other', 'gossip'];

beforeAll(async () => {
  home = tempHome();
  relay = await testRelay(home.dir, {
    intents: { zones: ZONES, ringSeconds: 3, graceSeconds: 30, perAgent: 3, solveDelayMs: 20 },
  });
  client = await connectRelay(relay.multiaddrs.filter((m) => m.includes('/ws')));
  desk = intentClient(client.call, ed);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await relay?.stop();
  home?.remove();
});

const now = () => Math.floor(Date.now() / 1000);
const computrons = (n: number): ExchangeItem => ({ kind: 'computrons', amount: BigInt(n) });
let nonce = 0;

async function trader(i: number): Promise<Participant> {
  const p = person(i);
  const cell = await client.openCell(p.did, saltOf(i));
  return { ...p, cell: cell.id };
}

async function post(p: Participant, zone: string, offer: number, want: ExchangeItem, expires = now() + 600) {
  const intent = await signIntent(
    { zone, offers: [computrons(offer)], wants: [want], expires },
    p.seed,
    new Uint8Array(16).fill(++nonce),
    ed,
  );
  expect(await desk.post(intent)).toBe(intentId(intent));
  return intent;
}

const ringOf = (p: Participant) =>
  until('a ring', async () => (await desk.rings(p.did))[0] as RingView | undefined, 20_000);

const balance = async (p: Participant) => (await client.cell(p.cell))!.balance;

/** A ring A -> B -> C: A offers 10 and wants 30, B offers 20 and wants 10, C offers 30 and wants 20. */
async function threeRing(zone: string, base: number) {
  const [a, b, c] = await Promise.all([trader(base), trader(base + 1), trader(base + 2)]);
  const ia = await post(a, zone, 10, computrons(30));
  const ib = await post(b, zone, 20, computrons(10));
  const ic = await post(c, zone, 30, computrons(20));
  return { people: [a, b, c] as const, ids: [intentId(ia), intentId(ib), intentId(ic)] };
}

describe('the relay intent desk', () => {
  it('posting: bad bytes, foreign zones, expiry and quotas are refused with typed errors; list and withdraw', async () => {
    const p = await trader(1);
    expect(await codeOf(client.call(INTENT_OPS.post, new Uint8Array([1, 2, 3])))).toBe('E_DECODE');
    const foreign = await signIntent(
      { zone: 'elsewhere', offers: [computrons(1)], wants: [computrons(1)], expires: now() + 60 },
      p.seed,
      new Uint8Array(16),
      ed,
    );
    expect(await codeOf(desk.post(foreign))).toBe('E_UNSUPPORTED');
    const late = await signIntent(
      { zone: 'quota', offers: [computrons(1)], wants: [computrons(1)], expires: now() - 1 },
      p.seed,
      new Uint8Array(16),
      ed,
    );
    expect(await codeOf(desk.post(late))).toBe('E_EXPIRED');
    // perAgent is 3: a fourth open intent is refused. Wants no offer here meets: nothing matches.
    const posted = [];
    for (let i = 0; i < 3; i++)
      posted.push(await post(p, 'quota', 1, { kind: 'asset', asset: 'gold', amount: 5n }));
    expect(await codeOf(post(p, 'quota', 1, computrons(1)))).toBe('E_QUOTA');
    expect((await desk.list('quota')).map((o) => o.id).sort()).toEqual(posted.map(intentId).sort());
    // Posting the same intent again is the same post.
    expect(await desk.post(posted[0]!)).toBe(intentId(posted[0]!));

    const other = person(2);
    expect(await codeOf(desk.withdraw(intentId(posted[0]!), other.seed))).toBe('E_BAD_SIGNATURE');
    await desk.withdraw(intentId(posted[0]!), p.seed);
    expect((await desk.list('quota')).map((o) => o.id)).not.toContain(intentId(posted[0]!));
    expect(await codeOf(desk.withdraw(intentId(posted[0]!), p.seed))).toBe('E_STALE');
    expect(await codeOf(desk.post(posted[0]!))).toBe('E_STALE');
  }, 60_000);

  it('a 3-ring found by the relay settles in one receipt; balances move as promised; everyone reads it', async () => {
    const { people, ids } = await threeRing('settle', 10);
    const [a, b] = people;
    const before = await Promise.all(people.map(balance));
    const ring = await ringOf(a);
    expect(ring.ring.legs.map((l) => l.from).sort()).toEqual([...ids].sort());
    expect([...ring.owed.values()].sort()).toEqual([10n, 20n, 30n]);
    expect(ring.state).toEqual({ phase: 'committing', committed: 0 });
    expect(await desk.list('settle')).toEqual([]); // matched intents left the pool

    const pledges = [];
    for (const [i, p] of people.entries()) {
      const cell = (await client.cell(p.cell))!;
      pledges.push(
        await desk.commit(ring, ids[i]!, p, {
          ledger: client.info.ledger,
          cell,
          head: await client.head(p.did),
        }),
      );
    }
    // A reveal before everyone committed would have shown an escrow early; the ring is now revealing.
    expect((await ringOf(b)).state).toEqual({ phase: 'revealing', escrowed: 0 });
    for (const pledge of pledges) await desk.reveal(pledge);

    for (const p of people) {
      const seen = await ringOf(p);
      expect(seen.state.phase).toBe('settled');
      if (seen.state.phase === 'settled') expect(seen.state.receipt.agent).toBe(seen.coordinator);
    }
    const after = await Promise.all(people.map(balance));
    // A pays 10 and gets 30; B pays 20 and gets 10; C pays 30 and gets 20.
    expect(after.map((x, i) => x - before[i]!)).toEqual([20n, -10n, -10n]);
    expect((await relay.notary.audit()).delta).toBe(0n);
  }, 60_000);

  it('a participant who never commits: at the cutoff the ring aborts and the escrows already in go back', async () => {
    const { people, ids } = await threeRing('noshow', 20);
    const [a, b] = people;
    const before = await Promise.all(people.map(balance));
    const ring = await ringOf(a);
    for (const [i, p] of [a, b].entries()) {
      const cell = (await client.cell(p.cell))!;
      await desk.commit(ring, ids[i]!, p, {
        ledger: client.info.ledger,
        cell,
        head: await client.head(p.did),
      });
    }
    expect((await ringOf(a)).state).toEqual({ phase: 'committing', committed: 2 });
    const done = await until(
      'the abort',
      async () => {
        const r = await ringOf(b);
        return r.state.phase === 'aborted' ? r : undefined;
      },
      20_000,
    );
    expect(done.state).toMatchObject({ phase: 'aborted', reason: expect.stringMatching(/deadline/) });
    expect(await Promise.all(people.map(balance))).toEqual(before);
  }, 60_000);

  it('a participant who escrows less than promised aborts the ring, is named with its commitment, and everyone is refunded', async () => {
    const { people, ids } = await threeRing('blame', 30);
    const [a, b, c] = people;
    const before = await Promise.all(people.map(balance));
    const ring = await ringOf(a);
    const pledges = [];
    for (const [i, p] of [a, b].entries()) {
      const cell = (await client.cell(p.cell))!;
      pledges.push(
        await desk.commit(ring, ids[i]!, p, {
          ledger: client.info.ledger,
          cell,
          head: await client.head(p.did),
        }),
      );
    }
    // C commits to an escrow of 1 computron instead of the 30 it owes.
    const cCell = (await client.cell(c.cell))!;
    const head = await client.head(c.did);
    const short = await signTurn(
      {
        ledger: client.info.ledger,
        agent: c.did,
        cell: c.cell,
        nonce: cCell.nonce,
        prev: head.prev,
        effects: [
          { type: 'create-obligation', from: c.cell, to: ring.escrowCell, amount: 1n, due: ring.deadline },
        ],
        fee: 0n,
        validUntil: ring.deadline,
      },
      c.seed,
      ed,
    );
    const salt = commitmentSalt();
    const signed = await signCommitment(
      { ring: ring.id, intent: ids[2]!, cell: c.cell, commitment: escrowCommitment(short, salt) },
      c.seed,
      ed,
    );
    await client.call(INTENT_OPS.commit, encodeCommitment(signed));
    await desk.reveal(pledges[0]!);
    expect(
      await codeOf(
        client.call(
          INTENT_OPS.reveal,
          encodeReveal({ ring: ring.id, intent: ids[2]!, turn: encodeTurn(short), salt }),
        ),
      ),
    ).toBe('E_INSUFFICIENT');
    const seen = decodeRingList(await client.call(INTENT_OPS.rings, encodeRingQuery(a.did)))[0]!;
    expect(seen.state).toMatchObject({
      phase: 'aborted',
      blame: { intent: ids[2], agent: c.did, code: 'E_INSUFFICIENT' },
    });
    if (seen.state.phase === 'aborted') {
      expect(seen.state.blame!.commitment).toEqual(signed);
      expect(seen.state.refund?.agent).toBe(seen.coordinator);
    }
    // B's reveal comes too late: the ring is over.
    expect(await codeOf(desk.reveal(pledges[1]!))).toBe('E_STALE');
    expect(await Promise.all(people.map(balance))).toEqual(before);
  }, 60_000);

  it('an intent that expires is never matched', async () => {
    const [a, b] = await Promise.all([trader(40), trader(41)]);
    const soon = await post(a, 'expiry', 10, computrons(10), now() + 2);
    await new Promise((r) => setTimeout(r, 3000));
    await post(b, 'expiry', 10, computrons(10));
    await new Promise((r) => setTimeout(r, 500));
    expect(await desk.rings(a.did)).toEqual([]);
    expect(await desk.rings(b.did)).toEqual([]);
    expect((await desk.list('expiry')).map((o) => o.id)).not.toContain(intentId(soon));
  }, 60_000);

  it('intents gossip to a second relay serving the zone, and not to one that does not', async () => {
    const home2 = tempHome();
    const home3 = tempHome();
    const serving = await testRelay(home2.dir, { intents: { zones: ['gossip'] } });
    const elsewhere = await testRelay(home3.dir, { intents: { zones: ['other'] } });
    const ws = (r: Relay) => r.multiaddrs.filter((m) => m.includes('/ws'));
    const c2 = await connectRelay(ws(serving));
    const c3 = await connectRelay(ws(elsewhere));
    try {
      for (const r of [serving, elsewhere]) await r.node.dial(multiaddr(ws(relay)[0]!));
      // Subscriptions are exchanged on connection: once ours knows the serving relay's, a post reaches it.
      await until(
        'the subscription',
        async () =>
          relay.node.services.pubsub
            .getSubscribers(intentTopic('gossip'))
            .some((p) => p.toString() === serving.peerId)
            ? true
            : undefined,
        20_000,
      );
      const p = await trader(50);
      const intent = await post(p, 'gossip', 1, { kind: 'asset', asset: 'gold', amount: 1n });
      const heard = await until(
        'gossip',
        async () => {
          const there = await intentClient(c2.call, ed).list('gossip');
          return there.length > 0 ? there : undefined;
        },
        20_000,
      );
      expect(heard.map((o) => o.id)).toEqual([intentId(intent)]);
      expect(relay.node.services.pubsub.getSubscribers(intentTopic('gossip')).map(String)).not.toContain(
        elsewhere.peerId,
      );
      expect(await codeOf(intentClient(c3.call, ed).list('gossip'))).toBe('E_UNSUPPORTED');
    } finally {
      await c2.close();
      await c3.close();
      await serving.stop();
      await elsewhere.stop();
      home2.remove();
      home3.remove();
    }
  }, 90_000);
});

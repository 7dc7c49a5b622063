/**
 * A non-computron ring through a real `dregg relay` child process: A pays computrons to B, B gives C
 * a capability to its vault, C gives A units of its GPU service. The relay is SIGKILLed after two of
 * three reveals and started again on the same home. One ring then gets its last reveal and settles
 * once — each receiver can use exactly what it wanted through the relay's ledger, nothing more; the
 * other never does and is refunded at its cutoff once — the escrowed grant dropped, nobody holding a
 * handle, every balance as before. The operator's audit finds the supply balanced.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Caveat } from '../../src/caps/caveats.ts';
import { handleRights } from '../../src/caps/handle.ts';
import { nobleEd25519 as ed } from '../../src/crypto/ed25519.ts';
import { type IntentClient, intentClient, type Pledge } from '../../src/intents/client.ts';
import { serviceBudgetId } from '../../src/intents/escrow.ts';
import { intentId, signIntent } from '../../src/intents/intent.ts';
import type { ExchangeItem } from '../../src/intents/items.ts';
import type { RingView } from '../../src/intents/wire.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import { type SpawnedRelay, spawnRelay } from '../../src/node/relay/spawn.ts';
import type { Effect } from '../../src/turns/effects.ts';
import { codeOf } from '../caps/fixtures.ts';
import { type Person, person, saltOf, tempHome, turnOn } from '../relay/fixtures.ts';
import { expectRefundedAtCutoff, until } from './fixtures.ts';

const DREGG = join(import.meta.dirname, '../../bin/dregg.js');
/** Long enough to set both rings up and restart the relay before the cutoff; the refund waits for it. */
const RING_SECONDS = 20;

interface Party extends Person {
  /** Where it pays from and receives into. */
  readonly cell: string;
  /** What its capability designates (its vault, its service cell). */
  readonly own: string;
}

interface Session {
  relay: SpawnedRelay;
  client: RelayClient;
  desk: IntentClient;
}

const home = tempHome();
let s: Session;

async function start(): Promise<Session> {
  const relay = await spawnRelay({
    home: home.dir,
    args: ['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--grant', '1000', '--json'],
    env: { DREGG_RELAY_ZONES: 'settle,refund', DREGG_RELAY_RING_SECONDS: String(RING_SECONDS) },
  });
  const client = await connectRelay(relay.ready.multiaddrs);
  return { relay, client, desk: intentClient(client.call, ed) };
}

beforeAll(async () => {
  s = await start();
}, 60_000);

afterAll(async () => {
  await s?.client.close().catch(() => undefined);
  await s?.relay.stop();
  home.remove();
});

const act = async (p: Person, cell: string, effects: Effect[]) =>
  s.client.submitTurn(await turnOn(s.client, p, cell, effects));

async function party(i: number, fields: Record<string, string> = {}): Promise<Party> {
  const p = person(i);
  const cell = (await s.client.openCell(p.did, saltOf(i))).id;
  const own = (await s.client.openCell(p.did, saltOf(100 + i))).id;
  const set: Effect[] = Object.entries(fields).map(([key, value]) => ({
    type: 'set-field',
    cell: own,
    key,
    value,
  }));
  if (set.length > 0) await act(p, own, set);
  return { ...p, cell, own };
}

const actions = (...a: string[]): Caveat => ({ t: 'actions', actions: [...a].sort() });
const budget = (max: number): Caveat => ({ t: 'budget', id: '0123456789abcdef', max });

/** What each of A, B, C offers, and what the next one wants of it. */
const TERMS: { offer: ExchangeItem; want: ExchangeItem }[] = [
  { offer: { kind: 'computrons', amount: 50n }, want: { kind: 'computrons', amount: 40n } },
  {
    offer: { kind: 'capability', caveats: [actions('set-field', 'transfer'), budget(100)] },
    want: { kind: 'capability', caveats: [actions('transfer'), budget(30)] },
  },
  {
    offer: { kind: 'service', service: 'gpu', units: 5 },
    want: { kind: 'service', service: 'gpu', units: 3 },
  },
];

/** A, B and C post the 3-ring in `zone`, the relay finds it, and all three commit (B and C give from `own`). */
async function committedRing(zone: string, base: number) {
  const people = [await party(base), await party(base + 1), await party(base + 2, { service: 'gpu' })];
  const intents = await Promise.all(
    people.map((p, i) =>
      signIntent(
        { zone, offers: [TERMS[i]!.offer], wants: [TERMS[(i + 2) % 3]!.want], expires: now() + 600 },
        p.seed,
        new Uint8Array(16).fill(base),
        ed,
      ),
    ),
  );
  for (const intent of intents) await s.desk.post(intent);
  const ring = await ringOf(people[0]!);
  const pledges: Pledge[] = [];
  for (const [i, p] of people.entries())
    pledges.push(
      await s.desk.commit(
        ring,
        intentId(intents[i]!),
        p,
        {
          ledger: s.client.info.ledger,
          cell: (await s.client.cell(p.cell))!,
          head: await s.client.head(p.did),
        },
        i === 0 ? [] : [{ cell: p.own }],
      ),
    );
  return { people, ring, pledges };
}

const now = () => Math.floor(Date.now() / 1000);

const ringOf = (p: Person, ok: (r: RingView) => boolean = () => true, ms?: number) =>
  until(
    'the ring',
    async () => {
      const r = (await s.desk.rings(p.did))[0];
      return r !== undefined && ok(r) ? r : undefined;
    },
    ms,
  );

const cellOf = async (id: string) => (await s.client.cell(id))!;
const handles = async (id: string) => [...(await cellOf(id)).clist.values()];
/** Every cell's balance, asked one at a time (a relay answers a peer at most 8 calls at once). */
async function balances(people: readonly Party[]): Promise<bigint[]> {
  const out: bigint[] = [];
  for (const p of people) for (const id of [p.cell, p.own]) out.push((await cellOf(id)).balance);
  return out;
}

describe('a ring of computrons, a capability and a service through a relay killed mid-ring', () => {
  it('settles on its last reveal after the restart, refunds the other at its cutoff, each exactly once', async () => {
    const settling = await committedRing('settle', 10);
    const refunding = await committedRing('refund', 20);
    const [a, b, c] = settling.people;
    const before = await balances([...settling.people, ...refunding.people]);
    for (const r of [settling, refunding]) {
      await s.desk.reveal(r.pledges[0]!);
      await s.desk.reveal(r.pledges[1]!);
    }
    // B's capability now lies in each ring's escrow cell; A's computrons are locked.
    expect(await handles(refunding.ring.escrowCell)).toHaveLength(1);
    expect((await cellOf(a!.cell)).balance).toBe(before[0]! - 40n);

    await s.relay.kill();
    await s.client.close().catch(() => undefined);
    s = await start();
    expect((await ringOf(a!)).state).toEqual({ phase: 'revealing', escrowed: 2 });
    await s.desk.reveal(settling.pledges[2]!);
    const settled = await ringOf(c!, (r) => r.state.phase === 'settled');
    expect(settled.escrowed).toHaveLength(3);
    // A repeated reveal after the fact changes nothing.
    expect(await codeOf(s.desk.reveal(settling.pledges[2]!))).toMatch(/^E_(EXISTS|STALE)$/);

    // Computrons moved once; the escrow cell keeps nothing.
    const after = await balances(settling.people);
    expect(after.map((x, i) => x - before[i]!)).toEqual([-40n, 0n, 40n, 0n, 0n, 0n]);
    expect(await handles(settled.escrowCell)).toEqual([]);

    // C holds exactly one handle to B's vault: transfer only, 30 computrons in all.
    const [slotC, held] = [...(await cellOf(c!.cell)).clist][0]!;
    expect(held.target).toEqual({ kind: 'cell', id: b!.own });
    expect(await handles(c!.cell)).toHaveLength(1);
    const via = { slot: slotC };
    await act(c!, c!.cell, [{ type: 'transfer', from: b!.own, to: c!.cell, amount: 20n, via }]);
    expect(
      await codeOf(act(c!, c!.cell, [{ type: 'transfer', from: b!.own, to: c!.cell, amount: 11n, via }])),
    ).toBe('E_BUDGET');
    expect(
      await codeOf(act(c!, c!.cell, [{ type: 'set-field', cell: b!.own, key: 'k', value: 1, via }])),
    ).toBe('E_DENIED');

    // A holds exactly one handle to C's GPU cell: requests only, metered under gpu's budget, 3 units.
    const aHandles = await handles(a!.cell);
    expect(aHandles).toHaveLength(1);
    const [slotA, gpu] = [...(await cellOf(a!.cell)).clist][0]!;
    expect(gpu.target).toEqual({ kind: 'cell', id: c!.own });
    expect([...(handleRights(gpu).actions as Set<string>)]).toEqual(['pipelined-send']);
    expect(gpu.caveats).toContainEqual({ t: 'budget', id: serviceBudgetId('gpu'), max: 3 });
    await act(a!, a!.cell, [
      { type: 'pipelined-send', to: c!.own, topic: 'gpu', data: 'job', via: { slot: slotA } },
    ]);
    expect(
      await codeOf(
        act(a!, a!.cell, [{ type: 'transfer', from: c!.own, to: a!.cell, amount: 1n, via: { slot: slotA } }]),
      ),
    ).toBe('E_DENIED');

    // The other ring: its last reveal never comes. At the cutoff it opened with, it is refunded.
    const aborted = await ringOf(
      refunding.people[0]!,
      (r) => r.state.phase === 'aborted',
      (RING_SECONDS + 20) * 1000,
    );
    expectRefundedAtCutoff(aborted, refunding.ring.cutoff);
    // The escrowed grant is dropped, nobody holds a handle, every balance is as before.
    expect(await handles(aborted.escrowCell)).toEqual([]);
    for (const p of refunding.people) expect(await handles(p.cell)).toEqual([]);
    expect(await balances(refunding.people)).toEqual(before.slice(6));

    await s.client.close();
    expect(await s.relay.stop()).toEqual({ code: 0, signal: null });
    const audit = spawnSync(process.execPath, [DREGG, 'relay', 'audit', '--home', home.dir, '--json'], {
      encoding: 'utf8',
    });
    expect(JSON.parse(audit.stdout)).toMatchObject({ delta: '0' });
  }, 120_000);
});

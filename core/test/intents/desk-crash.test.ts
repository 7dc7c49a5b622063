/**
 * The intent desk across crashes: a real `dregg relay` child process, SIGKILLed and restarted on the
 * same home. Open intents are still listed and matched afterwards; a ring cut off after some reveals
 * settles when the last reveal comes, or is aborted and refunded at its cutoff, as if nothing had
 * happened; a kill at a random moment around the last reveal (the escrow or the settling turn in
 * flight) still settles the ring exactly once. Balances move exactly as the intents say, and the
 * operator's audit of the log finds the supply balanced.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nobleEd25519 as ed } from '../../src/crypto/ed25519.ts';
import { isDreggError } from '../../src/errors.ts';
import { type IntentClient, intentClient, type Participant, type Pledge } from '../../src/intents/client.ts';
import { type Intent, intentId, signIntent } from '../../src/intents/intent.ts';
import type { RingView } from '../../src/intents/wire.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import { type SpawnedRelay, spawnRelay } from '../../src/node/relay/spawn.ts';
import { codeOf } from '../caps/fixtures.ts';
import { person, saltOf, tempHome } from '../relay/fixtures.ts';
import { expectRefundedAtCutoff, until } from './fixtures.ts';

const DREGG = join(import.meta.dirname, '../../bin/dregg.js');
const GRANT = 1_000_000n;
/** Long enough for a ring to be set up and cut off by a kill before its cutoff. */
const RING_SECONDS = 25;

const homes: ReturnType<typeof tempHome>[] = [];
afterAll(() => {
  for (const h of homes) h.remove();
});

interface Session {
  relay: SpawnedRelay;
  client: RelayClient;
  desk: IntentClient;
}

async function start(home: string): Promise<Session> {
  const relay = await spawnRelay({
    home,
    args: ['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--grant', String(GRANT), '--json'],
    env: { DREGG_RELAY_ZONES: 'market,settle,refund', DREGG_RELAY_RING_SECONDS: String(RING_SECONDS) },
  });
  const client = await connectRelay(relay.ready.multiaddrs);
  return { relay, client, desk: intentClient(client.call, ed) };
}

/** SIGKILL, then the relay started again on the same home. */
async function restart(s: Session, home: string): Promise<Session> {
  await s.relay.kill();
  await s.client.close().catch(() => undefined);
  return start(home);
}

const now = () => Math.floor(Date.now() / 1000);
let nonce = 0;

async function trader(s: Session, i: number): Promise<Participant> {
  const p = person(i);
  return { ...p, cell: (await s.client.openCell(p.did, saltOf(i))).id };
}

async function post(s: Session, p: Participant, zone: string, offer: number, want: number): Promise<Intent> {
  const intent = await signIntent(
    {
      zone,
      offers: [{ kind: 'computrons', amount: BigInt(offer) }],
      wants: [{ kind: 'computrons', amount: BigInt(want) }],
      expires: now() + 600,
    },
    p.seed,
    new Uint8Array(16).fill(++nonce),
    ed,
  );
  expect(await s.desk.post(intent)).toBe(intentId(intent));
  return intent;
}

/** The ring `p` is in, once its state satisfies `ok`. */
const ringOf = (s: Session, p: Participant, ok: (r: RingView) => boolean = () => true, ms?: number) =>
  until(
    'the ring',
    async () => {
      const r = (await s.desk.rings(p.did))[0];
      return r !== undefined && ok(r) ? r : undefined;
    },
    ms,
  );

const balances = (s: Session, people: readonly Participant[]) =>
  Promise.all(people.map(async (p) => (await s.client.cell(p.cell))!.balance));

/** A 3-ring A -> B -> C: A offers 10 for 30, B 20 for 10, C 30 for 20 (A gains 20, B and C pay 10). */
const TERMS: [number, number][] = [
  [10, 30],
  [20, 10],
  [30, 20],
];
const DELTAS = [20n, -10n, -10n];

/** Three traders post a 3-ring in `zone`, the relay finds it, and all three commit. */
async function committedRing(s: Session, zone: string, base: number) {
  const people = [await trader(s, base), await trader(s, base + 1), await trader(s, base + 2)];
  const ids: string[] = [];
  for (const [i, p] of people.entries()) ids.push(intentId(await post(s, p, zone, ...TERMS[i]!)));
  const ring = await ringOf(s, people[0]!);
  const pledges: Pledge[] = [];
  for (const [i, p] of people.entries())
    pledges.push(
      await s.desk.commit(ring, ids[i]!, p, {
        ledger: s.client.info.ledger,
        cell: (await s.client.cell(p.cell))!,
        head: await s.client.head(p.did),
      }),
    );
  return { people, ids, ring, pledges };
}

/** `dregg relay audit` over a stopped relay's log. */
function audit(home: string) {
  const run = spawnSync(process.execPath, [DREGG, 'relay', 'audit', '--home', home, '--json'], {
    encoding: 'utf8',
  });
  expect(run.status).toBe(0);
  return JSON.parse(run.stdout) as { delta: string };
}

describe('the intent desk across SIGKILLs', () => {
  it('open intents survive a kill: listed again, a repost is the same intent, and they are matched', async () => {
    const home = tempHome();
    homes.push(home);
    let s = await start(home.dir);
    const people = [await trader(s, 1), await trader(s, 2), await trader(s, 3)];
    const before = await balances(s, people);
    // A and B alone make no ring.
    const a = await post(s, people[0]!, 'market', ...TERMS[0]!);
    const b = await post(s, people[1]!, 'market', ...TERMS[1]!);
    s = await restart(s, home.dir);
    try {
      expect((await s.desk.list('market')).map((o) => o.id).sort()).toEqual(
        [intentId(a), intentId(b)].sort(),
      );
      expect(await s.desk.post(a)).toBe(intentId(a));
      await post(s, people[2]!, 'market', ...TERMS[2]!);
      const ring = await ringOf(s, people[0]!);
      expect(ring.ring.legs).toHaveLength(3);
      expect(await s.desk.list('market')).toEqual([]);
      const pledges = [];
      for (const p of people) {
        const mine = [...ring.intents].find(([, i]) => i.by === p.did)![0];
        pledges.push(
          await s.desk.commit(ring, mine, p, {
            ledger: s.client.info.ledger,
            cell: (await s.client.cell(p.cell))!,
            head: await s.client.head(p.did),
          }),
        );
      }
      for (const pledge of pledges) await s.desk.reveal(pledge);
      await ringOf(s, people[1]!, (r) => r.state.phase === 'settled');
      const after = await balances(s, people);
      expect(after.map((x, i) => x - before[i]!)).toEqual(DELTAS);

      // A matched intent stays matched across a restart: posting it again is refused.
      s = await restart(s, home.dir);
      expect(await codeOf(s.desk.post(a))).toBe('E_STALE');
      expect((await ringOf(s, people[2]!)).state.phase).toBe('settled');
    } finally {
      await s.client.close();
      expect(await s.relay.stop()).toEqual({ code: 0, signal: null });
    }
    expect(audit(home.dir).delta).toBe('0');
  }, 180_000);

  it('rings killed mid-reveal: one settles when its last reveal comes, one is refunded at its cutoff, once each', async () => {
    const home = tempHome();
    homes.push(home);
    let s = await start(home.dir);
    const settling = await committedRing(s, 'settle', 10);
    const refunding = await committedRing(s, 'refund', 20);
    const before = await balances(s, [...settling.people, ...refunding.people]);
    await s.desk.reveal(settling.pledges[0]!);
    await s.desk.reveal(settling.pledges[1]!);
    await s.desk.reveal(refunding.pledges[0]!);
    s = await restart(s, home.dir);
    try {
      expect((await ringOf(s, settling.people[0]!)).state).toEqual({ phase: 'revealing', escrowed: 2 });
      expect((await ringOf(s, refunding.people[1]!)).state).toEqual({ phase: 'revealing', escrowed: 1 });
      // Escrows already in are not taken again.
      expect(await codeOf(s.desk.reveal(settling.pledges[1]!))).toBe('E_EXISTS');
      await s.desk.reveal(settling.pledges[2]!);
      const settled = await ringOf(s, settling.people[2]!, (r) => r.state.phase === 'settled');
      expect(settled.escrowed).toHaveLength(3);
      // The cutoff is the one the ring was opened with: the refund comes then, not a restart later.
      const aborted = await ringOf(
        s,
        refunding.people[0]!,
        (r) => r.state.phase === 'aborted',
        (RING_SECONDS + 20) * 1000,
      );
      expectRefundedAtCutoff(aborted, refunding.ring.cutoff);
      const after = await balances(s, [...settling.people, ...refunding.people]);
      expect(after.map((x, i) => x - before[i]!)).toEqual([...DELTAS, 0n, 0n, 0n]);
    } finally {
      await s.client.close();
      expect(await s.relay.stop()).toEqual({ code: 0, signal: null });
    }
    expect(audit(home.dir).delta).toBe('0');
  }, 240_000);

  it('a kill at a random moment around the last reveal: after restart the ring settles exactly once', async () => {
    const home = tempHome();
    homes.push(home);
    let s = await start(home.dir);
    try {
      for (let round = 0; round < 3; round++) {
        const r = await committedRing(s, 'settle', 30 + 3 * round);
        const before = await balances(s, r.people);
        await s.desk.reveal(r.pledges[0]!);
        await s.desk.reveal(r.pledges[1]!);
        // The last reveal is sent, and the relay killed while it escrows and settles (or before).
        const last = s.desk.reveal(r.pledges[2]!).catch(() => undefined);
        await new Promise((done) => setTimeout(done, Math.random() * 150));
        s = await restart(s, home.dir);
        await last;
        // The wallet does not know whether its reveal landed: it sends it again.
        const again = await s.desk.reveal(r.pledges[2]!).then(
          () => 'taken',
          (e: unknown) => (isDreggError(e) ? e.code : Promise.reject(e)),
        );
        expect(['taken', 'E_EXISTS', 'E_STALE']).toContain(again);
        await ringOf(s, r.people[0]!, (v) => v.state.phase === 'settled');
        const after = await balances(s, r.people);
        expect(after.map((x, i) => x - before[i]!)).toEqual(DELTAS);
      }
    } finally {
      await s.client.close();
      expect(await s.relay.stop()).toEqual({ code: 0, signal: null });
    }
    expect(audit(home.dir).delta).toBe('0');
  }, 300_000);
});

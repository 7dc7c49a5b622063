/**
 * ring4_settle: a 4-ring settled from the first commitment to the settled receipt: four commits and
 * four reveals over the contract, the last reveal answering once the settling turn is in. Twice:
 * through one `dregg relay` child process ("mode": "relay", its desk coordinating on its own notary),
 * and through four `dregg relay --federation` child processes, each participant at its own relay
 * ("mode": "federation_4", every settlement turn ordered by the federation).
 *
 * intents_solve_10k: the ring solver over 10,000 open intents in one zone, finding every ring of up to
 * 4 intents and choosing the disjoint preferred ones (`npm run bench -w core -- intents`). The market
 * is generated from a fixed seed: 1,500 assets, 100 services, capabilities over 40 services and
 * storage; each intent offers 1-3 items and wants 1-2 (a third of them accept a partial fill).
 * One core: the solver is synchronous, this process runs nothing else meanwhile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Caveat } from '../src/caps/caveats.ts';
import { ed25519PublicKey, nobleEd25519 } from '../src/crypto/ed25519.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../src/encoding/did-key.ts';
import { type IntentClient, intentClient, type Participant } from '../src/intents/client.ts';
import type { OpenIntent } from '../src/intents/intent.ts';
import { intentId, signIntent } from '../src/intents/intent.ts';
import type { ExchangeItem } from '../src/intents/items.ts';
import { chooseRings, findRings } from '../src/intents/solver.ts';
import type { RingView } from '../src/intents/wire.ts';
import { connectRelay, type RelayClient } from '../src/net/client.ts';
import { COORDINATOR_SALT } from '../src/node/relay/intents.ts';
import { spawnRelay } from '../src/node/relay/spawn.ts';
import { federation } from '../test/federation/relays-fixtures.ts';
import { ringTerms } from '../test/intents/fixtures.ts';
import { emit, medianMs } from './measure.ts';

/** A small deterministic PRNG (mulberry32), so every run solves the same market. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const ACTIONS = ['read', 'write', 'list', 'delete'];

export function market(count: number, seed = 1): OpenIntent[] {
  const rnd = prng(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const item = (): ExchangeItem => {
    const r = rnd();
    if (r < 0.7) return { kind: 'asset', asset: `a${int(1500)}`, amount: BigInt(1 + int(100)) };
    if (r < 0.85) return { kind: 'service', service: `s${int(100)}`, units: 1 + int(20) };
    if (r < 0.97) {
      const caveats: Caveat[] = [
        { t: 'services', services: [`svc${int(40)}`] },
        { t: 'actions', actions: ACTIONS.filter(() => rnd() < 0.5).sort() },
      ];
      return { kind: 'capability', caveats };
    }
    return { kind: 'storage', bytes: 2 ** (10 + int(20)), seconds: 3600 * (1 + int(48)) };
  };
  const id = (i: number) => i.toString(16).padStart(64, '0');
  return Array.from({ length: count }, (_, i) => {
    const offers = Array.from({ length: 1 + int(3) }, item);
    const wants = Array.from({ length: 1 + int(2) }, item);
    return {
      id: id(i),
      intent: {
        zone: 'market',
        offers,
        wants,
        accept: rnd() < 1 / 3 ? 1 : wants.length,
        expires: 2_000_000_000,
        by: 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK',
        nonce: id(i).slice(0, 32),
        signature: new Uint8Array(64),
      },
    };
  });
}

export async function intentBenches(): Promise<void> {
  const pool = market(10_000);
  let found = findRings(pool, { now: 1_800_000_000, maxLength: 4 });
  let chosen = chooseRings(found.rings);
  const median_ms = await medianMs(() => {
    found = findRings(pool, { now: 1_800_000_000, maxLength: 4 });
    chosen = chooseRings(found.rings);
  }, 7);
  emit('intents_solve_10k', {
    median_ms,
    intents: pool.length,
    edges: found.edges,
    rings: found.rings.length,
    chosen: chosen.length,
    truncated: String(found.truncated),
  });
  await ring4SettleBench();
  await ring4FederationBench();
}

/** Rings settled for the median (after one warm-up ring). */
const RINGS = Number(process.env.BENCH_RINGS ?? 10);

/** One participant: its keys and cell, and the relay it talks to. */
interface Seat {
  readonly person: Participant;
  readonly client: RelayClient;
  readonly desk: IntentClient;
}

/**
 * Settles RINGS + 1 four-rings (`ringTerms`: no shorter ring inside), each participant posting,
 * reading, committing and revealing through its own seat's relay; times first commit to the settled
 * receipt (the last reveal answers once the settling turn is in) and emits the median.
 * `between` runs untimed after each ring (a federation's members catching up).
 */
async function timeRings(seats: readonly Seat[], mode: string, between = async () => {}): Promise<void> {
  const ed = nobleEd25519;
  const terms = ringTerms(4);
  const times: number[] = [];
  for (let n = 0; n <= RINGS; n++) {
    const intents = await Promise.all(
      seats.map((s, k) =>
        signIntent(
          {
            zone: 'market',
            offers: terms[k]!.offers,
            wants: terms[k]!.wants,
            expires: Math.floor(Date.now() / 1000) + 600,
          },
          s.person.seed,
          new Uint8Array(16).fill(n + 1),
          ed,
        ),
      ),
    );
    await Promise.all(intents.map((intent, k) => seats[k]!.desk.post(intent)));
    const ids = new Set(intents.map(intentId));
    const ringAt = async (s: Seat): Promise<RingView> => {
      for (;;) {
        const r = (await s.desk.rings(s.person.did)).find((x) => x.ring.legs.every((l) => ids.has(l.from)));
        if (r !== undefined) return r;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const views = await Promise.all(seats.map(ringAt));
    if (views[0]!.ring.legs.length !== 4) throw new Error(`a ${views[0]!.ring.legs.length}-ring was chosen`);
    const start = performance.now();
    const pledges = await Promise.all(
      seats.map(async (s, k) =>
        s.desk.commit(views[k]!, intentId(intents[k]!), s.person, {
          ledger: s.client.info.ledger,
          cell: (await s.client.cell(s.person.cell))!,
          head: await s.client.head(s.person.did),
        }),
      ),
    );
    await Promise.all(pledges.map((pl, k) => seats[k]!.desk.reveal(pl)));
    const ms = performance.now() - start;
    const settled = (await seats[0]!.desk.rings(seats[0]!.person.did)).find((r) => r.id === views[0]!.id)!;
    if (settled.state.phase !== 'settled') throw new Error(`the ring ended ${settled.state.phase}`);
    if (n > 0) times.push(ms); // the first ring warms up
    await between();
  }
  times.sort((a, b) => a - b);
  emit('ring4_settle', {
    median_ms: Math.round(times[Math.floor(times.length / 2)]! * 10) / 10,
    rings: times.length,
    mode,
  });
}

/** ring4_settle on one `dregg relay` child process, its desk coordinating on its own notary. */
export async function ring4SettleBench(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'cipherclerk-bench-ring-'));
  const relay = await spawnRelay({
    home,
    args: ['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--grant', '1000000'],
  });
  const client = await connectRelay(relay.ready.multiaddrs.filter((m) => m.includes('/ws')));
  const desk = intentClient(client.call, nobleEd25519);
  try {
    const seats = await Promise.all(
      [1, 2, 3, 4].map(async (i) => {
        const seed = new Uint8Array(32).fill(40 + i);
        const did = didKeyFromEd25519(ed25519PublicKey(seed));
        const cell = (await client.openCell(did, toHex(new Uint8Array(32).fill(i)))).id;
        return { person: { did, seed, cell }, client, desk };
      }),
    );
    await timeRings(seats, 'relay');
  } finally {
    await client.close();
    await relay.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * ring4_settle on a federation of four `dregg relay --federation` child processes: participant k posts
 * and approves through relay k; the zone's coordinating member settles through the federation's order,
 * so every escrow and the settling turn wait for finality. Between rings, every member settles all.
 */
export async function ring4FederationBench(): Promise<void> {
  const fed = await federation(4, 4, {
    cells: (members) => members.map((m) => ({ owner: m.did, salt: COORDINATOR_SALT, balance: 0n })),
  });
  try {
    await Promise.all(fed.members.map((m) => fed.start(m.index)));
    const seats = await Promise.all(
      fed.payers.map(async (person, k) => {
        const client = await fed.client(k);
        return { person, client, desk: intentClient(client.call, nobleEd25519) };
      }),
    );
    const caughtUp = async () => {
      for (;;) {
        const all = await Promise.all([0, 1, 2, 3].map(async (i) => (await fed.health(i)).federation));
        if (all.every((s) => s.pending === 0 && s.ledgerRoot === all[0]!.ledgerRoot)) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await timeRings(seats, 'federation_4', caughtUp);
  } finally {
    await fed.close();
  }
}

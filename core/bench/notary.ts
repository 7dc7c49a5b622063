/**
 * Notary throughput: signed turns ordered by a relay's notary on SQLite (WAL, synchronous=FULL) in a
 * temporary directory, with group commit. `AGENTS` clients each keep one turn in flight (the next is
 * submitted when the last is acknowledged), as a relay's connected wallets would; every turn is a
 * 2-effect turn (set-field on the agent's own cell + transfer of 1 computron to its second cell).
 *
 * A signed turn names the hash of the receipt before it, which exists only once that turn has run.
 * So a twin (a memory executor with the relay's key, the same genesis and a clock stopped at the
 * same second) runs every agent's turns first, outside the timing, and the notary then receives
 * copies of them. Each agent touches only its own two cells, so its receipts do not depend on how
 * the agents interleave, and the notary, being deterministic, reproduces the twin's receipts with
 * every check done for real: signature, nonce, chain head, effects, receipt signature, log, root.
 *
 * Figures: `turns_per_s` per CPU second of the process (all threads; decision 20), `turns_per_wall_s`
 * per wall second (including fsync waits), `batch` the mean turns per committed batch, `max_batch`
 * the configured limit.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellId } from '../src/cells/cell.ts';
import { manualClock } from '../src/clock.ts';
import { type Ed25519, ed25519PublicKey } from '../src/crypto/ed25519.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../src/encoding/did-key.ts';
import { nodeEd25519 } from '../src/node/ed25519.ts';
import { openSqliteStore } from '../src/node/sqlite-store.ts';
import { NOTARY_COLLECTIONS, openNotary } from '../src/notary/index.ts';
import { createExecutor } from '../src/turns/executor.ts';
import { signTurn, type Turn } from '../src/turns/turn.ts';
import { emit, Stopwatch } from './measure.ts';

const AGENTS = 64;
const MAX_BATCH = 256;
const T0 = 1_900_000_000;
const LEDGER = 'bench';
const RELAY_SEED = new Uint8Array(32).fill(42);
const FUNDS = 1n << 40n;

interface Agent {
  readonly seed: Uint8Array;
  readonly did: string;
  readonly salts: readonly [string, string];
}

function agents(): Agent[] {
  return Array.from({ length: AGENTS }, (_, i) => {
    const seed = new Uint8Array(32).fill(1);
    seed[0] = i;
    seed[1] = i >> 8;
    const salt = (k: number) => toHex(new Uint8Array(32).fill(k).map((b, j) => (j === 0 ? i & 0xff : b)));
    return { seed, did: didKeyFromEd25519(ed25519PublicKey(seed)), salts: [salt(1), salt(2)] };
  });
}

/** Runs `perAgent` turns of every agent through a memory twin; returns each agent's signed turns. */
async function prebuild(ed: Ed25519, people: Agent[], perAgent: number): Promise<Turn[][]> {
  const twin = await createExecutor({
    ed,
    clock: manualClock(T0 * 1000),
    seed: RELAY_SEED,
    federation: LEDGER,
  });
  for (const p of people) {
    await twin.genesis(p.did, p.salts[0], FUNDS);
    await twin.genesis(p.did, p.salts[1], 0n);
  }
  return Promise.all(
    people.map(async (p) => {
      const [a, b] = [cellId(p.did, p.salts[0]), cellId(p.did, p.salts[1])];
      const out: Turn[] = [];
      for (let k = 0; k < perAgent; k++) {
        const turn = await signTurn(
          {
            ledger: LEDGER,
            agent: p.did,
            cell: a,
            nonce: twin.cell(a)!.nonce,
            prev: twin.head(p.did).prev,
            effects: [
              { type: 'set-field', cell: a, key: 'counter', value: k },
              { type: 'transfer', from: a, to: b, amount: 1n },
            ],
            fee: 0n,
            validUntil: T0 + 3600,
          },
          p.seed,
          ed,
        );
        await twin.submit(turn);
        // A fresh copy: no digest the twin computed is reused by the timed notary.
        out.push({ ...turn, signature: turn.signature.slice() });
      }
      return out;
    }),
  );
}

export async function notaryBench(perAgent = 60): Promise<void> {
  // The relay's provider: Node's OpenSSL, signing on this thread, verifying on the thread pool.
  const ed = nodeEd25519;
  const people = agents();
  const turns = await prebuild(ed, people, perAgent);
  const dir = mkdtempSync(join(tmpdir(), 'dregg-bench-notary-'));
  try {
    const store = await openSqliteStore(join(dir, 'relay.sqlite'), { collections: NOTARY_COLLECTIONS });
    const notary = await openNotary({
      store,
      ed,
      clock: manualClock(T0 * 1000),
      seed: RELAY_SEED,
      ledger: LEDGER,
      batch: { maxTurns: MAX_BATCH },
    });
    for (const p of people) {
      await notary.genesis(p.did, p.salts[0], FUNDS);
      await notary.genesis(p.did, p.salts[1], 0n);
    }
    const heights = new Set<number>();
    const watch = new Stopwatch();
    watch.start();
    await Promise.all(
      turns.map(async (mine) => {
        for (const t of mine) {
          const n = await notary.submit(t);
          if (n.duplicate) throw new Error('notary bench: a fresh turn was answered as a duplicate');
          heights.add(notary.height());
        }
      }),
    );
    watch.stop();
    const n = AGENTS * perAgent;
    const audit = await notary.audit();
    if (audit.delta !== 0n || notary.height() !== 2 * AGENTS + n)
      throw new Error('notary bench: the log or the supply is off');
    await notary.close();
    await store.close();
    emit('notary_turns', {
      turns_per_s: Math.round(n / watch.cpuSeconds),
      turns_per_wall_s: Math.round(n / watch.wallSeconds),
      batch: Math.round((n / heights.size) * 10) / 10,
      max_batch: MAX_BATCH,
      agents: AGENTS,
      turns: n,
      effects_per_turn: 2,
      ed25519: ed.name,
      store: 'sqlite-wal-full',
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `tsx bench/notary.ts` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) await notaryBench();

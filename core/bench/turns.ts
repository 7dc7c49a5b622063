/**
 * Turn throughput, one 2-effect turn (set-field on the acting cell + transfer of 1 computron to a
 * second cell) after another by one agent, on one Node thread (WebCrypto's thread pool aside):
 *
 *   turns_mem     `applyTurn` on an in-memory ledger: no signatures, no store. Turn bodies are built
 *                 ahead in batches, outside the timing, with consecutive nonces; each one's `prev` is
 *                 the id the core gives the turn before (`receipt.turn`, the signing digest of an
 *                 unsigned turn), and after each turn the loop writes the agent's head record
 *                 `head:<did>` exactly as the executor does, so the ordering check runs and passes.
 *   turns_sig     `executor.submit` on pre-signed turns, memory store: strict Ed25519 verification of
 *                 the turn, the core, receipt signing (the fastest provider: WebCrypto in Node).
 *   turns_sqlite  the same with a SQLite store (WAL, synchronous=FULL) in a temporary directory:
 *                 every turn's records and receipt committed in one transaction.
 *
 * A signed turn must name the hash of the receipt before it, which exists only once that turn has
 * run. So a twin executor (same key, same genesis, a clock stopped at one second) runs each batch
 * first, outside the timing, to produce the signed turns; the timed executor then receives copies of
 * them (fresh objects, so no digest computed by the twin is reused) and, being deterministic,
 * produces the same receipts, each turn passing every check for real.
 *
 * Figures: `turns_per_s` per CPU second of the process (all threads; decision 20), `turns_per_wall_s`
 * per wall second (for turns_sqlite this one includes waiting for fsync), and the ratio of each to
 * seed 004's ~100 end-to-end transfers per second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newCell } from '../src/cells/cell.ts';
import { manualClock } from '../src/clock.ts';
import { defaultEd25519, type Ed25519, ed25519PublicKey } from '../src/crypto/ed25519.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../src/encoding/did-key.ts';
import { openSqliteStore } from '../src/node/sqlite-store.ts';
import type { Store } from '../src/store/store.ts';
import type { Effect } from '../src/turns/effects.ts';
import { applyTurn, createExecutor, EXECUTOR_COLLECTIONS, type Executor } from '../src/turns/executor.ts';
import { cellKey, type State } from '../src/turns/state.ts';
import { signTurn, type Turn, type TurnBody, turnSigningDigest } from '../src/turns/turn.ts';
import { emit, Stopwatch } from './measure.ts';

/** Seed 004's end-to-end figure: about 100 transfers per second. */
export const SEED_004_TURNS_PER_S = 100;
const BATCH = 250;
const T0 = 1_900_000_000;
const AGENT_SEED = new Uint8Array(32).fill(41);
const EXECUTOR_SEED = new Uint8Array(32).fill(42);
const AGENT = didKeyFromEd25519(ed25519PublicKey(AGENT_SEED));
const EXECUTOR = didKeyFromEd25519(ed25519PublicKey(EXECUTOR_SEED));
const SALT_A = toHex(new Uint8Array(32).fill(1));
const SALT_B = toHex(new Uint8Array(32).fill(2));
const FUNDS = 1n << 40n;

function effects(i: number, a: string, b: string): Effect[] {
  return [
    { type: 'set-field', cell: a, key: 'counter', value: i },
    { type: 'transfer', from: a, to: b, amount: 1n },
  ];
}

function figures(n: number, watch: Stopwatch, extra: Record<string, number | string>) {
  const perCpu = Math.round(n / watch.cpuSeconds);
  const perWall = Math.round(n / watch.wallSeconds);
  return {
    turns_per_s: perCpu,
    turns_per_wall_s: perWall,
    vs_seed004: Math.round((perCpu / SEED_004_TURNS_PER_S) * 10) / 10,
    vs_seed004_wall: Math.round((perWall / SEED_004_TURNS_PER_S) * 10) / 10,
    turns: n,
    effects_per_turn: 2,
    ...extra,
  };
}

/**
 * Runs batches until about `ms` of wall time has been measured (after `warmMs` unmeasured): `prepare`
 * builds a batch outside the timing, `run` is timed.
 */
async function measure<T>(
  ms: number,
  warmMs: number,
  prepare: () => Promise<T[]> | T[],
  run: (item: T) => unknown,
): Promise<{ n: number; watch: Stopwatch }> {
  const warm = new Stopwatch();
  while (warm.wallSeconds * 1000 < warmMs) {
    const batch = await prepare();
    warm.start();
    for (const item of batch) await run(item);
    warm.stop();
  }
  const watch = new Stopwatch();
  let n = 0;
  while (watch.wallSeconds * 1000 < ms) {
    const batch = await prepare();
    watch.start();
    for (const item of batch) await run(item);
    watch.stop();
    n += batch.length;
  }
  return { n, watch };
}

async function turnsMem(ms: number): Promise<void> {
  const a = newCell(AGENT, SALT_A, FUNDS);
  const b = newCell(AGENT, SALT_B);
  const state: State = new Map([
    [cellKey(a.id), a],
    [cellKey(b.id), b],
  ]);
  const options = { now: T0, federation: 'local', federations: new Map(), executor: EXECUTOR };
  let nonce = 0;
  let prev: string | null = null;
  const prepare = (): TurnBody[] => {
    const batch: TurnBody[] = [];
    for (let k = 0; k < BATCH; k++) {
      const body: TurnBody = {
        ledger: 'local',
        agent: AGENT,
        cell: a.id,
        nonce,
        prev,
        effects: effects(nonce, a.id, b.id),
        fee: 0n,
        validUntil: T0 + 3600,
      };
      // The id the core will give this turn, computed on a copy: the timed body's digest is not cached.
      prev = toHex(turnSigningDigest({ ...body }));
      nonce++;
      batch.push(body);
    }
    return batch;
  };
  const { n, watch } = await measure(ms, 300, prepare, (body) => {
    const { body: receipt, tx } = applyTurn(state, body, options);
    tx.put(`head:${AGENT}`, { hash: receipt.turn, seq: receipt.seq });
  });
  emit('turns_mem', figures(n, watch, { signatures: 'none', store: 'none' }));
}

async function fundedExecutor(ed: Ed25519, store?: Store): Promise<{ ex: Executor; a: string; b: string }> {
  const ex = await createExecutor({ ed, clock: manualClock(T0 * 1000), seed: EXECUTOR_SEED, store });
  const a = (await ex.genesis(AGENT, SALT_A, FUNDS)).id;
  const b = (await ex.genesis(AGENT, SALT_B, 0n)).id;
  return { ex, a, b };
}

async function turnsSigned(name: string, ms: number, ed: Ed25519, store?: Store): Promise<void> {
  const twin = await fundedExecutor(ed);
  const timed = await fundedExecutor(ed, store);
  const prepare = async (): Promise<Turn[]> => {
    const batch: Turn[] = [];
    for (let k = 0; k < BATCH; k++) {
      const nonce = twin.ex.cell(twin.a)!.nonce;
      const turn = await signTurn(
        {
          ledger: 'local',
          agent: AGENT,
          cell: twin.a,
          nonce,
          prev: twin.ex.head(AGENT).prev,
          effects: effects(nonce, twin.a, twin.b),
          fee: 0n,
          validUntil: T0 + 3600,
        },
        AGENT_SEED,
        ed,
      );
      await twin.ex.submit(turn);
      batch.push({ ...turn, signature: turn.signature.slice() });
    }
    return batch;
  };
  const { n, watch } = await measure(ms, 300, prepare, (turn) => timed.ex.submit(turn));
  const { held, expected } = timed.ex.audit();
  if (held !== expected || timed.ex.cell(timed.a)!.nonce !== twin.ex.cell(twin.a)!.nonce)
    throw new Error(`${name}: the timed executor diverged from its twin`);
  emit(
    name,
    figures(n, watch, {
      ed25519: ed.name,
      store: store === undefined ? 'memory' : 'sqlite-wal-full',
    }),
  );
}

export async function turnBenches(ms = 2000): Promise<void> {
  await turnsMem(ms);
  const ed = await defaultEd25519();
  await turnsSigned('turns_sig', ms, ed);
  const dir = mkdtempSync(join(tmpdir(), 'dregg-bench-'));
  try {
    const store = await openSqliteStore(join(dir, 'ledger.sqlite'), { collections: EXECUTOR_COLLECTIONS });
    try {
      await turnsSigned('turns_sqlite', ms, ed, store);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `tsx bench/turns.ts` runs these alone.
if (import.meta.url === `file://${process.argv[1]}`) await turnBenches();

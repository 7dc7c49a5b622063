/**
 * federation_4, federation_7: the federation core in ONE process — n members, each with its own
 * blocklace, orderer and settlement; every block goes to every member as bytes (decoded, signature
 * verified, inserted), all in one thread, with real signed turns in the payload. No libp2p, no
 * SQLite, no executor: what it measures is the ordering core's cost (blocks, signatures, rounds,
 * waves, tau, double-spend gate), the floor under a deployment of real relays, not a deployment.
 *
 *   turns_per_s       turns settled by member 0 per wall second
 *   finality_p50_ms   time from a turn entering its creator's block to member 0 settling it
 *
 * mode "relays": n real relays (`dregg relay --federation`, child processes on loopback, SQLite,
 * gossip, the executor) and C concurrent clients, each the owner of one genesis cell, submitting
 * transfers one after another through the contract's `turn/submit` (spread over the relays); a
 * turn is final when its receipt arrives, which the relay sends once the turn is settled in the
 * final order. turns_per_s counts receipts in the measured window; finality is submit -> receipt.
 * BENCH_SECONDS (default 10) and BENCH_FED_CLIENTS (default 128) size it, BENCH_FED_MEMBERS picks the
 * committee sizes (default 4,7), BENCH_FED_MODE=core|relays runs one mode; BENCH_NODE_OPTIONS goes
 * to every relay (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 *
 * Run alone with `npm run bench -w core -- federation`.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { ed25519 } from '@noble/curves/ed25519.js';
import { cellId } from '../src/cells/cell.ts';
import { ed25519PublicKey, nobleEd25519 } from '../src/crypto/ed25519.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../src/encoding/did-key.ts';
import { DreggError } from '../src/errors.ts';
import { decodeBlock, encodeBlock, type PayloadItem } from '../src/federation/block.ts';
import { createBlocklace } from '../src/federation/blocklace.ts';
import { committee } from '../src/federation/committee.ts';
import { createMiner } from '../src/federation/miner.ts';
import { createOrderer } from '../src/federation/order.ts';
import { createSettlement } from '../src/federation/settle.ts';
import { connectRelay } from '../src/net/client.ts';
import type { Submitted } from '../src/net/contract.ts';
import { nodeEd25519 } from '../src/node/ed25519.ts';
import { federationChainHash } from '../src/node/federation/federation.ts';
import type { StageReport } from '../src/node/federation/stages.ts';
import type { Receipt } from '../src/turns/receipt.ts';
import { decodeTurn, encodeTurn, signTurn, turnHashHex } from '../src/turns/turn.ts';
import { federation as relays } from '../test/federation/relays-fixtures.ts';
import { emit } from './measure.ts';

const TURNS_PER_BLOCK = 64;

async function signedTurns(count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const seed = new Uint8Array(32);
    new DataView(seed.buffer).setUint32(0, i + 1);
    const did = didKeyFromEd25519(ed25519PublicKey(seed));
    const cell = cellId(did, toHex(seed));
    const turn = await signTurn(
      {
        ledger: 'bench',
        agent: did,
        cell,
        nonce: 0,
        prev: null,
        effects: [{ type: 'transfer', from: cell, to: cell, amount: 1n }],
        fee: 0n,
        validUntil: 2 ** 31,
      },
      seed,
      nobleEd25519,
    );
    out.push(encodeTurn(turn));
  }
  return out;
}

const RELAY_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RELAY_CLIENTS = Number(process.env.BENCH_FED_CLIENTS ?? 128);
/** Client libp2p nodes per relay: the clients share them, as many users share a few gateways. */
const NODES_PER_RELAY = 2;
const RETRY = new Set(['E_UNREACHABLE', 'E_TIMEOUT', 'E_RATE_LIMITED']);

/** CPU seconds a process has used (user + system), from /proc; 0 where there is none. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! * 10) / 10;
}

async function federation(n: number, turns: readonly Uint8Array[]): Promise<void> {
  const seeds = Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(200 + i));
  const c = committee(
    'bench',
    0,
    seeds.map((s) => ed25519PublicKey(s)),
  );
  const members = seeds.map((seed) => {
    const lace = createBlocklace(c);
    return {
      lace,
      miner: createMiner(lace, { publicKey: ed25519PublicKey(seed), sign: (d) => ed25519.sign(d, seed) }),
      orderer: createOrderer(lace),
    };
  });
  const settlement = createSettlement(() => {});
  const submitted = new Map<string, number>();
  const latencies: number[] = [];
  const queue = [...turns];
  const start = performance.now();
  let settled = 0;
  while (settled < turns.length) {
    let progress = false;
    for (const m of members) {
      const batch = queue.splice(0, TURNS_PER_BLOCK);
      const block = await m.miner.next(batch.map((turn): PayloadItem => ({ kind: 'turn', turn })));
      if (block === undefined) {
        queue.unshift(...batch);
        continue;
      }
      progress = true;
      const now = performance.now();
      for (const turn of batch) submitted.set(turnHashHex(decodeTurn(turn)), now);
      const wire = encodeBlock(block);
      for (const other of members) other.lace.insert(other === m ? block : decodeBlock(wire));
    }
    for (const [i, m] of members.entries()) {
      const fresh = m.orderer.advance();
      if (i !== 0) continue;
      const outcomes = await settlement.settle(fresh);
      const now = performance.now();
      for (const o of outcomes) {
        settled++;
        progress = true;
        latencies.push(now - submitted.get(o.place.turn)!);
      }
    }
    if (!progress) throw new Error('the federation stopped making progress');
  }
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  emit(`federation_${n}`, {
    turns_per_s: Math.round(settled / seconds),
    finality_p50_ms: percentile(latencies, 0.5),
    finality_p99_ms: percentile(latencies, 0.99),
    members: n,
    turns: settled,
    mode: 'core',
    setup: 'one process, no network, no ledger',
  });
}

async function federationOfRelays(n: number): Promise<void> {
  // One more funded cell than clients: the sink every transfer pays into, which never acts itself.
  const fed = await relays(n, RELAY_CLIENTS + 1, {
    nodeOptions: process.env.BENCH_NODE_OPTIONS?.split(' ').filter(Boolean),
    args: [
      '--limit',
      'rpcInFlightPerPeer=4096',
      '--limit',
      'rpcRatePerSecond=100000',
      '--limit',
      'rpcBurst=100000',
      '--limit',
      'rpcMaxInboundStreams=4096',
    ],
  });
  try {
    await Promise.all(
      fed.members.map((m) => fed.start(m.index, { CIPHERCLERK_BENCH_STAGES: String(RELAY_SECONDS) })),
    );
    // Each relay's stage medians over the last RELAY_SECONDS (src/node/federation/stages.ts).
    const stageReports = async (): Promise<StageReport[]> =>
      (await Promise.all(fed.members.map((m) => fed.health(m.index)))).map(
        (h) => (h.federation as { stages?: StageReport }).stages!,
      );
    const chainHash = federationChainHash(fed.genesis.federation);
    const sink = fed.payers[RELAY_CLIENTS]!;
    const conns = await Promise.all(
      Array.from({ length: n * NODES_PER_RELAY }, (_, k) =>
        connectRelay(fed.relays[k % n]!.ready.multiaddrs, {
          limits: { rpcTimeoutMs: 60_000 },
        }),
      ),
    );
    const latencies: number[] = [];
    let measuring = false;
    let finalized = 0;
    let stop = false;
    let retries = 0;
    const client = async (i: number): Promise<void> => {
      const p = fed.payers[i]!;
      const conn = conns[i % conns.length]!;
      let nonce = 0;
      let prev: string | null = null;
      while (!stop) {
        const turn = await signTurn(
          {
            ledger: 'main',
            agent: p.did,
            cell: p.cell,
            nonce,
            prev,
            effects: [{ type: 'transfer', from: p.cell, to: sink.cell, amount: 1n }],
            fee: 0n,
            validUntil: Math.floor(Date.now() / 1000) + 600,
          },
          p.seed,
          nodeEd25519,
        );
        const t0 = performance.now();
        let s: Submitted | undefined;
        // A call that breaks or times out under load is sent again (the relay answers a resubmitted
        // turn with its settlement); its latency counts from the first try.
        while (s === undefined) {
          try {
            s = await conn.submitTurn(turn);
          } catch (e) {
            if (!(e instanceof DreggError) || !RETRY.has(e.code)) throw e;
            retries++;
            await new Promise((r) => setTimeout(r, 200));
          }
        }
        if (measuring) {
          latencies.push(performance.now() - t0);
          finalized++;
        }
        nonce++;
        prev = chainHash(s.receipt as Receipt);
      }
    };
    let failure: unknown;
    const running = Array.from({ length: RELAY_CLIENTS }, (_, i) =>
      client(i).catch((e: unknown) => {
        failure ??= e;
        stop = true;
      }),
    );
    // Warm-up: connections, JIT, the first waves.
    await new Promise((r) => setTimeout(r, 3000));
    const relayCpu = () => fed.relays.reduce((sum, r) => sum + cpuSeconds(r?.process.pid), 0);
    const load0 = loadavg()[0]!;
    const cpu0 = relayCpu();
    measuring = true;
    const start = performance.now();
    const mark0 = process.hrtime.bigint() / 1000n;
    await new Promise((r) => setTimeout(r, RELAY_SECONDS * 1000));
    measuring = false;
    const seconds = (performance.now() - start) / 1000;
    const cpu = relayCpu() - cpu0;
    if (process.env.BENCH_NODE_OPTIONS?.includes('--cpu-prof'))
      // The measured window on the monotonic clock the relays' CPU profiles use (microseconds).
      process.stderr.write(`profile window ${mark0} ${process.hrtime.bigint() / 1000n}\n`);
    const stages = await stageReports();
    const load1 = loadavg()[0]!;
    stop = true;
    await Promise.all(running);
    if (failure !== undefined) throw failure;
    latencies.sort((a, b) => a - b);
    const status = (await fed.health(0)).federation;
    // The relays' medians, weighted by the turns each answered: submission -> stage, in ms.
    const answered = stages.reduce((sum, r) => sum + r.turns, 0);
    const stage = (pick: (r: StageReport) => number) =>
      answered === 0 ? 0 : Math.round(stages.reduce((sum, r) => sum + pick(r) * r.turns, 0) / answered);
    emit(`federation_${n}`, {
      turns_per_s: Math.round(finalized / seconds),
      finality_p50_ms: percentile(latencies, 0.5),
      finality_p99_ms: percentile(latencies, 0.99),
      mode: 'relays',
      members: n,
      clients: RELAY_CLIENTS,
      turns: finalized,
      waves: status.lastWave + 1,
      retries,
      // All relays' CPU per finalized turn: every relay settles every turn, so this is n settlements.
      relays_cpu_ms_per_turn: finalized === 0 ? 0 : Math.round((cpu * 1000 * 10) / finalized) / 10,
      stage_in_block_p50_ms: stage((r) => r.inBlockMs),
      stage_final_p50_ms: stage((r) => r.finalMs),
      stage_settling_p50_ms: stage((r) => r.settlingMs),
      stage_answered_p50_ms: stage((r) => r.answeredMs),
      round_p50_ms: stage((r) => r.roundMs),
      settle_wave_p50_ms: stage((r) => r.settleWaveMs),
      turns_per_block_p50: stage((r) => r.turnsPerBlock),
      load_avg_1m: `${load0.toFixed(1)}-${load1.toFixed(1)}`,
    });
    for (const c of conns) await c.close().catch(() => undefined);
  } finally {
    await fed.close();
  }
}

export async function federationBenches(): Promise<void> {
  const only = process.env.BENCH_FED_MODE;
  if (only !== 'relays') {
    const turns = await signedTurns(4000);
    await federation(4, turns);
    await federation(7, turns);
  }
  if (only !== 'core')
    for (const n of (process.env.BENCH_FED_MEMBERS ?? '4,7').split(',').map(Number))
      await federationOfRelays(n);
}

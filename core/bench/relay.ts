/**
 * Relay load, bounded and on loopback only (`npm run bench -w core -- relay`):
 *
 *   relay_inbox     C client nodes deposit 256-byte sealed boxes as fast as the relay acknowledges
 *                   them (each deposit durable in SQLite before its answer), then drain them
 *   relay_turns     A agents (spread over the client nodes) each sign and submit transfer turns, one
 *                   after another (a turn continues its agent's receipt chain, so it cannot be signed
 *                   before the previous answer); ordered, signature-checked, group-committed to SQLite
 *   gossip_2relays  two relay nodes in one mesh: publish -> deliver latency of a signed envelope
 *
 * The relay runs in its own process (`dregg relay`); the clients share the other core.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ed25519PublicKey } from '../src/crypto/ed25519.ts';
import { seal, x25519FromEd25519Public } from '../src/crypto/sealed-box.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../src/encoding/did-key.ts';
import { INBOX_ORIGIN } from '../src/inbox/client.ts';
import { connectRelay, type RelayClient } from '../src/net/client.ts';
import { publishSigned, subscribeSigned, TOPICS } from '../src/net/gossip.ts';
import { createRelayNode } from '../src/net/node.ts';
import { nodeEd25519 } from '../src/node/ed25519.ts';
import { spawnRelay } from '../src/node/relay/spawn.ts';
import { receiptHashHex } from '../src/turns/receipt.ts';
import { signTurn } from '../src/turns/turn.ts';
import { emit } from './measure.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CLIENTS = 4;
const AGENTS = 32;

function percentile(sorted: number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! * 100) / 100;
}

/** The relay under load: `dregg relay` in its own process, as in production. Per-peer admission is
 * opened up, because the benchmark's few client nodes each stand for many users. */
const startServer = (home: string) =>
  spawnRelay({
    home,
    nodeOptions: process.env.BENCH_NODE_OPTIONS?.split(' ').filter(Boolean),
    args: [
      '--listen',
      '/ip4/127.0.0.1/tcp/0/ws',
      '--grant',
      '1000000000',
      '--limit',
      'rpcInFlightPerPeer=256',
      '--limit',
      'rpcRatePerSecond=100000',
      '--limit',
      'rpcBurst=100000',
      '--limit',
      'rpcMaxInboundStreams=1024',
    ],
  });

const identity = (i: number) => {
  const seed = new Uint8Array(32).fill(0).map((_, j) => (j === 0 ? i & 0xff : j === 1 ? i >> 8 : 7));
  return { seed, did: didKeyFromEd25519(ed25519PublicKey(seed)) };
};

async function inboxBench(clients: RelayClient[]): Promise<void> {
  const recipients = Array.from({ length: 16 }, (_, i) => identity(1000 + i));
  const boxes = recipients.map((r) =>
    seal(x25519FromEd25519Public(ed25519PublicKey(r.seed)), new Uint8Array(256 - 49).fill(1)),
  );
  let deposits = 0;
  const latencies: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    clients.flatMap((client, c) =>
      Array.from({ length: 16 }, async (_, lane) => {
        while (performance.now() < end) {
          const r = (c * 16 + lane) % recipients.length;
          const t = performance.now();
          await client.deposit({
            recipient: recipients[r]!.did,
            ciphertext: boxes[r]!,
            ttl: 3600,
            deposit: 0n,
            idempotencyKey: crypto.getRandomValues(new Uint8Array(16)),
          });
          latencies.push(performance.now() - t);
          deposits++;
        }
      }),
    ),
  );
  latencies.sort((a, b) => a - b);
  const drainStart = performance.now();
  let drained = 0;
  for (const r of recipients) {
    let acked = INBOX_ORIGIN;
    for (;;) {
      const page = await clients[0]!.drain({ did: r.did, seed: r.seed, acked });
      drained += page.delivered.length;
      acked = page.head;
      if (!page.more) break;
    }
  }
  emit('relay_inbox', {
    deposits_per_s: Math.round(deposits / SECONDS),
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
    drained_per_s: Math.round(drained / ((performance.now() - drainStart) / 1000)),
    clients: clients.length,
    in_flight: clients.length * 16,
    box_bytes: 256,
  });
}

async function turnsBench(clients: RelayClient[]): Promise<void> {
  const agents = await Promise.all(
    Array.from({ length: AGENTS }, async (_, i) => {
      const who = identity(i + 1);
      const client = clients[i % clients.length]!;
      const cell = await client.openCell(who.did, toHex(new Uint8Array(32).fill(i + 1)));
      return { ...who, client, cell: cell.id, nonce: cell.nonce, prev: null as string | null };
    }),
  );
  const latencies: number[] = [];
  let turns = 0;
  const end = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    agents.map(async (a, i) => {
      const to = agents[(i + 1) % agents.length]!.cell;
      while (performance.now() < end) {
        const t = performance.now();
        const turn = await signTurn(
          {
            ledger: a.client.info.ledger,
            agent: a.did,
            cell: a.cell,
            nonce: a.nonce,
            prev: a.prev,
            effects: [{ type: 'transfer', from: a.cell, to, amount: 1n }],
            fee: 0n,
            validUntil: Math.floor(Date.now() / 1000) + 600,
          },
          a.seed,
          nodeEd25519,
        );
        const { receipt } = await a.client.submitTurn(turn);
        latencies.push(performance.now() - t);
        a.nonce++;
        a.prev = receiptHashHex(receipt);
        turns++;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((x, y) => x - y);
  emit('relay_turns', {
    turns_per_s: Math.round(turns / elapsed),
    p50_ms: percentile(latencies, 0.5),
    p99_ms: percentile(latencies, 0.99),
    agents: AGENTS,
    clients: clients.length,
    vs_seed_004: Math.round(turns / elapsed / 100),
  });
}

async function gossipBench(): Promise<void> {
  const a = await createRelayNode({ listen: ['/ip4/127.0.0.1/tcp/0/ws'] });
  const b = await createRelayNode({ listen: ['/ip4/127.0.0.1/tcp/0/ws'] });
  try {
    const latencies: number[] = [];
    const sent = new Map<string, number>();
    subscribeSigned(
      b,
      TOPICS.roots,
      (envelope) => {
        const t = sent.get(toHex(envelope.body));
        if (t !== undefined) latencies.push(performance.now() - t);
      },
      { ed: nodeEd25519 },
    );
    a.services.pubsub.subscribe(TOPICS.roots);
    await a.dial(b.getMultiaddrs()[0]!);
    const seed = new Uint8Array(32).fill(9);
    // Wait for the mesh: until a publication reaches b.
    for (let i = 0; i < 100 && latencies.length === 0; i++) {
      const body = crypto.getRandomValues(new Uint8Array(32));
      sent.set(toHex(body), performance.now());
      await publishSigned(a, TOPICS.roots, body, seed, nodeEd25519).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 100));
    }
    latencies.length = 0;
    for (let i = 0; i < 300; i++) {
      const body = crypto.getRandomValues(new Uint8Array(32));
      sent.set(toHex(body), performance.now());
      await publishSigned(a, TOPICS.roots, body, seed, nodeEd25519);
      await new Promise((r) => setTimeout(r, 5));
    }
    await new Promise((r) => setTimeout(r, 200));
    latencies.sort((x, y) => x - y);
    emit('gossip_2relays', {
      p50_ms: percentile(latencies, 0.5),
      p99_ms: percentile(latencies, 0.99),
      delivered: latencies.length,
      published: 300,
    });
  } finally {
    await a.stop();
    await b.stop();
  }
}

export async function relayBenches(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'cipherclerk-bench-relay-'));
  const server = await startServer(home);
  const limits = { rpcTimeoutMs: 60_000 };
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, () => connectRelay(server.ready.multiaddrs, { limits })),
  );
  try {
    await inboxBench(clients);
    await turnsBench(clients);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
  await gossipBench();
}

/**
 * Loopback latencies of the networking layer, for core/docs/net.md (not a test, not a benchmark
 * suite: run it by hand). Gossip: publish -> deliver between two relay nodes over ws, ~200 messages,
 * one at a time. RPC: round trips of a 32-byte echo from a light node to a relay, over ws and over
 * webrtc-direct. Both ends share one process (one clock, one event loop). Envelopes are verified with
 * `defaultEd25519()` (WebCrypto in Node 20: ~0.26 ms a verification here; noble's ~2.4 ms would
 * dominate the gossip figure).
 *
 *   node --import tsx core/test/net/measure-latency.ts
 */
import '../../src/node/libp2p-shims.ts';
import { defaultEd25519 } from '../../src/crypto/ed25519.ts';
import { encodeEnvelope, signEnvelope, subscribeSigned, TOPICS } from '../../src/net/gossip.ts';
import { createLightNode, createRelayNode, dialRelay } from '../../src/net/node.ts';
import { callRpc, type RpcOp, serveRpc } from '../../src/net/rpc.ts';

const listen = ['/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/udp/0/webrtc-direct'];
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const summary = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return {
    n: s.length,
    p50_ms: r(quantile(s, 0.5)),
    p99_ms: r(quantile(s, 0.99)),
    max_ms: r(s[s.length - 1]!),
  };
};

const a = await createRelayNode({ listen });
const b = await createRelayNode({ listen });
const wsOf = (n: typeof a) =>
  n
    .getMultiaddrs()
    .map(String)
    .filter((x) => x.includes('/ws/'));
const rtcOf = (n: typeof a) =>
  n
    .getMultiaddrs()
    .map(String)
    .filter((x) => x.includes('/webrtc-direct'));
await dialRelay(b, wsOf(a));

let waiting: ((t: number) => void) | undefined;
// The production default: WebCrypto where the runtime has it (Node 20 does), noble otherwise.
const ed = await defaultEd25519();
subscribeSigned(a, TOPICS.roots, () => waiting?.(performance.now()), { ed });
while (!b.services.pubsub.getSubscribers(TOPICS.roots).some((p) => p.equals(a.peerId))) {
  await new Promise((r) => setTimeout(r, 20));
}
const seed = new Uint8Array(32).fill(1);
const gossip: number[] = [];
for (let i = 0; i < 220; i++) {
  const bytes = encodeEnvelope(await signEnvelope(TOPICS.roots, Uint8Array.of(i, i >> 8, 1, 2, 3), seed, ed));
  const delivered = new Promise<number>((resolve) => {
    waiting = resolve;
  });
  const t0 = performance.now();
  await b.services.pubsub.publish(TOPICS.roots, bytes);
  const t1 = await delivered;
  if (i >= 20) gossip.push(t1 - t0); // the first 20 warm up
}

const echo: RpcOp = { name: 'bench/echo', maxRequest: 64, maxResponse: 64 };
// Unthrottled: this measures the transport, not the admission policy.
await serveRpc(a, echo, async (req) => req, { limits: { rpcRatePerSecond: 1_000_000, rpcBurst: 1_000_000 } });
const rpc: Record<string, ReturnType<typeof summary>> = {};
for (const [kind, addrs] of [
  ['ws', wsOf(a)],
  ['webrtc-direct', rtcOf(a)],
] as const) {
  const c = await createLightNode();
  const t0 = performance.now();
  const conn = await dialRelay(c, [...addrs]);
  const connectMs = performance.now() - t0;
  const times: number[] = [];
  for (let i = 0; i < 550; i++) {
    const s = performance.now();
    await callRpc(c, conn, echo, new Uint8Array(32));
    if (i >= 50) times.push(performance.now() - s);
  }
  rpc[kind] = { ...summary(times), connect_ms: Math.round(connectMs) } as ReturnType<typeof summary>;
  await c.stop();
}
console.log(
  JSON.stringify(
    { node: process.version, gossip_publish_to_deliver: summary(gossip), rpc_round_trip: rpc },
    null,
    2,
  ),
);
await Promise.all([a.stop(), b.stop()]);
process.exit(0);

import '../../src/node/libp2p-shims.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { publishSigned, subscribeSigned, signEnvelope, encodeEnvelope, TOPICS } from '../../src/net/gossip.ts';
import { createRelayNode } from '../../src/net/node.ts';
import { nodeEd25519 } from '../../src/node/ed25519.ts';

const a = await createRelayNode({ listen: ['/ip4/127.0.0.1/tcp/0/ws'] });
const b = await createRelayNode({ listen: ['/ip4/127.0.0.1/tcp/0/ws'] });
const lat: number[] = []; const sent = new Map<string, number>();
let tValStart = 0; const valLat: number[] = [];
subscribeSigned(b, TOPICS.roots, (e) => { const t = sent.get(toHex(e.body)); if (t !== undefined) lat.push(performance.now() - t); }, { ed: nodeEd25519 });
const v = b.services.pubsub.topicValidators.get(TOPICS.roots)!;
const enter: number[] = [], exit: number[] = []; const enterAt = new Map<string, number>(); const pubEnd = new Map<string, number>();
b.services.pubsub.topicValidators.set(TOPICS.roots, async (p, m) => { const t = performance.now(); enterAt.set(toHex(m.data), t); const r = await v(p, m); exit.push(performance.now() - t); (m as any).__t = t; return r; });
import('../../src/encoding/bytes.ts');
a.services.pubsub.subscribe(TOPICS.roots);
await a.dial(b.getMultiaddrs()[0]!);
const seed = new Uint8Array(32).fill(9);
for (let i = 0; i < 100 && lat.length === 0; i++) { const body = crypto.getRandomValues(new Uint8Array(32)); sent.set(toHex(body), performance.now()); await publishSigned(a, TOPICS.roots, body, seed, nodeEd25519).catch(() => {}); await new Promise((r) => setTimeout(r, 100)); }
lat.length = 0;
const signT: number[] = [], pubT: number[] = [];
for (let i = 0; i < 300; i++) {
  const body = crypto.getRandomValues(new Uint8Array(32));
  const t0 = performance.now(); sent.set(toHex(body), t0);
  const env = await signEnvelope(TOPICS.roots, body, seed, nodeEd25519);
  const t1 = performance.now();
  await a.services.pubsub.publish(TOPICS.roots, encodeEnvelope(env));
  const t2 = performance.now();
  signT.push(t1 - t0); pubT.push(t2 - t1); pubEnd.set(toHex(encodeEnvelope(env)), t1);
  await new Promise((r) => setTimeout(r, 5));
}
await new Promise((r) => setTimeout(r, 200));
for (const [k, t] of pubEnd) { const e = enterAt.get(k); if (e) enter.push(e - t); }
const med = (x: number[]) => x.sort((p, q) => p - q)[x.length >> 1];
console.log(JSON.stringify({ validate: med(exit), publish_to_validator: med(enter), nEnter: enter.length, sign: med(signT), publish: med(pubT), deliver_p50: med(lat), n: lat.length }));
await a.stop(); await b.stop();

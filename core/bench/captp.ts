/**
 * CapTP figures (`npm run bench -w core -- captp`):
 *
 *   captp_call        one call on a live reference, light node to light node through a relay's
 *                     circuit on loopback (p50 of sequential calls)
 *   captp_pipeline3   three dependent calls, pipelined, over an in-memory link with 50 ms one way
 *   captp_handoff     introduce (Alice signs), redeem (Bob countersigns, Carol checks and records the
 *                     nonce in SQLite), and the first call on the gift; in-memory link, no latency
 */
import '../src/node/libp2p-shims.ts';
import { multiaddr } from '@multiformats/multiaddr';
import {
  CAPTP_COLLECTIONS,
  call,
  createVat,
  dialCaptp,
  enliven,
  type LocalObject,
  localObject,
  memoryLinkPair,
  type RemoteRef,
  serveCaptp,
  type Vat,
} from '../src/captp/index.ts';
import { defaultEd25519 } from '../src/crypto/ed25519.ts';
import { hashFor } from '../src/crypto/hash.ts';
import { toHex, utf8 } from '../src/encoding/bytes.ts';
import { createLightNode, createRelayNode, dialRelay } from '../src/net/node.ts';
import { openSqliteStore } from '../src/node/sqlite-store.ts';
import { emit } from './measure.ts';

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.floor(s.length / 2)]! * 100) / 100;
};

async function vat(name: string): Promise<Vat> {
  return createVat({
    seed: crypto.getRandomValues(new Uint8Array(32)),
    federation: 'bench',
    cell: toHex(hashFor('cellId', utf8.encode(name))),
    store: await openSqliteStore(':memory:', { collections: CAPTP_COLLECTIONS }),
    ed: await defaultEd25519(),
  });
}

function maker(): LocalObject {
  let n = 0;
  const object = localObject('maker', {
    make: () => maker(),
    inc: () => ++n,
  });
  return object;
}

async function callBench(): Promise<void> {
  const relayNode = await createRelayNode({ listen: ['/ip4/127.0.0.1/tcp/0/ws'] });
  const carolNode = await createLightNode();
  const bobNode = await createLightNode();
  try {
    const carol = await vat('carol');
    const bob = await vat('bob');
    carol.register('maker', maker());
    await serveCaptp(carolNode, carol);
    const relayAddress = relayNode.getMultiaddrs()[0]!.toString();
    await dialRelay(carolNode, [relayAddress]);
    while (!carolNode.getMultiaddrs().some((m) => m.toString().includes('/p2p-circuit')))
      await new Promise((r) => setTimeout(r, 20));
    await dialRelay(bobNode, [relayAddress]);
    const session = await dialCaptp(
      bobNode,
      multiaddr(`${relayAddress}/p2p-circuit/p2p/${carolNode.peerId.toString()}`),
      bob,
      carol.did,
    );
    const ref = (await enliven(session, await carol.mintSturdyRef({ object: 'maker', holder: bob.did }))
      .promise) as RemoteRef;
    // A relayed (limited) connection carries at most 128 KiB by circuit-relay-v2's default: a few
    // hundred calls. Warm up briefly and measure 200.
    for (let i = 0; i < 20; i++) await call(ref, 'inc').promise;
    const times: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await call(ref, 'inc').promise;
      times.push(performance.now() - t);
    }
    emit('captp_call', {
      p50_ms: median(times),
      calls: times.length,
      path: 'light-relay-light circuit, loopback ws',
    });
    session.close();
  } finally {
    await Promise.allSettled([bobNode.stop(), carolNode.stop(), relayNode.stop()]);
  }
}

async function pipelineBench(): Promise<void> {
  const carol = await vat('carol');
  const bob = await vat('bob');
  carol.register('maker', maker());
  const [lb, lc] = memoryLinkPair({ latencyMs: 50 });
  const accepted = carol.accept(lc);
  const session = await bob.connect(lb, { expect: carol.did });
  await accepted;
  const root = (await enliven(session, await carol.mintSturdyRef({ object: 'maker', holder: bob.did }))
    .promise) as RemoteRef;
  const times: number[] = [];
  for (let i = 0; i < 11; i++) {
    const t = performance.now();
    await call(call(call(root, 'make'), 'make'), 'inc').promise;
    times.push(performance.now() - t);
  }
  emit('captp_pipeline3', { median_ms: median(times), runs: times.length, one_way_latency_ms: 50 });
  session.close();
}

async function handoffBench(): Promise<void> {
  const alice = await vat('alice');
  const bob = await vat('bob');
  const carol = await vat('carol');
  carol.register('maker', maker());
  const [lb, lc] = memoryLinkPair();
  const accepted = carol.accept(lc);
  const session = await bob.connect(lb, { expect: carol.did });
  await accepted;
  const aliceRef = await carol.mintSturdyRef({ object: 'maker', holder: alice.did });
  const times: number[] = [];
  for (let i = 0; i < 51; i++) {
    const t = performance.now();
    const text = await alice.introduce(aliceRef, bob.did, {
      caveats: [{ t: 'actions', actions: ['inc'] }],
      expiry: Math.floor(Date.now() / 1000) + 600,
    });
    await call(await bob.redeemHandoff(session, text), 'inc').promise;
    times.push(performance.now() - t);
  }
  emit('captp_handoff', { median_ms: median(times), runs: times.length, link: 'in-memory' });
  session.close();
}

export async function captpBenches(): Promise<void> {
  await callBench();
  await pipelineBench();
  await handoffBench();
}

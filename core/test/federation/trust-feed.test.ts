/**
 * EigenTrust fed by a relay's own observations: three federation relays in this process (real
 * libp2p over loopback WebSockets, real SQLite) and a fourth committee member that runs no federation
 * and only publishes invalid blocks on the federation's block topic. The honest relays' validators
 * reject its messages and accept each other's blocks; their trust feed turns that into a lower
 * gossipsub application score for the bad member than for any honest one.
 */
import '../../src/node/libp2p-shims.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellId } from '../../src/cells/cell.ts';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { encodeBlock, signBlock } from '../../src/federation/block.ts';
import { connectRelay } from '../../src/net/client.ts';
import { federationTopics } from '../../src/net/federation.ts';
import { createRelayNode, relayPrivateKey } from '../../src/net/node.ts';
import { genesisJson, parseGenesis } from '../../src/node/federation/genesis.ts';
import { relayKeys } from '../../src/node/relay/keys.ts';
import { type Relay, startRelay } from '../../src/node/relay/relay.ts';
import { signTurn } from '../../src/turns/turn.ts';
import { person, saltOf } from '../relay/fixtures.ts';
import { freePort } from './relays-fixtures.ts';
import { memberKeys } from './sim.ts';

const FED = 'trust-fed';
const dir = mkdtempSync(join(tmpdir(), 'cipherclerk-trust-'));
const relays: Relay[] = [];
let bad: Awaited<ReturnType<typeof createRelayNode>>;
let members: { home: string; peerId: string; port: number; address: string; did: string }[];
let junk: ReturnType<typeof setInterval> | undefined;
const payer = person(1);
const payee = person(2);

beforeAll(async () => {
  members = [];
  for (let i = 0; i < 4; i++) {
    const home = join(dir, `r${i}`);
    const keys = relayKeys(home);
    const peerId = peerIdFromPrivateKey(relayPrivateKey(keys.peer)).toString();
    const port = await freePort();
    members.push({
      home,
      peerId,
      port,
      did: keys.did,
      address: `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${peerId}`,
    });
  }
  const genesis = parseGenesis(
    genesisJson({
      federation: FED,
      members: members.map((m) => ({ did: m.did, multiaddrs: [m.address] })),
      cells: [payer, payee].map((p, i) => ({ owner: p.did, salt: saltOf(i + 1), balance: 1000n })),
    }),
  );
  const silent = () => undefined;
  for (const m of members.slice(0, 3))
    relays.push(
      await startRelay({
        home: m.home,
        listen: [`/ip4/127.0.0.1/tcp/${m.port}/ws`],
        ledger: 'main',
        log: silent,
        federation: { genesis },
      }),
    );
  // The fourth member: its own libp2p identity, no federation, only junk on the block topic.
  const m = members[3]!;
  const topics = federationTopics(FED);
  bad = await createRelayNode({
    listen: [`/ip4/127.0.0.1/tcp/${m.port}/ws`],
    privateKey: relayPrivateKey(relayKeys(m.home).peer),
    topics: Object.values(topics),
  });
  for (const r of members.slice(0, 3)) await bad.dial(multiaddr(r.address));
  // Not subscribed: it publishes through gossipsub's fanout and never forwards the honest relays'
  // blocks, so everything the others receive from it is its own junk.
  // A block signed by a key outside the committee, and bytes that are no block at all.
  const stranger = memberKeys(1, 90)[0]!.member;
  const forged = await signBlock(
    { federation: FED, epoch: 0, creator: stranger.publicKey, seq: 0, acks: [], payload: [], time: 0 },
    stranger.sign,
  );
  let n = 0;
  junk = setInterval(() => {
    const data = n++ % 2 === 0 ? encodeBlock(forged) : crypto.getRandomValues(new Uint8Array(120));
    void bad.services.pubsub.publish(topics.blocks, data).catch(() => undefined);
  }, 100);
}, 120_000);

afterAll(async () => {
  clearInterval(junk);
  await bad?.stop();
  for (const r of relays) await r.stop();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("a relay's trust feed", () => {
  it('scores the member that sends invalid blocks below every honest member', async () => {
    // Turns, so the honest relays make blocks and accept each other's.
    const client = await connectRelay(relays[0]!.multiaddrs.filter((a) => a.includes('/ws/')));
    const from = cellId(payer.did, saltOf(1));
    const to = cellId(payee.did, saltOf(2));
    for (let k = 0; k < 3; k++) {
      const [head, cell] = await Promise.all([client.ledger().head(payer.did), client.ledger().cell(from)]);
      const turn = await signTurn(
        {
          ledger: 'main',
          agent: payer.did,
          cell: from,
          nonce: cell!.nonce,
          prev: head.prev,
          effects: [{ type: 'transfer', from, to, amount: 1n }],
          fee: 0n,
          validUntil: Math.floor(Date.now() / 1000) + 600,
        },
        payer.seed,
        nobleEd25519,
      );
      await client.submitTurn(turn);
    }
    await client.close();

    const badPeer = members[3]!.peerId;
    for (const [i, relay] of relays.entries()) {
      const honest = members.slice(0, 3).filter((_, j) => j !== i);
      const feed = relay.trust!;
      const until = Date.now() + 30_000;
      let scores: number[] = [];
      let badScore = 0;
      while (Date.now() < until) {
        feed.recompute();
        scores = honest.map((h) => feed.appScore(h.peerId));
        badScore = feed.appScore(badPeer);
        if (scores.every((s) => badScore < s)) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const seen = feed.observations();
      expect(seen.get(badPeer)!.invalid, `relay ${i}`).toBeGreaterThan(0);
      expect(seen.get(badPeer)!.valid, `relay ${i}`).toBe(0);
      for (const h of honest) expect(seen.get(h.peerId)!.valid, `relay ${i}`).toBeGreaterThan(0);
      for (const s of scores) expect(badScore, `relay ${i}`).toBeLessThan(s);
      // The score is what gossipsub weighs: the relay node was made with this feed's appScore.
      expect(feed.appScore('12D3KooWNotAMemberOfThisFederationAtAll')).toBe(0);
    }
  }, 90_000);
});

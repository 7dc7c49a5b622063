/**
 * The browser light node reaches a real relay (`dregg relay` as a child process) over WebTransport
 * through libp2p: the relay listens on `/udp/0/quic-v1/webtransport` (our QUIC listener, certhashes
 * in its address), the page's light node (core/src/net, bundled by Vite) is given only that address,
 * connects with @libp2p/webtransport (Noise on the first stream, one WebTransport stream per libp2p
 * stream), pings, and runs a paid turn over it, so RPC and the relay's signed answers cross the link.
 * Then gossip both ways (issue 13's "done when"): a light node connected ONLY over WebTransport hears a
 * revocation that a Node client (over ws) handed the relay, and a revocation it publishes on gossip
 * itself reaches the relay (which logs it) and, through the relay's mesh, the Node client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { type SpawnedRelay, spawnRelay } from '../../core/src/node/relay/spawn.ts';
import { chromiumLaunchOptions } from './chromium.ts';
import { type Served, serveBundle } from './serve.ts';

type WtEntry = typeof import('../fixtures/webtransport-gossip-entry.ts');
declare global {
  interface Window {
    wtEntry: WtEntry;
  }
}

const launch = chromiumLaunchOptions();
test.use({ launchOptions: { ...launch, args: (launch.args ?? []).filter((a) => a !== '--disable-quic') } });

let home: string;
let relay: SpawnedRelay;
let served: Served;

test.beforeAll(async () => {
  test.setTimeout(90_000);
  home = mkdtempSync(join(tmpdir(), 'cipherclerk-e2e-wt-relay-'));
  relay = await spawnRelay({
    home: join(home, 'relay'),
    args: [
      '--listen',
      '/ip4/127.0.0.1/udp/0/quic-v1/webtransport',
      // For the Node client of the gossip test only; the browser is given the WebTransport address alone.
      '--listen',
      '/ip4/127.0.0.1/tcp/0/ws',
      '--grant',
      '1000',
      '--http',
      '127.0.0.1:0',
    ],
  });
  served = await serveBundle(join(import.meta.dirname, '..', 'fixtures', 'webtransport-gossip-entry.ts'));
});

test.afterAll(async () => {
  await served?.close();
  await relay?.kill();
  rmSync(home, { recursive: true, force: true });
});

test('the light node dials the relay over WebTransport and runs a paid turn', async ({ page }) => {
  const address = relay.ready.multiaddrs.find((m) => m.includes('/webtransport/'));
  expect(address, relay.ready.multiaddrs.join(' ')).toMatch(
    /\/quic-v1\/webtransport\/certhash\/u[^/]+\/certhash\/u[^/]+\/p2p\//,
  );
  await page.goto(served.url);
  await page.evaluate(async () => {
    window.wtEntry = await import('/bundle.js' as string);
  });
  const connected = await page.evaluate(({ address, did }) => window.wtEntry.connect([address], did), {
    address: address!,
    did: relay.ready.did,
  });
  expect(connected.remoteAddr).toContain('/webtransport');
  expect(connected.relay).toBe(relay.ready.did);
  console.log(
    `webtransport: connect ${connected.connectMs.toFixed(0)} ms, libp2p ping p50 ${connected.pingMs} ms`,
  );
  await page.evaluate(() => window.wtEntry.makeIdentity());
  const paid = await page.evaluate(() => window.wtEntry.openAndPay('5'));
  expect(paid).toBeTruthy();
});

/** Polls `probe` until it returns a value that is not undefined, or fails after `ms`. */
async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 20_000) {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('a light node connected only over WebTransport gossips revocations with the relay both ways', async ({
  page,
}) => {
  test.setTimeout(90_000);
  const wt = relay.ready.multiaddrs.find((m) => m.includes('/webtransport/'));
  const ws = relay.ready.multiaddrs.find((m) => m.includes('/ws/'));
  expect(wt && ws, relay.ready.multiaddrs.join(' ')).toBeTruthy();
  await page.goto(served.url);
  await page.evaluate(async () => {
    window.wtEntry = await import('/bundle.js' as string);
  });
  const { remoteAddrs } = await page.evaluate(
    ({ address, did }) => window.wtEntry.connectAndListen(address, did),
    { address: wt!, did: relay.ready.did },
  );
  expect(remoteAddrs.length).toBeGreaterThan(0);
  for (const a of remoteAddrs) expect(a).toContain('/quic-v1/webtransport');

  // The Node client, over ws, with its own light node so that its gossip mesh can be watched.
  await import('../../core/src/node/libp2p-shims.ts');
  const { connectRelay } = await import('../../core/src/net/client.ts');
  const { createLightNode } = await import('../../core/src/net/node.ts');
  const { TOPICS } = await import('../../core/src/net/gossip.ts');
  const { signRevocation } = await import('../../core/src/caps/revocation.ts');
  const { defaultEd25519, ed25519PublicKey } = await import('../../core/src/crypto/ed25519.ts');
  const { didKeyFromEd25519 } = await import('../../core/src/encoding/did-key.ts');
  const node = await createLightNode();
  const client = await connectRelay([ws!], { relay: relay.ready.did, node });
  try {
    const heardInNode: { by: string; epoch: number }[] = [];
    client.onRevocation((r) => {
      if (r.kind === 'epoch') heardInNode.push({ by: r.by, epoch: r.epoch });
    });

    // Relay -> browser: the Node client hands the relay a signed revocation (RPC); the relay gossips it.
    await eventually('the relay to announce its revocations subscription to the browser', () =>
      page.evaluate(() => window.wtEntry.relaySubscribed() || undefined),
    );
    const ed = await defaultEd25519();
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const nodeDid = didKeyFromEd25519(ed25519PublicKey(seed));
    await client.publishRevocation(
      await signRevocation(
        { kind: 'epoch', epoch: 7, by: nodeDid, at: Math.floor(Date.now() / 1000) },
        seed,
        ed,
      ),
    );
    const heardInPage = await eventually('the browser to hear the revocation over WebTransport', async () => {
      const heard = await page.evaluate(() => window.wtEntry.heardRevocations());
      return heard.some((r) => r.by === nodeDid) ? heard : undefined;
    });
    expect(heardInPage).toContainEqual({ by: nodeDid, epoch: 7 });

    // Browser -> relay -> Node: the relay forwards to the peers in its mesh for the topic, which it
    // grafts the Node client into at a heartbeat (about a second): publish a fresh revocation from the
    // page until one arrives.
    await eventually('the Node client to see the relay subscribed to revocations', () =>
      node.services.pubsub.getSubscribers(TOPICS.revocations).some((p) => p.toString() === client.peerId)
        ? true
        : undefined,
    );
    const published = await eventually(
      "the Node client to hear the browser's revocation through the relay",
      async () => {
        const sent = await page.evaluate(() => window.wtEntry.gossipRevocation(11));
        expect(sent.recipients).toBeGreaterThan(0);
        const until = Date.now() + 3000;
        while (Date.now() < until) {
          if (heardInNode.some((r) => r.by === sent.by)) return sent;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        return undefined;
      },
      30_000,
    );
    expect(heardInNode).toContainEqual({ by: published.by, epoch: 11 });
    // The relay validated and logged it: a late joiner catches up on it by RPC.
    const logged = await client.revocationsSince(0);
    expect(logged.records.map((r) => r.by)).toEqual(expect.arrayContaining([nodeDid, published.by]));
  } finally {
    await client.close();
    await node.stop();
  }
});

/**
 * The browser light node reaches a real relay (`dregg relay` as a child process) over WebTransport
 * through libp2p: the relay listens on `/udp/0/quic-v1/webtransport` (our QUIC listener, certhashes
 * in its address), the page's light node (core/src/net, bundled by Vite) is given only that address,
 * connects with @libp2p/webtransport (Noise on the first stream, one WebTransport stream per libp2p
 * stream), pings, and runs a paid turn over it, so RPC and the relay's signed answers cross the link.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { type SpawnedRelay, spawnRelay } from '../../core/src/node/relay/spawn.ts';
import { chromiumLaunchOptions } from './chromium.ts';
import { type Served, serveBundle } from './serve.ts';

type RelayEntry = typeof import('../fixtures/relay-entry.ts');
declare global {
  interface Window {
    relayEntry: RelayEntry;
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
      '--grant',
      '1000',
      '--http',
      '127.0.0.1:0',
    ],
  });
  served = await serveBundle(join(import.meta.dirname, '..', 'fixtures', 'relay-entry.ts'));
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
    window.relayEntry = await import('/bundle.js' as string);
  });
  const connected = await page.evaluate(({ address, did }) => window.relayEntry.connect([address], did), {
    address: address!,
    did: relay.ready.did,
  });
  expect(connected.remoteAddr).toContain('/webtransport');
  expect(connected.relay).toBe(relay.ready.did);
  console.log(
    `webtransport: connect ${connected.connectMs.toFixed(0)} ms, libp2p ping p50 ${connected.pingMs} ms`,
  );
  await page.evaluate(() => window.relayEntry.makeIdentity());
  const paid = await page.evaluate(() => window.relayEntry.openAndPay('5'));
  expect(paid).toBeTruthy();
});

/**
 * Ring trades end to end (issue 12): the dashboard's production build in Debian's Chromium, three
 * people in three browser contexts (each a light node in its own worker and IndexedDB, each with a
 * cell funded by the relay's opening grant), and a real `dregg relay` process that pools the intents,
 * finds the ring and coordinates its settlement. A 3-ring settles and balances move as the intents
 * said; a ring one participant never approves is refunded at its cutoff; an intent that expired is
 * never matched.
 */
import '../../core/src/node/libp2p-shims.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import { nobleEd25519 } from '../../core/src/crypto/ed25519.ts';
import { intentClient } from '../../core/src/intents/client.ts';
import { signIntent } from '../../core/src/intents/intent.ts';
import { connectRelay } from '../../core/src/net/client.ts';
import { type SpawnedRelay, spawnRelay } from '../../core/src/node/relay/spawn.ts';
import { DIST, type ServedDashboard, serveDashboard } from '../../web/serve.ts';
import { person, screen } from './wallet.ts';

/** Seconds a ring has to settle once the relay finds it: the refund case waits this long. */
const RING_SECONDS = 45;

let home: string;
let relay: SpawnedRelay;
let ws: string;
let served: ServedDashboard;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  home = mkdtempSync(join(tmpdir(), 'cipherclerk-e2e-trade-'));
  // The relay child inherits these: two zones (one ring each) and a short ring window.
  process.env.DREGG_RELAY_ZONES = 'market,bazaar';
  process.env.DREGG_RELAY_RING_SECONDS = String(RING_SECONDS);
  relay = await spawnRelay({ home, args: ['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--grant', '1000'] });
  ws = relay.ready.multiaddrs.find((m) => m.includes('/ws/'))!;
  served = await serveDashboard({ relays: [ws], dir: DIST });
});

test.afterAll(async () => {
  await served?.close();
  await relay?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function post(page: Page, zone: string, offer: number, want: number): Promise<void> {
  await screen(page, 'Trade');
  await page.getByLabel('Zone').fill(zone);
  // Each side is a fieldset of an item's kind (computrons by default) and its amount.
  const offered = page.getByRole('group', { name: 'Offer' }).getByLabel('Amount');
  await offered.fill(String(offer));
  await page.getByRole('group', { name: 'Want' }).getByLabel('Amount').fill(String(want));
  await page.getByRole('button', { name: 'Sign and post' }).click();
  // A posted intent clears the form; a refusal would leave it filled and show the problem.
  await expect(offered).toHaveValue('', { timeout: 30_000 });
  await expect(page.getByTestId('problem')).toHaveCount(0);
}

/** The ring listed first on the Trade screen (the newest), once it shows what goes out. */
async function newestRing(page: Page, zone: string, pays: string) {
  await screen(page, 'Trade');
  await page.getByLabel('Zone').fill(zone);
  const ring = page.getByTestId('ring').first();
  await expect(ring.getByTestId('pays')).toContainText(pays, { timeout: 30_000 });
  return ring;
}

test('three wallets trade in a 3-ring; a ring one never approves is refunded; an expired intent is never matched', async ({
  browser,
}) => {
  test.setTimeout(300_000);
  const [a, b, c] = [
    await person(browser, served.url, ws),
    await person(browser, served.url, ws),
    await person(browser, served.url, ws),
  ];

  // A offers 10 and wants 30, B offers 20 and wants 10, C offers 30 and wants 20: A -> B -> C -> A.
  await post(a, 'market', 10, 30);
  await post(b, 'market', 20, 10);
  await post(c, 'market', 30, 20);
  const promised = [
    [a, '10 computrons', '30 computrons'],
    [b, '20 computrons', '10 computrons'],
    [c, '30 computrons', '20 computrons'],
  ] as const;
  for (const [page, pays, receives] of promised) {
    const ring = await newestRing(page, 'market', pays);
    await expect(ring.getByTestId('receives')).toContainText(receives);
    await ring.getByRole('button', { name: 'Approve' }).click();
    await expect(ring.getByTestId('approved').or(ring.getByTestId('outcome'))).toBeVisible({
      timeout: 30_000,
    });
  }
  for (const page of [a, b, c])
    await expect(page.getByTestId('ring').first().getByTestId('outcome')).toHaveText(/^settled/, {
      timeout: 60_000,
    });
  for (const [page, balance] of [
    [a, '1020 computrons'],
    [b, '990 computrons'],
    [c, '990 computrons'],
  ] as const) {
    await screen(page, 'Cells');
    await expect(page.getByTestId('balance')).toHaveText([balance], { timeout: 30_000 });
  }

  // The same ring in another zone; C never approves. At the cutoff everyone is refunded.
  await post(a, 'bazaar', 10, 30);
  await post(b, 'bazaar', 20, 10);
  await post(c, 'bazaar', 30, 20);
  for (const [page, pays] of [
    [a, '10 computrons'],
    [b, '20 computrons'],
  ] as const) {
    const ring = await newestRing(page, 'bazaar', pays);
    await ring.getByRole('button', { name: 'Approve' }).click();
    await expect(ring.getByTestId('approved')).toBeVisible({ timeout: 30_000 });
  }
  const cRing = await newestRing(c, 'bazaar', '30 computrons');
  await expect(cRing.getByRole('button', { name: 'Approve' })).toBeVisible();
  for (const page of [a, b, c])
    await expect(page.getByTestId('ring').first().getByTestId('outcome')).toHaveText(/^refunded/, {
      timeout: (RING_SECONDS + 30) * 1000,
    });
  for (const [page, balance] of [
    [a, '1020 computrons'],
    [b, '990 computrons'],
    [c, '990 computrons'],
  ] as const) {
    await screen(page, 'Cells');
    await expect(page.getByTestId('balance')).toHaveText([balance]);
  }

  // Someone posts (outside the browsers) an intent that would match A's next one, expiring in 2 s.
  const client = await connectRelay([ws]);
  try {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    await intentClient(client.call, nobleEd25519).post(
      await signIntent(
        {
          zone: 'market',
          offers: [{ kind: 'computrons', amount: 7n }],
          wants: [{ kind: 'computrons', amount: 7n }],
          expires: Math.floor(Date.now() / 1000) + 2,
        },
        seed,
        new Uint8Array(16),
        nobleEd25519,
      ),
    );
  } finally {
    await client.close();
  }
  await a.waitForTimeout(3000);
  await post(a, 'market', 7, 7);
  await a.waitForTimeout(3000);
  await expect(a.getByTestId('intent')).toHaveCount(1);
  await expect(a.getByTestId('ring')).toHaveCount(2); // the settled and the refunded rings only
});

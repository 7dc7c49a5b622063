/**
 * Ring trades of other kinds, and taking an escrow back, from the dashboard (issue 12): the production
 * build in Debian's Chromium, each person a light node in its own browser context, and a real relay
 * started in this process (SQLite, libp2p on loopback) so that the test can close its intent desk.
 *
 * - One wallet offers a capability to its cell for computrons, another wants it: the Trade screen
 *   shows what is escrowed and exactly what is delivered, the ring settles, and the receiver's Cells
 *   screen holds the handle.
 * - A ring whose desk vanishes with the escrow in: past the deadline the Trade screen offers "Take
 *   back", which returns the computrons (the balance shown restored), and the button goes away.
 */
import '../../core/src/node/libp2p-shims.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, type Page, test } from '@playwright/test';
import { ed25519PublicKey, nobleEd25519 } from '../../core/src/crypto/ed25519.ts';
import { didKeyFromEd25519 } from '../../core/src/encoding/did-key.ts';
import { intentClient } from '../../core/src/intents/client.ts';
import { signIntent } from '../../core/src/intents/intent.ts';
import { connectRelay } from '../../core/src/net/client.ts';
import { type Relay, startRelay } from '../../core/src/node/relay/relay.ts';
import { DIST, type ServedDashboard, serveDashboard } from '../../web/serve.ts';
import { person, screen } from './wallet.ts';

/** Seconds a ring has once found: both approvals fit; the take-back case waits this long, plus a second of grace. */
const RING_SECONDS = 25;

let home: string;
let relay: Relay;
let ws: string;
let served: ServedDashboard;

test.beforeAll(async () => {
  test.setTimeout(180_000);
  home = mkdtempSync(join(tmpdir(), 'cipherclerk-e2e-trade-items-'));
  relay = await startRelay({
    home,
    listen: ['/ip4/127.0.0.1/tcp/0/ws'],
    ledger: 'main',
    grant: 1000n,
    log: () => {},
    intents: { zones: ['caps', 'gone'], ringSeconds: RING_SECONDS, graceSeconds: 1, solveDelayMs: 20 },
  });
  ws = relay.multiaddrs.find((m) => m.includes('/ws/'))!;
  served = await serveDashboard({ relays: [ws], dir: DIST });
});

test.afterAll(async () => {
  await served?.close();
  await relay?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

type Item = { computrons: number } | { capability: string; budget: number };

/** Fills one side of the intent form (the fieldset `side`, 'Offer' or 'Want'). */
async function fill(page: Page, side: string, item: Item): Promise<void> {
  const group = page.getByRole('group', { name: side });
  if ('computrons' in item) {
    await group.getByLabel('Amount').fill(String(item.computrons));
    return;
  }
  await group.getByLabel('Kind').selectOption('capability');
  await group.getByLabel('Effects it allows').fill(item.capability);
  await group.getByLabel(/^Budget/).fill(String(item.budget));
}

async function post(page: Page, zone: string, offer: Item, want: Item): Promise<void> {
  await screen(page, 'Trade');
  await page.getByLabel('Zone').fill(zone);
  await fill(page, 'Offer', offer);
  await fill(page, 'Want', want);
  await page.getByRole('button', { name: 'Sign and post' }).click();
  // A posted intent clears the form back to computrons; a refusal would leave it filled.
  await expect(page.getByRole('group', { name: 'Offer' }).getByLabel('Amount')).toHaveValue('', {
    timeout: 30_000,
  });
  await expect(page.getByTestId('problem')).toHaveCount(0);
  await expect(page.getByTestId('intent')).toHaveCount(1, { timeout: 30_000 });
}

/** The person's first cell id, from the Cells screen. */
async function cellId(page: Page): Promise<string> {
  await screen(page, 'Cells');
  return (await page.getByTestId('cell').first().locator('code.did-full').textContent())!.trim();
}

test('a capability for computrons: escrowed and delivered as shown, and the receiver holds the handle', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const [a, b] = [await person(browser, served.url, ws), await person(browser, served.url, ws)];
  const aCell = await cellId(a);
  // A gives a capability to its cell (transfers only, 50 computrons at most) for 10 computrons; B
  // pays 10 for transfers of at most 30.
  await post(a, 'caps', { capability: 'transfer', budget: 50 }, { computrons: 10 });
  await post(b, 'caps', { computrons: 10 }, { capability: 'transfer', budget: 30 });

  const aRing = a.getByTestId('ring').first();
  await expect(aRing.getByTestId('gives')).toContainText(
    'escrowed revocably with only these actions: transfer; at most 50 units',
    { timeout: 30_000 },
  );
  await expect(aRing.getByTestId('gives')).toContainText(
    /allowing exactly only these actions: transfer; at most 50 units .*; only these actions: transfer; at most 30 units/,
  );
  await expect(aRing.getByTestId('pays')).toHaveCount(0);
  await expect(aRing.getByTestId('receives')).toContainText('10 computrons');
  const bRing = b.getByTestId('ring').first();
  await expect(bRing.getByTestId('pays')).toContainText('10 computrons', { timeout: 30_000 });
  await expect(bRing.getByTestId('receives')).toContainText('a capability: services any, actions transfer');
  for (const ring of [aRing, bRing]) {
    await ring.getByRole('button', { name: 'Approve' }).click();
    await expect(ring.getByTestId('approved').or(ring.getByTestId('outcome'))).toBeVisible({
      timeout: 30_000,
    });
  }
  for (const ring of [aRing, bRing])
    await expect(ring.getByTestId('outcome')).toHaveText(/^settled/, { timeout: 60_000 });

  for (const [page, balance] of [
    [a, '1010 computrons'],
    [b, '990 computrons'],
  ] as const) {
    await screen(page, 'Cells');
    await expect(page.getByTestId('balance')).toHaveText([balance], { timeout: 30_000 });
  }
  // B's cell holds the one handle it bought, to A's cell, with its restrictions; A's holds none.
  await b.getByText(/c-list \(1\)/).click();
  await expect(b.getByTestId('handle')).toHaveText([new RegExp(`^cell ${aCell.slice(0, 16)}…, \\d caveat`)]);
  await expect(a.getByText(/c-list \(0\)/)).toBeVisible();
});

test('a ring whose desk vanished with the escrow in: "Take back" after the deadline returns it', async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const c = await person(browser, served.url, ws);
  // Someone outside the browser takes the other side, commits, and never reveals.
  const client = await connectRelay([ws]);
  try {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const d = { did: didKeyFromEd25519(ed25519PublicKey(seed)), seed };
    const dCell = (await client.openCell(d.did, '11'.repeat(32))).id;
    const desk = intentClient(client.call, nobleEd25519);
    await post(c, 'gone', { computrons: 10 }, { computrons: 20 });
    await desk.post(
      await signIntent(
        {
          zone: 'gone',
          offers: [{ kind: 'computrons', amount: 20n }],
          wants: [{ kind: 'computrons', amount: 10n }],
          expires: Math.floor(Date.now() / 1000) + 600,
        },
        seed,
        new Uint8Array(16),
        nobleEd25519,
      ),
    );
    const ring = c.getByTestId('ring').first();
    await ring.getByRole('button', { name: 'Approve' }).click();
    await expect(ring.getByTestId('approved')).toBeVisible({ timeout: 30_000 });
    const view = (await desk.rings(d.did))[0]!;
    const mine = [...view.intents].find(([, i]) => i.by === d.did)![0];
    await desk.commit(
      view,
      mine,
      { ...d, cell: dCell },
      { ledger: client.info.ledger, cell: (await client.cell(dCell))!, head: await client.head(d.did) },
    );
    // C's wallet reveals: its escrow is in, and then the desk is gone for good.
    await expect(ring).toContainText('1/2 escrowed', { timeout: 30_000 });
  } finally {
    await client.close();
  }
  relay.desk.close();
  await screen(c, 'Cells');
  await expect(c.getByTestId('balance')).toHaveText(['990 computrons'], { timeout: 30_000 });

  await screen(c, 'Trade');
  const ring = c.getByTestId('ring').first();
  const takeBack = ring.getByTestId('take-back');
  await expect(takeBack).toBeVisible({ timeout: (RING_SECONDS + 30) * 1000 });
  await takeBack.getByRole('button', { name: 'Take back' }).click();
  await expect(ring.getByTestId('taken-back')).toContainText(
    /Taken back: 10 computrons into .*, balance now 1000/,
    {
      timeout: 30_000,
    },
  );
  await expect(takeBack).toHaveCount(0);
  await screen(c, 'Cells');
  await expect(c.getByTestId('balance')).toHaveText(['1000 computrons'], { timeout: 30_000 });
});

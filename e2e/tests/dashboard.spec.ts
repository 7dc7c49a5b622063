/**
 * The dashboard end to end: its production build (root vite.config.ts) served from 127.0.0.1 with its
 * Content-Security-Policy, Debian's Chromium, the light node in its Web Worker with the browser's own
 * IndexedDB, and a real `dregg relay` process for the revocation that must reach Bob. Alice hands Bob
 * a delegation as a picture of a QR code, exactly as a phone would: a screenshot of her page.
 * Screenshots of the main screens are kept under e2e/test-results/screens/.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Browser, chromium, expect, type Page, test } from '@playwright/test';
import { createServer } from 'vite';
import { formatSturdyRef } from '../../core/src/captp/sturdy.ts';
import { newMnemonic } from '../../core/src/keys/mnemonic.ts';
import { type SpawnedRelay, spawnRelay } from '../../core/src/node/relay/spawn.ts';
import { DIST, type ServedDashboard, serveDashboard } from '../../web/serve.ts';
import { chromiumLaunchOptions } from './chromium.ts';
import { y4mStill } from './y4m.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SCREENS = join(import.meta.dirname, '..', 'test-results', 'screens');
const PASS = 'a long unlock passphrase';

let home: string;
let relay: SpawnedRelay;
let ws: string;
let served: ServedDashboard;

test.beforeAll(async () => {
  test.setTimeout(120_000);
  mkdirSync(SCREENS, { recursive: true });
  home = mkdtempSync(join(tmpdir(), 'cipherclerk-e2e-dashboard-'));
  relay = await spawnRelay({
    home,
    args: ['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--grant', '1000', '--http', '127.0.0.1:0'],
  });
  const found = relay.ready.multiaddrs.find((m) => m.includes('/ws/'));
  if (found === undefined)
    throw new Error(`The relay offers no WebSocket address: ${relay.ready.multiaddrs}`);
  ws = found;
  served = await serveDashboard({ relays: [ws], dir: DIST });
});

test.afterAll(async () => {
  await served?.close();
  await relay?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

async function shot(page: Page, name: string): Promise<void> {
  const path = join(SCREENS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await test.info().attach(name, { path, contentType: 'image/png' });
}

/** A fresh person: their own browser context (own IndexedDB), the dashboard pointed at the relay. */
async function person(browser: Browser, withRelay = true, base = served.url): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  test.info().annotations.push({ type: 'console', description: 'page errors are checked at the end' });
  await page.goto(withRelay ? `${base}?relay=${encodeURIComponent(ws)}#/identity` : base);
  (page as Page & { errors?: string[] }).errors = errors;
  return page;
}

/** Creates an identity through the onboarding screen; returns its words and DID. */
async function onboard(page: Page): Promise<{ words: string[]; did: string }> {
  await page.getByRole('tab', { name: 'Create a new identity' }).click();
  await page.getByLabel(/^Unlock passphrase/).fill(PASS);
  await page.getByLabel('The same passphrase again').fill(PASS);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByTestId('mnemonic')).toBeVisible();
  const words = await page.getByTestId('mnemonic').locator('li').allInnerTexts();
  expect([12, 24]).toContain(words.length);
  await page.getByLabel('I have written them down').check();
  const asked = page.getByRole('textbox', { name: /^Word \d+$/ });
  await expect(asked).toHaveCount(3);
  for (const input of await asked.all()) {
    const position = Number((await input.getAttribute('name'))!.replace('confirm-', ''));
    await input.fill(words[position - 1]!);
  }
  await page.getByRole('button', { name: 'Confirm and finish' }).click();
  await expect(page.getByRole('navigation', { name: 'Screens' })).toBeVisible({ timeout: 30_000 });
  const did = (await page.getByTestId('did').innerText()).trim();
  expect(did).toMatch(/^did:key:z6Mk/);
  return { words, did };
}

async function screen(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name }).click();
}

test('Alice delegates read to Bob by a QR picture; the service allows read, refuses write; revoking reaches Bob', async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const alice = await person(browser);
  const bob = await person(browser);
  await expect(alice.getByRole('heading', { name: 'Welcome to cipherclerk' })).toBeVisible();
  await shot(alice, 'onboarding');
  await onboard(alice);
  const { did: bobDid } = await onboard(bob);
  for (const page of [alice, bob])
    await expect(page.getByText('relay online')).toBeVisible({ timeout: 30_000 });
  await shot(alice, 'identity');

  await screen(alice, 'Capabilities');
  await alice.getByLabel('Service', { exact: true }).first().fill('storage');
  await alice.getByRole('button', { name: 'Mint' }).click();
  await expect(alice.getByTestId('minted')).toHaveCount(1, { timeout: 30_000 });

  await alice.getByLabel('Recipient DID').fill(bobDid);
  await alice.getByLabel(/^Actions \(empty/).fill('read');
  await alice.getByLabel('Budget (units)').fill('5');
  await alice.getByLabel('Lifetime (minutes)').fill('60');
  const summary = alice.getByTestId('delegate-summary');
  await expect(summary).toContainText('will be able to read on storage');
  await expect(summary).toContainText('spending at most 5 units');
  await shot(alice, 'delegate');
  await alice.getByRole('button', { name: 'Sign and share' }).click();

  const qr = alice.getByTestId('qr');
  await expect(qr).toBeVisible();
  await shot(alice, 'share-qr');
  const picture = await qr.screenshot();
  writeFileSync(join(SCREENS, 'delegation-qr.png'), picture);

  await screen(bob, 'Share by QR');
  await bob
    .getByTestId('open-picture')
    .setInputFiles({ name: 'qr.png', mimeType: 'image/png', buffer: picture });
  const inspection = bob.getByTestId('inspection');
  await expect(inspection.getByTestId('allows')).toHaveText(/read on storage, at most 5 units/);
  await expect(inspection.getByTestId('expiry')).toContainText(/(59|60) min .* left|1 h 0 min left/);
  await expect(inspection).toContainText('only these actions: read');
  await shot(bob, 'inspect-before-accept');
  await bob.getByRole('button', { name: /^Accept, trusting/ }).click();
  const held = bob.getByTestId('held');
  await expect(held).toHaveCount(1);
  await expect(held.getByTestId('state')).toHaveText('valid');
  await held.getByRole('button', { name: 'Inspect' }).click();
  const text = await held.getByTestId('text').inputValue();
  expect(text).toMatch(/^ccdel_/);
  await shot(bob, 'capabilities-held');

  const decide = async (action: string) => {
    await alice.getByLabel('Capability presented (delegation text)').fill(text);
    await alice.getByLabel('Action', { exact: true }).fill(action);
    await alice.getByRole('button', { name: 'Check' }).click();
    return alice.getByTestId('decision');
  };
  await screen(alice, 'Capabilities');
  await expect(await decide('read')).toHaveText(/^Allowed: read on storage/);
  await expect(await decide('write')).toHaveText(/Refused: E_DENIED/);
  await shot(alice, 'capabilities-verify');

  const issued = alice.getByTestId('issued');
  await issued.getByRole('button', { name: 'Revoke' }).click();
  await expect(issued.getByTestId('state')).toHaveText('revoked', { timeout: 30_000 });
  await expect(await decide('read')).toHaveText(/Refused: E_REVOKED/);
  await expect(held.getByTestId('state')).toHaveText('revoked', { timeout: 30_000 });
  await shot(bob, 'capabilities-revoked');
  await shot(alice, 'capabilities-tree');

  await screen(alice, 'Network');
  await expect(alice.getByTestId('relay-state')).toHaveText('online');
  await shot(alice, 'network');
  for (const page of [alice, bob]) expect((page as Page & { errors: string[] }).errors).toEqual([]);
});

/** Opens the dashboard again in `page`'s context (same IndexedDB: same person) and unlocks it. */
async function reopen(page: Page): Promise<Page> {
  const again = await page.context().newPage();
  const errors: string[] = [];
  again.on('pageerror', (e) => errors.push(String(e)));
  (again as Page & { errors?: string[] }).errors = errors;
  await again.goto(`${served.url}#/identity`);
  await again.getByLabel('Unlock passphrase').fill(PASS);
  await again.getByRole('button', { name: 'Unlock' }).click();
  await expect(again.getByRole('navigation', { name: 'Screens' })).toBeVisible({ timeout: 30_000 });
  await expect(again.getByText('relay online')).toBeVisible({ timeout: 30_000 });
  return again;
}

async function delegateTo(page: Page, recipient: string, actions: string): Promise<void> {
  await screen(page, 'Capabilities');
  await page.getByLabel('Recipient DID').fill(recipient);
  await page.getByLabel(/^Actions \(empty/).fill(actions);
  await page.getByLabel('Budget (units)').fill('');
  await page.getByLabel('Lifetime (minutes)').fill('60');
  await page.getByRole('button', { name: 'Sign and share' }).click();
  await expect(page.getByRole('heading', { name: 'Show a delegation' })).toBeVisible();
}

test('offline delivery: Bob is closed, Alice leaves a capability in his inbox; Bob drains, inspects, accepts; a revocation made while he was away reaches him', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const alice = await person(browser);
  const bob = await person(browser);
  await onboard(alice);
  const { did: bobDid } = await onboard(bob);
  await bob.close();

  await expect(alice.getByText('relay online')).toBeVisible({ timeout: 30_000 });
  await screen(alice, 'Capabilities');
  await alice.getByLabel('Service', { exact: true }).first().fill('storage');
  await alice.getByRole('button', { name: 'Mint' }).click();
  await expect(alice.getByTestId('minted')).toHaveCount(1, { timeout: 30_000 });
  await delegateTo(alice, bobDid, 'read');
  await alice.getByRole('button', { name: /^Send to their inbox instead/ }).click();
  await expect(alice.getByTestId('sent')).toContainText('Left in the inbox of', { timeout: 30_000 });
  await shot(alice, 'share-sent-to-inbox');

  const bobAgain = await reopen(bob);
  await screen(bobAgain, 'Inbox');
  await bobAgain.getByRole('button', { name: 'Check for messages' }).click();
  const message = bobAgain.getByTestId('message');
  await expect(message).toHaveCount(1, { timeout: 30_000 });
  await expect(bobAgain.getByTestId('notice')).toContainText('1 new message(s)');
  await expect(message.getByTestId('message-state')).toHaveText('new');
  await expect(message.getByTestId('allows')).toHaveText(/read on storage/);
  await shot(bobAgain, 'inbox');
  await message.getByRole('button', { name: /^Accept, trusting/ }).click();
  const held = bobAgain.getByTestId('held');
  await expect(held).toHaveCount(1, { timeout: 30_000 });
  await expect(held.getByTestId('state')).toHaveText('valid');
  await held.getByRole('button', { name: 'Inspect' }).click();
  const text = await held.getByTestId('text').inputValue();
  await screen(bobAgain, 'Inbox');
  await expect(bobAgain.getByTestId('message-state')).toHaveText('accepted');

  await screen(alice, 'Capabilities');
  await alice.getByLabel('Capability presented (delegation text)').fill(text);
  await alice.getByLabel('Action', { exact: true }).fill('read');
  await alice.getByRole('button', { name: 'Check' }).click();
  await expect(alice.getByTestId('decision')).toHaveText(/^Allowed: read on storage/);

  // Bob closes again; Alice revokes; Bob, reopening, learns it from the relay's revocation log.
  await bobAgain.close();
  const issued = alice.getByTestId('issued');
  await issued.getByRole('button', { name: 'Revoke' }).click();
  await expect(issued.getByTestId('state')).toHaveText('revoked', { timeout: 30_000 });
  const bobThird = await reopen(bob);
  await screen(bobThird, 'Capabilities');
  await expect(bobThird.getByTestId('held').getByTestId('state')).toHaveText('revoked', { timeout: 30_000 });
  await shot(bobThird, 'capabilities-revoked-while-offline');
  for (const page of [alice, bobAgain, bobThird])
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
});

test('a delegation too long for one QR goes by inbox reference; channel and epoch revocation; peers', async ({
  browser,
}) => {
  test.setTimeout(240_000);
  const alice = await person(browser);
  const bob = await person(browser);
  await onboard(alice);
  const { did: bobDid } = await onboard(bob);
  for (const page of [alice, bob])
    await expect(page.getByText('relay online')).toBeVisible({ timeout: 30_000 });

  const actions = Array.from({ length: 60 }, (_, i) => `action-number-${i}`).join(', ');
  await screen(alice, 'Capabilities');
  await alice.getByLabel('Service', { exact: true }).first().fill('storage');
  await alice.getByLabel('Actions', { exact: true }).fill(actions);
  await alice.getByRole('button', { name: 'Mint' }).click();
  await expect(alice.getByTestId('minted')).toHaveCount(1, { timeout: 30_000 });
  await alice.getByLabel('Give it its own revocation channel').check();
  await delegateTo(alice, bobDid, actions);
  await expect(alice.getByTestId('qr')).toHaveCount(0);
  await alice.getByRole('button', { name: 'Leave it in their inbox and show a reference QR' }).click();
  const qr = alice.getByTestId('qr');
  await expect(qr).toBeVisible({ timeout: 30_000 });
  await shot(alice, 'share-inbox-reference');
  const picture = await qr.screenshot();

  await screen(bob, 'Share by QR');
  await bob
    .getByTestId('open-picture')
    .setInputFiles({ name: 'qr.png', mimeType: 'image/png', buffer: picture });
  const inspection = bob.getByTestId('inspection');
  await expect(inspection.getByTestId('allows')).toHaveText(
    /action-number-0, action-number-1, .* on storage/,
    {
      timeout: 30_000,
    },
  );
  await shot(bob, 'inspect-inbox-reference');
  await bob.getByRole('button', { name: /^Accept, trusting/ }).click();
  const held = bob.getByTestId('held');
  await expect(held).toHaveCount(1, { timeout: 30_000 });
  await expect(held.getByTestId('state')).toHaveText('valid');

  // Trip the delegation's own channel: revoked at Alice at once, at Bob by gossip.
  await screen(alice, 'Capabilities');
  const issued = alice.getByTestId('issued');
  await issued.getByRole('button', { name: 'Trip its channel' }).click();
  await expect(issued.getByTestId('state')).toHaveText('revoked', { timeout: 30_000 });
  await expect(held.getByTestId('state')).toHaveText('revoked', { timeout: 30_000 });

  // A new epoch: a plain delegation signed before it is refused.
  await delegateTo(alice, bobDid, 'action-number-3');
  await screen(alice, 'Capabilities');
  await expect(alice.getByTestId('epoch')).toHaveText('0');
  await alice.getByRole('button', { name: 'Start a new epoch…' }).click();
  await alice.getByRole('button', { name: 'Yes, start epoch 1' }).click();
  await expect(alice.getByTestId('epoch')).toHaveText('1', { timeout: 30_000 });
  await expect(issued.getByTestId('state')).toHaveText(['revoked', 'revoked']);
  await shot(alice, 'capabilities-epoch');

  await screen(alice, 'Network');
  const peers = alice.getByTestId('peers');
  await expect(peers.getByRole('row', { name: /relay/ })).toBeVisible({ timeout: 30_000 });
  // A ping lost under load shows "no answer" until the screen pings again (every 10 s).
  await expect(peers.getByTestId('peer-latency').first()).toHaveText(/^\d+ ms$/, { timeout: 30_000 });
  await shot(alice, 'network-peers');
  for (const page of [alice, bob]) expect((page as Page & { errors: string[] }).errors).toEqual([]);
});

test('turns built in the UI run here; one goes in the open, one is proved in the worker (progress to 100%) and checked by the relay; receipts verify against the attested root', async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const page = await person(browser);
  await onboard(page);
  await expect(page.getByText('relay online')).toBeVisible({ timeout: 30_000 });
  await screen(page, 'Cells');
  const open = page.getByRole('button', { name: 'Open a new cell' });
  await open.click();
  await expect(page.getByTestId('cell')).toHaveCount(1, { timeout: 30_000 });
  await open.click();
  await expect(page.getByTestId('cell')).toHaveCount(2, { timeout: 30_000 });
  await expect(page.getByTestId('balance')).toHaveText(['1000 computrons', '1000 computrons']);
  const [first, second] = await Promise.all(
    [0, 1].map((i) => page.getByTestId('cell').nth(i).locator('code').first().getAttribute('title')),
  );
  await page.getByLabel('Acting as cell').selectOption(first!);

  const effects = page.getByTestId('effect');
  await effects.nth(0).getByLabel('Field name').fill('greeting');
  await effects.nth(0).getByLabel('Value').fill('hello');
  await page.getByRole('button', { name: 'Add an effect' }).click();
  await effects.nth(1).getByLabel('To cell (id)').fill(second!);
  await effects.nth(1).getByLabel('Amount').fill('250');
  await page.getByRole('button', { name: 'Add an effect' }).click();
  await effects.nth(2).getByLabel('Effect 3').selectOption('increment-nonce');
  await page.getByRole('button', { name: 'Execute here' }).click();
  const preview = page.getByTestId('preview');
  await expect(preview.getByTestId('after-balance')).toHaveText('750', { timeout: 30_000 });
  await expect(preview).toContainText('Field greeting = hello');
  await shot(page, 'cells-turn-preview');

  // Submitted as it is: the relay's executor runs it in the open and credits the other cell.
  await page.getByRole('button', { name: 'Submit to the relay' }).click();
  const receipt = page.getByTestId('receipt');
  await expect(receipt).toHaveCount(1, { timeout: 30_000 });
  await expect(receipt.getByTestId('inclusion')).toHaveText('in the log');
  await expect(receipt).toContainText(/under attested root \d+/);
  await expect(page.getByTestId('notice')).toContainText('verified in the relay’s log under attested root');
  await expect(page.getByTestId('balance')).toHaveText(['750 computrons', '1250 computrons']);

  // The second cell's turn goes as a proof: proved in the light node's worker by its WASM kernel pool
  // (the bar follows the proof's phases), then checked by the relay, which sees only commitments.
  await page.getByLabel('Acting as cell').selectOption(second!);
  await page.getByRole('button', { name: 'Remove effect 3' }).click();
  await page.getByRole('button', { name: 'Remove effect 2' }).click();
  await effects.nth(0).getByLabel('Value').fill('private hello');
  await page.getByRole('button', { name: 'Execute here' }).click();
  await expect(preview).toContainText('Field greeting = private hello', { timeout: 30_000 });
  await page.getByRole('button', { name: 'Prove' }).click();
  const bar = page.getByRole('progressbar', { name: 'Proof progress' });
  await expect(preview.getByTestId('proof')).toContainText('Proof verified', { timeout: 60_000 });
  expect(await bar.evaluate((b) => (b as HTMLProgressElement).value)).toBe(1);
  await expect(preview.getByTestId('proof-phase')).toHaveText('Checked here · 100%');
  await expect(preview.getByTestId('proof')).toContainText(
    /\d+\.\d KiB, 128 rows, proved in \d+ ms on pool-2x\./,
  );
  for (const name of ['old', 'new', 'nullifier'])
    await expect(preview.getByTestId(`commitment-${name}`)).toHaveAttribute('title', /^[0-9a-f]{64}$/);
  await expect(page.getByRole('button', { name: 'Prove' })).toHaveCount(0);
  await shot(page, 'cells-turn-proved');
  await page.getByRole('button', { name: 'Submit to the relay' }).click();
  await expect(receipt).toHaveCount(2, { timeout: 30_000 });
  await expect(page.getByTestId('notice')).toContainText(
    /Proof accepted by the relay \(it saw only commitments\)\. Receipt 1 verified in the relay’s log under attested root \d+/,
  );
  await expect(receipt.first().getByTestId('inclusion')).toHaveText('in the log');
  await expect(page.getByTestId('chain')).toContainText('The chain holds');
  // The second cell is private now: its state is the one the wallet keeps.
  await expect(page.getByTestId('cell').nth(1).getByTestId('private')).toBeVisible();
  await expect(page.getByTestId('balance')).toHaveText(['750 computrons', '1250 computrons']);
  await page
    .getByTestId('cell')
    .nth(1)
    .getByText(/^Fields/)
    .click();
  await expect(page.getByTestId('cell').nth(1).getByTestId('field')).toHaveText('private hello');
  await page
    .getByTestId('cell')
    .first()
    .getByText(/^Fields/)
    .click();
  await expect(page.getByTestId('cell').first().getByTestId('field')).toHaveText('hello');
  await shot(page, 'cells');

  // Online, with cells, receipts and peers on show, the screens still fit 360 px.
  await page.setViewportSize({ width: 360, height: 740 });
  for (const name of ['Cells', 'Inbox', 'Share by QR', 'Network']) {
    await screen(page, name);
    await expect(page.getByText('relay online')).toBeVisible();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  }
  await screen(page, 'Cells');
  await shot(page, 'cells-360px');
  expect((page as Page & { errors: string[] }).errors).toEqual([]);
});

test('under the Vite dev server too, the light node finds kernels.wasm and starts its kernel workers to prove', async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const dev = await createServer({
    configFile: join(ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    server: { port: 0 },
  });
  await dev.listen();
  try {
    const page = await person(browser, true, dev.resolvedUrls!.local[0]!);
    // The dev server compiles modules on first request: wait until the page and its worker are up.
    await expect(page.getByText('relay online')).toBeVisible({ timeout: 60_000 });
    await onboard(page);
    await screen(page, 'Cells');
    await page.getByRole('button', { name: 'Open a new cell' }).click();
    await expect(page.getByTestId('cell')).toHaveCount(1, { timeout: 30_000 });
    const effect = page.getByTestId('effect').first();
    await effect.getByLabel('Field name').fill('greeting');
    await effect.getByLabel('Value').fill('hello');
    await page.getByRole('button', { name: 'Execute here' }).click();
    await page.getByRole('button', { name: 'Prove' }).click();
    await expect(page.getByTestId('proof')).toContainText(/Proof verified: .* on pool-2x\./, {
      timeout: 90_000,
    });
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
  } finally {
    await dev.close();
  }
});

test('Bob scans the QR of Alice with the camera (the fake camera of Chromium plays a video made from it)', async ({
  browser,
}) => {
  test.setTimeout(180_000);
  const video = join(home, 'qr.y4m');
  // Bob's browser: a fake camera that plays `video`, written below from the screenshot of Alice's QR
  // (Chromium opens the file when the page asks for the camera).
  const camera = await chromium.launch(
    chromiumLaunchOptions([
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`,
    ]),
  );
  try {
    const alice = await person(browser);
    const bob = await person(camera);
    await onboard(alice);
    const { did: bobDid } = await onboard(bob);
    await expect(alice.getByText('relay online')).toBeVisible({ timeout: 30_000 });
    await screen(alice, 'Capabilities');
    await alice.getByLabel('Service', { exact: true }).first().fill('storage');
    await alice.getByRole('button', { name: 'Mint' }).click();
    await expect(alice.getByTestId('minted')).toHaveCount(1, { timeout: 30_000 });
    await delegateTo(alice, bobDid, 'read');
    // Once the page has settled (the notice above it shifts it down as it appears).
    await expect(alice.getByTestId('notice')).toBeVisible();
    await shot(alice, 'share-qr-for-camera');
    const picture = await alice.getByTestId('qr').screenshot();

    // The screenshot's pixels, decoded by a blank page (no CSP there), then one Y4M frame.
    const blank = await (await browser.newContext()).newPage();
    const { width, height, data } = await blank.evaluate(async (png: string) => {
      const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
      const bitmap = await createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
      const context = canvas.getContext('2d')!;
      context.drawImage(bitmap, 0, 0);
      const pixels = context.getImageData(0, 0, bitmap.width, bitmap.height);
      return { width: pixels.width, height: pixels.height, data: Array.from(pixels.data) };
    }, picture.toString('base64'));
    await blank.context().close();
    writeFileSync(video, y4mStill(Uint8Array.from(data), width, height));

    await screen(bob, 'Share by QR');
    await bob.getByRole('button', { name: 'Scan with the camera' }).click();
    const inspection = bob.getByTestId('inspection');
    await expect(inspection.getByTestId('allows')).toHaveText(/read on storage/, { timeout: 30_000 });
    await expect(bob.getByTestId('camera')).toHaveCount(0); // the camera stops once a code is read
    await shot(bob, 'scan-camera-inspect');
    await bob.getByRole('button', { name: /^Accept, trusting/ }).click();
    await expect(bob.getByTestId('held').getByTestId('state')).toHaveText('valid', { timeout: 30_000 });

    // Alice's browser has no camera at all: the error says so, with its code.
    await screen(alice, 'Share by QR');
    await alice.getByRole('button', { name: 'Scan with the camera' }).click();
    await expect(alice.getByTestId('problem')).toContainText(/E_(DENIED|NOT_FOUND|UNSUPPORTED|IO) .*camera/);
    await expect(alice.getByRole('button', { name: 'Scan with the camera' })).toBeVisible();
    await shot(alice, 'scan-camera-refused');

    // A CapTP sturdy reference pasted in: a bearer one is shown with a warning (PITFALLS 20), one
    // bound to Bob without it.
    const reference = (holder?: string) =>
      formatSturdyRef({
        federation: 'local',
        cell: 'ab'.repeat(32),
        swiss: new Uint8Array(32).fill(7),
        expiry: Math.floor(Date.now() / 1000) + 3600,
        ...(holder === undefined ? {} : { holder }),
      });
    const paste = async (text: string) => {
      await alice.getByLabel(/or paste a delegation or a reference/).fill(text);
      await alice.getByRole('button', { name: 'Inspect', exact: true }).click();
    };
    await paste(reference());
    await expect(alice.getByTestId('bearer-warning')).toContainText('anyone who sees this');
    await expect(alice.getByTestId('sturdy-holder')).toHaveText('anyone who holds it');
    await shot(alice, 'share-bearer-reference');
    await paste(reference(bobDid));
    await expect(alice.getByTestId('sturdy')).toBeVisible();
    await expect(alice.getByTestId('bearer-warning')).toHaveCount(0);
    for (const page of [alice, bob]) expect((page as Page & { errors: string[] }).errors).toEqual([]);
  } finally {
    await camera.close();
  }
});

test('lock, reload and unlock; a wrong passphrase is refused', async ({ browser }) => {
  const page = await person(browser, false);
  const { did } = await onboard(page);
  await page.getByRole('button', { name: 'Lock' }).click();
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible();
  await page.reload();
  await expect(page.getByRole('heading', { name: 'Locked' })).toBeVisible();
  await page.getByLabel('Unlock passphrase').fill('not the passphrase');
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByTestId('problem')).toContainText('E_LOCKED', { timeout: 30_000 });
  await shot(page, 'unlock-refused');
  await page.getByLabel('Unlock passphrase').fill(PASS);
  await page.getByRole('button', { name: 'Unlock' }).click();
  await expect(page.getByTestId('did')).toHaveText(did, { timeout: 30_000 });

  // Down to a 360 px wide window, every screen fits without sideways scrolling.
  await page.setViewportSize({ width: 360, height: 740 });
  for (const name of ['Identity', 'Capabilities', 'Share by QR', 'Inbox', 'Cells', 'Network']) {
    await screen(page, name);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
  }
  await screen(page, 'Capabilities');
  await shot(page, 'capabilities-360px');
});

test('restoring from words in the browser finds the same DID as the CLI', async ({ browser }) => {
  const words = newMnemonic();
  const cliHome = mkdtempSync(join(tmpdir(), 'cipherclerk-e2e-cli-'));
  try {
    const file = join(cliHome, 'words.txt');
    writeFileSync(file, words);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        join(ROOT, 'core', 'bin', 'dregg.js'),
        'id',
        'restore',
        '--mnemonic-file',
        file,
        '--home',
        cliHome,
        '--json',
      ],
      { env: { ...process.env, DREGG_PASSPHRASE: 'cli unlock passphrase' } },
    );
    const cliDid = (JSON.parse(stdout) as { did: string }).did;

    const page = await person(browser, false);
    await page.getByRole('tab', { name: 'Restore from words' }).click();
    await page.getByLabel('Your recovery words').fill(words);
    await page.getByLabel(/^Unlock passphrase/).fill(PASS);
    await page.getByLabel('The same passphrase again').fill(PASS);
    await page.getByRole('button', { name: 'Restore' }).click();
    await expect(page.getByTestId('did')).toHaveText(cliDid, { timeout: 30_000 });
  } finally {
    rmSync(cliHome, { recursive: true, force: true });
  }
});

/**
 * The dashboard's Local firmament page end to end: a real launcher (`dregg firmament up`, the kernel
 * under QEMU and its bridge, started with the dashboard's origin allowed), the dashboard's production
 * build served with its security headers, Debian's Chromium, and the light node's worker holding the
 * bridge connection. Connect, see the capabilities, mint a narrower child, have a widening refused with
 * E_WIDENING, revoke the subtree. Screenshots go to e2e/test-results/screens/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { expect, type Page, test } from '@playwright/test';
import { DIST, type ServedDashboard, serveDashboard } from '../../web/serve.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SCREENS = join(import.meta.dirname, '..', 'test-results', 'screens');
const PASS = 'a long unlock passphrase';

let served: ServedDashboard;
let launcher: ChildProcess;
let line: string;

/** Starts `dregg firmament up --json` allowing `origin`; resolves with the one line it prints. */
function startLauncher(origin: string): Promise<string> {
  launcher = spawn(
    process.execPath,
    [join(ROOT, 'core/bin/dregg.js'), 'firmament', 'up', '--json', '--origin', origin],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    launcher.once('exit', (code) => reject(new Error(`dregg firmament up exited with ${code}`)));
    createInterface({ input: launcher.stdout! }).once('line', resolve);
  });
}

test.beforeAll(async () => {
  test.setTimeout(120_000);
  mkdirSync(SCREENS, { recursive: true });
  served = await serveDashboard({ dir: DIST });
  line = await startLauncher(new URL(served.url).origin);
});

test.afterAll(async () => {
  if (launcher && launcher.exitCode === null) {
    const gone = new Promise((resolve) => launcher.once('exit', resolve));
    launcher.kill('SIGTERM');
    await gone;
  }
  await served?.close();
});

async function shot(page: Page, name: string): Promise<void> {
  const path = join(SCREENS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await test.info().attach(name, { path, contentType: 'image/png' });
}

async function onboard(page: Page): Promise<void> {
  await page.getByRole('tab', { name: 'Create a new identity' }).click();
  await page.getByLabel(/^Unlock passphrase/).fill(PASS);
  await page.getByLabel('The same passphrase again').fill(PASS);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByTestId('mnemonic')).toBeVisible({ timeout: 30_000 });
  const words = await page.getByTestId('mnemonic').locator('li').allInnerTexts();
  await page.getByLabel('I have written them down').check();
  for (const input of await page.getByRole('textbox', { name: /^Word \d+$/ }).all()) {
    const position = Number((await input.getAttribute('name'))!.replace('confirm-', ''));
    await input.fill(words[position - 1]!);
  }
  await page.getByRole('button', { name: 'Confirm and finish' }).click();
  await expect(page.getByRole('navigation', { name: 'Screens' })).toBeVisible({ timeout: 30_000 });
}

/** The `slot:gen` of each capability row in a CNode's table. */
async function refsIn(page: Page, cnode: number): Promise<string[]> {
  const rows = page.getByTestId(`cnode-${cnode}`).locator('tbody tr');
  return (await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-testid') ?? ''))).map((id) =>
    id.replace(/^cap-/, ''),
  );
}

test('connect to a running launcher, mint a narrower child, see a widening refused, revoke the subtree', async ({
  page,
}) => {
  test.setTimeout(60_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const launched = JSON.parse(line) as { bridge: string; token: string; bootMs: number };
  expect(launched.bridge).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);

  await page.goto(`${served.url}#/firmament`);
  await onboard(page);
  await page
    .getByRole('navigation', { name: 'Screens' })
    .getByRole('link', { name: 'Local firmament' })
    .click();
  await expect(page.getByTestId('firmament-empty')).toContainText('npm run firmament -- up');
  await shot(page, 'firmament-empty');

  // The whole line `up --json` printed, pasted into the URL field, fills both.
  await page.getByLabel('Bridge URL').fill(line);
  await page.getByRole('button', { name: 'Connect' }).click();
  await expect(page.getByTestId('firmament-state')).toHaveText('connected');
  await expect(page.getByTestId('firmament-boot')).toContainText(`${launched.bootMs} ms`);
  await expect(page.getByTestId('firmament-latency')).toContainText('ms');
  await expect(page.getByTestId('firmament-no-caps')).toBeVisible();

  await page.getByRole('combobox', { name: /^Kind of object/ }).selectOption('ep');
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByTestId('cnode-0').locator('tbody tr')).toHaveCount(1);
  const [root] = await refsIn(page, 0);
  const rootSlot = root!.split(':')[0];
  await expect(page.getByTestId(`cap-${root}`)).toContainText('mint narrower copies');

  // A child in CNode 1 with grant and send: narrower than the root, so the kernel mints it.
  await page.getByRole('combobox', { name: /^Parent/ }).selectOption(root!);
  await page.getByRole('combobox', { name: /^Into CNode/ }).selectOption('1');
  await page.getByLabel('grant: mint narrower copies').check();
  await page.getByRole('button', { name: 'Mint' }).click();
  await expect(page.getByTestId('cnode-1').locator('tbody tr')).toHaveCount(1);
  const [child] = await refsIn(page, 1);
  await expect(page.getByTestId(`cap-${child}`).getByTestId('parent')).toHaveText(`slot ${rootSlot}`);
  await expect(page.getByTestId(`cap-${child}`)).toContainText('send words');
  await expect(page.getByTestId(`cap-${child}`)).not.toContainText('receive words');

  // From the child, recv is a widening: the kernel refuses it.
  await page.getByRole('combobox', { name: /^Parent/ }).selectOption(child!);
  await page.getByRole('combobox', { name: /^Into CNode/ }).selectOption('2');
  await page.getByLabel('recv: receive words').check();
  await page.getByRole('button', { name: 'Mint' }).click();
  await expect(page.getByTestId('problem')).toContainText('E_WIDENING');
  await expect(page.getByTestId('cnode-2')).toHaveCount(0);

  // The child may send; the root receives the word.
  await page.getByRole('combobox', { name: /^Capability/ }).selectOption(child!);
  await page.getByRole('combobox', { name: /^Action/ }).selectOption('send');
  await page.getByRole('spinbutton', { name: /^word/ }).fill('42');
  await page.getByRole('button', { name: 'Invoke' }).click();
  await expect(page.getByTestId('invoke-answer')).toContainText('queued=1');
  await shot(page, 'firmament');

  // Revoking the root's subtree: the child is gone, the root stays.
  await page.getByTestId(`cap-${root}`).getByRole('button', { name: 'Revoke children' }).click();
  await expect(page.getByTestId('notice')).toContainText('1 capability revoked');
  await expect(page.getByTestId('cnode-1')).toHaveCount(0);
  await expect(page.getByTestId(`cap-${root}`)).toBeVisible();
  await shot(page, 'firmament-revoked');
  expect(errors).toEqual([]);
});

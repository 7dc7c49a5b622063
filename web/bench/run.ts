/**
 * `npm run bench -w web`: the dashboard's production build, measured. Prints JSON lines:
 * - web_bundle: gzip size of what the first page load fetches (index.html, its scripts and styles, and
 *   the light node's worker script), without .wasm and without chunks loaded later (libp2p, loaded
 *   when a relay is configured);
 * - web_tti: time from navigation start to the `cipherclerk-interactive` mark (the light node's worker
 *   has answered and the first screen is drawn), in headless Debian Chromium, median of several loads
 *   each in a fresh context (empty cache, empty IndexedDB);
 * - web_unlock: time from submitting the unlock passphrase to the unlocked dashboard (scrypt at the
 *   at-rest cost in the worker, the keyring opened, the overview back in the page), median of several
 *   lock/unlock rounds of one identity restored from words;
 * - web_prove: a SetField + Transfer turn proved in the light node's worker (its 2-worker WASM pool),
 *   as the dashboard reports it (prove time inside the worker, the pool already open), median of
 *   several turns; `first_ms` is the first proof's click-to-verified time, the pool's start included.
 * Benchmarks are never assertions: the goals (<= 250 KiB, <= 1 s) are compared by a person.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Browser, chromium } from '@playwright/test';
import { build } from 'vite';
import { newMnemonic } from '../../core/src/keys/mnemonic.ts';
import { spawnRelay } from '../../core/src/node/relay/spawn.ts';
import { chromiumLaunchOptions } from '../../e2e/tests/chromium.ts';
import { DIST, serveDashboard } from '../serve.ts';

const RUNS = 9;
const UNLOCKS = 5;
const PROOFS = 7;

await build({ configFile: join(import.meta.dirname, '..', '..', 'vite.config.ts'), logLevel: 'warn' });

const html = readFileSync(join(DIST, 'index.html'), 'utf8');
const referenced = [...html.matchAll(/(?:src|href)="\/([^"]+)"/g)].map((m) => m[1]!);
const scripts = referenced.filter((f) => f.endsWith('.js'));
// The worker is started at once by the page; its script is named after its entry module.
const workers = scripts.flatMap((f) =>
  [...readFileSync(join(DIST, f), 'utf8').matchAll(/assets\/(entry-[\w-]+\.js)/g)].map(
    (m) => `assets/${m[1]}`,
  ),
);
const initial = [...new Set(['index.html', ...referenced, ...workers])].filter((f) => !f.endsWith('.wasm'));
const gzip = (f: string) => gzipSync(readFileSync(join(DIST, f)), { level: 9 }).length;
const total = initial.reduce((sum, f) => sum + gzip(f), 0);
const later = readdirSync(join(DIST, 'assets'))
  .map((f) => `assets/${f}`)
  .filter((f) => !initial.includes(f) && !f.endsWith('.wasm'));
console.log(
  JSON.stringify({
    bench: 'web_bundle',
    gzip_kib: Math.round((total / 1024) * 10) / 10,
    files: initial,
    later_gzip_kib: Math.round((later.reduce((s, f) => s + gzip(f), 0) / 1024) * 10) / 10,
  }),
);

function report(bench: string, times: number[]): void {
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(
    JSON.stringify({
      bench,
      median_ms: Math.round(median),
      runs: times.length,
      min_ms: Math.round(times[0]!),
    }),
  );
}

async function unlockTimes(browser: Browser): Promise<number[]> {
  const passphrase = 'a bench unlock passphrase';
  const page = await (await browser.newContext()).newPage();
  await page.goto(served.url);
  await page.getByRole('tab', { name: 'Restore from words' }).click();
  await page.getByLabel('Your recovery words').fill(newMnemonic());
  await page.getByLabel(/^Unlock passphrase/).fill(passphrase);
  await page.getByLabel('The same passphrase again').fill(passphrase);
  await page.getByRole('button', { name: 'Restore' }).click();
  const times: number[] = [];
  for (let i = 0; i < UNLOCKS; i++) {
    await page.getByRole('button', { name: 'Lock' }).click({ timeout: 60_000 });
    await page.getByLabel('Unlock passphrase').fill(passphrase);
    await page.getByRole('button', { name: 'Unlock' }).click();
    // The worker's status event can show the dashboard a moment before the unlock call returns.
    const measured = await page.waitForFunction(
      (n) => performance.getEntriesByName('cipherclerk-unlock')[n]?.duration,
      i,
      { timeout: 60_000 },
    );
    times.push((await measured.jsonValue()) as number);
  }
  await page.context().close();
  return times;
}

/** Proves turns through the Cells screen against a real relay; returns the worker's prove times. */
async function proveTimes(browser: Browser): Promise<{ times: number[]; first: number; detail: string }> {
  const home = mkdtempSync(join(tmpdir(), 'cipherclerk-bench-prove-'));
  const relay = await spawnRelay({
    home,
    args: ['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--grant', '1000000'],
  });
  try {
    const ws = relay.ready.multiaddrs.find((m) => m.includes('/ws/'))!;
    // Served again with the relay's origin in the policy's connect-src.
    const dashboard = await serveDashboard({ relays: [ws] });
    const passphrase = 'a bench unlock passphrase';
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${dashboard.url}?relay=${encodeURIComponent(ws)}#/cells`);
    await page.getByRole('tab', { name: 'Restore from words' }).click();
    await page.getByLabel('Your recovery words').fill(newMnemonic());
    await page.getByLabel(/^Unlock passphrase/).fill(passphrase);
    await page.getByLabel('The same passphrase again').fill(passphrase);
    await page.getByRole('button', { name: 'Restore' }).click();
    await page.getByText('relay online').waitFor({ timeout: 60_000 });
    await page.getByRole('navigation', { name: 'Screens' }).getByRole('link', { name: 'Cells' }).click();
    for (const n of [1, 2]) {
      await page.getByRole('button', { name: 'Open a new cell' }).click();
      await page
        .getByTestId('cell')
        .nth(n - 1)
        .waitFor({ timeout: 30_000 });
    }
    const other = await page.getByTestId('cell').nth(1).locator('code').first().getAttribute('title');
    const effects = page.getByTestId('effect');
    await effects.nth(0).getByLabel('Field name').fill('greeting');
    await page.getByRole('button', { name: 'Add an effect' }).click();
    await effects.nth(1).getByLabel('To cell (id)').fill(other!);
    await effects.nth(1).getByLabel('Amount').fill('1');
    const times: number[] = [];
    let first = 0;
    let detail = '';
    for (let i = 0; i < PROOFS; i++) {
      await effects.nth(0).getByLabel('Value').fill(`hello ${i}`);
      await page.getByRole('button', { name: 'Execute here' }).click();
      await page.getByTestId('preview').getByText(`Field greeting = hello ${i}`).waitFor({ timeout: 30_000 });
      const started = Date.now();
      await page.getByRole('button', { name: 'Prove' }).click({ timeout: 30_000 });
      const proof = page.getByTestId('proof');
      await proof.waitFor({ timeout: 120_000 });
      if (i === 0) first = Date.now() - started;
      detail = (await proof.textContent()) ?? '';
      const ms = /proved in (\d+) ms/.exec(detail);
      if (ms === null) throw new Error(`no prove time in "${detail}"`);
      times.push(Number(ms[1]));
    }
    await page.context().close();
    await dashboard.close();
    return { times, first, detail: detail.trim() };
  } finally {
    await relay.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

const served = await serveDashboard();
const browser = await chromium.launch(chromiumLaunchOptions());
try {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(served.url);
    const mark = await page.waitForFunction(
      () => performance.getEntriesByName('cipherclerk-interactive')[0]?.startTime,
      undefined,
      { timeout: 30_000 },
    );
    times.push((await mark.jsonValue()) as number);
    await context.close();
  }
  report('web_tti', times);
  report('web_unlock', await unlockTimes(browser));
  const proved = await proveTimes(browser);
  const kib = /([\d.]+) KiB/.exec(proved.detail)?.[1];
  const sorted = [...proved.times].sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      bench: 'web_prove',
      median_ms: sorted[Math.floor(sorted.length / 2)],
      min_ms: sorted[0],
      runs: sorted.length,
      first_ms: proved.first,
      proof_kib: kib === undefined ? null : Number(kib),
      prover: /on ([^.]+)\./.exec(proved.detail)?.[1] ?? null,
    }),
  );
} finally {
  await browser.close();
  await served.close();
}

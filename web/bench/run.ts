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
 *   lock/unlock rounds of one identity restored from words.
 * Benchmarks are never assertions: the goals (<= 250 KiB, <= 1 s) are compared by a person.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type Browser, chromium } from '@playwright/test';
import { build } from 'vite';
import { newMnemonic } from '../../core/src/keys/mnemonic.ts';
import { chromiumLaunchOptions } from '../../e2e/tests/chromium.ts';
import { DIST, serveDashboard } from '../serve.ts';

const RUNS = 9;
const UNLOCKS = 5;

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
} finally {
  await browser.close();
  await served.close();
}

/**
 * The browser extension end to end: its build (extension/dist/chromium) loaded unpacked into Debian's
 * Chromium, two test sites on two loopback origins (e2e/fixtures/extension-site), and a storage
 * service on the same servers that checks every invocation with the light node's `checkInvocation`
 * (core's `verifyRequest` underneath: the HMAC chain back to its own root key, every signature, the
 * audience, the metered budget). The page asks, the approval window narrows, the page uses the grant.
 * Screenshots of the popup's views and the approval window go to e2e/test-results/screens/.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type BrowserContext, chromium, expect, type Page, test } from '@playwright/test';
import { type Agent, createAgent, delegate, mintToken } from '../../core/src/index.ts';
import { newMnemonic } from '../../core/src/keys/mnemonic.ts';
import { checkInvocation } from '../../worker/src/node/invocation.ts';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const EXTENSION = join(ROOT, 'extension', 'dist', 'chromium');
const SITE = join(ROOT, 'e2e', 'fixtures', 'extension-site');
const SCREENS = join(import.meta.dirname, '..', 'test-results', 'screens');
const PASS = 'a long unlock passphrase';
const ASK = {
  service: 'storage',
  actions: ['read', 'write'],
  budget: 100,
  ttl: 3600,
  reason: 'to keep your notes',
};

const run = promisify(execFile);

interface Site {
  readonly url: string;
  readonly origin: string;
  close(): Promise<void>;
}

let service: Agent;
/** The service's memory of invocation nonces (shared by both origins: one service). */
const seen = new Set<string>();
let siteA: Site;
let siteB: Site;
let context: BrowserContext;
let profile: string;
let extensionId: string;
let popup: Page;
let pageA: Page;
let pageB: Page;
/** What site A was granted in the round trip. */
let handleA: string;

/** Serves the test site and the storage service (POST /invoke) on its own loopback port. */
async function serveSite(): Promise<Site> {
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://site').pathname;
    if (req.method === 'POST' && path === '/invoke') {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', async () => {
        let decision: unknown;
        try {
          decision = await checkInvocation(service, JSON.parse(body), seen);
        } catch {
          decision = { allowed: false, code: 'E_DECODE', message: 'not an invocation' };
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(decision));
      });
      return;
    }
    const file = { '/': 'index.html', '/site.js': 'site.js' }[path];
    if (file === undefined) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'text/html' });
    res.end(readFileSync(join(SITE, file)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no port');
  const origin = `http://127.0.0.1:${address.port}`;
  return {
    url: `${origin}/`,
    origin,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function shot(page: Page, name: string): Promise<void> {
  const path = join(SCREENS, `extension-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await test.info().attach(name, { path, contentType: 'image/png' });
}

async function openSite(site: Site): Promise<Page> {
  const page = await context.newPage();
  await page.goto(site.url);
  await expect(page.locator('#state')).toHaveText('cipherclerk is here');
  return page;
}

/** Starts a request on `page` and returns the approval window it opened. */
async function ask(page: Page, what: object = ASK): Promise<Page> {
  const opened = context.waitForEvent('page', (p) => p.url().includes('/approval/approval.html'));
  await page.evaluate((a) => window.site.ask(a), what);
  const approval = await opened;
  await expect(approval.getByTestId('ask-words')).toBeVisible();
  return approval;
}

const outcome = (page: Page) => page.evaluate(() => window.site.asked);

declare global {
  interface Window {
    site: {
      connect(): Promise<Settled>;
      ask(a: object): void;
      asked: Promise<Settled>;
      use(
        handle: string,
        request: object,
      ): Promise<{ where: string; ok?: boolean; allowed?: boolean; code?: string }>;
      revoke(): Promise<Settled>;
      raw(method: string, params: unknown): Promise<{ ok: boolean; error?: { code: string } }>;
      events: { type: string }[];
    };
    cipherclerk: unknown;
    /** The extension's own pages only. */
    chrome: { runtime: { sendMessage(m: unknown): Promise<unknown> } };
  }
}
type Settled = { ok: true; value: Record<string, unknown> } | { ok: false; code: string; message: string };

/** The value of a call that must have succeeded. */
function value(s: Settled): Record<string, unknown> {
  if (!s.ok) throw new Error(`expected success, got ${s.code}: ${s.message}`);
  return s.value;
}

test.describe.configure({ mode: 'serial' });

test.beforeAll(async () => {
  test.setTimeout(180_000);
  mkdirSync(SCREENS, { recursive: true });
  // `npm test` builds every workspace first; a run of this file alone builds the extension itself.
  if (!existsSync(join(EXTENSION, 'manifest.json')))
    await run('npm', ['run', 'build', '-w', 'extension'], { cwd: ROOT });
  service = await createAgent();
  [siteA, siteB] = await Promise.all([serveSite(), serveSite()]);
  profile = mkdtempSync(join(tmpdir(), 'cipherclerk-e2e-extension-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 420, height: 640 },
    args: [...CHROMIUM_ARGS, `--disable-extensions-except=${EXTENSION}`, `--load-extension=${EXTENSION}`],
  });
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent('serviceworker'));
  extensionId = new URL(worker.url()).host;
  popup = await context.newPage();
  await popup.goto(`chrome-extension://${extensionId}/popup/popup.html`);
});

test.afterAll(async () => {
  await context?.close();
  await Promise.all([siteA?.close(), siteB?.close()]);
  if (profile) rmSync(profile, { recursive: true, force: true });
});

test('the popup restores an identity and accepts the service’s capability', async () => {
  await expect(popup.getByText('No identity in this browser yet.')).toBeVisible({ timeout: 30_000 });
  await shot(popup, 'popup-empty');
  const words = newMnemonic();
  await popup.getByLabel(/^Unlock passphrase/).fill(PASS);
  await popup.getByLabel('Recovery words').fill(words);
  await popup.getByRole('button', { name: 'Restore' }).click();
  const did = (await popup.getByTestId('did').textContent({ timeout: 60_000 }))!.trim();
  expect(did).toMatch(/^did:key:z/);

  // The service mints its storage capability and delegates it to the person.
  const root = mintToken(service, { service: 'storage', actions: ['read', 'write'], budget: 1000 });
  const toPerson = await delegate(service, root.id, did);
  await popup.getByRole('button', { name: 'Capabilities' }).click();
  await popup.getByLabel('Delegation (ccdel_…)').fill(toPerson.text);
  await popup.getByLabel('Issuer you trust (did:key)').fill(service.did);
  await popup.getByRole('button', { name: 'Accept' }).click();
  await expect(popup.getByText('only for the service storage')).toBeVisible();
  await expect(popup.getByRole('alert')).toHaveCount(0);
});

test('the page provider is frozen and cannot be replaced', async () => {
  pageA = await openSite(siteA);
  const sealed = await pageA.evaluate(() => {
    const before = window.cipherclerk;
    try {
      (window as { cipherclerk: unknown }).cipherclerk = { fake: true };
    } catch {}
    try {
      (window.cipherclerk as { connect: unknown }).connect = () => 'fake';
    } catch {}
    return {
      frozen: Object.isFrozen(window.cipherclerk),
      same: window.cipherclerk === before,
      deleted: delete (window as { cipherclerk?: unknown }).cipherclerk,
    };
  });
  expect(sealed).toEqual({ frozen: true, same: true, deleted: false });
});

test('round trip: the page asks, the person narrows the budget, the service honours exactly the grant', async () => {
  const connected = await pageA.evaluate(() => window.site.connect());
  expect(connected.ok).toBe(true);
  const sessionDid = value(connected).did;
  const approval = await ask(pageA);
  await expect(approval.getByTestId('ask-words')).toContainText(`${siteA.origin} asks to read and write`);
  await expect(approval.getByTestId('ask-words')).toContainText('at most 100 units');
  await shot(approval, 'approval');
  await approval.getByLabel('write').uncheck();
  await approval.getByLabel(/^Budget/).fill('10');
  const closed = approval.waitForEvent('close');
  await approval.getByRole('button', { name: 'Approve' }).click();
  await closed;

  const granted = await outcome(pageA);
  expect(granted.ok).toBe(true);
  const g = value(granted);
  expect(g).toMatchObject({ did: sessionDid, service: 'storage', actions: ['read'], budget: 10 });
  expect(String(g.delegation)).toMatch(/^ccdel_/);
  handleA = String(g.handle);

  // Inside the grant: allowed by the service. Beyond its budget: refused by the service.
  expect(
    await pageA.evaluate((h) => window.site.use(h, { service: 'storage', action: 'read', cost: 6 }), handleA),
  ).toMatchObject({
    where: 'service',
    allowed: true,
  });
  expect(
    await pageA.evaluate((h) => window.site.use(h, { service: 'storage', action: 'read', cost: 6 }), handleA),
  ).toMatchObject({
    where: 'service',
    allowed: false,
    code: 'E_BUDGET',
  });
  // An action the person took out: the background refuses to sign it.
  expect(
    await pageA.evaluate((h) => window.site.use(h, { service: 'storage', action: 'write' }), handleA),
  ).toMatchObject({
    where: 'extension',
    code: 'E_DENIED',
  });
});

test('deny path: the site hears that the person declined', async () => {
  const approval = await ask(pageA);
  await approval.getByRole('button', { name: 'Decline' }).click();
  expect(await outcome(pageA)).toMatchObject({ ok: false, code: 'E_DENIED' });
});

test('a second site has its own session DID and cannot see or use the first site’s grant', async () => {
  pageB = await openSite(siteB);
  const a = await pageA.evaluate(() => window.site.connect());
  const b = await pageB.evaluate(() => window.site.connect());
  expect(a.ok && b.ok).toBe(true);
  expect(value(b).did).not.toBe(value(a).did);
  expect(
    await pageB.evaluate((h) => window.site.use(h, { service: 'storage', action: 'read', cost: 1 }), handleA),
  ).toMatchObject({
    where: 'extension',
    code: 'E_NOT_FOUND',
  });
  // Nor collect a request of A's.
  const approval = await ask(pageA);
  const id = new URL(approval.url()).searchParams.get('request')!;
  expect(await pageB.evaluate((r) => window.site.raw('awaitRequest', { request: r }), id)).toMatchObject({
    ok: false,
    error: { code: 'E_NOT_FOUND' },
  });
  await approval.getByRole('button', { name: 'Decline' }).click();
  expect(await outcome(pageA)).toMatchObject({ ok: false, code: 'E_DENIED' });
});

test('a page cannot forge an approval; a widening or replayed decision is refused', async () => {
  const approval = await ask(pageA);
  const id = new URL(approval.url()).searchParams.get('request')!;
  // The page forges a decision on the channel its content script forwards: the background refuses it.
  const forged = await pageA.evaluate(
    (r) =>
      window.site.raw('decide', {
        request: r,
        nonce: '00'.repeat(32),
        approve: true,
        grant: { from: 'x', actions: ['write'], ttl: 3600 },
      }),
    id,
  );
  expect(forged).toMatchObject({ ok: false, error: { code: 'E_DENIED' } });
  // Even in the extension's own approval page, a decision wider than the ask is refused (core's lattice).
  const decide = (grant: object) =>
    approval.evaluate(
      async ([r, g]) => {
        const chrome = window.chrome;
        const pending = (await chrome.runtime.sendMessage({
          kind: 'ui',
          method: 'approvalRequest',
          params: { request: r },
        })) as {
          result: { nonce: string };
        };
        return chrome.runtime.sendMessage({
          kind: 'ui',
          method: 'decide',
          params: { request: r, nonce: pending.result?.nonce ?? '', approve: true, grant: g },
        });
      },
      [id, grant] as const,
    );
  const caps = (await approval.evaluate(() =>
    window.chrome.runtime.sendMessage({ kind: 'ui', method: 'capabilities' }),
  )) as { result: { held: { hash: string }[] } };
  const from = caps.result.held[0]!.hash;
  expect(await decide({ from, actions: ['read'], budget: 1000, ttl: 60 })).toMatchObject({
    ok: false,
    error: { code: 'E_WIDENING' },
  });
  expect(await decide({ from, actions: ['read', 'admin'], ttl: 60 })).toMatchObject({
    ok: false,
    error: { code: 'E_WIDENING' },
  });
  expect(await decide({ from, actions: ['read'], budget: 5, ttl: 60 })).toMatchObject({ ok: true });
  // Replaying the decision: the request is decided, the nonce spent.
  expect(await decide({ from, actions: ['read'], budget: 5, ttl: 60 })).toMatchObject({ ok: false });
  expect(await outcome(pageA)).toMatchObject({ ok: true, value: { budget: 5 } });
  await approval.close();
});

test('the service worker is stopped mid-flow and the flow still completes', async () => {
  const approval = await ask(pageA, { ...ASK, budget: 50 });
  // Stop it through the devtools protocol (from a web page's session: one on an extension page takes
  // that page down with the worker), and see that its target is gone.
  const workers = async () => {
    const browser = await context.browser()!.newBrowserCDPSession();
    const { targetInfos } = await browser.send('Target.getTargets');
    await browser.detach();
    return targetInfos.filter((t) => t.type === 'service_worker' && t.url.includes(extensionId)).length;
  };
  expect(await workers()).toBe(1);
  const cdp = await context.newCDPSession(pageB);
  await cdp.send('ServiceWorker.enable');
  await cdp.send('ServiceWorker.stopAllWorkers');
  await expect.poll(workers).toBe(0);
  // The approval page's decision wakes a fresh service worker, which finds the request in storage.
  await approval.getByLabel(/^Budget/).fill('7');
  await approval.getByRole('button', { name: 'Approve' }).click();
  const granted = await outcome(pageA);
  expect(granted).toMatchObject({ ok: true, value: { budget: 7, actions: ['read', 'write'] } });
  expect(await workers()).toBe(1);
  const h = String(value(granted).handle);
  expect(
    await pageA.evaluate(
      (handle) => window.site.use(handle, { service: 'storage', action: 'write', cost: 7 }),
      h,
    ),
  ).toMatchObject({
    where: 'service',
    allowed: true,
  });
});

test('popup views: home, capabilities with a QR, sites', async () => {
  await popup.reload();
  await expect(popup.getByTestId('activity')).toContainText('granted');
  await popup.getByRole('button', { name: 'Share my DID by QR' }).click();
  await expect(popup.getByTestId('qr')).toBeVisible();
  await shot(popup, 'popup-home');
  await popup.getByRole('button', { name: 'Sites & settings' }).click();
  await expect(popup.getByRole('region', { name: `Site ${siteA.origin}` })).toContainText('budget 10');
  await shot(popup, 'popup-sites');
  await popup.getByRole('button', { name: 'Capabilities' }).click();
  // A delegation two steps from its issuer is too long for one QR code: the popup says so.
  await popup.getByRole('button', { name: 'Share by QR' }).first().click();
  await expect(popup.getByRole('alert')).toContainText('E_TOO_LARGE');
  await shot(popup, 'popup-capabilities');
});

test('lock blocks every request from every site', async () => {
  await popup.getByRole('button', { name: 'Lock' }).click();
  await expect(popup.getByLabel('Unlock passphrase')).toBeVisible();
  await shot(popup, 'popup-locked');
  await expect.poll(() => pageA.evaluate(() => window.site.events.map((e) => e.type))).toContain('locked');
  expect(await pageB.evaluate(() => window.site.events.map((e) => e.type))).not.toContain('revoked');
  expect(await pageA.evaluate(() => window.site.connect())).toMatchObject({ ok: false, code: 'E_LOCKED' });
  expect(
    await pageA.evaluate((h) => window.site.use(h, { service: 'storage', action: 'read' }), handleA),
  ).toMatchObject({
    where: 'extension',
    code: 'E_LOCKED',
  });
  await pageA.evaluate((a) => window.site.ask(a), ASK);
  expect(await outcome(pageA)).toMatchObject({ ok: false, code: 'E_LOCKED' });
  expect(await pageB.evaluate(() => window.site.revoke())).toMatchObject({ ok: false, code: 'E_LOCKED' });
});

test('revokeSite: after unlocking, the site revokes its grants and gets a new session DID', async () => {
  await popup.getByLabel('Unlock passphrase').fill(PASS);
  await popup.getByRole('button', { name: 'Unlock' }).click();
  await expect(popup.getByRole('button', { name: 'Lock' })).toBeVisible({ timeout: 60_000 });
  const before = await pageA.evaluate(() => window.site.connect());
  expect(await pageA.evaluate(() => window.site.revoke())).toMatchObject({ ok: true, value: { revoked: 3 } });
  expect(
    await pageA.evaluate((h) => window.site.use(h, { service: 'storage', action: 'read' }), handleA),
  ).toMatchObject({ where: 'extension', code: 'E_DENIED' });
  const after = await pageA.evaluate(() => window.site.connect());
  expect(value(after).did).not.toBe(value(before).did);
  await popup.getByRole('button', { name: 'Capabilities' }).click();
  // The three delegations it held are revoked in the wallet (core's revocation records).
  await expect(popup.getByText(/· revoked/)).toHaveCount(3);
});

test('the Firefox build passes web-ext lint with no errors', async () => {
  const { stdout } = await run(
    join(ROOT, 'node_modules', '.bin', 'web-ext'),
    [
      'lint',
      '--source-dir',
      join(ROOT, 'extension', 'dist', 'firefox'),
      '--output',
      'json',
      '--no-config-discovery',
    ],
    { cwd: ROOT },
  ).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
  const report = JSON.parse(stdout) as {
    summary: { errors: number };
    errors: { code: string; message: string }[];
  };
  expect(report.errors).toEqual([]);
  expect(report.summary.errors).toBe(0);
});

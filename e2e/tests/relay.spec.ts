/**
 * A browser light node in Debian's Chromium against a real relay: `dregg relay` is started as its own
 * process (as an operator would), and the page — core/src/net unchanged, bundled by Vite — connects
 * to it, over WebRTC-direct when offered and over WebSockets otherwise; submits a transfer turn and
 * proves its receipt is in the relay's log; and uses inboxes, including one filled by `dregg inbox send`.
 * What the browser did is then read back from Node through the relay (a Node light node, /metrics).
 * Every key is made in the page (fixtures/relay-entry.ts); Node only ever sees DIDs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, type Page, test } from '@playwright/test';
import { type SpawnedRelay, spawnRelay } from '../../core/src/node/relay/spawn.ts';
import { type Served, serveBundle } from './serve.ts';

type RelayEntry = typeof import('../fixtures/relay-entry.ts');
declare global {
  interface Window {
    relayEntry: RelayEntry;
  }
}

const ROOT = join(import.meta.dirname, '..', '..');
const DREGG = join(ROOT, 'core', 'bin', 'dregg.js');
/** The opening grant the relay is started with: every cell opened on it starts with this balance. */
const GRANT = 1000n;

interface RunningRelay extends SpawnedRelay {
  readonly ws: string;
  readonly webrtc: string;
}

/** `dregg relay` in `home` on loopback (free ports), with its ws and webrtc-direct addresses. */
async function startRelay(home: string): Promise<RunningRelay> {
  const relay = await spawnRelay({
    home,
    args: [
      '--listen',
      '/ip4/127.0.0.1/tcp/0/ws',
      '--listen',
      '/ip4/127.0.0.1/udp/0/webrtc-direct',
      '--grant',
      String(GRANT),
      '--http',
      '127.0.0.1:0',
    ],
  });
  const ws = relay.ready.multiaddrs.find((m) => m.includes('/ws/'));
  const webrtc = relay.ready.multiaddrs.find((m) => m.includes('/webrtc-direct/'));
  if (ws === undefined || webrtc === undefined) {
    await relay.kill();
    throw new Error(`The relay does not offer both ws and webrtc-direct: ${relay.ready.multiaddrs}`);
  }
  return { ...relay, ws, webrtc };
}

/** `rpc_requests_total{op, outcome}` from the relay's /metrics (0 when never counted). */
async function rpcCount(op: string, outcome: string): Promise<number> {
  const text = await (await fetch(`${relay.ready.http}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`cipherclerk_rpc_requests_total{op="${op}",outcome="${outcome}"} `));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

function note(type: string, description: string): void {
  test.info().annotations.push({ type, description });
  console.log(`${type}: ${description}`);
}

let home: string;
let relay: RunningRelay;
let served: Served;

test.beforeAll(async () => {
  test.setTimeout(60_000);
  home = mkdtempSync(join(tmpdir(), 'cipherclerk-e2e-relay-'));
  const started = Date.now();
  const [r, s] = await Promise.allSettled([
    startRelay(join(home, 'relay')),
    serveBundle(join(import.meta.dirname, '..', 'fixtures', 'relay-entry.ts')),
  ]);
  if (r.status === 'fulfilled') relay = r.value;
  if (s.status === 'fulfilled') served = s.value;
  if (r.status === 'rejected') throw r.reason;
  if (s.status === 'rejected') throw s.reason;
  note('setup', `relay process ready and bundle served in ${Date.now() - started} ms`);
});

test.afterAll(async () => {
  await served?.close();
  if (relay !== undefined) {
    const exit = await relay.stop();
    expect(exit, `dregg relay stops cleanly on SIGTERM; its stderr:\n${relay.stderr()}`).toEqual({
      code: 0,
      signal: null,
    });
  }
  if (home !== undefined) rmSync(home, { recursive: true, force: true });
});

test.beforeEach(async ({ page }) => {
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(served.url);
  await page.evaluate(async () => {
    window.relayEntry = await import('/bundle.js' as string);
  });
});

async function connect(page: Page, multiaddrs: readonly string[]) {
  return page.evaluate(([m, did]) => window.relayEntry.connect(m, did), [
    multiaddrs,
    relay.ready.did,
  ] as const);
}

test('the browser reaches the relay over WebRTC-direct when offered, over WebSockets otherwise', async ({
  page,
}) => {
  const both = await connect(page, relay.ready.multiaddrs);
  note(
    'transport',
    `offered ws + webrtc-direct: ${both.transport} to ${both.remoteAddr}, connect ${Math.round(both.connectMs)} ms, ping p50 ${both.pingMs} ms`,
  );
  expect(both).toMatchObject({ transport: 'webrtc-direct', relay: relay.ready.did, ledger: 'main' });
  // Connected to exactly the relay's advertised WebRTC-direct address (its UDP port and certificate hash).
  expect(both.remoteAddr).toBe(relay.webrtc);

  const wsOnly = await connect(page, [relay.ws]);
  note(
    'transport',
    `offered ws only: ${wsOnly.transport} to ${wsOnly.remoteAddr}, connect ${Math.round(wsOnly.connectMs)} ms, ping p50 ${wsOnly.pingMs} ms`,
  );
  expect(wsOnly).toMatchObject({ transport: 'ws', relay: relay.ready.did, ledger: 'main' });
  expect(wsOnly.remoteAddr).toBe(relay.ws);

  // Pinned to another did:key (a key made in the page), the same relay is refused.
  const wrong = await page.evaluate(
    (m) =>
      window.relayEntry.connect(m, window.relayEntry.makeIdentity()).then(
        () => 'connected',
        (e: { code?: string }) => e.code,
      ),
    relay.ready.multiaddrs,
  );
  expect(wrong).toBe('E_UNTRUSTED');
  await page.evaluate(() => window.relayEntry.close());
});

test('a transfer turn from the browser is notarized, its inclusion proven in the page, and Node reads the same balances', async ({
  page,
}) => {
  const okBefore = await rpcCount('turn/submit', 'ok');
  const link = await connect(page, relay.ready.multiaddrs);
  expect(link.transport).toBe('webrtc-direct');
  const started = Date.now();
  const paid = await page.evaluate(() => window.relayEntry.openAndPay('25'));
  note(
    'turn',
    `open two cells + transfer + inclusion proof in the browser: ${Date.now() - started} ms (seq ${paid.seq}, root height ${paid.root.height})`,
  );
  await page.evaluate(() => window.relayEntry.close());

  expect(paid).toMatchObject({
    opened: { payer: String(GRANT), payee: String(GRANT) },
    after: { payer: String(GRANT - 25n), payee: String(GRANT + 25n) },
    duplicate: false,
    executor: relay.ready.did,
    root: { relay: relay.ready.did },
    verified: true,
  });
  expect(paid.root.height).toBeGreaterThan(paid.seq);
  expect(await rpcCount('turn/submit', 'ok')).toBe(okBefore + 1);

  // The same ledger, read from Node over the relay's other transport. Imported here, not at the top: the
  // runner loads this file once just to list its tests, and libp2p takes seconds to load on this machine.
  await import('../../core/src/node/libp2p-shims.ts');
  const { connectRelay } = await import('../../core/src/net/client.ts');
  const node = await connectRelay([relay.ws], { relay: relay.ready.did });
  try {
    expect((await node.cell(paid.payerCell))?.balance).toBe(GRANT - 25n);
    expect((await node.cell(paid.payeeCell))?.balance).toBe(GRANT + 25n);
    const receipts = await node.receipts(paid.payer);
    expect(receipts.map((r) => r.turn)).toEqual([paid.turn]);
    expect((await node.verifyInclusion(receipts[0]!)).height).toBeGreaterThan(paid.seq);
    expect(await node.head(paid.payee)).toEqual({ prev: null, seq: 0 });
  } finally {
    await node.close();
  }
});

test('a sealed box deposited from the browser is drained and unsealed by its recipient in the browser', async ({
  page,
}) => {
  await connect(page, relay.ready.multiaddrs);
  const text = `for your eyes only ${crypto.randomUUID()}`;
  const result = await page.evaluate(async (t) => {
    const e = window.relayEntry;
    const recipient = e.makeIdentity();
    const deposited = await e.deposit(recipient, t);
    const first = await e.drain(recipient);
    const second = await e.drain(recipient);
    await e.close();
    return { deposited, first, second };
  }, text);
  expect(result.first).toEqual({ texts: [text], seqs: [result.deposited.seq], ackHeight: 1 });
  // Acknowledged: the relay hands nothing twice.
  expect(result.second).toEqual({ texts: [], seqs: [], ackHeight: 1 });
});

test('the CLI and the browser see the same relay: `dregg inbox send` to a browser identity, drained in the page', async ({
  page,
}) => {
  const link = await connect(page, relay.ready.multiaddrs);
  expect(link.transport).toBe('webrtc-direct');
  const recipient = await page.evaluate(() => window.relayEntry.makeIdentity());
  const text = `from the command line ${crypto.randomUUID()}`;
  const file = join(home, 'message.txt');
  writeFileSync(file, text);
  const started = Date.now();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      DREGG,
      'inbox',
      'send',
      '--home',
      join(home, 'cli'),
      '--relay',
      relay.ws,
      '--to',
      recipient,
      '--file',
      file,
      '--json',
    ],
    { cwd: ROOT, timeout: 30_000 },
  );
  note('cli', `dregg inbox send took ${Date.now() - started} ms`);
  const sent = JSON.parse(stdout) as { relay: string; to: string; seq: number; size: number };
  expect(sent).toMatchObject({ relay: relay.ready.did, to: recipient });

  const drained = await page.evaluate((did) => window.relayEntry.drain(did), recipient);
  await page.evaluate(() => window.relayEntry.close());
  expect(drained).toEqual({ texts: [text], seqs: [sent.seq], ackHeight: 1 });
});

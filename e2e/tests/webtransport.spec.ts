/**
 * Headless Debian Chromium against our WebTransport server (core/src/node/quic): a page opens
 * `new WebTransport(url, { serverCertificateHashes })` to an echo session and checks, by SHA-256,
 * 1 MiB echoed on a bidi stream, a uni stream each way and datagrams; then the same transfers through
 * a UDP proxy that drops and reorders datagrams both ways (they must still complete intact), and a
 * session close with a code and reason seen by the server.
 */
import { createServer, type Server } from 'node:http';
import { expect, type Page, test } from '@playwright/test';
import { selfSignedCertificate } from '../../core/src/node/quic/cert.ts';
import {
  createWebTransportServer,
  type WebTransportServer,
} from '../../core/src/node/quic/webtransport/server.ts';
import type { WebTransportSession } from '../../core/src/node/quic/webtransport/session.ts';
import { type LossyProxy, startLossyProxy } from '../../core/test/quic/lossy-proxy.ts';
import { chromiumLaunchOptions } from './chromium.ts';

const DAY = 24 * 3600 * 1000;
const cert = selfSignedCertificate(new Date(Date.now() - DAY), new Date(Date.now() + 10 * DAY));

// WebTransport needs QUIC, which our e2e launch options switch off for the other tests.
const launch = chromiumLaunchOptions();
test.use({ launchOptions: { ...launch, args: (launch.args ?? []).filter((a) => a !== '--disable-quic') } });

let server: WebTransportServer;
let page: Server;
let pageUrl: string;
const closes: { code: number; reason: string; remote: boolean }[] = [];

/** The server's side: echo bidi streams, answer a uni stream on a new uni stream, echo datagrams. */
function echo(session: WebTransportSession): void {
  void session.closed.then((c) => closes.push(c));
  session.onStream((stream) => {
    void (async () => {
      const chunks: Uint8Array[] = [];
      for await (const chunk of stream.readable) chunks.push(chunk);
      const data = Buffer.concat(chunks);
      const out = stream.bidirectional ? stream : await session.openStream(false);
      await out.write(data);
      out.end();
    })().catch(() => {}); // a stream reset by the browser's close
  });
  session.onDatagram((d) => session.sendDatagram(d));
}

test.beforeAll(async () => {
  server = await createWebTransportServer({
    host: '127.0.0.1',
    port: 0,
    certificates: () => cert,
    paths: ['/echo'],
  });
  server.onSession(echo);
  page = createServer((_req, res) => res.end('<!doctype html><title>webtransport</title>'));
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  pageUrl = `http://127.0.0.1:${(page.address() as { port: number }).port}/`;
});

test.afterAll(async () => {
  await server?.close();
  await new Promise((resolve) => page?.close(resolve));
});

interface Outcome {
  readonly bidi: string;
  readonly uniBack: string;
  readonly datagrams: number;
}

/** Runs the exchanges in the page against `port`; hashes are SHA-256 hex of what came back. */
async function exchange(tab: Page, port: number): Promise<Outcome> {
  await tab.goto(pageUrl);
  return tab.evaluate(
    async ({ port, hash }) => {
      const hex = async (b: Uint8Array<ArrayBuffer>) =>
        Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', b)), (x) =>
          x.toString(16).padStart(2, '0'),
        ).join('');
      const readAll = async (readable: ReadableStream<Uint8Array>) => {
        const reader = readable.getReader();
        const parts: Uint8Array[] = [];
        let n = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parts.push(value);
          n += value.length;
        }
        const out = new Uint8Array(n);
        let at = 0;
        for (const p of parts) {
          out.set(p, at);
          at += p.length;
        }
        return out;
      };
      const wt = new WebTransport(`https://127.0.0.1:${port}/echo`, {
        serverCertificateHashes: [{ algorithm: 'sha-256', value: new Uint8Array(hash) }],
      });
      await wt.ready;
      // 1 MiB of pseudo-random bytes (crypto.getRandomValues caps at 64 KiB per call).
      const big = new Uint8Array(1 << 20);
      for (let at = 0; at < big.length; at += 65536) crypto.getRandomValues(big.subarray(at, at + 65536));
      const bidi = await wt.createBidirectionalStream();
      const writer = bidi.writable.getWriter();
      void writer.write(big).then(() => writer.close());
      const bidiBack = await readAll(bidi.readable);

      const uni = await wt.createUnidirectionalStream();
      const uniWriter = uni.getWriter();
      await uniWriter.write(new TextEncoder().encode('one way'));
      await uniWriter.close();
      const incoming = await wt.incomingUnidirectionalStreams.getReader().read();
      const uniBack = new TextDecoder().decode(await readAll(incoming.value!));

      // Datagrams are unreliable: send several, count those that came back within 1.5 s of the last.
      const dw = wt.datagrams.writable.getWriter();
      const dr = wt.datagrams.readable.getReader();
      let datagrams = 0;
      const counting = (async () => {
        for (;;) {
          const { value } = await dr.read();
          if (value && value.length === 3 && value[0] === 7) datagrams += 1;
        }
      })();
      void counting.catch(() => {});
      // Spaced out, so that a congestion window shrunk by the lossy run's losses does not drop them all.
      for (let i = 0; i < 20; i++) {
        await dw.write(new Uint8Array([7, i, 9]));
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 1500));
      wt.close({ closeCode: 42, reason: 'done' });
      return {
        bidi: (await hex(bidiBack)) === (await hex(big)) ? 'intact' : `damaged (${bidiBack.length} bytes)`,
        uniBack,
        datagrams,
      };
    },
    { port, hash: Array.from(cert.sha256) },
  );
}

test('a WebTransport session: 1 MiB bidi echo, uni both ways, datagrams, close', async ({ page: tab }) => {
  const outcome = await exchange(tab, server.address.port);
  expect(outcome.bidi).toBe('intact');
  expect(outcome.uniBack).toBe('one way');
  expect(outcome.datagrams).toBeGreaterThan(10); // loopback: nearly all of the 20
  await expect.poll(() => closes.at(-1)).toEqual({ code: 42, reason: 'done', remote: true });
});

test('the same through 5-10% loss and reordering', async ({ page: tab }) => {
  let proxy: LossyProxy | undefined;
  try {
    proxy = await startLossyProxy({ target: server.address, loss: 0.08, reorder: 0.05, seed: 13 });
    const outcome = await exchange(tab, proxy.port);
    expect(outcome.bidi).toBe('intact');
    expect(outcome.uniBack).toBe('one way');
    expect(outcome.datagrams).toBeGreaterThan(0);
    expect(proxy.stats.dropped).toBeGreaterThan(0);
  } finally {
    await proxy?.close();
  }
});

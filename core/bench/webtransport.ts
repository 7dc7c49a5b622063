/**
 * WebTransport figures, Chromium <-> our server on loopback (`npm run bench -w core -- webtransport`):
 * wt_rtt (1000 round trips of 32 bytes on one bidi stream, timed in the page), wt_throughput (64 MiB
 * Chromium -> server on one stream after a 16 MiB warm-up stream, timed from the first write to the
 * server having it all, reported back by a one-byte echo; with the server process's CPU time per MiB,
 * which stays meaningful on a loaded machine where the rate does not), wt_handshake (new WebTransport
 * -> ready, median of 10).
 */
import { createServer } from 'node:http';
import { chromium } from 'playwright-core';
import { chromiumLaunchOptions } from '../../e2e/tests/chromium.ts';
import { selfSignedCertificate } from '../src/node/quic/cert.ts';
import { createWebTransportServer } from '../src/node/quic/webtransport/server.ts';
import { emit } from './measure.ts';

const DAY = 24 * 3600 * 1000;

export async function webTransportBenches(): Promise<void> {
  const cert = selfSignedCertificate(new Date(Date.now() - DAY), new Date(Date.now() + 10 * DAY));
  const server = await createWebTransportServer({
    host: '127.0.0.1',
    port: 0,
    certificates: () => cert,
    paths: ['/bench'],
  });
  // Echo every chunk as it arrives (rtt); on a stream that starts with 'T', count bytes and answer
  // one byte at the end (throughput).
  server.onSession((session) => {
    session.onStream((stream) => {
      void (async () => {
        let counting: boolean | undefined;
        let total = 0;
        for await (const chunk of stream.readable) {
          counting ??= chunk[0] === 0x54;
          if (counting) total += chunk.length;
          else await stream.write(chunk);
        }
        if (counting) await stream.write(new Uint8Array([total & 0xff]));
        stream.end();
      })().catch(() => {});
    });
  });
  // The page's origin also marks the bulk transfer's start and end for the server's CPU time.
  let cpuAtStart = process.cpuUsage();
  let cpuDuring = process.cpuUsage(cpuAtStart);
  const page = createServer((req, res) => {
    if (req.url === '/cpu-start') cpuAtStart = process.cpuUsage();
    if (req.url === '/cpu-stop') cpuDuring = process.cpuUsage(cpuAtStart);
    res.end('<!doctype html><title>bench</title>');
  });
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  const launch = chromiumLaunchOptions();
  const browser = await chromium.launch({
    ...launch,
    args: (launch.args ?? []).filter((a) => a !== '--disable-quic'),
  });
  try {
    const tab = await browser.newPage();
    await tab.goto(`http://127.0.0.1:${(page.address() as { port: number }).port}/`);
    const figures = await tab.evaluate(
      async ({ port, hash }) => {
        const url = `https://127.0.0.1:${port}/bench`;
        const options = { serverCertificateHashes: [{ algorithm: 'sha-256', value: new Uint8Array(hash) }] };
        const handshakes: number[] = [];
        for (let i = 0; i < 11; i++) {
          const t0 = performance.now();
          const wt = new WebTransport(url, options);
          await wt.ready;
          if (i > 0) handshakes.push(performance.now() - t0); // the first warms Chromium up
          wt.close();
        }
        const wt = new WebTransport(url, options);
        await wt.ready;
        const stream = await wt.createBidirectionalStream();
        const writer = stream.writable.getWriter();
        const reader = stream.readable.getReader();
        const message = new Uint8Array(32).fill(1);
        const rtts: number[] = [];
        for (let i = 0; i < 1100; i++) {
          const t0 = performance.now();
          await writer.write(message);
          let got = 0;
          while (got < message.length) got += (await reader.read()).value?.length ?? message.length;
          if (i >= 100) rtts.push(performance.now() - t0);
        }
        await writer.close();
        const chunk = new Uint8Array(256 * 1024).fill(0x54);
        // A 16 MiB warm-up (JIT on both sides, congestion window), then the timed 64 MiB. No helper
        // function: tsx would wrap it in a naming helper the page does not have.
        const total = 64 * 1024 * 1024;
        let seconds = 0;
        for (const size of [16 * 1024 * 1024, total]) {
          const timed = size === total;
          if (timed) await fetch('/cpu-start');
          const bulk = await wt.createBidirectionalStream();
          const bulkWriter = bulk.writable.getWriter();
          const t0 = performance.now();
          for (let sent = 0; sent < size; sent += chunk.length) await bulkWriter.write(chunk);
          await bulkWriter.close();
          await bulk.readable.getReader().read();
          seconds = (performance.now() - t0) / 1000;
          if (timed) await fetch('/cpu-stop');
        }
        wt.close();
        // Plain data back: statistics are computed in Node (tsx names page-side helper functions
        // with a helper the page does not have).
        return { rtts, handshakes, mbit: (total * 8) / seconds / 1e6 };
      },
      { port: server.address.port, hash: Array.from(cert.sha256) },
    );
    const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
    const quantile = (xs: number[], q: number) =>
      [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;
    emit('wt_rtt', {
      p50_ms: round(quantile(figures.rtts, 0.5)),
      p99_ms: round(quantile(figures.rtts, 0.99)),
    });
    emit('wt_throughput', {
      mbit_s: round(figures.mbit, 1),
      server_cpu_ms_per_mib: round((cpuDuring.user + cpuDuring.system) / 1000 / 64, 1),
    });
    emit('wt_handshake', { median_ms: round(quantile(figures.handshakes, 0.5), 1) });
  } finally {
    await browser.close();
    await new Promise((resolve) => page.close(resolve));
    await server.close();
  }
}

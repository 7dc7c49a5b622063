/**
 * Our QUIC endpoint against real Chromium: a page opens `new WebTransport(...)` with the certificate's
 * hash. There is no HTTP/3 layer here, so the WebTransport session itself cannot succeed; what must
 * succeed is QUIC: the TLS handshake completes, Chromium acknowledges HANDSHAKE_DONE, its HTTP/3
 * control stream arrives as a unidirectional stream of type 0x00 starting with SETTINGS, and once it
 * reads our SETTINGS on a stream we open, its CONNECT request arrives on bidi stream 0.
 * The same runs through a lossy proxy dropping and reordering 10% of datagrams each way.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import fc from 'fast-check';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { chromiumLaunchOptions } from '../../../e2e/tests/chromium.ts';
import type { QuicConnection, QuicServer, QuicStream } from '../../src/node/quic/api.ts';
import { selfSignedCertificate } from '../../src/node/quic/cert.ts';
import type { Connection } from '../../src/node/quic/connection.ts';
import { createQuicServer } from '../../src/node/quic/endpoint.ts';
import { encodeFrames } from '../../src/node/quic/frames.ts';
import { initialKeys } from '../../src/node/quic/keys.ts';
import { longHeader } from '../../src/node/quic/packet.ts';
import { packetProtection } from '../../src/node/quic/protect.ts';
import { startLossyProxy } from './lossy-proxy.ts';

const DAY = 24 * 3600 * 1000;
const cert = selfSignedCertificate(new Date(Date.now() - DAY), new Date(Date.now() + 10 * DAY));

let browser: Browser;
let page: Server;
let pageUrl: string;

beforeAll(async () => {
  // WebTransport needs QUIC: drop the --disable-quic our e2e launch options carry.
  const options = chromiumLaunchOptions();
  browser = await chromium.launch({
    ...options,
    args: (options.args ?? []).filter((a) => a !== '--disable-quic'),
  });
  // A secure-context page to run WebTransport from (http://127.0.0.1 counts as potentially trustworthy).
  page = createServer((_req, res) => res.end('<!doctype html><title>quic</title>'));
  await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
  const address = page.address();
  pageUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => page?.close(resolve));
});

/**
 * The first `n` bytes of a stream (fewer if it ends first). The stream is drained, never aborted:
 * stopping an HTTP/3 control stream would be a connection error for Chromium.
 */
function firstBytes(stream: QuicStream, n: number): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const parts: number[] = [];
    void (async () => {
      try {
        for await (const chunk of stream.readable) {
          if (parts.length < n) parts.push(...chunk.subarray(0, n - parts.length));
          if (parts.length >= n) resolve(Uint8Array.from(parts));
        }
      } catch {
        // The connection closed under the reader: what we have is the answer.
      }
      resolve(Uint8Array.from(parts));
    })();
  });
}

/** Starts a WebTransport session from Chromium to `port`; resolves with how it ended for the page. */
async function dial(port: number): Promise<string> {
  const tab = await browser.newPage();
  try {
    await tab.goto(pageUrl);
    return await tab.evaluate(
      async ({ port, hash }) => {
        const wt = new WebTransport(`https://127.0.0.1:${port}/x`, {
          serverCertificateHashes: [{ algorithm: 'sha-256', value: new Uint8Array(hash) }],
        });
        const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('pending'), 4000));
        return Promise.race([
          wt.ready.then(
            () => 'ready',
            (e: Error) => `failed: ${e.message}`,
          ),
          timeout,
        ]);
      },
      { port, hash: Array.from(cert.sha256) },
    );
  } finally {
    await tab.close();
  }
}

/**
 * HTTP/3 bytes for the test only (the real HTTP/3 layer is h3/): a control stream (type 0x00) with
 * SETTINGS (0x04) enabling extended CONNECT (0x08), H3 datagrams (0x33) and WebTransport draft-02
 * (0x2b603742). Seeing them makes Chromium send its CONNECT request, which exercises our sending
 * path (a server uni stream) and its receiving counterpart (a client bidi stream).
 */
const SERVER_CONTROL_STREAM = Uint8Array.of(
  0x00,
  0x04,
  0x09,
  0x08,
  0x01,
  0x33,
  0x01,
  0xab,
  0x60,
  0x37,
  0x42,
  0x01,
);

async function handshake(server: QuicServer, dialPort: number): Promise<void> {
  const request = new Promise<{
    connection: QuicConnection;
    control: Promise<Uint8Array>;
    headers: Promise<Uint8Array>;
  }>((resolve) => {
    server.onConnection((connection) => {
      void connection.openStream(false).then((s) => s.write(SERVER_CONTROL_STREAM));
      let control!: (b: Promise<Uint8Array>) => void;
      let headers!: (b: Promise<Uint8Array>) => void;
      resolve({
        connection,
        control: new Promise<Promise<Uint8Array>>((r) => {
          control = r;
        }).then((p) => p),
        headers: new Promise<Promise<Uint8Array>>((r) => {
          headers = r;
        }).then((p) => p),
      });
      connection.onStream((stream) => {
        // Chromium's HTTP/3 control stream is its first uni stream (id 2); its CONNECT request
        // goes on the first bidi stream (id 0).
        if (stream.id === 2) control(firstBytes(stream, 3));
        if (stream.id === 0) headers(firstBytes(stream, 2));
      });
    });
  });
  const outcome = dial(dialPort);
  const { connection, ...streams } = await request;
  const [control, headers] = await Promise.all([streams.control, streams.headers]);
  expect(connection.alpn).toBe('h3');
  // Stream type 0x00 (control), then a SETTINGS frame (type 0x04).
  expect(Array.from(control.subarray(0, 2))).toEqual([0x00, 0x04]);
  // An HTTP/3 HEADERS frame (type 0x01): the CONNECT request for the session.
  expect(headers[0]).toBe(0x01);
  await expect.poll(() => (connection as Connection).handshakeDoneAcknowledged, { timeout: 5000 }).toBe(true);
  connection.close(0x100, 'no HTTP/3 yet');
  // Without an answer to CONNECT the session cannot become ready: the page must not see it ready.
  expect(await outcome).not.toBe('ready');
}

describe('QUIC handshake with Chromium', () => {
  it('completes the handshake, receives the HTTP/3 control stream and, after our SETTINGS, the CONNECT request', async () => {
    const server = await createQuicServer({
      host: '127.0.0.1',
      port: 0,
      certificate: () => cert,
      alpn: ['h3'],
      maxDatagramFrameSize: 65536,
    });
    try {
      await handshake(server, server.address.port);
    } finally {
      await server.close();
    }
  }, 30_000);

  it('completes it through 10% loss and reordering each way', async () => {
    const server = await createQuicServer({
      host: '127.0.0.1',
      port: 0,
      certificate: () => cert,
      alpn: ['h3'],
    });
    const proxy = await startLossyProxy({ target: server.address, loss: 0.1, reorder: 0.1, seed: 7 });
    try {
      await handshake(server, proxy.port);
      expect(proxy.stats.dropped).toBeGreaterThan(0);
    } finally {
      await proxy.close();
      await server.close();
    }
  }, 30_000);

  it('drops random, truncated, corrupted and wrong-version datagrams and a flood, and keeps serving', async () => {
    const server = await createQuicServer({
      host: '127.0.0.1',
      port: 0,
      certificate: () => cert,
      alpn: ['h3'],
    });
    const errors = vi.spyOn(console, 'error');
    // The attacker sends from another loopback address, so its budget is not Chromium's.
    const attacker = createSocket('udp4');
    await new Promise<void>((resolve) => attacker.bind(0, '127.0.0.2', resolve));
    const replies: Buffer[] = [];
    attacker.on('message', (m) => replies.push(m));
    const send = (d: Uint8Array) =>
      new Promise<void>((resolve) => attacker.send(d, server.address.port, '127.0.0.1', () => resolve()));
    // A well-formed client Initial (garbage ClientHello inside) to truncate, flip and re-version.
    const initial = () => {
      const dcid = randomBytes(8);
      const payload = encodeFrames([
        { type: 'crypto', offset: 0, data: randomBytes(300) },
        { type: 'padding', length: 1200 - 300 - 40 },
      ]);
      const header = longHeader({ type: 'initial', dcid, scid: randomBytes(8) }, 0, 4, payload.length);
      return packetProtection(initialKeys(dcid).read).seal(header, payload, 0);
    };
    try {
      // An unknown version in a full-size datagram gets Version Negotiation (version field 0).
      const unknownVersion = initial();
      unknownVersion[4] = 0x2a;
      await send(unknownVersion);
      await expect.poll(() => replies.some((r) => r.readUInt32BE(1) === 0)).toBe(true);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 1500 }),
            fc.nat().map((cut) => {
              const d = initial();
              return d.subarray(0, cut % d.length);
            }),
            fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 })).map(([at, bit]) => {
              const d = initial();
              d[at % d.length] = (d[at % d.length] as number) ^ (1 << bit);
              return d;
            }),
            fc.integer({ min: 2, max: 0xffffffff }).map((version) => {
              const d = initial();
              new DataView(d.buffer, d.byteOffset).setUint32(1, version);
              return d;
            }),
          ),
          async (d) => send(d),
        ),
        { numRuns: 300 },
      );
      // A flood from the attacker's address while Chromium connects from its own.
      let flooding = true;
      const flood = (async () => {
        const junk = initial();
        for (let i = 0; flooding && i < 20_000; i++) {
          attacker.send(junk, server.address.port, '127.0.0.1');
          if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
        }
      })();
      await handshake(server, server.address.port);
      flooding = false;
      await flood;
      expect(errors).not.toHaveBeenCalled();
    } finally {
      errors.mockRestore();
      attacker.close();
      await server.close();
    }
  }, 30_000);
});

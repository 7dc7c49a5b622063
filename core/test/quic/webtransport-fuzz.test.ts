/**
 * The session layer under hostile input (fast-check): random frames and bytes on the control
 * stream, request streams, WebTransport streams, random capsules on a CONNECT stream and random
 * datagrams. Whatever arrives, the server either goes on or closes the connection with an HTTP/3
 * error code that names the peer's fault (never H3_INTERNAL_ERROR, never an unhandled rejection),
 * and a well-behaved session on the same server options still works afterwards.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameType, frame, StreamType, varints } from '../../src/node/quic/h3/frames.ts';
import { serveWebTransport, type WebTransportSession } from '../../src/node/quic/webtransport/session.ts';
import { memoryQuicPair } from './memory-quic.ts';
import { cat, clientControl, connectSession, openClientStream, readAll } from './webtransport-client.ts';

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);
beforeAll(() => {
  process.on('unhandledRejection', onUnhandled);
});
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
});

const tick = () => new Promise((r) => setTimeout(r, 2));

function serve() {
  const { server, client } = memoryQuicPair();
  const sessions: WebTransportSession[] = [];
  serveWebTransport(server, {
    accept: (path) => path === '/echo',
    onSession(session) {
      sessions.push(session);
      session.onStream(async (s) => {
        const data = await readAll(s.readable).catch(() => new Uint8Array());
        if (s.bidirectional)
          await s
            .write(data)
            .then(() => s.end())
            .catch(() => {});
      });
    },
  });
  client.onStream((s) => void readAll(s.readable).catch(() => {}));
  return { client, sessions };
}

/** A frame of a random (often known) type with a random payload, or plain random bytes. */
const frameBytes = fc.oneof(
  fc
    .tuple(
      fc.oneof(
        fc.constantFrom(0x00, 0x01, 0x03, 0x04, 0x05, 0x07, 0x0d, 0x21, 0x41, 0x2843),
        fc.integer({ min: 0, max: 2 ** 30 }),
      ),
      fc.uint8Array({ maxLength: 40 }),
    )
    .map(([type, payload]) => frame(type, payload)),
  fc.uint8Array({ maxLength: 40 }),
);

/** A capsule (maybe CLOSE) split into random DATA frames. */
const capsuleBytes = fc
  .tuple(
    fc.constantFrom(0x2843, 0x78ae, 0x00, 0x3f),
    fc.uint8Array({ maxLength: 30 }),
    fc.integer({ min: 1, max: 8 }),
  )
  .map(([type, value, cut]) => {
    const capsule = cat(varints(type, value.length), value);
    const at = Math.min(cut, capsule.length);
    return cat(frame(FrameType.DATA, capsule.subarray(0, at)), frame(FrameType.DATA, capsule.subarray(at)));
  });

const attack = fc.record({
  control: fc.array(frameBytes, { maxLength: 4 }),
  request: fc.array(frameBytes, { maxLength: 3 }),
  wtStream: fc.uint8Array({ maxLength: 20 }),
  capsules: fc.array(fc.oneof(capsuleBytes, frameBytes), { maxLength: 3 }),
  datagrams: fc.array(fc.uint8Array({ maxLength: 12 }), { maxLength: 3 }),
  uniType: fc.integer({ min: 0, max: 2 ** 20 }),
});

/** Codes a peer's fault may close with: H3 errors (not INTERNAL) and H3_DATAGRAM_ERROR. */
const PEER_FAULTS = new Set([
  0x100, 0x101, 0x103, 0x104, 0x105, 0x106, 0x107, 0x108, 0x109, 0x10a, 0x10e, 0x200, 0x33,
]);

describe('WebTransport session layer under random input', () => {
  it('refuses with H3 errors or goes on; a clean session still works', async () => {
    await fc.assert(
      fc.asyncProperty(attack, async (a) => {
        const { client } = serve();
        const closed = client.closed.then((c) => c.code);
        try {
          const control = await clientControl(client);
          for (const bytes of a.control) await control.write(bytes);
          const session = await connectSession(client, '/echo');
          for (const bytes of a.capsules) await session.connect.write(bytes);
          const request = await client.openStream(true);
          for (const bytes of a.request) await request.write(bytes);
          request.end();
          const stream = await openClientStream(client, session.connect.id, a.wtStream.length % 2 === 0);
          await stream.write(a.wtStream);
          stream.end();
          const uni = await client.openStream(false);
          await uni.write(cat(varints(a.uniType), a.wtStream));
          for (const d of a.datagrams) client.sendDatagram(d);
        } catch {
          // The server closed the connection under us: checked below.
        }
        await tick();
        const code = await Promise.race([closed, tick().then(() => undefined)]);
        if (code !== undefined)
          expect(PEER_FAULTS.has(code), `closed with 0x${code.toString(16)}`).toBe(true);
      }),
      { numRuns: 150 },
    );
    expect(unhandled).toEqual([]);

    // The same server code still serves a clean client.
    const { client } = serve();
    await clientControl(client);
    const { connect, status } = await connectSession(client, '/echo');
    expect(status).toBe(200);
    const s = await openClientStream(client, connect.id, true);
    await s.write(new Uint8Array([1, 2, 3]));
    s.end();
    expect([...(await readAll(s.readable))]).toEqual([1, 2, 3]);
  }, 60_000);

  it('a control stream of random bytes never ends in an internal error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (bytes) => {
        const { client } = serve();
        const control = await client.openStream(false);
        await control.write(cat(varints(StreamType.CONTROL), bytes)).catch(() => {});
        const code = await Promise.race([client.closed.then((c) => c.code), tick().then(() => undefined)]);
        if (code !== undefined) expect(PEER_FAULTS.has(code)).toBe(true);
      }),
      { numRuns: 300 },
    );
    expect(unhandled).toEqual([]);
  });
});

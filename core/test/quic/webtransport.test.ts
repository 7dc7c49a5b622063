/**
 * WebTransport draft-02 sessions over an in-memory QUIC pair, driven by a client that speaks the
 * browser's wire: CONNECT answered 200 with the draft header (404 for other paths), bidi and uni
 * streams both ways with their prefixes, datagrams with the quarter stream id, close by capsule or
 * FIN (streams then reset with SESSION_GONE), streams that overtake their CONNECT, code mapping.
 */
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { QuicStream } from '../../src/node/quic/api.ts';
import { FrameType, frame, StreamType, varints } from '../../src/node/quic/h3/frames.ts';
import { encodeFieldSection } from '../../src/node/quic/h3/qpack.ts';
import {
  CLOSE_WEBTRANSPORT_SESSION,
  http3CodeToWebTransport,
  serveWebTransport,
  type WebTransportSession,
  webTransportCodeToHttp3,
} from '../../src/node/quic/webtransport/session.ts';
import { memoryQuicPair } from './memory-quic.ts';
import {
  acceptServerStream,
  cat,
  clientControl,
  connectSession,
  openClientStream,
  parseDatagram,
  readAll,
} from './webtransport-client.ts';

function setup(paths = ['/echo']) {
  const { server, client } = memoryQuicPair();
  const sessions: WebTransportSession[] = [];
  let resolveSession: (s: WebTransportSession) => void = () => {};
  const firstSession = new Promise<WebTransportSession>((resolve) => {
    resolveSession = resolve;
  });
  serveWebTransport(server, {
    accept: (path) => paths.includes(path),
    onSession(session) {
      sessions.push(session);
      resolveSession(session);
    },
  });
  // Server-opened streams other than the control stream, by kind.
  const serverStreams: QuicStream[] = [];
  let control = true;
  client.onStream((s) => {
    if (!s.bidirectional && control) {
      control = false; // the first server uni stream is its control stream
      void readAll(s.readable).catch(() => {});
      return;
    }
    serverStreams.push(s);
  });
  return { server, client, sessions, firstSession, serverStreams };
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const tick = () => new Promise((r) => setTimeout(r, 5));

/** The server side of the tests: echo every incoming stream back (bidi) or on a new uni stream. */
function echo(session: WebTransportSession) {
  session.onStream(async (stream) => {
    const data = await readAll(stream.readable);
    if (stream.bidirectional) {
      await stream.write(data);
      stream.end();
    } else {
      const back = await session.openStream(false);
      await back.write(data);
      back.end();
    }
  });
  session.onDatagram((d) => session.sendDatagram(d));
}

describe('WebTransport draft-02 sessions', () => {
  it('accepts a CONNECT on a configured path with 200 and the draft02 header, 404 otherwise', async () => {
    const { client, firstSession } = setup();
    await clientControl(client);
    const ok = await connectSession(client, '/echo');
    expect(ok.status).toBe(200);
    expect(ok.headers).toContainEqual({ name: 'sec-webtransport-http3-draft', value: 'draft02' });
    const session = await firstSession;
    expect([session.id, session.path, session.origin]).toEqual([ok.connect.id, '/echo', 'http://localhost']);
    const missing = await connectSession(client, '/nope');
    expect(missing.status).toBe(404);
  });

  it('echoes 1 MiB on a bidi stream, a uni stream each way, and datagrams', async () => {
    const { client, firstSession, serverStreams } = setup();
    await clientControl(client);
    const { connect } = await connectSession(client, '/echo');
    echo(await firstSession);

    const big = new Uint8Array(randomBytes(1 << 20));
    const bidi = await openClientStream(client, connect.id, true);
    for (let at = 0; at < big.length; at += 16384) await bidi.write(big.subarray(at, at + 16384));
    bidi.end();
    expect(sha(await readAll(bidi.readable))).toBe(sha(big));

    const uni = await openClientStream(client, connect.id, false);
    await uni.write(new TextEncoder().encode('one way'));
    uni.end();
    while (serverStreams.length === 0) await tick();
    const [sessionId, body] = await acceptServerStream(serverStreams[0]!);
    expect(sessionId).toBe(connect.id);
    expect(new TextDecoder().decode(await readAll(body))).toBe('one way');

    const got = new Promise<Uint8Array>((resolve) => client.onDatagram(resolve));
    client.sendDatagram(cat(varints(connect.id / 4), new Uint8Array([1, 2, 3])));
    const [dgSession, payload] = parseDatagram(await got);
    expect(dgSession).toBe(connect.id);
    expect([...payload]).toEqual([1, 2, 3]);
  });

  it('opens server bidi streams the client reads with the 0x41 prefix', async () => {
    const { client, firstSession, serverStreams } = setup();
    await clientControl(client);
    const { connect } = await connectSession(client, '/echo');
    const session = await firstSession;
    const stream = await session.openStream(true);
    await stream.write(new Uint8Array([9, 9]));
    stream.end();
    while (serverStreams.length === 0) await tick();
    const peer = serverStreams[0]!;
    const [sessionId, body] = await acceptServerStream(peer);
    expect(sessionId).toBe(connect.id);
    expect([...(await readAll(body))]).toEqual([9, 9]);
    await peer.write(new Uint8Array([7]));
    peer.end();
    expect([...(await readAll(stream.readable))]).toEqual([7]);
  });

  it('closes on CLOSE_WEBTRANSPORT_SESSION, resets the session’s streams and answers with FIN', async () => {
    const { client, firstSession } = setup();
    await clientControl(client);
    const { connect, reader } = await connectSession(client, '/echo');
    const session = await firstSession;
    const open = await openClientStream(client, connect.id, true);
    await open.write(new Uint8Array([1]));
    await tick();
    const reason = new TextEncoder().encode('bye');
    const value = cat(new Uint8Array([0, 0, 0, 42]), reason);
    // Split the capsule across two DATA frames, as the capsule protocol allows.
    const capsule = cat(varints(CLOSE_WEBTRANSPORT_SESSION, value.length), value);
    await connect.write(frame(FrameType.DATA, capsule.subarray(0, 3)));
    await connect.write(frame(FrameType.DATA, capsule.subarray(3)));
    expect(await session.closed).toEqual({ code: 42, reason: 'bye', remote: true });
    expect(await reader.frameHeader()).toBeUndefined(); // our FIN
    await expect(readAll(open.readable)).rejects.toThrow(/reset/);
    await expect(session.openStream(true)).rejects.toThrow();
  });

  it('closes on the CONNECT stream’s FIN, and sends the capsule when we close', async () => {
    const a = setup();
    await clientControl(a.client);
    const first = await connectSession(a.client, '/echo');
    first.connect.end();
    expect(await (await a.firstSession).closed).toEqual({ code: 0, reason: '', remote: true });

    const b = setup();
    await clientControl(b.client);
    const second = await connectSession(b.client, '/echo');
    (await b.firstSession).close(7, 'done');
    const header = await second.reader.frameHeader();
    expect(header?.type).toBe(FrameType.DATA);
    const body = await second.reader.exactly(header!.length);
    expect(Buffer.from(body).toString('hex')).toBe(
      Buffer.from(
        cat(
          varints(CLOSE_WEBTRANSPORT_SESSION, 8),
          new Uint8Array([0, 0, 0, 7]),
          new TextEncoder().encode('done'),
        ),
      ).toString('hex'),
    );
    expect(await second.reader.frameHeader()).toBeUndefined();
  });

  it('buffers streams and datagrams that overtake their CONNECT, and refuses them for refused sessions', async () => {
    const { client, firstSession } = setup();
    await clientControl(client);
    // Stream 0 will be the CONNECT: open a stream for session 0 before sending it.
    const connect = await client.openStream(true);
    const early = await openClientStream(client, 0, true);
    await early.write(new Uint8Array([5]));
    early.end();
    client.sendDatagram(cat(varints(0), new Uint8Array([6])));
    await tick();
    await connect.write(
      frame(
        FrameType.HEADERS,
        encodeFieldSection([
          { name: ':method', value: 'CONNECT' },
          { name: ':protocol', value: 'webtransport' },
          { name: ':scheme', value: 'https' },
          { name: ':authority', value: 'h' },
          { name: ':path', value: '/echo' },
        ]),
      ),
    );
    const session = await firstSession;
    const streams: Uint8Array[] = [];
    const datagrams: Uint8Array[] = [];
    session.onDatagram((d) => datagrams.push(d));
    session.onStream(async (s) => streams.push(await readAll(s.readable)));
    await tick();
    expect(streams.map((s) => [...s])).toEqual([[5]]);
    client.sendDatagram(cat(varints(0), new Uint8Array([8])));
    await tick();
    expect(datagrams.map((d) => [...d])).toEqual([[6], [8]]);

    // A stream for a session that was refused (404) is reset.
    const refusedConnect = await connectSession(client, '/nope');
    const orphan = await openClientStream(client, refusedConnect.connect.id, true);
    await expect(readAll(orphan.readable)).rejects.toThrow(/reset/);
  });

  it('closes the connection on a stream naming a non-request session id', async () => {
    const { client } = setup();
    await clientControl(client);
    const bad = await client.openStream(false);
    await bad.write(varints(StreamType.WEBTRANSPORT, 3));
    expect((await client.closed).code).toBe(0x108); // H3_ID_ERROR
  });

  it('maps application error codes to HTTP/3 and back, skipping GREASE', () => {
    expect(webTransportCodeToHttp3(0)).toBe(0x52e4a40fa8db);
    expect(webTransportCodeToHttp3(0xffffffff)).toBe(0x52e5ac983162);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const h3 = webTransportCodeToHttp3(n);
        expect((h3 - 0x21) % 0x1f).not.toBe(0);
        expect(http3CodeToWebTransport(h3)).toBe(n);
      }),
    );
    expect(http3CodeToWebTransport(0x100)).toBeUndefined();
  });
});

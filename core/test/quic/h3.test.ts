/**
 * HTTP/3 server rules over an in-memory QUIC pair: our SETTINGS (capacity 0, extended CONNECT, H3
 * datagrams, WebTransport draft-02), the peer's control stream checks (SETTINGS first, once, no
 * DATA/HEADERS, not closed), QPACK streams drained, unknown streams and frames ignored, GOAWAY, and
 * requests: malformed ones reset with H3_MESSAGE_ERROR, others answered by the handler.
 */
import { describe, expect, it } from 'vitest';
import {
  decodeSettings,
  FrameType,
  frame,
  H3,
  Setting,
  StreamReader,
  StreamType,
  varints,
} from '../../src/node/quic/h3/frames.ts';
import { encodeFieldSection } from '../../src/node/quic/h3/qpack.ts';
import { type H3Request, serveHttp3 } from '../../src/node/quic/h3/session.ts';
import { memoryQuicPair } from './memory-quic.ts';
import { cat, clientControl, readAll } from './webtransport-client.ts';

function setup() {
  const { server, client } = memoryQuicPair();
  const requests: H3Request[] = [];
  const h3 = serveHttp3(server, {
    onRequest: (r) => requests.push(r),
    onWebTransportStream: () => {},
    onDatagram: () => {},
  });
  return { server, client, h3, requests };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('HTTP/3 session', () => {
  it('sends our SETTINGS on a control stream and reads the peer’s', async () => {
    const { client, h3 } = setup();
    const serverStreams = new Promise<StreamReader>((resolve) =>
      client.onStream((s) => resolve(new StreamReader(s.readable))),
    );
    await clientControl(client);
    const reader = await serverStreams;
    expect(await reader.varint()).toBe(StreamType.CONTROL);
    const header = await reader.frameHeader();
    expect(header?.type).toBe(FrameType.SETTINGS);
    const ours = decodeSettings(await reader.exactly(header!.length));
    expect(ours.get(Setting.QPACK_MAX_TABLE_CAPACITY)).toBe(0);
    expect(ours.get(Setting.QPACK_BLOCKED_STREAMS)).toBe(0);
    expect(ours.get(Setting.ENABLE_CONNECT_PROTOCOL)).toBe(1);
    expect(ours.get(Setting.H3_DATAGRAM)).toBe(1);
    expect(ours.get(Setting.ENABLE_WEBTRANSPORT)).toBe(1);
    const theirs = await h3.peerSettings;
    expect(theirs.get(Setting.ENABLE_WEBTRANSPORT)).toBe(1);
  });

  it.each([
    [
      'a control stream that does not start with SETTINGS',
      frame(FrameType.GOAWAY, varints(0)),
      H3.MISSING_SETTINGS,
    ],
    [
      'a second SETTINGS',
      cat(frame(FrameType.SETTINGS, new Uint8Array()), frame(FrameType.SETTINGS, new Uint8Array())),
      H3.FRAME_UNEXPECTED,
    ],
    [
      'DATA on the control stream',
      cat(frame(FrameType.SETTINGS, new Uint8Array()), frame(FrameType.DATA, new Uint8Array(1))),
      H3.FRAME_UNEXPECTED,
    ],
    [
      'an HTTP/2 frame type',
      cat(frame(FrameType.SETTINGS, new Uint8Array()), frame(0x06, new Uint8Array(8))),
      H3.FRAME_UNEXPECTED,
    ],
    ['an HTTP/2 setting', frame(FrameType.SETTINGS, varints(0x02, 1)), H3.SETTINGS_ERROR],
    ['a duplicate setting', frame(FrameType.SETTINGS, varints(0x33, 1, 0x33, 1)), H3.SETTINGS_ERROR],
    ['a truncated SETTINGS', frame(FrameType.SETTINGS, new Uint8Array([0x40])), H3.FRAME_ERROR],
  ])('closes the connection on %s', async (_what, bytes, code) => {
    const { client } = setup();
    const control = await client.openStream(false);
    await control.write(cat(varints(StreamType.CONTROL), bytes));
    expect((await client.closed).code).toBe(code);
  });

  it('closes on a closed control stream and on a second control stream', async () => {
    const a = setup();
    const control = await clientControl(a.client);
    control.end();
    expect((await a.client.closed).code).toBe(H3.CLOSED_CRITICAL_STREAM);
    const b = setup();
    await clientControl(b.client);
    await clientControl(b.client);
    expect((await b.client.closed).code).toBe(H3.STREAM_CREATION_ERROR);
  });

  it('skips unknown frames and unknown stream types, drains QPACK streams, honours GOAWAY', async () => {
    const { client, requests } = setup();
    const control = await clientControl(client);
    await control.write(frame(0xf0700, new Uint8Array(5))); // PRIORITY_UPDATE, unknown to us
    await control.write(frame(0x21, new Uint8Array(3))); // a reserved (grease) frame type
    const grease = await client.openStream(false);
    await grease.write(cat(varints(0x21 + 0x1f), new Uint8Array(10)));
    const encoder = await client.openStream(false);
    await encoder.write(cat(varints(StreamType.QPACK_ENCODER), new Uint8Array([0x20]))); // capacity 0
    const decoder = await client.openStream(false);
    await decoder.write(varints(StreamType.QPACK_DECODER));
    await control.write(frame(FrameType.GOAWAY, varints(0)));
    const request = await client.openStream(true);
    await request.write(
      frame(
        FrameType.HEADERS,
        encodeFieldSection([
          { name: ':method', value: 'GET' },
          { name: ':scheme', value: 'https' },
          { name: ':authority', value: 'x' },
          { name: ':path', value: '/' },
        ]),
      ),
    );
    request.end();
    await tick();
    expect(requests.map((r) => [r.method, r.path])).toEqual([['GET', '/']]);
    await requests[0]!.respond(404);
    requests[0]!.stream.end();
    const response = new StreamReader(request.readable);
    const header = await response.frameHeader();
    expect(header?.type).toBe(FrameType.HEADERS);
    expect(Buffer.from(await response.exactly(header!.length)).toString('hex')).toBe('0000db'); // :status 404
    const settled = await Promise.race([client.closed.then(() => 'closed'), tick().then(() => 'open')]);
    expect(settled).toBe('open');
  });

  it('resets malformed requests with H3_MESSAGE_ERROR and keeps serving', async () => {
    const { client, requests } = setup();
    await clientControl(client);
    const bad = [
      [{ name: ':path', value: '/' }], // no :method
      [
        { name: ':method', value: 'GET' },
        { name: ':path', value: '/' },
      ], // no :scheme
      [
        { name: 'x', value: '1' },
        { name: ':method', value: 'GET' },
      ], // pseudo after regular
      [
        { name: ':method', value: 'GET' },
        { name: ':method', value: 'GET' },
      ], // twice
      [
        { name: ':method', value: 'GET' },
        { name: ':foo', value: '1' },
      ], // unknown pseudo
      [
        { name: ':method', value: 'CONNECT' },
        { name: ':protocol', value: 'webtransport' },
      ], // no :path
      [
        { name: ':method', value: 'GET' },
        { name: ':scheme', value: 'https' },
        { name: ':path', value: '/' },
        { name: 'X-Up', value: '1' },
      ],
    ];
    for (const fields of bad) {
      const stream = await client.openStream(true);
      await stream.write(frame(FrameType.HEADERS, encodeFieldSection(fields)));
      await expect(readAll(stream.readable)).rejects.toThrow(/reset/);
    }
    const data = await client.openStream(true);
    await data.write(frame(FrameType.DATA, new Uint8Array(2)));
    expect((await client.closed).code).toBe(H3.FRAME_UNEXPECTED);
    expect(requests).toHaveLength(0);
  });

  it('closes with QPACK_DECOMPRESSION_FAILED on a dynamic reference and EXCESSIVE_LOAD on a huge HEADERS', async () => {
    const a = setup();
    const s = await a.client.openStream(true);
    await s.write(frame(FrameType.HEADERS, new Uint8Array([0, 0, 0x81])));
    expect((await a.client.closed).code).toBe(H3.QPACK_DECOMPRESSION_FAILED);
    const b = setup();
    const t = await b.client.openStream(true);
    await t.write(varints(FrameType.HEADERS, 1 << 20));
    expect((await b.client.closed).code).toBe(H3.EXCESSIVE_LOAD);
  });

  it('sends GOAWAY before closing', async () => {
    const { client, h3 } = setup();
    const serverControl = new Promise<StreamReader>((resolve) =>
      client.onStream((s) => resolve(new StreamReader(s.readable))),
    );
    h3.close();
    const reader = await serverControl;
    await reader.varint();
    const settings = await reader.frameHeader();
    await reader.skip(settings!.length);
    const goaway = await reader.frameHeader();
    expect(goaway?.type).toBe(FrameType.GOAWAY);
    expect(await reader.varint()).toBe(0);
    expect((await client.closed).code).toBe(H3.NO_ERROR);
  });
});

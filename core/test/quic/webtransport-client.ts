/**
 * A minimal draft-02 WebTransport client over a `QuicConnection`, for tests: it speaks the same
 * wire as Chromium (control stream with SETTINGS, extended CONNECT, prefixed streams, quarter-id
 * datagrams, CLOSE capsule) so the server can be exercised without a browser.
 */
import type { QuicConnection, QuicStream } from '../../src/node/quic/api.ts';
import {
  FrameType,
  frame,
  readVarint,
  Setting,
  StreamReader,
  StreamType,
  varints,
} from '../../src/node/quic/h3/frames.ts';
import { decodeFieldSection, encodeFieldSection, type Field } from '../../src/node/quic/h3/qpack.ts';

export const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

export async function readAll(readable: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of readable) chunks.push(chunk);
  return cat(...chunks);
}

/** Opens the client's control stream and sends SETTINGS like Chromium's. */
export async function clientControl(quic: QuicConnection): Promise<QuicStream> {
  const control = await quic.openStream(false);
  const settings = varints(
    Setting.QPACK_MAX_TABLE_CAPACITY,
    0,
    Setting.QPACK_BLOCKED_STREAMS,
    0,
    Setting.H3_DATAGRAM,
    1,
    Setting.ENABLE_WEBTRANSPORT,
    1,
  );
  await control.write(cat(varints(StreamType.CONTROL), frame(FrameType.SETTINGS, settings)));
  return control;
}

export interface ClientSession {
  readonly connect: QuicStream;
  readonly status: number;
  readonly headers: Field[];
  readonly reader: StreamReader;
}

/** Sends an extended CONNECT for `path` and reads the response HEADERS. */
export async function connectSession(
  quic: QuicConnection,
  path: string,
  extra: Field[] = [],
): Promise<ClientSession> {
  const connect = await quic.openStream(true);
  const fields: Field[] = [
    { name: ':method', value: 'CONNECT' },
    { name: ':protocol', value: 'webtransport' },
    { name: ':scheme', value: 'https' },
    { name: ':authority', value: '127.0.0.1:4433' },
    { name: ':path', value: path },
    { name: 'sec-webtransport-http3-draft02', value: '1' },
    { name: 'origin', value: 'http://localhost' },
    ...extra,
  ];
  await connect.write(frame(FrameType.HEADERS, encodeFieldSection(fields)));
  const reader = new StreamReader(connect.readable);
  const header = await reader.frameHeader();
  if (!header || header.type !== FrameType.HEADERS) throw new Error('no response HEADERS');
  const headers = decodeFieldSection(await reader.exactly(header.length));
  const status = Number(headers.find((f) => f.name === ':status')?.value);
  return { connect, status, headers, reader };
}

/** Opens a client WebTransport stream for `sessionId` (its prefix written). */
export async function openClientStream(
  quic: QuicConnection,
  sessionId: number,
  bidirectional: boolean,
): Promise<QuicStream> {
  const stream = await quic.openStream(bidirectional);
  await stream.write(
    bidirectional
      ? varints(FrameType.WEBTRANSPORT_STREAM, sessionId)
      : varints(StreamType.WEBTRANSPORT, sessionId),
  );
  return stream;
}

/** Reads the prefix of a server-opened stream: [session id, the rest]. */
export async function acceptServerStream(stream: QuicStream): Promise<[number, AsyncIterable<Uint8Array>]> {
  const reader = new StreamReader(stream.readable);
  const type = await reader.varint();
  const expected = stream.bidirectional ? FrameType.WEBTRANSPORT_STREAM : StreamType.WEBTRANSPORT;
  if (type !== expected) throw new Error(`unexpected stream type ${type}`);
  const sessionId = (await reader.varint()) ?? -1;
  return [sessionId, reader.rest()];
}

/** Splits a received datagram into [session id, payload]. */
export function parseDatagram(data: Uint8Array): [number, Uint8Array] {
  const [quarter, at] = readVarint(data, 0) ?? [-1, 0];
  return [quarter * 4, data.subarray(at)];
}

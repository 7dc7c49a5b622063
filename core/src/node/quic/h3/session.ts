/**
 * The server side of an HTTP/3 connection (RFC 9114) as far as WebTransport needs it: our control
 * stream with SETTINGS, the peer's control stream (SETTINGS first, GOAWAY, unknown frames skipped),
 * QPACK encoder/decoder streams accepted and drained (our table capacity is 0, so they carry nothing
 * we use), unknown stream types refused with STOP_SENDING, request streams that start with HEADERS,
 * and the two draft-02 WebTransport stream prefixes and H3 datagrams (RFC 9297) handed up by session
 * id. Requests are answered by the caller (`onRequest`); we only frame and encode.
 *
 * Any violation on a critical stream closes the connection with the matching H3 error code; a
 * malformed request only resets its own stream (H3_MESSAGE_ERROR).
 */

import { DreggError } from '../../../errors.ts';
import type { QuicConnection, QuicStream } from '../api.ts';
import {
  encodeSettings,
  FrameType,
  frame,
  H3,
  H3Error,
  h3CodeOf,
  h3Fail,
  decodeSettings as parseSettings,
  readVarint,
  Setting,
  StreamReader,
  StreamType,
  varints,
} from './frames.ts';
import { decodeFieldSection, encodeFieldSection, type Field } from './qpack.ts';

/** Largest HEADERS or SETTINGS payload we buffer (our SETTINGS_MAX_FIELD_SECTION_SIZE). */
export const MAX_FIELD_SECTION = 16 * 1024;

export interface H3Request {
  /** The request stream; its id is the WebTransport session id if this is an extended CONNECT. */
  readonly stream: QuicStream;
  readonly method: string;
  readonly protocol: string | undefined;
  readonly scheme: string | undefined;
  readonly authority: string | undefined;
  readonly path: string | undefined;
  readonly fields: readonly Field[];
  /** The request stream's remaining frames (DATA carries capsules on a CONNECT stream). */
  readonly reader: StreamReader;
  /** Sends the response HEADERS (`:status` first). */
  respond(status: number, headers?: readonly Field[]): Promise<void>;
}

export interface H3Handlers {
  onRequest(request: H3Request): void;
  /** A client stream that began with a WebTransport prefix; `body` is what follows the prefix. */
  onWebTransportStream(sessionId: number, stream: QuicStream, body: StreamReader): void;
  /** An HTTP datagram for the request stream `sessionId` (quarter stream id already multiplied). */
  onDatagram(sessionId: number, payload: Uint8Array): void;
  /** The peer sent GOAWAY: it opens no new requests, existing sessions go on. */
  onGoaway?(): void;
}

export interface H3Connection {
  readonly quic: QuicConnection;
  /** The peer's SETTINGS once they arrived. */
  readonly peerSettings: Promise<ReadonlyMap<number, number>>;
  /** Opens a server stream with the draft-02 WebTransport prefix for `sessionId` already written. */
  openWebTransportStream(sessionId: number, bidirectional: boolean): Promise<QuicStream>;
  sendDatagram(sessionId: number, payload: Uint8Array): boolean;
  /** GOAWAY, then CONNECTION_CLOSE with `code` (H3_NO_ERROR by default). */
  close(code?: number, reason?: string): void;
}

/** What we send: no dynamic table, extended CONNECT, H3 datagrams, WebTransport draft-02. */
export const OUR_SETTINGS: ReadonlyArray<readonly [number, number]> = [
  [Setting.QPACK_MAX_TABLE_CAPACITY, 0],
  [Setting.QPACK_BLOCKED_STREAMS, 0],
  [Setting.MAX_FIELD_SECTION_SIZE, MAX_FIELD_SECTION],
  [Setting.ENABLE_CONNECT_PROTOCOL, 1],
  [Setting.H3_DATAGRAM, 1],
  [Setting.H3_DATAGRAM_DRAFT04, 1],
  [Setting.ENABLE_WEBTRANSPORT, 1],
];

/** HTTP/2 frame types with no HTTP/3 meaning: receiving one is H3_FRAME_UNEXPECTED (§7.2.8). */
const HTTP2_ONLY_FRAMES = new Set([0x02, 0x06, 0x08, 0x09]);

/** Starts HTTP/3 on an accepted QUIC connection. */
export function serveHttp3(quic: QuicConnection, handlers: H3Handlers): H3Connection {
  let closing = false;
  let resolveSettings: (s: ReadonlyMap<number, number>) => void = () => {};
  const peerSettings = new Promise<ReadonlyMap<number, number>>((resolve) => {
    resolveSettings = resolve;
  });
  /** The peer's critical uni streams, each allowed once (§6.2.1, RFC 9204 §4.2). */
  const seen = new Set<number>();
  /** Highest client bidi stream id we processed, for GOAWAY. */
  let lastRequest = -4;

  const fatal = (e: unknown) => {
    if (closing) return;
    close(h3CodeOf(e), e instanceof Error ? e.message : 'HTTP/3 error');
  };

  const close = (code: number = H3.NO_ERROR, reason = '') => {
    if (closing) return;
    closing = true;
    quic.close(code, reason);
  };

  // Our control stream, opened first; a failure to open it means the connection is already gone.
  const control = (async () => {
    const stream = await quic.openStream(false);
    await stream.write(
      concat(varints(StreamType.CONTROL), frame(FrameType.SETTINGS, encodeSettings(OUR_SETTINGS))),
    );
    return stream;
  })();
  control.catch(fatal);

  const readControl = async (reader: StreamReader) => {
    const first = await reader.frameHeader();
    if (first === undefined) h3Fail(H3.CLOSED_CRITICAL_STREAM, 'control stream closed');
    if (first.type !== FrameType.SETTINGS)
      h3Fail(H3.MISSING_SETTINGS, 'control stream must start with SETTINGS');
    if (first.length > MAX_FIELD_SECTION) h3Fail(H3.EXCESSIVE_LOAD, 'SETTINGS too large');
    resolveSettings(parseSettings(await reader.exactly(first.length)));
    for (;;) {
      const header = await reader.frameHeader();
      if (header === undefined) h3Fail(H3.CLOSED_CRITICAL_STREAM, 'control stream closed');
      const { type, length } = header;
      if (
        type === FrameType.SETTINGS ||
        type === FrameType.DATA ||
        type === FrameType.HEADERS ||
        type === FrameType.PUSH_PROMISE ||
        HTTP2_ONLY_FRAMES.has(type)
      ) {
        h3Fail(H3.FRAME_UNEXPECTED, `frame 0x${type.toString(16)} on the control stream`);
      }
      if (type === FrameType.GOAWAY || type === FrameType.MAX_PUSH_ID || type === FrameType.CANCEL_PUSH) {
        if (length > 8) h3Fail(H3.FRAME_ERROR, `frame 0x${type.toString(16)} too long`);
        const payload = await reader.exactly(length);
        const id = readVarint(payload, 0);
        if (id === undefined || id[1] !== length)
          h3Fail(H3.FRAME_ERROR, `malformed frame 0x${type.toString(16)}`);
        // A client's GOAWAY names a push id; we never push, so it only tells us to wind down.
        if (type === FrameType.GOAWAY) handlers.onGoaway?.();
        continue;
      }
      // Unknown and extension frames (PRIORITY_UPDATE, grease) are skipped (§9).
      await reader.skip(length);
    }
  };

  const readUni = async (stream: QuicStream) => {
    const reader = new StreamReader(stream.readable);
    const type = await reader.varint();
    if (type === undefined) return;
    switch (type) {
      case StreamType.CONTROL:
      case StreamType.QPACK_ENCODER:
      case StreamType.QPACK_DECODER: {
        if (seen.has(type)) h3Fail(H3.STREAM_CREATION_ERROR, `second stream of type ${type}`);
        seen.add(type);
        if (type === StreamType.CONTROL) return readControl(reader);
        // With capacity 0 the encoder may only set capacity 0 and the decoder has nothing to
        // acknowledge: drain both. Closing them is still a critical-stream error.
        for await (const _ of reader.rest());
        h3Fail(H3.CLOSED_CRITICAL_STREAM, 'QPACK stream closed');
        break;
      }
      case StreamType.PUSH:
        h3Fail(H3.STREAM_CREATION_ERROR, 'a client opened a push stream');
        break;
      case StreamType.WEBTRANSPORT: {
        const sessionId =
          (await reader.varint()) ?? h3Fail(H3.FRAME_ERROR, 'WebTransport stream without session id');
        handlers.onWebTransportStream(sessionId, stream, reader);
        return;
      }
      default:
        // Unknown or reserved types: stop reading it, without harm (§6.2).
        stream.abort(H3.STREAM_CREATION_ERROR);
        await reader.cancel();
    }
  };

  const readRequest = async (stream: QuicStream) => {
    lastRequest = Math.max(lastRequest, stream.id);
    const reader = new StreamReader(stream.readable);
    const type = await reader.varint();
    if (type === undefined) return;
    if (type === FrameType.WEBTRANSPORT_STREAM) {
      const sessionId =
        (await reader.varint()) ?? h3Fail(H3.FRAME_ERROR, 'WebTransport stream without session id');
      handlers.onWebTransportStream(sessionId, stream, reader);
      return;
    }
    const length = (await reader.varint()) ?? h3Fail(H3.FRAME_ERROR, 'stream ended inside a frame header');
    if (type !== FrameType.HEADERS) {
      if (type === FrameType.DATA || HTTP2_ONLY_FRAMES.has(type) || type <= FrameType.MAX_PUSH_ID) {
        h3Fail(H3.FRAME_UNEXPECTED, `request stream starts with frame 0x${type.toString(16)}`);
      }
      // An unknown frame before HEADERS is allowed; we do not expect one from a browser and refuse
      // the request rather than keep state for it.
      stream.abort(H3.REQUEST_REJECTED);
      await reader.cancel();
      return;
    }
    if (length > MAX_FIELD_SECTION) h3Fail(H3.EXCESSIVE_LOAD, 'HEADERS too large');
    const fields = decodeFieldSection(await reader.exactly(length));
    const request = toRequest(stream, reader, fields);
    if (request === undefined) {
      stream.abort(H3.MESSAGE_ERROR);
      await reader.cancel();
      return;
    }
    if (closing) {
      stream.abort(H3.REQUEST_REJECTED);
      return;
    }
    handlers.onRequest(request);
  };

  quic.onStream((stream) => {
    if (closing) {
      stream.abort(H3.REQUEST_REJECTED);
      return;
    }
    // Client-initiated only: bit 0 clear. Uni streams (bit 1) carry a type; bidi are requests.
    const task = stream.bidirectional ? readRequest(stream) : readUni(stream);
    task.catch((e) => {
      if (isProtocolError(e)) fatal(e);
      // A bug of ours, never the peer's input: close rather than hang, and say so.
      else if (!(e instanceof DreggError)) close(H3.INTERNAL_ERROR, 'internal error');
      // Any other DreggError is the stream dying under us (reset, connection closed): nothing to do.
    });
  });

  quic.onDatagram((data) => {
    const quarter = readVarint(data, 0);
    // RFC 9297 §2.1: a datagram we cannot parse is H3_DATAGRAM_ERROR (0x33).
    if (quarter === undefined) return fatal(new H3Error(0x33, 'datagram without a quarter stream id'));
    handlers.onDatagram(quarter[0] * 4, data.subarray(quarter[1]));
  });

  void quic.closed.then(() => {
    closing = true;
  });

  return {
    quic,
    peerSettings,
    async openWebTransportStream(sessionId, bidirectional) {
      const stream = await quic.openStream(bidirectional);
      const prefix = bidirectional
        ? varints(FrameType.WEBTRANSPORT_STREAM, sessionId)
        : varints(StreamType.WEBTRANSPORT, sessionId);
      await stream.write(prefix);
      return stream;
    },
    sendDatagram(sessionId, payload) {
      const head = varints(sessionId / 4);
      const out = new Uint8Array(head.length + payload.length);
      out.set(head);
      out.set(payload, head.length);
      return quic.sendDatagram(out);
    },
    close(code = H3.NO_ERROR, reason = '') {
      if (closing) return;
      // GOAWAY names the first request stream we will not process (§5.2); then close.
      const goaway = frame(FrameType.GOAWAY, varints(lastRequest + 4));
      void control
        .then((stream) => stream.write(goaway))
        .catch(() => {})
        .finally(() => close(code, reason));
    },
  };
}

function isProtocolError(e: unknown): boolean {
  return e instanceof DreggError && e.code === 'E_PROTOCOL';
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

const PSEUDO = new Set([':method', ':scheme', ':authority', ':path', ':protocol']);

/**
 * Checks a request's header section (§4.3.1, RFC 9220 §3): pseudo-fields first, each once, known
 * ones only, lowercase names; CONNECT with :protocol needs :scheme, :authority and :path. Returns
 * undefined for a malformed request (the stream is reset with H3_MESSAGE_ERROR).
 */
function toRequest(stream: QuicStream, reader: StreamReader, fields: Field[]): H3Request | undefined {
  const pseudo = new Map<string, string>();
  let regular = false;
  for (const { name } of fields) {
    if (name.length === 0 || name !== name.toLowerCase()) return undefined;
    if (name.startsWith(':')) {
      if (regular || !PSEUDO.has(name) || pseudo.has(name)) return undefined;
    } else {
      regular = true;
    }
  }
  for (const { name, value } of fields) if (name.startsWith(':')) pseudo.set(name, value);
  const method = pseudo.get(':method');
  if (method === undefined) return undefined;
  const protocol = pseudo.get(':protocol');
  if (protocol !== undefined && method !== 'CONNECT') return undefined;
  if (method === 'CONNECT' && protocol !== undefined) {
    if (!pseudo.get(':scheme') || !pseudo.get(':authority') || !pseudo.get(':path')) return undefined;
  } else if (method !== 'CONNECT' && (!pseudo.get(':scheme') || !pseudo.get(':path'))) {
    return undefined;
  }
  return {
    stream,
    method,
    protocol,
    scheme: pseudo.get(':scheme'),
    authority: pseudo.get(':authority'),
    path: pseudo.get(':path'),
    fields,
    reader,
    async respond(status, headers = []) {
      const section = encodeFieldSection([{ name: ':status', value: String(status) }, ...headers]);
      await stream.write(frame(FrameType.HEADERS, section));
    },
  };
}

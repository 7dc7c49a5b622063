/**
 * WebTransport over HTTP/3, draft-ietf-webtrans-http3-02 (what Chromium speaks, FIELD-NOTES), on the
 * server side. A session is an extended CONNECT (:protocol webtransport) answered 200; its id is the
 * CONNECT stream's id. Client bidi streams start with 0x41 + session id, uni streams with 0x54 +
 * session id, and we prefix ours the same way; datagrams carry the quarter stream id (RFC 9297). The
 * session ends with a CLOSE_WEBTRANSPORT_SESSION capsule (0x2843) or a FIN on the CONNECT stream,
 * either way; its streams are then reset with WEBTRANSPORT_SESSION_GONE.
 *
 * Streams and datagrams that name a session we have not set up yet (they can overtake the CONNECT)
 * wait in a small buffer, as draft-02 §4.5 allows; past it they are refused.
 */

import { DreggError } from '../../../errors.ts';
import type { QuicConnection, QuicStream } from '../api.ts';
import { FrameType, frame, H3, readVarint, type StreamReader, varints } from '../h3/frames.ts';
import { type H3Connection, type H3Request, serveHttp3 } from '../h3/session.ts';

export const CLOSE_WEBTRANSPORT_SESSION = 0x2843;
export const DRAIN_WEBTRANSPORT_SESSION = 0x78ae;
/** Stream reset code for a session's streams when the session ends (draft-02 §4.6). */
export const WEBTRANSPORT_SESSION_GONE = 0x170d7b68;
/** Stream reset code for a stream whose session never came (draft-02 §4.5). */
export const WEBTRANSPORT_BUFFERED_STREAM_REJECTED = 0x3994bd84;

const MAPPED_FIRST = 0x52e4a40fa8db;
const MAPPED_LAST = 0x52e5ac983162;

/** A WebTransport application error code (32 bits) as the HTTP/3 code on the wire (draft-02 §4.3). */
export function webTransportCodeToHttp3(code: number): number {
  const n = code >>> 0;
  return MAPPED_FIRST + n + Math.floor(n / 0x1e);
}

/** The inverse, or undefined for codes outside the range and GREASE code points. */
export function http3CodeToWebTransport(h3: number): number | undefined {
  if (h3 < MAPPED_FIRST || h3 > MAPPED_LAST || (h3 - 0x21) % 0x1f === 0) return undefined;
  const shifted = h3 - MAPPED_FIRST;
  return shifted - Math.floor(shifted / 0x1f);
}

const PENDING_STREAMS = 32;
const PENDING_DATAGRAMS = 32;
/** Largest capsule we buffer on a CONNECT stream; CLOSE's reason is at most 1024 bytes. */
const MAX_CAPSULE = 4096;
const MAX_REASON = 1024;

export interface WebTransportStream {
  /** The QUIC stream id. */
  readonly id: number;
  readonly bidirectional: boolean;
  /** What the peer sends after the prefix; ends at FIN (empty for our own uni streams). */
  readonly readable: AsyncIterable<Uint8Array>;
  write(data: Uint8Array): Promise<void>;
  end(): void;
  /** Resets the stream with a WebTransport application error code (32 bits). */
  abort(code?: number): void;
}

export interface WebTransportSession {
  readonly id: number;
  readonly path: string;
  readonly authority: string;
  /** The page's origin, as the browser sent it (absent for non-browser clients). */
  readonly origin: string | undefined;
  readonly remote: { readonly address: string; readonly port: number };
  /** Streams the peer opens; those that arrive before a handler is set wait for it. */
  onStream(handler: (stream: WebTransportStream) => void): void;
  openStream(bidirectional: boolean): Promise<WebTransportStream>;
  /** False when the datagram is too large for a packet or datagrams are off. */
  sendDatagram(data: Uint8Array): boolean;
  /** Datagrams; a few that arrive before a handler is set wait for it. */
  onDatagram(handler: (data: Uint8Array) => void): void;
  /** Sends CLOSE_WEBTRANSPORT_SESSION with `code` and `reason`, then FIN. */
  close(code?: number, reason?: string): void;
  readonly closed: Promise<{ readonly code: number; readonly reason: string; readonly remote: boolean }>;
}

export interface WebTransportOptions {
  /** Whether to accept a session on this path (others are answered 404). */
  accept(path: string): boolean;
  onSession(session: WebTransportSession): void;
}

interface SessionState {
  readonly session: WebTransportSession;
  deliverStream(stream: WebTransportStream): void;
  deliverDatagram(data: Uint8Array): void;
  track(stream: QuicStream): () => void;
}

/** Serves WebTransport sessions on one QUIC connection (ALPN h3). */
export function serveWebTransport(quic: QuicConnection, options: WebTransportOptions): H3Connection {
  const sessions = new Map<number, SessionState>();
  /** Streams and datagrams for sessions not set up yet, by session id. */
  const pending = new Map<number, { streams: [QuicStream, StreamReader][]; datagrams: Uint8Array[] }>();
  let pendingStreams = 0;
  /** Request streams answered with something other than a session. */
  const refused = new Set<number>();

  const refuse = (stream: QuicStream, reader: StreamReader) => {
    stream.abort(WEBTRANSPORT_BUFFERED_STREAM_REJECTED);
    void reader.cancel().catch(() => {});
  };

  const dropPending = (sessionId: number) => {
    const queued = pending.get(sessionId);
    if (!queued) return;
    pending.delete(sessionId);
    pendingStreams -= queued.streams.length;
    for (const [stream, reader] of queued.streams) refuse(stream, reader);
  };

  const h3: H3Connection = serveHttp3(quic, {
    onRequest(request) {
      const isWebTransport = request.method === 'CONNECT' && request.protocol === 'webtransport';
      if (!isWebTransport || !options.accept(request.path ?? '')) {
        refused.add(request.stream.id);
        dropPending(request.stream.id);
        void request
          .respond(404)
          .then(() => request.stream.end())
          .catch(() => {});
        void request.reader.cancel().catch(() => {});
        return;
      }
      // A throwing onSession is the application's bug: the session goes, the connection stays.
      startSession(request).catch(() => request.stream.abort(H3.INTERNAL_ERROR));
    },
    onWebTransportStream(sessionId, stream, body) {
      // A session id is always a client-initiated bidi stream (draft-02 §4.2).
      if (sessionId % 4 !== 0) {
        h3.close(H3.ID_ERROR, 'WebTransport stream names an invalid session id');
        return;
      }
      const state = sessions.get(sessionId);
      if (state) {
        state.deliverStream(incoming(stream, body, state.track(stream)));
        return;
      }
      if (refused.has(sessionId) || pendingStreams >= PENDING_STREAMS) {
        refuse(stream, body);
        return;
      }
      const queued = pending.get(sessionId) ?? { streams: [], datagrams: [] };
      pending.set(sessionId, queued);
      queued.streams.push([stream, body]);
      pendingStreams += 1;
    },
    onDatagram(sessionId, payload) {
      const state = sessions.get(sessionId);
      if (state) return state.deliverDatagram(payload);
      if (refused.has(sessionId) || sessionId % 4 !== 0) return;
      const queued = pending.get(sessionId) ?? { streams: [], datagrams: [] };
      if (queued.datagrams.length >= PENDING_DATAGRAMS) return;
      pending.set(sessionId, queued);
      queued.datagrams.push(payload.slice());
    },
  });

  const startSession = async (request: H3Request) => {
    const id = request.stream.id;
    const streams = new Set<QuicStream>();
    let streamHandler: ((stream: WebTransportStream) => void) | undefined;
    const waiting: WebTransportStream[] = [];
    let datagramHandler: ((data: Uint8Array) => void) | undefined;
    /** Datagrams that came before a handler was set (a few; they are unreliable anyway). */
    const earlyDatagrams: Uint8Array[] = [];
    let ended = false;
    let resolveClosed: (value: { code: number; reason: string; remote: boolean }) => void = () => {};
    const closed = new Promise<{ code: number; reason: string; remote: boolean }>((resolve) => {
      resolveClosed = resolve;
    });

    /** Ends the session once: resets its streams, forgets it, settles `closed`. */
    const finish = (code: number, reason: string, remote: boolean) => {
      if (ended) return;
      ended = true;
      sessions.delete(id);
      refused.add(id);
      for (const stream of streams) stream.abort(WEBTRANSPORT_SESSION_GONE);
      streams.clear();
      resolveClosed({ code, reason, remote });
    };

    const session: WebTransportSession = {
      id,
      path: request.path ?? '/',
      authority: request.authority ?? '',
      origin: request.fields.find((f) => f.name === 'origin')?.value,
      remote: quic.remote,
      onStream(handler) {
        streamHandler = handler;
        for (const stream of waiting.splice(0)) handler(stream);
      },
      async openStream(bidirectional) {
        if (ended) throw new DreggError('E_UNREACHABLE', 'WebTransport session closed');
        const stream = await h3.openWebTransportStream(id, bidirectional);
        const release = state.track(stream);
        return outgoing(stream, release);
      },
      sendDatagram(data) {
        return !ended && h3.sendDatagram(id, data);
      },
      onDatagram(handler) {
        datagramHandler = handler;
        for (const datagram of earlyDatagrams.splice(0)) handler(datagram);
      },
      close(code = 0, reason = '') {
        if (ended) return;
        const text = new TextEncoder().encode(reason).subarray(0, MAX_REASON);
        const value = new Uint8Array(4 + text.length);
        new DataView(value.buffer).setUint32(0, code >>> 0);
        value.set(text, 4);
        const capsule = concat(varints(CLOSE_WEBTRANSPORT_SESSION, value.length), value);
        void request.stream
          .write(frame(FrameType.DATA, capsule))
          .then(() => request.stream.end())
          .catch(() => {});
        finish(code >>> 0, reason, false);
      },
      closed,
    };

    const state: SessionState = {
      session,
      deliverStream(stream) {
        if (streamHandler) streamHandler(stream);
        else waiting.push(stream);
      },
      deliverDatagram(data) {
        if (datagramHandler) datagramHandler(data);
        else if (earlyDatagrams.length < PENDING_DATAGRAMS) earlyDatagrams.push(data.slice());
      },
      track(stream) {
        streams.add(stream);
        return () => streams.delete(stream);
      },
    };

    try {
      await request.respond(200, [{ name: 'sec-webtransport-http3-draft', value: 'draft02' }]);
    } catch {
      return; // the stream or connection died first
    }
    sessions.set(id, state);
    options.onSession(session);
    const queued = pending.get(id);
    if (queued) {
      pending.delete(id);
      pendingStreams -= queued.streams.length;
      for (const [stream, body] of queued.streams)
        state.deliverStream(incoming(stream, body, state.track(stream)));
      for (const datagram of queued.datagrams) state.deliverDatagram(datagram);
    }
    void quic.closed.then(({ code, reason }) => finish(code, reason, true));
    try {
      const close = await readCapsules(request.reader);
      if (!ended) {
        // The peer closed (capsule or FIN): answer with our FIN (draft-02 §5).
        request.stream.end();
        finish(close.code, close.reason, true);
      }
    } catch (e) {
      if (!ended) {
        request.stream.abort(H3.MESSAGE_ERROR);
        finish(0, e instanceof Error ? e.message : 'CONNECT stream failed', true);
      }
    }
  };

  return h3;
}

/**
 * Reads the CONNECT stream after the 200: DATA frames carry capsules (RFC 9297 §3.2), which may
 * span frames. Returns at CLOSE_WEBTRANSPORT_SESSION or FIN; unknown frames and capsules are skipped.
 */
async function readCapsules(reader: StreamReader): Promise<{ code: number; reason: string }> {
  let buffer: Uint8Array = new Uint8Array(0);
  for (;;) {
    const header = await reader.frameHeader();
    if (header === undefined) return { code: 0, reason: '' };
    if (header.type !== FrameType.DATA) {
      await reader.skip(header.length);
      continue;
    }
    if (buffer.length + header.length > MAX_CAPSULE + 16) {
      throw new DreggError('E_PROTOCOL', 'capsule too large');
    }
    buffer = concat(buffer, await reader.exactly(header.length));
    for (;;) {
      const type = readVarint(buffer, 0);
      const length = type && readVarint(buffer, type[1]);
      if (!type || !length) break;
      if (length[0] > MAX_CAPSULE) throw new DreggError('E_PROTOCOL', 'capsule too large');
      const end = length[1] + length[0];
      if (end > buffer.length) break;
      const value = buffer.subarray(length[1], end);
      buffer = buffer.subarray(end);
      if (type[0] === CLOSE_WEBTRANSPORT_SESSION) {
        if (value.length < 4 || value.length > 4 + MAX_REASON) {
          throw new DreggError('E_PROTOCOL', 'malformed CLOSE_WEBTRANSPORT_SESSION');
        }
        const code = new DataView(value.buffer, value.byteOffset, 4).getUint32(0);
        return { code, reason: new TextDecoder().decode(value.subarray(4)) };
      }
    }
  }
}

function incoming(stream: QuicStream, body: StreamReader, release: () => void): WebTransportStream {
  return sessionStream(stream, body.rest(), stream.bidirectional, release);
}

function outgoing(stream: QuicStream, release: () => void): WebTransportStream {
  // Our bidi stream: what the peer sends back has no prefix. Our uni stream: nothing comes back.
  return sessionStream(stream, stream.bidirectional ? stream.readable : undefined, true, release);
}

/**
 * A session's stream: `release` (the session stops tracking it) once every open side is done — the
 * peer's bytes read to the end (`readable`, absent when nothing comes back) and ours ended
 * (`writable`) — or at once on abort.
 */
function sessionStream(
  stream: QuicStream,
  readable: AsyncIterable<Uint8Array> | undefined,
  writable: boolean,
  release: () => void,
): WebTransportStream {
  let reading = readable !== undefined;
  let writing = writable;
  const done = () => {
    if (!reading && !writing) release();
  };
  return {
    id: stream.id,
    bidirectional: stream.bidirectional,
    readable: (async function* () {
      if (readable === undefined) return;
      try {
        yield* readable;
      } finally {
        reading = false;
        done();
      }
    })(),
    write: (data) => stream.write(data),
    end() {
      stream.end();
      writing = false;
      done();
    },
    abort(code = 0) {
      stream.abort(webTransportCodeToHttp3(code));
      reading = false;
      writing = false;
      release();
    },
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

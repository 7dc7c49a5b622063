/**
 * QUIC frames (RFC 9000 §19) and RFC 9221 DATAGRAM frames: one tagged union, an encoder that writes
 * into a caller's buffer (the connection packs several frames into one packet without copies), and a
 * strict decoder that checks each frame type against the packet's level (§12.4, Table 3).
 *
 * Decoding fails only with `DreggError` 'E_DECODE' (FRAME_ENCODING_ERROR) or 'E_PROTOCOL' carrying
 * the QUIC transport error code to close with (`transportError`).
 */
import { DreggError } from '../../errors.ts';
import type { Level } from './api.ts';
import { Cursor, varintLength, writeVarint } from './varint.ts';

/** Transport error codes, RFC 9000 §20.1. */
export const TransportError = {
  NO_ERROR: 0x00,
  INTERNAL_ERROR: 0x01,
  CONNECTION_REFUSED: 0x02,
  FLOW_CONTROL_ERROR: 0x03,
  STREAM_LIMIT_ERROR: 0x04,
  STREAM_STATE_ERROR: 0x05,
  FINAL_SIZE_ERROR: 0x06,
  FRAME_ENCODING_ERROR: 0x07,
  TRANSPORT_PARAMETER_ERROR: 0x08,
  CONNECTION_ID_LIMIT_ERROR: 0x09,
  PROTOCOL_VIOLATION: 0x0a,
  INVALID_TOKEN: 0x0b,
  APPLICATION_ERROR: 0x0c,
  CRYPTO_BUFFER_EXCEEDED: 0x0d,
  KEY_UPDATE_ERROR: 0x0e,
  AEAD_LIMIT_REACHED: 0x0f,
  NO_VIABLE_PATH: 0x10,
  CRYPTO_ERROR: 0x100,
} as const;

/** A peer's protocol violation: E_PROTOCOL carrying the transport error code to close with. */
export function protocolError(transportError: number, message: string, frameType = 0): DreggError {
  return Object.assign(new DreggError('E_PROTOCOL', message), { transportError, frameType });
}

/** The transport error code a decoding or protocol failure closes the connection with. */
export function transportErrorOf(e: unknown): number {
  if (e instanceof DreggError) {
    const code = (e as DreggError & { transportError?: number }).transportError;
    if (code !== undefined) return code;
    if (e.code === 'E_DECODE') return TransportError.FRAME_ENCODING_ERROR;
    if (e.code === 'E_PROTOCOL') return TransportError.PROTOCOL_VIOLATION;
  }
  return TransportError.INTERNAL_ERROR;
}

/** ACK ranges: inclusive [smallest, largest] pairs, highest first, disjoint and not adjacent. */
export type AckRange = readonly [number, number];

export type Frame =
  | { readonly type: 'padding'; readonly length: number }
  | { readonly type: 'ping' }
  | {
      readonly type: 'ack';
      /** Raw ack delay field (scaled by the sender's ack_delay_exponent). */
      readonly delay: number;
      readonly ranges: readonly AckRange[];
      readonly ecn?: { readonly ect0: number; readonly ect1: number; readonly ce: number };
    }
  | { readonly type: 'reset_stream'; readonly id: number; readonly code: number; readonly finalSize: number }
  | { readonly type: 'stop_sending'; readonly id: number; readonly code: number }
  | { readonly type: 'crypto'; readonly offset: number; readonly data: Uint8Array }
  | { readonly type: 'new_token'; readonly token: Uint8Array }
  | {
      readonly type: 'stream';
      readonly id: number;
      readonly offset: number;
      readonly data: Uint8Array;
      readonly fin: boolean;
    }
  | { readonly type: 'max_data'; readonly max: number }
  | { readonly type: 'max_stream_data'; readonly id: number; readonly max: number }
  | { readonly type: 'max_streams'; readonly bidi: boolean; readonly max: number }
  | { readonly type: 'data_blocked'; readonly limit: number }
  | { readonly type: 'stream_data_blocked'; readonly id: number; readonly limit: number }
  | { readonly type: 'streams_blocked'; readonly bidi: boolean; readonly limit: number }
  | {
      readonly type: 'new_connection_id';
      readonly seq: number;
      readonly retirePriorTo: number;
      readonly cid: Uint8Array;
      readonly resetToken: Uint8Array;
    }
  | { readonly type: 'retire_connection_id'; readonly seq: number }
  | { readonly type: 'path_challenge'; readonly data: Uint8Array }
  | { readonly type: 'path_response'; readonly data: Uint8Array }
  | {
      readonly type: 'connection_close';
      /** true: 0x1d (application), false: 0x1c (transport, with the offending frame type). */
      readonly app: boolean;
      readonly code: number;
      readonly frameType: number;
      readonly reason: string;
    }
  | { readonly type: 'handshake_done' }
  | { readonly type: 'datagram'; readonly data: Uint8Array };

/** A write position in a caller-owned buffer (the connection fills one packet payload per Writer). */
export interface Writer {
  readonly buf: Uint8Array;
  pos: number;
}

function putVarint(w: Writer, v: number): void {
  w.pos = writeVarint(w.buf, w.pos, v);
}

function writeBytes(w: Writer, data: Uint8Array): void {
  w.buf.set(data, w.pos);
  w.pos += data.length;
}

function truncated(): never {
  throw new DreggError('E_DECODE', 'Truncated QUIC frame');
}

// ---- sizes and encoding ---------------------------------------------------------------------------

/** Bytes of a STREAM frame's header (type, id, offset when non-zero, explicit length). */
export function streamHeaderSize(id: number, offset: number, length: number): number {
  return 1 + varintLength(id) + (offset > 0 ? varintLength(offset) : 0) + varintLength(length);
}

/** Bytes of a CRYPTO frame's header. */
export function cryptoHeaderSize(offset: number, length: number): number {
  return 1 + varintLength(offset) + varintLength(length);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: false });

/** Bytes `frame` takes when encoded (the connection uses it to fill packets exactly). */
export function frameSize(frame: Frame): number {
  switch (frame.type) {
    case 'padding':
      return frame.length;
    case 'ping':
    case 'handshake_done':
      return 1;
    case 'ack': {
      const [first, ...rest] = frame.ranges;
      if (first === undefined) throw new DreggError('E_INTERNAL', 'ACK frame without ranges');
      let n =
        1 +
        varintLength(first[1]) +
        varintLength(frame.delay) +
        varintLength(rest.length) +
        varintLength(first[1] - first[0]);
      let prevSmallest = first[0];
      for (const [lo, hi] of rest) {
        n += varintLength(prevSmallest - hi - 2) + varintLength(hi - lo);
        prevSmallest = lo;
      }
      if (frame.ecn)
        n += varintLength(frame.ecn.ect0) + varintLength(frame.ecn.ect1) + varintLength(frame.ecn.ce);
      return n;
    }
    case 'reset_stream':
      return 1 + varintLength(frame.id) + varintLength(frame.code) + varintLength(frame.finalSize);
    case 'stop_sending':
      return 1 + varintLength(frame.id) + varintLength(frame.code);
    case 'crypto':
      return cryptoHeaderSize(frame.offset, frame.data.length) + frame.data.length;
    case 'new_token':
      return 1 + varintLength(frame.token.length) + frame.token.length;
    case 'stream':
      return streamHeaderSize(frame.id, frame.offset, frame.data.length) + frame.data.length;
    case 'max_data':
      return 1 + varintLength(frame.max);
    case 'max_stream_data':
      return 1 + varintLength(frame.id) + varintLength(frame.max);
    case 'max_streams':
      return 1 + varintLength(frame.max);
    case 'data_blocked':
      return 1 + varintLength(frame.limit);
    case 'stream_data_blocked':
      return 1 + varintLength(frame.id) + varintLength(frame.limit);
    case 'streams_blocked':
      return 1 + varintLength(frame.limit);
    case 'new_connection_id':
      return 1 + varintLength(frame.seq) + varintLength(frame.retirePriorTo) + 1 + frame.cid.length + 16;
    case 'retire_connection_id':
      return 1 + varintLength(frame.seq);
    case 'path_challenge':
    case 'path_response':
      return 9;
    case 'connection_close': {
      const reason = encoder.encode(frame.reason).length;
      return (
        1 +
        varintLength(frame.code) +
        (frame.app ? 0 : varintLength(frame.frameType)) +
        varintLength(reason) +
        reason
      );
    }
    case 'datagram':
      return 1 + varintLength(frame.data.length) + frame.data.length;
  }
}

/** Writes `frame` at `w.pos`; the caller has checked `frameSize` fits. */
export function encodeFrame(w: Writer, frame: Frame): void {
  switch (frame.type) {
    case 'padding':
      w.buf.fill(0, w.pos, w.pos + frame.length);
      w.pos += frame.length;
      return;
    case 'ping':
      w.buf[w.pos++] = 0x01;
      return;
    case 'ack': {
      const [first, ...rest] = frame.ranges;
      if (first === undefined) throw new DreggError('E_INTERNAL', 'ACK frame without ranges');
      w.buf[w.pos++] = frame.ecn ? 0x03 : 0x02;
      putVarint(w, first[1]);
      putVarint(w, frame.delay);
      putVarint(w, rest.length);
      putVarint(w, first[1] - first[0]);
      let prevSmallest = first[0];
      for (const [lo, hi] of rest) {
        putVarint(w, prevSmallest - hi - 2);
        putVarint(w, hi - lo);
        prevSmallest = lo;
      }
      if (frame.ecn) {
        putVarint(w, frame.ecn.ect0);
        putVarint(w, frame.ecn.ect1);
        putVarint(w, frame.ecn.ce);
      }
      return;
    }
    case 'reset_stream':
      w.buf[w.pos++] = 0x04;
      putVarint(w, frame.id);
      putVarint(w, frame.code);
      putVarint(w, frame.finalSize);
      return;
    case 'stop_sending':
      w.buf[w.pos++] = 0x05;
      putVarint(w, frame.id);
      putVarint(w, frame.code);
      return;
    case 'crypto':
      w.buf[w.pos++] = 0x06;
      putVarint(w, frame.offset);
      putVarint(w, frame.data.length);
      writeBytes(w, frame.data);
      return;
    case 'new_token':
      w.buf[w.pos++] = 0x07;
      putVarint(w, frame.token.length);
      writeBytes(w, frame.token);
      return;
    case 'stream':
      // Always with an explicit length, so more frames may follow in the packet.
      w.buf[w.pos++] = 0x0a | (frame.offset > 0 ? 0x04 : 0) | (frame.fin ? 0x01 : 0);
      putVarint(w, frame.id);
      if (frame.offset > 0) putVarint(w, frame.offset);
      putVarint(w, frame.data.length);
      writeBytes(w, frame.data);
      return;
    case 'max_data':
      w.buf[w.pos++] = 0x10;
      putVarint(w, frame.max);
      return;
    case 'max_stream_data':
      w.buf[w.pos++] = 0x11;
      putVarint(w, frame.id);
      putVarint(w, frame.max);
      return;
    case 'max_streams':
      w.buf[w.pos++] = frame.bidi ? 0x12 : 0x13;
      putVarint(w, frame.max);
      return;
    case 'data_blocked':
      w.buf[w.pos++] = 0x14;
      putVarint(w, frame.limit);
      return;
    case 'stream_data_blocked':
      w.buf[w.pos++] = 0x15;
      putVarint(w, frame.id);
      putVarint(w, frame.limit);
      return;
    case 'streams_blocked':
      w.buf[w.pos++] = frame.bidi ? 0x16 : 0x17;
      putVarint(w, frame.limit);
      return;
    case 'new_connection_id':
      w.buf[w.pos++] = 0x18;
      putVarint(w, frame.seq);
      putVarint(w, frame.retirePriorTo);
      w.buf[w.pos++] = frame.cid.length;
      writeBytes(w, frame.cid);
      writeBytes(w, frame.resetToken);
      return;
    case 'retire_connection_id':
      w.buf[w.pos++] = 0x19;
      putVarint(w, frame.seq);
      return;
    case 'path_challenge':
    case 'path_response':
      w.buf[w.pos++] = frame.type === 'path_challenge' ? 0x1a : 0x1b;
      writeBytes(w, frame.data);
      return;
    case 'connection_close': {
      const reason = encoder.encode(frame.reason);
      w.buf[w.pos++] = frame.app ? 0x1d : 0x1c;
      putVarint(w, frame.code);
      if (!frame.app) putVarint(w, frame.frameType);
      putVarint(w, reason.length);
      writeBytes(w, reason);
      return;
    }
    case 'handshake_done':
      w.buf[w.pos++] = 0x1e;
      return;
    case 'datagram':
      w.buf[w.pos++] = 0x31;
      putVarint(w, frame.data.length);
      writeBytes(w, frame.data);
      return;
  }
}

/** Encodes frames into a fresh buffer (tests and rare control packets). */
export function encodeFrames(frames: readonly Frame[]): Uint8Array {
  const w: Writer = { buf: new Uint8Array(frames.reduce((n, f) => n + frameSize(f), 0)), pos: 0 };
  for (const f of frames) encodeFrame(w, f);
  return w.buf;
}

// ---- decoding ---------------------------------------------------------------------------------------

/** Frame types allowed in Initial and Handshake packets (RFC 9000 §12.4): PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE 0x1c. */
function allowedBeforeApplication(type: number): boolean {
  return type <= 0x03 || type === 0x06 || type === 0x1c;
}

/** Ack-eliciting: anything but ACK, PADDING and CONNECTION_CLOSE (RFC 9002 §2). */
export function isAckEliciting(frame: Frame): boolean {
  return frame.type !== 'ack' && frame.type !== 'padding' && frame.type !== 'connection_close';
}

function streamId(r: Cursor): number {
  const id = r.varint();
  if (id > Number.MAX_SAFE_INTEGER) throw new DreggError('E_DECODE', 'Stream id out of range');
  return id;
}

function endWithin(offset: number, length: number, frameType: number): void {
  // RFC 9000 §19.8: offset + length must fit in 2^62 - 1; we bound it at 2^53 (never reached honestly).
  if (offset + length > Number.MAX_SAFE_INTEGER) {
    throw protocolError(
      TransportError.FRAME_ENCODING_ERROR,
      'Frame data beyond the largest offset',
      frameType,
    );
  }
}

function decodeFrame(r: Cursor, type: number, maxCid: number): Frame {
  switch (type) {
    case 0x00: {
      // Consecutive PADDING bytes fold into one frame.
      let end = r.pos;
      while (end < r.end && r.bytes[end] === 0) end++;
      const length = end - r.pos + 1;
      r.pos = end;
      return { type: 'padding', length };
    }
    case 0x01:
      return { type: 'ping' };
    case 0x02:
    case 0x03: {
      const largest = r.varint();
      const delay = r.varint();
      const count = r.varint();
      // Each range needs at least two bytes: a count beyond the bytes left is malformed.
      if (count > r.remaining / 2) truncated();
      let smallest = largest - r.varint();
      if (smallest < 0)
        throw protocolError(TransportError.FRAME_ENCODING_ERROR, 'ACK range below zero', type);
      const ranges: AckRange[] = [[smallest, largest]];
      for (let i = 0; i < count; i++) {
        const high = smallest - r.varint() - 2;
        const low = high - r.varint();
        if (low < 0) throw protocolError(TransportError.FRAME_ENCODING_ERROR, 'ACK range below zero', type);
        ranges.push([low, high]);
        smallest = low;
      }
      if (type === 0x02) return { type: 'ack', delay, ranges };
      return {
        type: 'ack',
        delay,
        ranges,
        ecn: { ect0: r.varint(), ect1: r.varint(), ce: r.varint() },
      };
    }
    case 0x04:
      return { type: 'reset_stream', id: streamId(r), code: r.varint(), finalSize: r.varint() };
    case 0x05:
      return { type: 'stop_sending', id: streamId(r), code: r.varint() };
    case 0x06: {
      const offset = r.varint();
      const data = r.take(r.varint());
      endWithin(offset, data.length, type);
      return { type: 'crypto', offset, data };
    }
    case 0x07: {
      const token = r.take(r.varint());
      if (token.length === 0)
        throw protocolError(TransportError.FRAME_ENCODING_ERROR, 'Empty NEW_TOKEN', type);
      return { type: 'new_token', token };
    }
    case 0x10:
      return { type: 'max_data', max: r.varint() };
    case 0x11:
      return { type: 'max_stream_data', id: streamId(r), max: r.varint() };
    case 0x12:
    case 0x13: {
      const max = r.varint();
      if (max > 2 ** 60)
        throw protocolError(TransportError.FRAME_ENCODING_ERROR, 'MAX_STREAMS beyond 2^60', type);
      return { type: 'max_streams', bidi: type === 0x12, max };
    }
    case 0x14:
      return { type: 'data_blocked', limit: r.varint() };
    case 0x15:
      return { type: 'stream_data_blocked', id: streamId(r), limit: r.varint() };
    case 0x16:
    case 0x17: {
      const limit = r.varint();
      if (limit > 2 ** 60)
        throw protocolError(TransportError.FRAME_ENCODING_ERROR, 'STREAMS_BLOCKED beyond 2^60', type);
      return { type: 'streams_blocked', bidi: type === 0x16, limit };
    }
    case 0x18: {
      const seq = r.varint();
      const retirePriorTo = r.varint();
      const cidLength = r.take(1)[0] as number;
      if (cidLength < 1 || cidLength > maxCid || retirePriorTo > seq) {
        throw protocolError(TransportError.FRAME_ENCODING_ERROR, 'Bad NEW_CONNECTION_ID', type);
      }
      return {
        type: 'new_connection_id',
        seq,
        retirePriorTo,
        cid: r.take(cidLength),
        resetToken: r.take(16),
      };
    }
    case 0x19:
      return { type: 'retire_connection_id', seq: r.varint() };
    case 0x1a:
      return { type: 'path_challenge', data: r.take(8) };
    case 0x1b:
      return { type: 'path_response', data: r.take(8) };
    case 0x1c:
    case 0x1d: {
      const code = r.varint();
      const frameType = type === 0x1c ? r.varint() : 0;
      const reason = decoder.decode(r.take(r.varint()));
      return { type: 'connection_close', app: type === 0x1d, code, frameType, reason };
    }
    case 0x1e:
      return { type: 'handshake_done' };
    case 0x30:
      return { type: 'datagram', data: r.take(r.remaining) };
    case 0x31:
      return { type: 'datagram', data: r.take(r.varint()) };
    default: {
      if (type >= 0x08 && type <= 0x0f) {
        const id = streamId(r);
        const offset = type & 0x04 ? r.varint() : 0;
        const length = type & 0x02 ? r.varint() : r.remaining;
        const data = r.take(length);
        endWithin(offset, length, type);
        return { type: 'stream', id, offset, data, fin: (type & 0x01) !== 0 };
      }
      throw protocolError(
        TransportError.FRAME_ENCODING_ERROR,
        `Unknown frame type 0x${type.toString(16)}`,
        type,
      );
    }
  }
}

export interface DecodeOptions {
  /** Whether we advertised max_datagram_frame_size > 0 (else DATAGRAM is PROTOCOL_VIOLATION, RFC 9221 §3). */
  readonly datagrams?: boolean;
}

/**
 * Decodes a packet payload (after header protection and AEAD) into its frames. A payload with no
 * frames, a frame type not allowed at `level`, or a non-minimal frame type encoding is refused.
 * Data fields are views into `payload`: the caller copies what it keeps past this packet.
 */
export function decodeFrames(payload: Uint8Array, level: Level, options: DecodeOptions = {}): Frame[] {
  const r = new Cursor(payload, 0, payload.length, 'QUIC frame');
  if (payload.length === 0) throw protocolError(TransportError.PROTOCOL_VIOLATION, 'Packet without frames');
  const frames: Frame[] = [];
  while (r.pos < r.end) {
    const start = r.pos;
    const type = r.varint();
    // Frame types must use the shortest encoding (RFC 9000 §12.4); all ours fit in one byte.
    if (r.pos - start !== 1)
      throw protocolError(TransportError.FRAME_ENCODING_ERROR, 'Frame type not minimally encoded', type);
    if (level !== 'application' && !allowedBeforeApplication(type)) {
      throw protocolError(
        TransportError.PROTOCOL_VIOLATION,
        `Frame 0x${type.toString(16)} not allowed at ${level} level`,
        type,
      );
    }
    if ((type === 0x30 || type === 0x31) && !options.datagrams) {
      throw protocolError(TransportError.PROTOCOL_VIOLATION, 'DATAGRAM frame not negotiated', type);
    }
    frames.push(decodeFrame(r, type, 20));
  }
  return frames;
}

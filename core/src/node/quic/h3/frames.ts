/**
 * HTTP/3 wire pieces (RFC 9114): variable-length integers as read off a stream, frame and stream
 * types, SETTINGS, error codes, and `StreamReader`, which reads a QUIC stream's bytes as varints,
 * frames or raw chunks without copying more than it must.
 */

import { DreggError } from '../../../errors.ts';

/** Error codes of RFC 9114 §8.1 and RFC 9204 §6 (used in CONNECTION_CLOSE and stream resets). */
export const H3 = {
  NO_ERROR: 0x100,
  GENERAL_PROTOCOL_ERROR: 0x101,
  INTERNAL_ERROR: 0x102,
  STREAM_CREATION_ERROR: 0x103,
  CLOSED_CRITICAL_STREAM: 0x104,
  FRAME_UNEXPECTED: 0x105,
  FRAME_ERROR: 0x106,
  EXCESSIVE_LOAD: 0x107,
  ID_ERROR: 0x108,
  SETTINGS_ERROR: 0x109,
  MISSING_SETTINGS: 0x10a,
  REQUEST_REJECTED: 0x10b,
  REQUEST_CANCELLED: 0x10c,
  REQUEST_INCOMPLETE: 0x10d,
  MESSAGE_ERROR: 0x10e,
  QPACK_DECOMPRESSION_FAILED: 0x200,
} as const;

export const FrameType = {
  DATA: 0x00,
  HEADERS: 0x01,
  CANCEL_PUSH: 0x03,
  SETTINGS: 0x04,
  PUSH_PROMISE: 0x05,
  GOAWAY: 0x07,
  MAX_PUSH_ID: 0x0d,
  /** WebTransport draft-02: the first bytes of a client bidi stream that belongs to a session. */
  WEBTRANSPORT_STREAM: 0x41,
} as const;

export const StreamType = {
  CONTROL: 0x00,
  PUSH: 0x01,
  QPACK_ENCODER: 0x02,
  QPACK_DECODER: 0x03,
  /** WebTransport draft-02 unidirectional stream. */
  WEBTRANSPORT: 0x54,
} as const;

export const Setting = {
  QPACK_MAX_TABLE_CAPACITY: 0x01,
  MAX_FIELD_SECTION_SIZE: 0x06,
  QPACK_BLOCKED_STREAMS: 0x07,
  ENABLE_CONNECT_PROTOCOL: 0x08, // RFC 9220
  H3_DATAGRAM: 0x33, // RFC 9297
  /** draft-ietf-httpbis-h3-datagram-04, which older Chromium builds still look for. */
  H3_DATAGRAM_DRAFT04: 0xffd277,
  /** WebTransport over HTTP/3 draft-02's SETTINGS_ENABLE_WEBTRANSPORT, what Chromium checks. */
  ENABLE_WEBTRANSPORT: 0x2b603742,
} as const;

/** A protocol error carrying the HTTP/3 error code the connection (or stream) is closed with. */
export class H3Error extends DreggError {
  readonly h3Code: number;
  constructor(h3Code: number, message: string) {
    super('E_PROTOCOL', message);
    this.h3Code = h3Code;
  }
}

export function h3Fail(h3Code: number, message: string): never {
  throw new H3Error(h3Code, message);
}

/** The H3 code to close with for any error thrown while reading a peer's bytes. */
export function h3CodeOf(e: unknown): number {
  if (e instanceof H3Error) return e.h3Code;
  if (e instanceof DreggError && e.message.startsWith('QPACK_DECOMPRESSION_FAILED')) {
    return H3.QPACK_DECOMPRESSION_FAILED;
  }
  return H3.GENERAL_PROTOCOL_ERROR;
}

/** Bytes of the varint encoding of `value` (RFC 9000 §16). */
export function varintLength(value: number): number {
  return value < 0x40 ? 1 : value < 0x4000 ? 2 : value < 0x40000000 ? 4 : 8;
}

/** Writes `value` as a varint at `at`; returns the offset after it. */
export function writeVarint(out: Uint8Array, at: number, value: number): number {
  if (value < 0x40) {
    out[at] = value;
    return at + 1;
  }
  if (value < 0x4000) {
    out[at] = 0x40 | (value >> 8);
    out[at + 1] = value & 0xff;
    return at + 2;
  }
  if (value < 0x40000000) {
    out[at] = 0x80 | (value >>> 24);
    out[at + 1] = (value >>> 16) & 0xff;
    out[at + 2] = (value >>> 8) & 0xff;
    out[at + 3] = value & 0xff;
    return at + 4;
  }
  const high = Math.floor(value / 2 ** 32);
  const low = value >>> 0;
  out[at] = 0xc0 | (high >>> 24);
  out[at + 1] = (high >>> 16) & 0xff;
  out[at + 2] = (high >>> 8) & 0xff;
  out[at + 3] = high & 0xff;
  out[at + 4] = low >>> 24;
  out[at + 5] = (low >>> 16) & 0xff;
  out[at + 6] = (low >>> 8) & 0xff;
  out[at + 7] = low & 0xff;
  return at + 8;
}

/** The varint encodings of `values`, concatenated. */
export function varints(...values: number[]): Uint8Array {
  const out = new Uint8Array(values.reduce((n, v) => n + varintLength(v), 0));
  let at = 0;
  for (const v of values) at = writeVarint(out, at, v);
  return out;
}

/**
 * Reads a varint from `bytes` at `at`: `[value, next offset]`, or undefined when truncated. Values
 * above 2^53 lose precision; every field we act on is far below that.
 */
export function readVarint(bytes: Uint8Array, at: number): [number, number] | undefined {
  if (at >= bytes.length) return undefined;
  const first = bytes[at]!;
  const length = 1 << (first >> 6);
  if (at + length > bytes.length) return undefined;
  let value = first & 0x3f;
  for (let i = 1; i < length; i++) value = value * 256 + bytes[at + i]!;
  return [value, at + length];
}

/** A frame header plus payload, ready to write. */
export function frame(type: number, payload: Uint8Array): Uint8Array {
  const head = varints(type, payload.length);
  const out = new Uint8Array(head.length + payload.length);
  out.set(head);
  out.set(payload, head.length);
  return out;
}

export function encodeSettings(settings: ReadonlyArray<readonly [number, number]>): Uint8Array {
  return varints(...settings.flat());
}

/** Parses a SETTINGS payload (RFC 9114 §7.2.4): duplicates and HTTP/2 identifiers are errors. */
export function decodeSettings(payload: Uint8Array): Map<number, number> {
  const settings = new Map<number, number>();
  let at = 0;
  while (at < payload.length) {
    const id = readVarint(payload, at) ?? h3Fail(H3.FRAME_ERROR, 'truncated SETTINGS');
    const value = readVarint(payload, id[1]) ?? h3Fail(H3.FRAME_ERROR, 'truncated SETTINGS');
    at = value[1];
    if (id[0] >= 0x02 && id[0] <= 0x05) h3Fail(H3.SETTINGS_ERROR, `HTTP/2 setting 0x${id[0].toString(16)}`);
    if (settings.has(id[0])) h3Fail(H3.SETTINGS_ERROR, `duplicate setting 0x${id[0].toString(16)}`);
    settings.set(id[0], value[0]);
  }
  return settings;
}

/**
 * Pulls bytes from a QUIC stream's readable on demand: a varint, an exact count, a whole frame, or
 * "whatever comes next" for the unframed body of a WebTransport stream. Chunks are sliced, not
 * copied, except where a varint or frame straddles two of them.
 */
export class StreamReader {
  private readonly source: AsyncIterator<Uint8Array>;
  private buffer: Uint8Array = new Uint8Array(0);
  private ended = false;

  constructor(readable: AsyncIterable<Uint8Array>) {
    this.source = readable[Symbol.asyncIterator]();
  }

  /** Ensures at least `n` buffered bytes; false at the end of the stream. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffer.length < n) {
      if (this.ended) return false;
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
        return false;
      }
      if (this.buffer.length === 0) {
        this.buffer = next.value;
      } else {
        const joined = new Uint8Array(this.buffer.length + next.value.length);
        joined.set(this.buffer);
        joined.set(next.value, this.buffer.length);
        this.buffer = joined;
      }
    }
    return true;
  }

  private take(n: number): Uint8Array {
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** The next varint, or undefined at a clean end of stream; throws on a varint cut by the end. */
  async varint(): Promise<number | undefined> {
    if (!(await this.fill(1))) return undefined;
    const length = 1 << (this.buffer[0]! >> 6);
    if (!(await this.fill(length))) h3Fail(H3.FRAME_ERROR, 'stream ended inside a varint');
    const [value] = readVarint(this.buffer, 0)!;
    this.take(length);
    return value;
  }

  async exactly(n: number): Promise<Uint8Array> {
    if (!(await this.fill(n))) h3Fail(H3.FRAME_ERROR, 'stream ended inside a frame');
    return this.take(n);
  }

  /** Discards `n` bytes without buffering them all. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill(1))) h3Fail(H3.FRAME_ERROR, 'stream ended inside a frame');
      const k = Math.min(left, this.buffer.length);
      this.take(k);
      left -= k;
    }
  }

  /** Frame header only (type, length), for callers that stream or skip the payload. */
  async frameHeader(): Promise<{ type: number; length: number } | undefined> {
    const type = await this.varint();
    if (type === undefined) return undefined;
    const length = (await this.varint()) ?? h3Fail(H3.FRAME_ERROR, 'stream ended inside a frame header');
    return { type, length };
  }

  /** Everything left on the stream, buffered bytes first, as the source delivers it. */
  async *rest(): AsyncIterable<Uint8Array> {
    if (this.buffer.length > 0) yield this.take(this.buffer.length);
    while (!this.ended) {
      const next = await this.source.next();
      if (next.done) {
        this.ended = true;
        return;
      }
      yield next.value;
    }
  }

  /** Stops reading the source (its `return`, so the stream's reader can release it). */
  async cancel(): Promise<void> {
    this.ended = true;
    await this.source.return?.();
  }
}

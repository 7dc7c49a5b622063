/**
 * QUIC frames: every frame type round-trips, decoding is strict about the packet level (RFC 9000
 * §12.4) and whatever bytes arrive, the decoder fails only with E_DECODE / E_PROTOCOL.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import type { Level } from '../../src/node/quic/api.ts';
import {
  type AckRange,
  decodeFrames,
  encodeFrames,
  type Frame,
  frameSize,
  TransportError,
  transportErrorOf,
} from '../../src/node/quic/frames.ts';

const varint = fc.oneof(
  fc.integer({ min: 0, max: 63 }),
  fc.integer({ min: 0, max: 16383 }),
  fc.integer({ min: 0, max: 2 ** 30 - 1 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const small = fc.integer({ min: 0, max: 2 ** 40 });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

/** Disjoint, non-adjacent ranges, highest first. */
const ackRanges: fc.Arbitrary<AckRange[]> = fc
  .array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })), {
    minLength: 1,
    maxLength: 20,
  })
  .map((steps) => {
    const ranges: AckRange[] = [];
    let next = 0;
    for (const [gap, len] of steps) {
      const lo = next + (ranges.length ? gap + 2 : gap);
      ranges.push([lo, lo + len]);
      next = lo + len;
    }
    return ranges.reverse();
  });

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.integer({ min: 1, max: 50 }).map((length) => ({ type: 'padding', length }) as const),
  fc.constant({ type: 'ping' } as const),
  fc.record({ type: fc.constant('ack' as const), delay: varint, ranges: ackRanges }),
  fc.record({
    type: fc.constant('ack' as const),
    delay: varint,
    ranges: ackRanges,
    ecn: fc.record({ ect0: varint, ect1: varint, ce: varint }),
  }),
  fc.record({ type: fc.constant('reset_stream' as const), id: varint, code: varint, finalSize: varint }),
  fc.record({ type: fc.constant('stop_sending' as const), id: varint, code: varint }),
  fc.record({ type: fc.constant('crypto' as const), offset: small, data: bytes(100) }),
  fc.record({
    type: fc.constant('new_token' as const),
    token: fc.uint8Array({ minLength: 1, maxLength: 40 }),
  }),
  fc.record({
    type: fc.constant('stream' as const),
    id: varint,
    offset: small,
    data: bytes(100),
    fin: fc.boolean(),
  }),
  fc.record({ type: fc.constant('max_data' as const), max: varint }),
  fc.record({ type: fc.constant('max_stream_data' as const), id: varint, max: varint }),
  fc.record({
    type: fc.constant('max_streams' as const),
    bidi: fc.boolean(),
    max: fc.integer({ min: 0, max: 2 ** 50 }),
  }),
  fc.record({ type: fc.constant('data_blocked' as const), limit: varint }),
  fc.record({ type: fc.constant('stream_data_blocked' as const), id: varint, limit: varint }),
  fc.record({
    type: fc.constant('streams_blocked' as const),
    bidi: fc.boolean(),
    limit: fc.integer({ min: 0, max: 2 ** 50 }),
  }),
  fc
    .record({
      type: fc.constant('new_connection_id' as const),
      seq: small,
      prior: small,
      cid: fc.uint8Array({ minLength: 1, maxLength: 20 }),
      resetToken: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    })
    .map(({ seq, prior, ...f }) => ({
      ...f,
      seq: Math.max(seq, prior),
      retirePriorTo: Math.min(seq, prior),
    })),
  fc.record({ type: fc.constant('retire_connection_id' as const), seq: varint }),
  fc.record({
    type: fc.constant('path_challenge' as const),
    data: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  }),
  fc.record({
    type: fc.constant('path_response' as const),
    data: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  }),
  fc.record({
    type: fc.constant('connection_close' as const),
    app: fc.constant(true),
    code: varint,
    frameType: fc.constant(0),
    reason: fc.string(),
  }),
  fc.record({
    type: fc.constant('connection_close' as const),
    app: fc.constant(false),
    code: varint,
    frameType: varint,
    reason: fc.string(),
  }),
  fc.constant({ type: 'handshake_done' } as const),
  fc.record({ type: fc.constant('datagram' as const), data: bytes(100) }),
);

/** Frames compare by value; Uint8Array views compare by content. */
function plain(f: Frame): unknown {
  return JSON.parse(JSON.stringify(f, (_k, v) => (v instanceof Uint8Array ? Array.from(v) : v)));
}

function failsTyped(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch (e) {
    return isDreggError(e) && (e.code === 'E_DECODE' || e.code === 'E_PROTOCOL');
  }
}

describe('QUIC frames', () => {
  it('round-trips every frame type, alone and packed together', () => {
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 8 }), (frames) => {
        // Adjacent PADDING frames are one run of zero bytes on the wire.
        const packed = frames.filter((f, i) => !(f.type === 'padding' && frames[i + 1]?.type === 'padding'));
        const wire = encodeFrames(packed);
        expect(wire.length).toBe(packed.reduce((n, f) => n + frameSize(f), 0));
        expect(decodeFrames(wire, 'application', { datagrams: true }).map(plain)).toEqual(packed.map(plain));
      }),
      { numRuns: 300 },
    );
  });

  it('reads the implicit-length forms: STREAM without LEN, DATAGRAM 0x30', () => {
    // STREAM 0x0d: OFF|FIN, no LEN: the data runs to the end of the packet.
    expect(decodeFrames(Uint8Array.of(0x0d, 0x04, 0x05, 1, 2, 3), 'application')).toEqual([
      { type: 'stream', id: 4, offset: 5, data: Uint8Array.of(1, 2, 3), fin: true },
    ]);
    expect(decodeFrames(Uint8Array.of(0x01, 0x30, 9, 8), 'application', { datagrams: true })).toEqual([
      { type: 'ping' },
      { type: 'datagram', data: Uint8Array.of(9, 8) },
    ]);
  });

  it('refuses frames not allowed at the Initial and Handshake levels', () => {
    const at = (level: Level, bytes: number[]) => () => decodeFrames(Uint8Array.from(bytes), level);
    for (const level of ['initial', 'handshake'] as const) {
      expect(at(level, [0x01, 0x00, 0x00])).not.toThrow();
      for (const forbidden of [
        [0x1e],
        [0x10, 0x01],
        [0x08, 0x00],
        [0x1d, 0x00, 0x00],
        [0x1a, 1, 2, 3, 4, 5, 6, 7, 8],
      ]) {
        try {
          at(level, forbidden)();
          expect.unreachable();
        } catch (e) {
          expect(isDreggError(e, 'E_PROTOCOL')).toBe(true);
          expect(transportErrorOf(e)).toBe(TransportError.PROTOCOL_VIOLATION);
        }
      }
    }
    expect(() => decodeFrames(Uint8Array.of(0x31, 0), 'application')).toThrow(/not negotiated/);
    expect(() => decodeFrames(new Uint8Array(0), 'application')).toThrow(/without frames/);
  });

  it('maps malformed frames to FRAME_ENCODING_ERROR', () => {
    for (const bad of [
      [0x40, 0x01], // PING with a two-byte type
      [0x21], // unknown type
      [0x02, 0x05, 0x00, 0x00, 0x06], // first ACK range below zero
      [0x06, 0x00, 0x05, 1, 2], // CRYPTO shorter than its length
      [0x18, 0x01, 0x02, 0x04], // retire_prior_to > sequence number
    ]) {
      try {
        decodeFrames(Uint8Array.from(bad), 'application');
        expect.unreachable();
      } catch (e) {
        expect(transportErrorOf(e)).toBe(TransportError.FRAME_ENCODING_ERROR);
      }
    }
  });

  it('fails only with typed errors on any bytes, truncations included', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom<Level>('initial', 'handshake', 'application'),
        (b, level) => failsTyped(() => decodeFrames(b, level, { datagrams: true })),
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(frame, { minLength: 1, maxLength: 4 }), fc.nat(), (frames, cut) => {
        const wire = encodeFrames(frames);
        return failsTyped(() =>
          decodeFrames(wire.subarray(0, cut % wire.length), 'application', { datagrams: true }),
        );
      }),
    );
  });
});

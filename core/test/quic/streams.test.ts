/**
 * Stream data: any permutation and duplication of overlapping fragments reassembles the original
 * bytes; a sender under arbitrary loss and acknowledgement eventually delivers everything and frees
 * it; final size and flow control violations close with the right transport error; the QuicStream
 * delivers in order, ends at FIN and fails on reset.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TransportError, transportErrorOf } from '../../src/node/quic/frames.ts';
import { RecvBuffer, RecvWindow, SendBuffer, Stream, type StreamHost } from '../../src/node/quic/streams.ts';

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Fragments [start, end) covering 0..length, with extra overlapping ones. */
const fragmented = fc.uint8Array({ minLength: 2, maxLength: 300 }).chain((bytes) =>
  fc
    .tuple(
      fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 10 }),
      fc.array(fc.tuple(fc.nat(bytes.length), fc.nat(bytes.length)), { maxLength: 5 }),
    )
    .chain(([cuts, extra]) => {
      const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
      const pieces = points.slice(1).map((end, i) => [points[i] as number, end] as [number, number]);
      for (const [a, b] of extra) pieces.push([Math.min(a, b), Math.max(a, b)]);
      return fc
        .shuffledSubarray(pieces.concat(pieces), { minLength: pieces.length * 2 })
        .map((order) => ({ bytes, order }));
    }),
);

describe('RecvBuffer', () => {
  it('reassembles any permutation and duplication of overlapping fragments', () => {
    fc.assert(
      fc.property(fragmented, ({ bytes, order }) => {
        const rb = new RecvBuffer();
        const got: Uint8Array[] = [];
        for (const [a, b] of order) {
          rb.insert(a, bytes.subarray(a, b), b === bytes.length);
          got.push(...rb.read());
        }
        expect(concat(got)).toEqual(bytes);
        expect(rb.finished).toBe(true);
        expect(rb.buffered).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  it('enforces the final size', () => {
    const rb = new RecvBuffer();
    rb.insert(0, new Uint8Array(10), true);
    for (const bad of [
      () => rb.insert(5, new Uint8Array(10), false),
      () => rb.insert(0, new Uint8Array(4), true),
    ]) {
      try {
        bad();
        expect.unreachable();
      } catch (e) {
        expect(transportErrorOf(e)).toBe(TransportError.FINAL_SIZE_ERROR);
      }
    }
  });
});

describe('SendBuffer', () => {
  it('delivers everything under arbitrary loss, resending only the unacknowledged', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 100 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 1, maxLength: 50 }),
        fc.integer({ min: 1, max: 64 }),
        (chunks, losses, mtu) => {
          const sb = new SendBuffer();
          for (const c of chunks) sb.write(c);
          sb.end();
          const received = new RecvBuffer();
          const out: Uint8Array[] = [];
          let round = 0;
          while (!sb.done) {
            if (round++ > 10000) return false;
            const f = sb.next(mtu, Number.POSITIVE_INFINITY);
            if (!f) return false;
            const range = { offset: f.offset, length: f.data.length, fin: f.fin };
            if (round < 200 && losses[round % losses.length]) sb.onLost(range);
            else {
              received.insert(f.offset, f.data, f.fin);
              out.push(...received.read());
              sb.onAcked(range);
            }
          }
          expect(concat(out)).toEqual(concat(chunks));
          expect(received.finished).toBe(true);
          return !sb.pending;
        },
      ),
    );
  });

  it('stops new bytes at the flow-control limit but still resends lost ones', () => {
    const sb = new SendBuffer();
    sb.write(new Uint8Array(100));
    expect(sb.next(1000, 40)).toMatchObject({ offset: 0, fin: false });
    expect(sb.sentUpTo).toBe(40);
    expect(sb.next(1000, 40)).toBeUndefined();
    sb.onLost({ offset: 0, length: 40, fin: false });
    expect(sb.next(30, 40)?.data.length).toBe(30);
  });
});

describe('RecvWindow', () => {
  it('raises the limit after half a window is consumed and refuses excess', () => {
    const w = new RecvWindow(100);
    expect(w.consume(49)).toBeUndefined();
    expect(w.consume(1)).toBe(150);
    expect(() => w.check(150)).not.toThrow();
    try {
      w.check(151);
      expect.unreachable();
    } catch (e) {
      expect(transportErrorOf(e)).toBe(TransportError.FLOW_CONTROL_ERROR);
    }
  });
});

describe('Stream', () => {
  const host = (): StreamHost & { woken: number; credit: number } => ({
    woken: 0,
    credit: 0,
    wake() {
      this.woken++;
    },
    consumed(n) {
      this.credit += n;
    },
    settled() {},
  });

  it('delivers in order to the reader, ends at FIN, announces window updates', async () => {
    const h = host();
    const s = new Stream(0, h, { local: false, recvWindow: 8, sendMax: 0 });
    s.onData(4, Uint8Array.of(5, 6, 7, 8), true);
    s.onData(0, Uint8Array.of(1, 2, 3, 4), false);
    const got: number[] = [];
    for await (const chunk of s.readable) got.push(...chunk);
    expect(got).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(h.credit).toBe(8);
    expect(() => s.onData(8, Uint8Array.of(1), false)).toThrow();
  });

  it('fails the reader on RESET_STREAM and answers STOP_SENDING with a reset', async () => {
    const h = host();
    const s = new Stream(4, h, { local: false, recvWindow: 100, sendMax: 100 });
    s.onData(0, Uint8Array.of(1), false);
    s.onReset(7, 10);
    await expect(s.readable[Symbol.asyncIterator]().next()).rejects.toThrow(/reset by the peer \(code 7\)/);
    s.onStopSending(9);
    expect(s.resetCode).toBe(9);
    await expect(s.write(Uint8Array.of(1))).rejects.toThrow(/closed for sending/);
  });

  it('refuses data on a uni stream in the wrong direction', () => {
    const s = new Stream(3, host(), { local: true, recvWindow: 100, sendMax: 100 });
    try {
      s.onData(0, Uint8Array.of(1), false);
      expect.unreachable();
    } catch (e) {
      expect(transportErrorOf(e)).toBe(TransportError.STREAM_STATE_ERROR);
    }
  });
});

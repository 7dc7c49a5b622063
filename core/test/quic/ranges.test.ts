/**
 * Received packet-number ranges: any arrival order gives the same ACK ranges as the set of numbers,
 * duplicates are detected, and `acknowledged` picks exactly the sent packets inside an ACK's ranges.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AckRange } from '../../src/node/quic/frames.ts';
import { acknowledged, MAX_ACK_RANGES, ReceivedRanges } from '../../src/node/quic/ranges.ts';

/** The ranges of a set of numbers, highest first (the reference the class must agree with). */
function rangesOf(set: Set<number>): AckRange[] {
  const sorted = [...set].sort((a, b) => b - a);
  const out: [number, number][] = [];
  for (const pn of sorted) {
    const last = out[out.length - 1];
    if (last && last[0] === pn + 1) last[0] = pn;
    else out.push([pn, pn]);
  }
  return out;
}

describe('ReceivedRanges', () => {
  it('agrees with the set of received numbers in any order, with duplicates', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 80 }), (pns) => {
        const rr = new ReceivedRanges();
        const seen = new Set<number>();
        for (const pn of pns) {
          const fresh = rr.add(pn, 0);
          // Only numbers below every kept range may be refused while full.
          if (fresh !== !seen.has(pn)) return false;
          seen.add(pn);
        }
        const ack = rr.ackFrame(0);
        return ack.type === 'ack' && JSON.stringify(ack.ranges) === JSON.stringify(rangesOf(seen));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps at most MAX_ACK_RANGES, dropping the oldest, and forgets what the peer has seen', () => {
    const rr = new ReceivedRanges();
    for (let pn = 0; pn < 200; pn += 2) rr.add(pn, pn);
    const ack = rr.ackFrame(7);
    expect(ack.type === 'ack' && ack.ranges.length).toBe(MAX_ACK_RANGES);
    expect(ack.type === 'ack' && ack.ranges[0]).toEqual([198, 198]);
    expect(rr.largestAt).toBe(198);
    expect(rr.add(0, 300)).toBe(false);
    rr.forgetBelow(197);
    expect(rr.ackFrame(0)).toEqual({ type: 'ack', delay: 0, ranges: [[198, 198]] });
    expect(rr.has(198) && !rr.has(199) && rr.has(196)).toBe(true);
    expect(rr.add(196, 400)).toBe(false); // forgotten numbers stay duplicates
  });
});

describe('acknowledged', () => {
  it('returns exactly the sent numbers inside the ranges', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 0, max: 100 })),
        fc.uniqueArray(fc.integer({ min: 0, max: 100 }), { minLength: 1 }),
        (sent, acked) => {
          const ranges = rangesOf(new Set(acked));
          const sortedSent = [...sent].sort((a, b) => a - b);
          expect(acknowledged(ranges, sortedSent)).toEqual(sortedSent.filter((pn) => acked.includes(pn)));
        },
      ),
    );
  });

  it('costs nothing for huge claimed ranges', () => {
    expect(acknowledged([[0, 2 ** 50]], [3, 5])).toEqual([3, 5]);
  });
});

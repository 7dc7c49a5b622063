/**
 * Packet-number ranges (RFC 9000 §13.2): what we received, as ACK frames; and, on the sending side,
 * which of our sent packets an ACK frame acknowledges.
 */
import type { AckRange, Frame } from './frames.ts';

/** Ranges an ACK frame carries at most: older gaps are forgotten (RFC 9000 §13.2.3 allows it). */
export const MAX_ACK_RANGES = 32;

/** The packet numbers received in one packet number space. */
export class ReceivedRanges {
  /** Inclusive [smallest, largest], highest first, disjoint and not adjacent. */
  private ranges: [number, number][] = [];
  /** When the largest packet number arrived (its ack delay is measured from there). */
  largestAt = 0;
  /** Packet numbers below this were forgotten: they count as duplicates. */
  private floor = 0;

  get largest(): number {
    return this.ranges[0]?.[1] ?? -1;
  }

  get empty(): boolean {
    return this.ranges.length === 0;
  }

  has(pn: number): boolean {
    if (pn < this.floor) return true;
    for (const [lo, hi] of this.ranges) {
      if (pn > hi) return false;
      if (pn >= lo) return true;
    }
    return false;
  }

  /** Records `pn`; false when it was seen before (a duplicate to drop) or is older than we remember. */
  add(pn: number, now: number): boolean {
    const rs = this.ranges;
    if (pn < this.floor) return false;
    if (pn > this.largest) this.largestAt = now;
    let i = 0;
    while (i < rs.length && (rs[i] as [number, number])[0] > pn + 1) i++;
    const at = rs[i];
    if (at === undefined) {
      // Below every range we keep: accept only while we have room to remember it.
      if (rs.length >= MAX_ACK_RANGES && pn < (rs[rs.length - 1] as [number, number])[0]) return false;
      rs.push([pn, pn]);
      return true;
    }
    if (pn >= at[0] && pn <= at[1]) return false;
    if (pn === at[0] - 1) {
      // Extends `at` down, possibly closing the gap to the range below.
      at[0] = pn;
      const below = rs[i + 1];
      if (below && below[1] === pn - 1) {
        at[0] = below[0];
        rs.splice(i + 1, 1);
      }
      return true;
    }
    if (pn === at[1] + 1) {
      // The range above starts beyond pn + 1 (the search skipped it), so nothing merges.
      at[1] = pn;
      return true;
    }
    // pn lies above `at` with a gap (at[1] + 1 < pn) and below rs[i-1] with a gap.
    rs.splice(i, 0, [pn, pn]);
    if (rs.length > MAX_ACK_RANGES) rs.pop();
    return true;
  }

  /** Forgets everything below `pn` (the peer has seen an ACK covering it, RFC 9000 §13.2.4). */
  forgetBelow(pn: number): void {
    const rs = this.ranges;
    if (pn > this.floor) this.floor = pn;
    while (rs.length > 0 && (rs[rs.length - 1] as [number, number])[1] < pn) rs.pop();
    const last = rs[rs.length - 1];
    if (last && last[0] < pn) last[0] = pn;
  }

  /** The ACK frame for what we hold; `delay` is already scaled by our ack_delay_exponent. */
  ackFrame(delay: number): Frame {
    return { type: 'ack', delay, ranges: this.ranges.map(([lo, hi]) => [lo, hi] as AckRange) };
  }
}

/**
 * Which of `sent` (ascending packet numbers) lie in `ranges` (an ACK frame's, highest first).
 * Walks both lists once: cost bounded by what we sent, whatever ranges the peer claims.
 */
export function acknowledged(ranges: readonly AckRange[], sent: Iterable<number>): number[] {
  const out: number[] = [];
  let r = ranges.length - 1;
  for (const pn of sent) {
    while (r >= 0 && (ranges[r] as AckRange)[1] < pn) r--;
    if (r < 0) break;
    if (pn >= (ranges[r] as AckRange)[0]) out.push(pn);
  }
  return out;
}

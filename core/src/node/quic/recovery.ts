/**
 * Loss detection and RTT estimation (RFC 9002 §5, §6, Appendix A) for a server: three packet number
 * spaces, packet- and time-threshold loss, a probe timeout with exponential backoff, persistent
 * congestion, and the server's anti-amplification rule for the PTO (§6.2.2.1). The connection owns
 * the clock and the single timer; this module says when it should fire and what to do then.
 */
import { NewReno } from './congestion.ts';
import type { AckRange } from './frames.ts';
import { protocolError, TransportError } from './frames.ts';
import { acknowledged } from './ranges.ts';

export type Space = 0 | 1 | 2;
export const INITIAL_SPACE: Space = 0;
export const HANDSHAKE_SPACE: Space = 1;
export const APPLICATION_SPACE: Space = 2;

const PACKET_THRESHOLD = 3;
const TIME_THRESHOLD = 9 / 8;
const GRANULARITY = 1;
const INITIAL_RTT = 333;
const PERSISTENT_CONGESTION_THRESHOLD = 3;

export interface SentPacket<T> {
  readonly pn: number;
  readonly time: number;
  readonly size: number;
  readonly ackEliciting: boolean;
  readonly inFlight: boolean;
  /** What the packet carried, for the connection to retransmit or mark delivered. */
  readonly data: T;
}

/** RTT estimation, RFC 9002 §5. */
export class Rtt {
  latest = 0;
  min = Number.POSITIVE_INFINITY;
  smoothed = INITIAL_RTT;
  variance = INITIAL_RTT / 2;
  hasSample = false;

  /** `ackDelay` already capped by the caller at max_ack_delay once the handshake is confirmed. */
  update(sample: number, ackDelay: number): void {
    this.latest = sample;
    if (!this.hasSample) {
      this.hasSample = true;
      this.min = sample;
      this.smoothed = sample;
      this.variance = sample / 2;
      return;
    }
    this.min = Math.min(this.min, sample);
    // Subtract the peer's ack delay only if that doesn't take the sample below min_rtt (§5.3).
    const adjusted = sample >= this.min + ackDelay ? sample - ackDelay : sample;
    this.variance = 0.75 * this.variance + 0.25 * Math.abs(this.smoothed - adjusted);
    this.smoothed = 0.875 * this.smoothed + 0.125 * adjusted;
  }

  /** The PTO period before backoff and max_ack_delay (§6.2.1). */
  get pto(): number {
    return this.smoothed + Math.max(4 * this.variance, GRANULARITY);
  }
}

interface SpaceState<T> {
  /** Ascending packet number (Map keeps insertion order). */
  readonly sent: Map<number, SentPacket<T>>;
  largestAcked: number;
  lossTime: number;
  lastAckElicitingTime: number;
  ackElicitingInFlight: number;
  discarded: boolean;
}

export interface AckResult<T> {
  readonly acked: SentPacket<T>[];
  readonly lost: SentPacket<T>[];
}

export class Recovery<T> {
  readonly rtt = new Rtt();
  readonly cc = new NewReno();
  ptoCount = 0;
  /** Our max_ack_delay is the peer's concern; this is the peer's, in ms (transport parameter). */
  peerMaxAckDelay = 25;
  private readonly spaces: SpaceState<T>[] = [0, 1, 2].map(() => ({
    sent: new Map(),
    largestAcked: -1,
    lossTime: 0,
    lastAckElicitingTime: 0,
    ackElicitingInFlight: 0,
    discarded: false,
  }));
  private largestSent = [-1, -1, -1];

  onSent(space: Space, p: SentPacket<T>): void {
    const s = this.spaces[space] as SpaceState<T>;
    this.largestSent[space] = p.pn;
    if (!p.inFlight) return;
    s.sent.set(p.pn, p);
    if (p.ackEliciting) {
      s.lastAckElicitingTime = p.time;
      s.ackElicitingInFlight++;
    }
    this.cc.onSent(p.size);
  }

  /**
   * Processes an ACK frame's ranges for `space` (RFC 9002 §A.7). `ackDelay` in ms, already decoded
   * with the peer's ack_delay_exponent. Acknowledging a packet we never sent is PROTOCOL_VIOLATION.
   */
  onAck(
    space: Space,
    ranges: readonly AckRange[],
    ackDelay: number,
    now: number,
    handshakeConfirmed: boolean,
    appLimited: boolean,
  ): AckResult<T> {
    const s = this.spaces[space] as SpaceState<T>;
    const largest = (ranges[0] as AckRange)[1];
    if (largest > (this.largestSent[space] as number)) {
      throw protocolError(TransportError.PROTOCOL_VIOLATION, 'ACK for a packet never sent', 0x02);
    }
    const ackedPns = acknowledged(ranges, s.sent.keys());
    if (ackedPns.length === 0) return { acked: [], lost: [] };
    if (largest > s.largestAcked) s.largestAcked = largest;
    const acked = ackedPns.map((pn) => s.sent.get(pn) as SentPacket<T>);
    for (const p of acked) s.sent.delete(p.pn);

    const newest = acked[acked.length - 1] as SentPacket<T>;
    if (newest.pn === largest && acked.some((p) => p.ackEliciting)) {
      const delay =
        space === APPLICATION_SPACE && handshakeConfirmed ? Math.min(ackDelay, this.peerMaxAckDelay) : 0;
      this.rtt.update(now - newest.time, space === APPLICATION_SPACE ? delay : 0);
    }
    for (const p of acked) {
      if (p.ackEliciting) s.ackElicitingInFlight--;
      this.cc.onAcked(p, appLimited);
    }
    const lost = this.detectLost(space, now);
    this.congestionFromLoss(lost, acked, now);
    // The PTO backoff resets on any ack, except that a client may not be sure the server validated
    // its address; as the server we always reset (§6.2.1).
    this.ptoCount = 0;
    return { acked, lost };
  }

  /** Packets of `space` declared lost now (§6.1), removed from tracking. */
  detectLost(space: Space, now: number): SentPacket<T>[] {
    const s = this.spaces[space] as SpaceState<T>;
    s.lossTime = 0;
    const lost: SentPacket<T>[] = [];
    const lossDelay = Math.max(TIME_THRESHOLD * Math.max(this.rtt.latest, this.rtt.smoothed), GRANULARITY);
    const lostSendTime = now - lossDelay;
    for (const p of s.sent.values()) {
      if (p.pn > s.largestAcked) break;
      if (p.time <= lostSendTime || s.largestAcked >= p.pn + PACKET_THRESHOLD) {
        lost.push(p);
      } else {
        const at = p.time + lossDelay;
        if (s.lossTime === 0 || at < s.lossTime) s.lossTime = at;
      }
    }
    for (const p of lost) {
      s.sent.delete(p.pn);
      if (p.ackEliciting) s.ackElicitingInFlight--;
    }
    return lost;
  }

  private congestionFromLoss(lost: SentPacket<T>[], acked: SentPacket<T>[], now: number): void {
    if (lost.length === 0) return;
    this.cc.onLost(lost, now, this.persistentCongestion(lost, acked));
  }

  /**
   * Persistent congestion (§7.6): two ack-eliciting lost packets further apart than 3 PTO periods,
   * sent after the first RTT sample, with nothing acknowledged sent between them.
   */
  private persistentCongestion(lost: SentPacket<T>[], acked: SentPacket<T>[]): boolean {
    if (!this.rtt.hasSample) return false;
    const eliciting = lost.filter((p) => p.ackEliciting);
    const first = eliciting[0];
    const last = eliciting[eliciting.length - 1];
    if (!first || !last || first === last) return false;
    const period = (this.rtt.pto + this.peerMaxAckDelay) * PERSISTENT_CONGESTION_THRESHOLD;
    if (last.time - first.time <= period) return false;
    return !acked.some((p) => p.time > first.time && p.time < last.time);
  }

  /**
   * When the timer should fire next and why (§6.2.2, §A.8): the earliest loss time, else the PTO
   * of the space with the oldest ack-eliciting packet in flight. Application-space PTO waits for
   * handshake confirmation; a server blocked by the amplification limit arms no PTO (§6.2.2.1).
   */
  timer(
    handshakeConfirmed: boolean,
    amplificationBlocked: boolean,
  ): { at: number; space: Space; loss: boolean } | undefined {
    let best: { at: number; space: Space; loss: boolean } | undefined;
    for (const space of [0, 1, 2] as Space[]) {
      const s = this.spaces[space] as SpaceState<T>;
      if (s.lossTime !== 0 && (!best || s.lossTime < best.at)) best = { at: s.lossTime, space, loss: true };
    }
    if (best) return best;
    if (amplificationBlocked) return undefined;
    for (const space of [0, 1, 2] as Space[]) {
      const s = this.spaces[space] as SpaceState<T>;
      if (s.discarded || s.ackElicitingInFlight === 0) continue;
      if (space === APPLICATION_SPACE && !handshakeConfirmed) continue;
      const period =
        (this.rtt.pto + (space === APPLICATION_SPACE ? this.peerMaxAckDelay : 0)) * 2 ** this.ptoCount;
      const at = s.lastAckElicitingTime + period;
      if (!best || at < best.at) best = { at, space, loss: false };
    }
    return best;
  }

  /**
   * The timer fired: either declares packets lost (returned) or, for a PTO, bumps the backoff and
   * returns the space whose probes the connection must send (one or two ack-eliciting packets).
   */
  onTimeout(
    now: number,
    handshakeConfirmed: boolean,
    amplificationBlocked: boolean,
  ): { lost: SentPacket<T>[]; space: Space; probe?: Space } {
    const t = this.timer(handshakeConfirmed, amplificationBlocked);
    if (!t || t.at > now) return { lost: [], space: INITIAL_SPACE };
    if (t.loss) {
      const lost = this.detectLost(t.space, now);
      this.congestionFromLoss(lost, [], now);
      return { lost, space: t.space };
    }
    this.ptoCount++;
    return { lost: [], space: t.space, probe: t.space };
  }

  /** Packets still awaiting an ack in `space`, oldest first (what a PTO probe may resend). */
  inFlight(space: Space): IterableIterator<SentPacket<T>> {
    return (this.spaces[space] as SpaceState<T>).sent.values();
  }

  /** Keys for `space` are gone (§6.4): its packets leave flight without being lost. */
  discard(space: Space): void {
    const s = this.spaces[space] as SpaceState<T>;
    for (const p of s.sent.values()) this.cc.onDiscarded(p.size);
    s.sent.clear();
    s.ackElicitingInFlight = 0;
    s.lossTime = 0;
    s.discarded = true;
    this.ptoCount = 0;
  }
}

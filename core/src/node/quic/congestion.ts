/**
 * NewReno congestion control (RFC 9002 §7, Appendix B) and a token-bucket pacer (§7.7). Times are
 * milliseconds from the caller's clock, so tests drive them with a synthetic one.
 */

/** The datagram size we send at most (PMTU fixed at 1200 unless the connection raises it). */
export const MAX_DATAGRAM_SIZE = 1200;
/** RFC 9002 §7.2: min(10 * size, max(2 * size, 14720)). */
export const INITIAL_WINDOW = Math.min(10 * MAX_DATAGRAM_SIZE, Math.max(2 * MAX_DATAGRAM_SIZE, 14720));
export const MINIMUM_WINDOW = 2 * MAX_DATAGRAM_SIZE;
const LOSS_REDUCTION = 0.5;

export interface CongestedPacket {
  readonly time: number;
  readonly size: number;
}

export class NewReno {
  window = INITIAL_WINDOW;
  ssthresh = Number.POSITIVE_INFINITY;
  bytesInFlight = 0;
  /** Packets sent before this time belong to the current recovery period (one reduction per RTT). */
  private recoveryStart = Number.NEGATIVE_INFINITY;

  get inSlowStart(): boolean {
    return this.window < this.ssthresh;
  }

  /** Bytes we may put in flight now. */
  get available(): number {
    return Math.max(0, this.window - this.bytesInFlight);
  }

  onSent(size: number): void {
    this.bytesInFlight += size;
  }

  /** An in-flight packet was acknowledged; `appLimited` when we did not fill the window. */
  onAcked(p: CongestedPacket, appLimited: boolean): void {
    this.bytesInFlight = Math.max(0, this.bytesInFlight - p.size);
    // No growth while recovering from a loss, nor when the window was not the limit (§7.8).
    if (p.time <= this.recoveryStart || appLimited) return;
    if (this.inSlowStart) this.window += p.size;
    else this.window += (MAX_DATAGRAM_SIZE * p.size) / this.window;
  }

  /** In-flight packets were declared lost; `persistent` when the loss spans the persistent congestion period. */
  onLost(lost: readonly CongestedPacket[], now: number, persistent: boolean): void {
    let latest = Number.NEGATIVE_INFINITY;
    for (const p of lost) {
      this.bytesInFlight = Math.max(0, this.bytesInFlight - p.size);
      if (p.time > latest) latest = p.time;
    }
    if (lost.length > 0) this.congestionEvent(latest, now);
    if (persistent) {
      this.window = MINIMUM_WINDOW;
      this.recoveryStart = Number.NEGATIVE_INFINITY;
    }
  }

  /** Packets that leave flight without an ack or loss (their keys were discarded, §6.4). */
  onDiscarded(size: number): void {
    this.bytesInFlight = Math.max(0, this.bytesInFlight - size);
  }

  private congestionEvent(sentTime: number, now: number): void {
    if (sentTime <= this.recoveryStart) return;
    this.recoveryStart = now;
    this.ssthresh = this.window * LOSS_REDUCTION;
    this.window = Math.max(this.ssthresh, MINIMUM_WINDOW);
  }
}

/**
 * Spreads a window's worth of packets over a round trip instead of bursting them (RFC 9002 §7.7):
 * rate = 1.25 * window / smoothed RTT, with a burst allowance of the initial window.
 */
export class Pacer {
  private tokens = INITIAL_WINDOW;
  private last = 0;

  /** Milliseconds to wait before `size` bytes may leave (0 = now). */
  delay(now: number, size: number, window: number, smoothedRtt: number): number {
    const rate = (1.25 * window) / Math.max(smoothedRtt, 0.001); // bytes per ms
    const burst = Math.max(INITIAL_WINDOW, 2 * MAX_DATAGRAM_SIZE);
    this.tokens = Math.min(burst, this.tokens + (now - this.last) * rate);
    this.last = now;
    return this.tokens >= size ? 0 : (size - this.tokens) / rate;
  }

  onSent(size: number): void {
    this.tokens -= size;
  }
}

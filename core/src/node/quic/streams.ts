/**
 * QUIC stream data (RFC 9000 §2-4): a receive buffer that reassembles out-of-order and overlapping
 * fragments (streams and CRYPTO at each level), a send buffer that resends lost ranges, receive
 * windows that grow at half-window, and the `QuicStream` the application sees.
 *
 * Payloads are kept as the views the caller passed or the packet decrypted into: no per-byte loops,
 * and a copy only where a fragment must be split out of a larger received packet.
 */
import { DreggError } from '../../errors.ts';
import type { QuicStream } from './api.ts';
import { protocolError, TransportError } from './frames.ts';

/** Reassembles a byte stream from fragments at arbitrary offsets, in any order, with overlaps. */
export class RecvBuffer {
  /** Bytes before this offset were handed out by `read`. */
  readOffset = 0;
  /** One past the highest byte offset received. */
  highest = 0;
  finalSize: number | undefined;
  /** Pending fragments beyond readOffset: sorted by offset, disjoint. */
  private pending: { offset: number; data: Uint8Array }[] = [];

  /**
   * Adds a fragment. `fin` fixes the final size; data beyond it, or a different final size, is
   * FINAL_SIZE_ERROR (RFC 9000 §4.5). Returns false when it brought nothing new.
   */
  insert(offset: number, data: Uint8Array, fin: boolean): boolean {
    const end = offset + data.length;
    if (fin) {
      if ((this.finalSize !== undefined && this.finalSize !== end) || end < this.highest) {
        throw protocolError(TransportError.FINAL_SIZE_ERROR, 'Final size changed');
      }
      this.finalSize = end;
    } else if (this.finalSize !== undefined && end > this.finalSize) {
      throw protocolError(TransportError.FINAL_SIZE_ERROR, 'Data beyond the final size');
    }
    if (end > this.highest) this.highest = end;
    // Cut away what was read already, then insert the parts not held yet.
    let start = Math.max(offset, this.readOffset);
    if (start >= end) return false;
    const p = this.pending;
    let i = 0;
    while (
      i < p.length &&
      (p[i] as { offset: number; data: Uint8Array }).offset + (p[i] as { data: Uint8Array }).data.length <=
        start
    )
      i++;
    let added = false;
    while (start < end) {
      const next = p[i];
      if (next && next.offset <= start) {
        // Covered by an existing fragment up to its end.
        start = Math.max(start, next.offset + next.data.length);
        i++;
        continue;
      }
      const stop = next ? Math.min(end, next.offset) : end;
      p.splice(i, 0, { offset: start, data: data.subarray(start - offset, stop - offset) });
      i++;
      added = true;
      start = stop;
    }
    return added;
  }

  /** Contiguous bytes at readOffset, in order (views of the received fragments). */
  read(): Uint8Array[] {
    const out: Uint8Array[] = [];
    const p = this.pending;
    let n = 0;
    while (n < p.length && (p[n] as { offset: number }).offset === this.readOffset) {
      const f = p[n] as { offset: number; data: Uint8Array };
      out.push(f.data);
      this.readOffset += f.data.length;
      n++;
    }
    if (n > 0) p.splice(0, n);
    return out;
  }

  /** Everything up to the final size has been read. */
  get finished(): boolean {
    return this.finalSize !== undefined && this.readOffset === this.finalSize;
  }

  /** Bytes held beyond readOffset (bounded by flow control, or by the CRYPTO limit). */
  get buffered(): number {
    return this.pending.reduce((n, f) => n + f.data.length, 0);
  }
}

/** A byte range [start, end) of a stream, and whether it carries the FIN. */
export interface StreamRange {
  readonly offset: number;
  readonly length: number;
  readonly fin: boolean;
}

/** Sent-but-unacknowledged data of one stream (or one CRYPTO level): resends what was lost. */
export class SendBuffer {
  /** Total bytes written. */
  written = 0;
  /** Next never-sent offset. */
  sentUpTo = 0;
  finWritten = false;
  finSent = false;
  finAcked = false;
  /** Chunks from `base` on, in order; dropped from the front as their bytes are acknowledged. */
  private chunks: Uint8Array[] = [];
  private base = 0;
  /** Acknowledged ranges [start, end) beyond the contiguous prefix `base`, sorted, merged. */
  private acked: [number, number][] = [];
  /** Lost ranges [start, end) to resend first, sorted. */
  private lost: [number, number][] = [];
  private finLost = false;

  write(data: Uint8Array): void {
    if (this.finWritten) throw new DreggError('E_ARGUMENT', 'Write after end');
    if (data.length === 0) return;
    this.chunks.push(data);
    this.written += data.length;
  }

  end(): void {
    this.finWritten = true;
  }

  /** Something to send: a lost range, new bytes, or a lone FIN. */
  get pending(): boolean {
    return (
      this.lost.length > 0 ||
      this.finLost ||
      this.sentUpTo < this.written ||
      (this.finWritten && !this.finSent)
    );
  }

  /** Whether there is never-sent data (new bytes count against flow control, resends don't). */
  get newBytes(): number {
    return this.written - this.sentUpTo;
  }

  /**
   * The next range to send: at most `max` bytes, new bytes only below `limit` (the peer's flow
   * control offset). Returns the bytes as a view when they lie in one chunk (most of the time).
   */
  next(max: number, limit: number): { offset: number; data: Uint8Array; fin: boolean } | undefined {
    let lost = this.lost[0];
    while (lost && lost[1] <= this.base) {
      this.lost.shift();
      lost = this.lost[0];
    }
    if (lost) {
      const start = Math.max(lost[0], this.base);
      const data = this.bytes(start, Math.min(lost[1], start + max));
      const end = start + data.length;
      if (end === lost[1]) this.lost.shift();
      else lost[0] = end;
      const fin = this.finLost && end === this.written && this.lost.length === 0;
      if (fin) this.finLost = false;
      return { offset: start, data, fin };
    }
    if (this.finLost && this.sentUpTo === this.written) {
      this.finLost = false;
      return { offset: this.written, data: new Uint8Array(0), fin: true };
    }
    const end = Math.min(this.written, this.sentUpTo + max, Math.max(limit, this.sentUpTo));
    if (end === this.sentUpTo && !(this.finWritten && !this.finSent && end === this.written))
      return undefined;
    const offset = this.sentUpTo;
    const data = this.bytes(offset, end);
    this.sentUpTo = offset + data.length;
    const fin = this.finWritten && this.sentUpTo === this.written;
    if (fin) this.finSent = true;
    return { offset, data, fin };
  }

  /** Bytes [start, end) from the kept chunks: a view within one chunk, else up to its end. */
  private bytes(start: number, end: number): Uint8Array {
    let at = this.base;
    for (const c of this.chunks) {
      if (start < at + c.length) return c.subarray(start - at, Math.min(c.length, end - at));
      at += c.length;
    }
    return new Uint8Array(0);
  }

  onAcked(r: StreamRange): void {
    if (r.fin) this.finAcked = true;
    if (r.length === 0) return;
    mergeRange(this.acked, r.offset, r.offset + r.length);
    // Drop chunks wholly below the acknowledged prefix.
    const first = this.acked[0];
    if (first && first[0] <= this.base) {
      const prefix = first[1];
      this.acked.shift();
      while (this.chunks.length > 0 && this.base + (this.chunks[0] as Uint8Array).length <= prefix) {
        this.base += (this.chunks.shift() as Uint8Array).length;
      }
      if (this.base < prefix) {
        // Keep the rest of a partly acknowledged chunk as a view; remember its start as acked.
        const c = this.chunks[0] as Uint8Array;
        this.chunks[0] = c.subarray(prefix - this.base);
        this.base = prefix;
      }
    }
  }

  onLost(r: StreamRange): void {
    if (r.fin && !this.finAcked) this.finLost = true;
    // Resend only what is still unacknowledged.
    let start = Math.max(r.offset, this.base);
    const end = r.offset + r.length;
    for (const [a, b] of this.acked) {
      if (b <= start) continue;
      if (a >= end) break;
      if (a > start) mergeRange(this.lost, start, a);
      start = Math.max(start, b);
    }
    if (start < end) mergeRange(this.lost, start, end);
  }

  /** Everything including the FIN was acknowledged. */
  get done(): boolean {
    return this.finAcked && this.base === this.written;
  }
}

/** Inserts [start, end) into sorted disjoint ranges, merging overlaps and adjacency. */
function mergeRange(ranges: [number, number][], start: number, end: number): void {
  let i = 0;
  while (i < ranges.length && (ranges[i] as [number, number])[1] < start) i++;
  let s = start;
  let e = end;
  let j = i;
  while (j < ranges.length && (ranges[j] as [number, number])[0] <= e) {
    s = Math.min(s, (ranges[j] as [number, number])[0]);
    e = Math.max(e, (ranges[j] as [number, number])[1]);
    j++;
  }
  ranges.splice(i, j - i, [s, e]);
}

/**
 * Our receive window for a stream or the connection: the peer may send up to `max`; when the
 * application has consumed half a window we raise it (RFC 9000 §4.2).
 */
export class RecvWindow {
  max: number;
  consumed = 0;
  constructor(readonly window: number) {
    this.max = window;
  }

  /** Records received bytes up to `highest`; beyond `max` is FLOW_CONTROL_ERROR. */
  check(highest: number): void {
    if (highest > this.max)
      throw protocolError(TransportError.FLOW_CONTROL_ERROR, 'Peer exceeded flow control');
  }

  /** The application consumed `n` bytes: the new limit to announce, if it is time to. */
  consume(n: number): number | undefined {
    this.consumed += n;
    if (this.max - this.consumed > this.window / 2) return undefined;
    this.max = this.consumed + this.window;
    return this.max;
  }
}

/** What a stream needs from its connection. */
export interface StreamHost {
  /** The stream has frames to send (data, FIN, RESET_STREAM, STOP_SENDING, MAX_STREAM_DATA). */
  wake(stream: Stream): void;
  /** The application consumed `n` bytes (connection-level flow credit). */
  consumed(n: number): void;
  /** The reader reached the end: the stream may be finished on both sides now. */
  settled(stream: Stream): void;
}

/** Bytes queued beyond what was sent before `write` makes the writer wait. */
const HIGH_WATER = 1 << 20;

/** One stream, as the application (QuicStream) and the connection see it. */
export class Stream implements QuicStream {
  readonly bidirectional: boolean;
  readonly send: SendBuffer | undefined;
  readonly recv: RecvBuffer | undefined;
  readonly recvWindow: RecvWindow | undefined;
  /** The peer's limit on our sending (MAX_STREAM_DATA). */
  sendMax: number;
  /** Control frames to send: RESET_STREAM / STOP_SENDING codes, and a new MAX_STREAM_DATA. */
  resetCode: number | undefined;
  resetSent = false;
  stopCode: number | undefined;
  stopSent = false;
  maxDataToSend: number | undefined;
  /** The sending side ended by the peer's STOP_SENDING or our reset. */
  private sendClosed = false;
  private recvError: Error | undefined;
  private readQueue: Uint8Array[] = [];
  private readWaiter: (() => void) | undefined;
  private wakeScheduled = false;
  private writeWaiters: (() => void)[] = [];

  constructor(
    readonly id: number,
    private readonly host: StreamHost,
    opts: { local: boolean; recvWindow: number; sendMax: number },
  ) {
    this.bidirectional = (id & 2) === 0;
    const canSend = this.bidirectional || opts.local;
    const canRecv = this.bidirectional || !opts.local;
    this.send = canSend ? new SendBuffer() : undefined;
    this.recv = canRecv ? new RecvBuffer() : undefined;
    this.recvWindow = canRecv ? new RecvWindow(opts.recvWindow) : undefined;
    this.sendMax = opts.sendMax;
  }

  readonly readable: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        for (;;) {
          // Everything queued in one piece: a burst of packets costs the reader one step, not one each.
          const chunk =
            this.readQueue.length > 1 ? Buffer.concat(this.readQueue.splice(0)) : this.readQueue.shift();
          if (chunk) {
            this.consumedByApp(chunk.length);
            return { value: chunk, done: false };
          }
          if (this.recvError) throw this.recvError;
          if (!this.recv || this.recv.finished) {
            this.host.settled(this);
            return { value: undefined, done: true };
          }
          await new Promise<void>((resolve) => {
            this.readWaiter = resolve;
          });
        }
      },
      return: async (): Promise<IteratorResult<Uint8Array>> => {
        // The reader gave up: tell the peer to stop (unless everything arrived).
        if (this.recv && !this.recv.finished && !this.recvError) this.stopReceiving(0);
        return { value: undefined, done: true };
      },
    }),
  };

  private consumedByApp(n: number): void {
    const max = this.recvWindow?.consume(n);
    if (max !== undefined && this.recv?.finalSize === undefined) {
      this.maxDataToSend = max;
      this.host.wake(this);
    }
    this.host.consumed(n);
  }

  /** A STREAM frame arrived (already checked against connection flow control by the caller). */
  onData(offset: number, data: Uint8Array, fin: boolean): void {
    if (!this.recv || !this.recvWindow)
      throw protocolError(TransportError.STREAM_STATE_ERROR, 'STREAM on a send-only stream', 0x08);
    if (this.recvError) return;
    this.recvWindow.check(offset + data.length);
    if (!this.recv.insert(offset, data, fin) && !fin) return;
    // Views of the decrypted payload, which is ours alone (packet protection returns a fresh buffer).
    for (const chunk of this.recv.read()) this.readQueue.push(chunk);
    this.wakeReaderSoon();
  }

  onReset(code: number, finalSize: number): void {
    if (!this.recv || !this.recvWindow)
      throw protocolError(TransportError.STREAM_STATE_ERROR, 'RESET_STREAM on a send-only stream', 0x04);
    this.recvWindow.check(finalSize);
    this.recv.insert(finalSize, new Uint8Array(0), true);
    if (!this.recvError) {
      this.recvError = new DreggError('E_UNREACHABLE', `Stream ${this.id} reset by the peer (code ${code})`);
      this.readQueue = [];
      this.wakeReader();
    }
  }

  onStopSending(code: number): void {
    if (!this.send)
      throw protocolError(TransportError.STREAM_STATE_ERROR, 'STOP_SENDING on a receive-only stream', 0x05);
    // RFC 9000 §3.5: answer with RESET_STREAM.
    this.resetSending(code);
  }

  onMaxStreamData(max: number): void {
    if (max > this.sendMax) {
      this.sendMax = max;
      if (this.send?.pending) this.host.wake(this);
    }
  }

  /**
   * Wakes the reader after the current socket read batch (setImmediate runs once the poll phase has
   * handed us every datagram it read), so that it takes the batch's data in one step.
   */
  private wakeReaderSoon(): void {
    if (!this.readWaiter || this.wakeScheduled) return;
    this.wakeScheduled = true;
    setImmediate(() => {
      this.wakeScheduled = false;
      this.wakeReader();
    });
  }

  private wakeReader(): void {
    const w = this.readWaiter;
    this.readWaiter = undefined;
    w?.();
  }

  /** The connection sent some of our bytes: writers waiting for room may continue. */
  onSendProgress(): void {
    if (!this.send || this.send.newBytes > HIGH_WATER) return;
    const waiters = this.writeWaiters;
    this.writeWaiters = [];
    for (const w of waiters) w();
  }

  async write(data: Uint8Array): Promise<void> {
    if (!this.send) throw new DreggError('E_ARGUMENT', 'Write on a receive-only stream');
    if (this.sendClosed) throw new DreggError('E_UNREACHABLE', `Stream ${this.id} closed for sending`);
    this.send.write(data);
    this.host.wake(this);
    while (this.send.newBytes > HIGH_WATER && !this.sendClosed) {
      await new Promise<void>((resolve) => this.writeWaiters.push(resolve));
    }
    if (this.sendClosed && this.resetCode !== undefined) {
      throw new DreggError('E_UNREACHABLE', `Stream ${this.id} reset (code ${this.resetCode})`);
    }
  }

  end(): void {
    if (!this.send || this.sendClosed || this.send.finWritten) return;
    this.send.end();
    this.host.wake(this);
  }

  abort(code: number): void {
    if (this.send) this.resetSending(code);
    if (this.recv && !this.recv.finished && !this.recvError) this.stopReceiving(code);
  }

  private resetSending(code: number): void {
    if (!this.send || this.sendClosed || this.send.done) return;
    this.sendClosed = true;
    this.resetCode = code;
    this.host.wake(this);
    this.onSendProgress();
    const waiters = this.writeWaiters;
    this.writeWaiters = [];
    for (const w of waiters) w();
  }

  private stopReceiving(code: number): void {
    this.stopCode = code;
    this.recvError = new DreggError('E_UNREACHABLE', `Stream ${this.id} aborted`);
    this.readQueue = [];
    this.wakeReader();
    this.host.wake(this);
  }

  /** Fails both directions: the connection closed. */
  fail(error: Error): void {
    if (!this.recvError) this.recvError = error;
    this.sendClosed = true;
    this.wakeReader();
    const waiters = this.writeWaiters;
    this.writeWaiters = [];
    for (const w of waiters) w();
  }

  /** Whether our sending side has data or FIN to send now (the reset replaces it). */
  get sendable(): boolean {
    return !!this.send && !this.sendClosed && this.send.pending;
  }

  /** Both sides are finished: the connection may forget the stream. */
  get closed(): boolean {
    const sendDone = !this.send || this.send.done || (this.resetCode !== undefined && this.resetSent);
    const recvDone =
      !this.recv || (this.recv.finished && this.readQueue.length === 0) || this.recvError !== undefined;
    return sendDone && recvDone;
  }
}

/**
 * The server side of one QUIC connection (RFC 9000, 9001, 9002): packets in, datagrams out, one timer.
 *
 * The endpoint hands it every datagram routed to it and sends what it returns; everything else is
 * here: Initial keys from the client's first Destination Connection ID, CRYPTO frames to and from the
 * TLS server, keys installed and discarded per level, ACKs per packet number space, loss recovery and
 * congestion control, streams and flow control, connection IDs, idle timeout and closing.
 *
 * Not implemented (see core/docs/webtransport.md, "Transport"): connection migration, initiating a
 * key update (following the peer's is in keyphase.ts), ECN, Retry, PMTU discovery (datagrams stay at 1200 bytes), 0-RTT.
 */
import { randomBytes } from 'node:crypto';
import { DreggError, isDreggError } from '../../errors.ts';
import type { Level, QuicConnection, QuicStream, TlsServer } from './api.ts';
import { MAX_DATAGRAM_SIZE, Pacer } from './congestion.ts';
import {
  cryptoHeaderSize,
  decodeFrames,
  encodeFrame,
  type Frame,
  frameSize,
  isAckEliciting,
  protocolError,
  streamHeaderSize,
  TransportError,
  transportErrorOf,
  type Writer,
} from './frames.ts';
import { type KeyPhases, keyPhases } from './keyphase.ts';
import { initialKeys, packetKeys } from './keys.ts';
import { AEAD_TAG_LENGTH, longHeader, type Packet, packetNumberLength, shortHeader } from './packet.ts';
import type { TransportParameters } from './params.ts';
import { type PacketProtection, packetProtection } from './protect.ts';
import { ReceivedRanges } from './ranges.ts';
import { APPLICATION_SPACE, Recovery, type SentPacket, type Space } from './recovery.ts';
import { RecvBuffer, RecvWindow, SendBuffer, Stream, type StreamHost } from './streams.ts';

/** Length of the connection IDs we issue (the endpoint routes short headers by it). */
export const CID_LENGTH = 8;
/** How many of our connection IDs the peer holds at once (we issue up to its limit, at most this). */
const MAX_ISSUED_CIDS = 4;
/** CRYPTO bytes we buffer beyond the read offset at one level (RFC 9000 §7.5: at least 4096). */
const MAX_CRYPTO_BUFFER = 64 * 1024;
/** Our max_ack_delay (ms) and ack_delay_exponent (defaults, RFC 9000 §18.2). */
const MAX_ACK_DELAY = 25;
const ACK_DELAY_EXPONENT = 3;
/** Acknowledge every 2nd ack-eliciting 1-RTT packet until this many arrived, then every 10th. */
const ACK_DECIMATION_AFTER = 100;
const ACK_DECIMATION = 10;
/** Outgoing DATAGRAM frames waiting for room; older ones are dropped (they are unreliable anyway). */
const MAX_DATAGRAM_QUEUE = 128;

/** Windows we grant the peer. */
export interface Limits {
  readonly maxData: number;
  readonly maxStreamData: number;
  readonly maxStreamsBidi: number;
  readonly maxStreamsUni: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxData: 16 * 1024 * 1024,
  maxStreamData: 4 * 1024 * 1024,
  maxStreamsBidi: 256,
  maxStreamsUni: 256,
};

/** What the connection needs from its endpoint. */
export interface ConnectionHost {
  /** Sends datagrams to the peer (batched by the endpoint). */
  send(datagrams: Uint8Array[]): void;
  /** A connection ID of ours now routes here, or no longer does. */
  cidIssued(cid: Uint8Array): void;
  cidRetired(cid: Uint8Array): void;
  /** The connection is gone (after closing/draining): forget every ID routing to it. */
  gone(): void;
}

export interface ConnectionOptions {
  readonly remote: { readonly address: string; readonly port: number };
  /** The client's first Destination Connection ID (Initial keys derive from it). */
  readonly originalDcid: Uint8Array;
  /** The client's Source Connection ID: our packets' Destination Connection ID. */
  readonly peerCid: Uint8Array;
  /** Our first connection ID (already routed by the endpoint). */
  readonly cid: Uint8Array;
  /** Builds the TLS server once our transport parameters are known. */
  readonly tls: (transportParameters: Partial<TransportParameters>) => TlsServer;
  /** Decodes the client's transport parameters (raw extension body). */
  readonly decodeParameters: (raw: Uint8Array) => TransportParameters;
  readonly maxIdleTimeoutMs: number;
  readonly maxDatagramFrameSize: number;
  readonly limits?: Limits;
  readonly now?: () => number;
}

/** What a sent packet carried, to act on when it is acknowledged or lost. */
type Sent =
  | { readonly t: 'crypto'; readonly offset: number; readonly length: number }
  | { readonly t: 'datagram' }
  | {
      readonly t: 'stream';
      readonly stream: Stream;
      readonly offset: number;
      readonly length: number;
      readonly fin: boolean;
    }
  | { readonly t: 'ack'; readonly largest: number }
  | { readonly t: 'control'; readonly frame: Frame; readonly stream?: Stream };

interface SpaceState {
  read: PacketProtection | undefined;
  write: PacketProtection | undefined;
  readonly received: ReceivedRanges;
  nextPn: number;
  largestAcked: number | undefined;
  /** Ack-eliciting packets received since our last ACK in this space, and in all. */
  unacked: number;
  elicited: number;
  /** When the ACK is due (0: none pending; Infinity: only with other frames). */
  ackAt: number;
  readonly cryptoSend: SendBuffer;
  readonly cryptoRecv: RecvBuffer;
  /** Probe packets to send after a PTO (they bypass the congestion window). */
  probes: number;
}

const LEVELS: readonly Level[] = ['initial', 'handshake', 'application'];

type State = 'handshake' | 'open' | 'closing' | 'draining' | 'closed';

export class Connection implements QuicConnection {
  readonly remote: { readonly address: string; readonly port: number };
  alpn = '';
  readonly closed: Promise<{ readonly code: number; readonly reason: string; readonly remote: boolean }>;
  private resolveClosed!: (v: { code: number; reason: string; remote: boolean }) => void;
  /** Resolves when the handshake completes (never, if the connection fails first). */
  readonly established: Promise<void>;
  private resolveEstablished!: () => void;

  private state: State = 'handshake';
  private readonly now: () => number;
  private readonly tls: TlsServer;
  private readonly spaces: SpaceState[];
  private readonly recovery = new Recovery<Sent[]>();
  /** The 1-RTT keys, which the peer may update (RFC 9001 §6). */
  private phases: KeyPhases | undefined;
  private readonly pacer = new Pacer();
  private readonly limits: Limits;
  private peerCid: Uint8Array;
  private peerParams: TransportParameters | undefined;
  private peerAckDelayExponent = 3;

  // Address validation (RFC 9000 §8.1): 3x what we received until a Handshake packet arrives.
  private bytesReceived = 0;
  private bytesSent = 0;
  private addressValidated = false;
  private handshakeComplete = false;
  private handshakeDoneAcked = false;

  // Our connection IDs (sequence -> id) and the peer's.
  private readonly ourCids = new Map<number, Uint8Array>();
  private nextCidSeq = 1;
  private readonly peerCids = new Map<number, Uint8Array>([[0, new Uint8Array(0)]]);
  private peerCidSeq = 0;

  // Streams and flow control.
  private readonly streams = new Map<number, Stream>();
  /** Streams the peer opened so far, per direction: 0 bidi, 1 uni (next index). */
  private readonly peerOpened = [0, 0];
  private readonly peerStreamLimit: [number, number];
  private peerStreamLimitSent: [number, number];
  private readonly ourOpened = [0, 0];
  private readonly ourStreamLimit = [0, 0];
  private readonly streamWaiters: [(() => void)[], (() => void)[]] = [[], []];
  private readonly connRecv: RecvWindow;
  /** Sum over streams of the highest offset received (connection flow control, §4.1). */
  private connRecvHighest = 0;
  private maxDataToSend: number | undefined;
  private peerMaxData = 0;
  private dataSent = 0;
  private dataBlockedSentAt = -1;
  private readonly sendQueue = new Set<Stream>();
  private streamHandler: ((s: QuicStream) => void) | undefined;
  private readonly unclaimedStreams: Stream[] = [];

  // Datagrams (RFC 9221).
  private readonly datagramsOut: Uint8Array[] = [];
  private datagramHandler: ((d: Uint8Array) => void) | undefined;
  private readonly maxDatagramFrameSize: number;

  // Control frames waiting for a 1-RTT packet.
  private readonly control: { frame: Frame; stream?: Stream }[] = [];
  private pathResponses: Uint8Array[] = [];
  /** 1-RTT packets that arrived before the handshake completed. */
  private readonly early: { datagram: Uint8Array; packet: Packet }[] = [];

  // Timers and closing.
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = 0;
  private flushScheduled = false;
  private idleTimeout: number;
  private lastActivity: number;
  private closeFrame: Frame | undefined;
  private closeUntil = 0;
  private closeSentAt = 0;

  private readonly streamHost: StreamHost = {
    wake: (s) => {
      this.sendQueue.add(s);
      this.scheduleFlush();
    },
    settled: (s) => this.maybeForget(s),
    consumed: (n) => {
      const max = this.connRecv.consume(n);
      if (max !== undefined) {
        this.maxDataToSend = max;
        this.scheduleFlush();
      }
    },
  };

  constructor(
    private readonly host: ConnectionHost,
    private readonly options: ConnectionOptions,
  ) {
    this.now = options.now ?? (() => performance.now());
    this.remote = options.remote;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.peerCid = options.peerCid;
    this.peerCids.set(0, options.peerCid);
    this.ourCids.set(0, options.cid);
    this.idleTimeout = options.maxIdleTimeoutMs;
    this.lastActivity = this.now();
    this.maxDatagramFrameSize = options.maxDatagramFrameSize;
    this.connRecv = new RecvWindow(this.limits.maxData);
    this.peerStreamLimit = [this.limits.maxStreamsBidi, this.limits.maxStreamsUni];
    this.peerStreamLimitSent = [...this.peerStreamLimit];
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.established = new Promise((resolve) => {
      this.resolveEstablished = resolve;
    });
    this.spaces = LEVELS.map(() => ({
      read: undefined,
      write: undefined,
      received: new ReceivedRanges(),
      nextPn: 0,
      largestAcked: undefined,
      unacked: 0,
      elicited: 0,
      ackAt: 0,
      cryptoSend: new SendBuffer(),
      cryptoRecv: new RecvBuffer(),
      probes: 0,
    }));
    const initial = initialKeys(options.originalDcid);
    const s0 = this.spaces[0] as SpaceState;
    s0.read = packetProtection(initial.read);
    s0.write = packetProtection(initial.write);
    this.tls = options.tls({
      originalDestinationConnectionId: options.originalDcid,
      initialSourceConnectionId: options.cid,
      maxIdleTimeout: options.maxIdleTimeoutMs,
      maxUdpPayloadSize: 1452,
      initialMaxData: this.limits.maxData,
      initialMaxStreamDataBidiLocal: this.limits.maxStreamData,
      initialMaxStreamDataBidiRemote: this.limits.maxStreamData,
      initialMaxStreamDataUni: this.limits.maxStreamData,
      initialMaxStreamsBidi: this.limits.maxStreamsBidi,
      initialMaxStreamsUni: this.limits.maxStreamsUni,
      ackDelayExponent: ACK_DELAY_EXPONENT,
      maxAckDelay: MAX_ACK_DELAY,
      disableActiveMigration: true,
      activeConnectionIdLimit: MAX_ISSUED_CIDS,
      ...(options.maxDatagramFrameSize > 0 ? { maxDatagramFrameSize: options.maxDatagramFrameSize } : {}),
    });
  }

  /** The peer acknowledged our HANDSHAKE_DONE (it has dropped its Handshake keys too). */
  get handshakeDoneAcknowledged(): boolean {
    return this.handshakeDoneAcked;
  }

  /** How long a pending 1-RTT ACK may wait: a quarter RTT, at least 1 ms, at most max_ack_delay. */
  private ackDelay(): number {
    return Math.min(MAX_ACK_DELAY, Math.max(1, this.recovery.rtt.smoothed / 4));
  }

  // ---- QuicConnection --------------------------------------------------------------------------

  onStream(handler: (stream: QuicStream) => void): void {
    this.streamHandler = handler;
    for (const s of this.unclaimedStreams.splice(0)) handler(s);
  }

  async openStream(bidirectional: boolean): Promise<QuicStream> {
    const dir = bidirectional ? 0 : 1;
    while ((this.ourOpened[dir] as number) >= (this.ourStreamLimit[dir] as number)) {
      if (this.state !== 'handshake' && this.state !== 'open')
        throw new DreggError('E_UNREACHABLE', 'QUIC connection closed');
      // Tell the peer we are blocked (STREAMS_BLOCKED) and wait for MAX_STREAMS.
      this.control.push({
        frame: { type: 'streams_blocked', bidi: bidirectional, limit: this.ourStreamLimit[dir] as number },
      });
      this.scheduleFlush();
      await new Promise<void>((resolve) => this.streamWaiters[dir].push(resolve));
    }
    const index = this.ourOpened[dir] as number;
    this.ourOpened[dir] = index + 1;
    const id = index * 4 + 1 + dir * 2;
    const p = this.peerParams;
    const sendMax = (bidirectional ? p?.initialMaxStreamDataBidiRemote : p?.initialMaxStreamDataUni) ?? 0;
    const stream = new Stream(id, this.streamHost, {
      local: true,
      recvWindow: this.limits.maxStreamData,
      sendMax,
    });
    this.streams.set(id, stream);
    return stream;
  }

  sendDatagram(data: Uint8Array): boolean {
    const max = this.peerParams?.maxDatagramFrameSize ?? 0;
    // One DATAGRAM frame must fit one 1-RTT packet (RFC 9221 §5): header, type, length, tag.
    const room = MAX_DATAGRAM_SIZE - (1 + this.peerCid.length + 4) - AEAD_TAG_LENGTH - 3;
    if (this.state !== 'open' || data.length + 3 > max || data.length > room) return false;
    if (this.datagramsOut.length >= MAX_DATAGRAM_QUEUE) this.datagramsOut.shift();
    this.datagramsOut.push(data);
    this.scheduleFlush();
    return true;
  }

  onDatagram(handler: (data: Uint8Array) => void): void {
    this.datagramHandler = handler;
  }

  close(code: number, reason: string): void {
    if (this.state === 'closing' || this.state === 'draining' || this.state === 'closed') return;
    // Before the handshake completes, an application close goes out as a transport close
    // (APPLICATION_ERROR) in Initial/Handshake packets, hiding the reason (RFC 9000 §10.2.3).
    const frame: Frame = this.handshakeComplete
      ? { type: 'connection_close', app: true, code, frameType: 0, reason }
      : {
          type: 'connection_close',
          app: false,
          code: TransportError.APPLICATION_ERROR,
          frameType: 0,
          reason: '',
        };
    this.enterClosing(frame, { code, reason, remote: false });
  }

  // ---- receiving ------------------------------------------------------------------------------

  /** A datagram routed to this connection, already split into packets by the endpoint. */
  receive(datagram: Uint8Array, packets: readonly Packet[]): void {
    if (this.state === 'closed' || this.state === 'draining') return;
    const now = this.now();
    this.bytesReceived += datagram.length;
    if (this.state === 'closing') {
      // Answer with the close again, at most once per RTT-ish (RFC 9000 §10.2.1).
      if (now - this.closeSentAt > Math.max(this.recovery.rtt.smoothed, 1)) this.sendClose(now);
      return;
    }
    for (const packet of packets) {
      try {
        this.receivePacket(datagram, packet, now);
      } catch (e) {
        this.failWith(e);
        return;
      }
      if (this.state !== 'handshake' && this.state !== 'open') return;
    }
    // Answer once per socket read batch, not per datagram: libuv hands the endpoint every datagram
    // it read in one poll phase before setImmediate runs, so the ACKs for a burst go out as one.
    this.scheduleFlush();
  }

  private receivePacket(datagram: Uint8Array, packet: Packet, now: number): void {
    if (packet.form === 'long' && packet.type === '0rtt') return; // we never accept 0-RTT
    const space: Space = packet.form === 'short' ? 2 : packet.type === 'initial' ? 0 : 1;
    const s = this.spaces[space] as SpaceState;
    if (!s.read) return; // keys not (yet, or any longer) available: drop
    if (space === APPLICATION_SPACE && !this.handshakeComplete) {
      // RFC 9001 §5.7: no 1-RTT processing before the handshake completes; keep a few for then.
      if (this.early.length < 4) this.early.push({ datagram, packet });
      return;
    }
    const largest = s.received.empty ? undefined : s.received.largest;
    let opened: ReturnType<PacketProtection['open']>;
    try {
      // 1-RTT packets go through the key phases (the peer may update its keys, RFC 9001 §6).
      opened =
        space === APPLICATION_SPACE && this.phases
          ? this.phases.open(datagram, packet, largest, now, 3 * this.recovery.rtt.pto)
          : s.read.open(datagram, packet, largest);
    } catch (e) {
      if (isDreggError(e, 'E_PROTOCOL')) throw e;
      return; // too short to hold a sample: not a packet we can use
    }
    if (!opened) return; // did not authenticate: drop silently (RFC 9001 §5.5)
    if (!s.received.add(opened.packetNumber, now)) return; // duplicate
    this.lastActivity = now;
    if (space === 1 && !this.addressValidated) {
      // A Handshake packet proves the address (§8.1) and ends the use of Initial keys (RFC 9001 §4.9.1).
      this.addressValidated = true;
      this.discardSpace(0);
    }
    const frames = decodeFrames(opened.payload, LEVELS[space] as Level, {
      datagrams: this.maxDatagramFrameSize > 0,
    });
    let eliciting = false;
    for (const f of frames) {
      if (isAckEliciting(f)) eliciting = true;
      this.onFrame(space, f, now);
      if (this.state !== 'handshake' && this.state !== 'open') return;
    }
    if (!eliciting) return;
    s.unacked++;
    s.elicited++;
    const outOfOrder = opened.packetNumber < s.received.largest;
    // ACK decimation (as Chromium and Linux TCP do, RFC 9000 §13.2.2 allows it): every 2nd packet
    // at first, then every 10th or after a quarter RTT; each ACK-only datagram costs a send call.
    const every = s.elicited <= ACK_DECIMATION_AFTER ? 2 : ACK_DECIMATION;
    if (space !== APPLICATION_SPACE || s.unacked >= every || outOfOrder) s.ackAt = now;
    else if (s.ackAt === 0 || s.ackAt === Number.POSITIVE_INFINITY) s.ackAt = now + this.ackDelay();
  }

  private onFrame(space: Space, f: Frame, now: number): void {
    switch (f.type) {
      case 'padding':
      case 'ping':
        return;
      case 'ack':
        this.onAck(space, f, now);
        return;
      case 'crypto':
        this.onCrypto(space, f.offset, f.data);
        return;
      case 'stream': {
        const stream = this.streamFor(f.id, true);
        if (!stream) return;
        this.chargeConnection(stream, f.offset + f.data.length);
        stream.onData(f.offset, f.data, f.fin);
        this.maybeForget(stream);
        return;
      }
      case 'reset_stream': {
        const stream = this.streamFor(f.id, true);
        if (!stream) return;
        this.chargeConnection(stream, f.finalSize);
        stream.onReset(f.code, f.finalSize);
        this.maybeForget(stream);
        return;
      }
      case 'stop_sending':
        this.streamFor(f.id, false)?.onStopSending(f.code);
        return;
      case 'max_data':
        if (f.max > this.peerMaxData) {
          this.peerMaxData = f.max;
          for (const s of this.streams.values()) if (s.sendable) this.sendQueue.add(s);
        }
        return;
      case 'max_stream_data': {
        const stream = this.streamFor(f.id, false);
        if (stream && !stream.send)
          throw protocolError(
            TransportError.STREAM_STATE_ERROR,
            'MAX_STREAM_DATA for a receive-only stream',
            0x11,
          );
        stream?.onMaxStreamData(f.max);
        return;
      }
      case 'max_streams': {
        const dir = f.bidi ? 0 : 1;
        if (f.max > (this.ourStreamLimit[dir] as number)) {
          this.ourStreamLimit[dir] = f.max;
          for (const w of this.streamWaiters[dir].splice(0)) w();
        }
        return;
      }
      case 'data_blocked':
      case 'stream_data_blocked':
      case 'streams_blocked':
        return; // our windows grow as the application reads; nothing to do on a hint
      case 'new_token':
      case 'handshake_done':
        throw protocolError(TransportError.PROTOCOL_VIOLATION, `${f.type} sent by a client`);
      case 'new_connection_id':
        this.onNewConnectionId(f);
        return;
      case 'retire_connection_id':
        this.onRetireConnectionId(f.seq);
        return;
      case 'path_challenge':
        if (this.pathResponses.length < 4) this.pathResponses.push(f.data.slice());
        return;
      case 'path_response':
        return; // we send no PATH_CHALLENGE (no migration)
      case 'connection_close':
        this.enterDraining({ code: f.code, reason: f.reason, remote: true }, now);
        return;
      case 'datagram':
        this.datagramHandler?.(f.data.slice());
        return;
    }
  }

  private onAck(space: Space, f: Extract<Frame, { type: 'ack' }>, now: number): void {
    const delayMs = (f.delay * 2 ** this.peerAckDelayExponent) / 1000;
    const appLimited = this.recovery.cc.bytesInFlight < this.recovery.cc.window / 2;
    const { acked, lost } = this.recovery.onAck(
      space,
      f.ranges,
      delayMs,
      now,
      this.handshakeComplete,
      appLimited,
    );
    const s = this.spaces[space] as SpaceState;
    const largest = (f.ranges[0] as readonly [number, number])[1];
    if (s.largestAcked === undefined || largest > s.largestAcked) s.largestAcked = largest;
    for (const p of acked) this.onPacketAcked(space, p);
    for (const p of lost) this.onPacketLost(space, p);
  }

  private onPacketAcked(space: Space, p: SentPacket<Sent[]>): void {
    const s = this.spaces[space] as SpaceState;
    for (const item of p.data) {
      switch (item.t) {
        case 'crypto':
          s.cryptoSend.onAcked({ offset: item.offset, length: item.length, fin: false });
          break;
        case 'stream':
          item.stream.send?.onAcked({ offset: item.offset, length: item.length, fin: item.fin });
          this.maybeForget(item.stream);
          break;
        case 'ack':
          s.received.forgetBelow(item.largest + 1);
          break;
        case 'datagram':
          break;
        case 'control':
          if (item.frame.type === 'handshake_done') this.handshakeDoneAcked = true;
          if (item.frame.type === 'reset_stream' && item.stream) this.maybeForget(item.stream);
          break;
      }
    }
  }

  private onPacketLost(space: Space, p: SentPacket<Sent[]>): void {
    const s = this.spaces[space] as SpaceState;
    for (const item of p.data) {
      switch (item.t) {
        case 'crypto':
          s.cryptoSend.onLost({ offset: item.offset, length: item.length, fin: false });
          break;
        case 'stream':
          item.stream.send?.onLost({ offset: item.offset, length: item.length, fin: item.fin });
          if (this.streams.has(item.stream.id)) this.sendQueue.add(item.stream);
          break;
        case 'ack':
        case 'datagram':
          break; // a fresh ACK goes out with the next packet anyway; datagrams are unreliable
        case 'control':
          this.requeueControl(item);
          break;
      }
    }
  }

  /** Lost control frames go out again, updated to the current value where one applies. */
  private requeueControl(item: Extract<Sent, { t: 'control' }>): void {
    const f = item.frame;
    switch (f.type) {
      case 'max_data':
        this.maxDataToSend ??= this.connRecv.max;
        return;
      case 'max_stream_data':
        if (item.stream && this.streams.has(item.stream.id) && item.stream.recvWindow) {
          item.stream.maxDataToSend ??= item.stream.recvWindow.max;
          this.sendQueue.add(item.stream);
        }
        return;
      case 'reset_stream':
        if (item.stream) {
          item.stream.resetSent = false;
          this.sendQueue.add(item.stream);
        }
        return;
      case 'stop_sending':
        if (item.stream) {
          item.stream.stopSent = false;
          this.sendQueue.add(item.stream);
        }
        return;
      case 'max_streams':
        this.peerStreamLimitSent[f.bidi ? 0 : 1] = -1;
        return;
      case 'path_response':
      case 'streams_blocked':
      case 'data_blocked':
        return; // not worth resending: the peer will ask again or we will block again
      default:
        this.control.push({ frame: f });
    }
  }

  private onCrypto(space: Space, offset: number, data: Uint8Array): void {
    const s = this.spaces[space] as SpaceState;
    if (offset + data.length > s.cryptoRecv.readOffset + MAX_CRYPTO_BUFFER) {
      throw protocolError(TransportError.CRYPTO_BUFFER_EXCEEDED, 'Too much CRYPTO data buffered', 0x06);
    }
    s.cryptoRecv.insert(offset, data, false);
    const chunks = s.cryptoRecv.read();
    if (chunks.length === 0) return;
    const bytes = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks);
    const out = this.tls.receive(LEVELS[space] as Level, bytes);
    if (!this.peerParams && this.tls.peerTransportParameters)
      this.applyPeerParameters(this.tls.peerTransportParameters);
    for (const { level, data: d } of out.send)
      (this.spaces[LEVELS.indexOf(level)] as SpaceState).cryptoSend.write(d);
    for (const secret of out.secrets) {
      const target = this.spaces[LEVELS.indexOf(secret.level)] as SpaceState;
      if (secret.level === 'application') {
        this.phases = keyPhases(secret.suite, secret.read, secret.write);
        target.read = this.phases.write; // marks the keys available; packets open through `phases`
        target.write = this.phases.write;
        continue;
      }
      target.read = packetProtection(packetKeys(secret.suite, secret.read));
      target.write = packetProtection(packetKeys(secret.suite, secret.write));
    }
    if (out.complete && !this.handshakeComplete) this.onHandshakeComplete();
  }

  /** The client's Finished verified: the handshake is complete and, for a server, confirmed (RFC 9001 §4.1.2). */
  private onHandshakeComplete(): void {
    this.handshakeComplete = true;
    this.alpn = this.tls.alpn ?? '';
    this.state = 'open';
    this.control.push({ frame: { type: 'handshake_done' } });
    this.discardSpace(1);
    this.issueConnectionIds();
    this.resolveEstablished();
    const now = this.now();
    for (const { datagram, packet } of this.early.splice(0)) this.receivePacket(datagram, packet, now);
  }

  private applyPeerParameters(raw: Uint8Array): void {
    const p = this.options.decodeParameters(raw);
    // The client's initial_source_connection_id must match the SCID it used (RFC 9000 §7.3).
    const scid = p.initialSourceConnectionId;
    if (!scid || Buffer.compare(scid, this.options.peerCid) !== 0) {
      throw protocolError(TransportError.TRANSPORT_PARAMETER_ERROR, 'initial_source_connection_id mismatch');
    }
    if (p.originalDestinationConnectionId || p.statelessResetToken) {
      throw protocolError(
        TransportError.TRANSPORT_PARAMETER_ERROR,
        'Server-only transport parameter from a client',
      );
    }
    this.peerParams = p;
    this.peerMaxData = p.initialMaxData ?? 0;
    this.ourStreamLimit[0] = p.initialMaxStreamsBidi ?? 0;
    this.ourStreamLimit[1] = p.initialMaxStreamsUni ?? 0;
    for (const w of this.streamWaiters.flat()) w();
    this.streamWaiters[0] = [];
    this.streamWaiters[1] = [];
    this.peerAckDelayExponent = p.ackDelayExponent ?? 3;
    this.recovery.peerMaxAckDelay = p.maxAckDelay ?? 25;
    const peerIdle = p.maxIdleTimeout ?? 0;
    if (peerIdle > 0 && (this.idleTimeout === 0 || peerIdle < this.idleTimeout)) this.idleTimeout = peerIdle;
  }

  /** Stream `id` for an incoming frame: opens peer streams up to it, undefined for closed ones. */
  private streamFor(id: number, carriesData: boolean): Stream | undefined {
    const existing = this.streams.get(id);
    if (existing) return existing;
    const dir = id & 2 ? 1 : 0;
    const index = Math.floor(id / 4);
    if (id & 1) {
      // Ours: a stream we never opened is a violation; one we forgot is finished.
      if (index >= (this.ourOpened[dir] as number))
        throw protocolError(TransportError.STREAM_STATE_ERROR, 'Frame for a stream we never opened');
      if (carriesData && dir === 1)
        throw protocolError(TransportError.STREAM_STATE_ERROR, 'Data on our send-only stream');
      return undefined;
    }
    if (index < (this.peerOpened[dir] as number)) return undefined; // already closed and forgotten
    if (index >= (this.peerStreamLimit[dir] as number))
      throw protocolError(TransportError.STREAM_LIMIT_ERROR, 'Peer opened too many streams');
    if (!carriesData && dir === 1)
      throw protocolError(TransportError.STREAM_STATE_ERROR, "Send-side frame for the peer's uni stream");
    let created: Stream | undefined;
    const p = this.peerParams;
    for (let i = this.peerOpened[dir] as number; i <= index; i++) {
      const sid = i * 4 + dir * 2;
      const s = new Stream(sid, this.streamHost, {
        local: false,
        recvWindow: this.limits.maxStreamData,
        sendMax: p?.initialMaxStreamDataBidiLocal ?? 0,
      });
      this.streams.set(sid, s);
      if (this.streamHandler) this.streamHandler(s);
      else this.unclaimedStreams.push(s);
      created = s;
    }
    this.peerOpened[dir] = index + 1;
    return created;
  }

  /** Charges newly received bytes of `stream` up to `end` against the connection window. */
  private chargeConnection(stream: Stream, end: number): void {
    const before = stream.recv?.highest ?? 0;
    if (end <= before) return;
    this.connRecvHighest += end - before;
    this.connRecv.check(this.connRecvHighest);
  }

  /** Forgets a finished stream; a peer stream's slot returns to the peer as MAX_STREAMS credit. */
  private maybeForget(stream: Stream): void {
    if (!stream.closed || !this.streams.has(stream.id)) return;
    this.streams.delete(stream.id);
    this.sendQueue.delete(stream);
    if ((stream.id & 1) === 0) {
      const dir = stream.id & 2 ? 1 : 0;
      this.peerStreamLimit[dir] = (this.peerStreamLimit[dir] as number) + 1;
      this.scheduleFlush();
    }
  }

  private onNewConnectionId(f: Extract<Frame, { type: 'new_connection_id' }>): void {
    if (this.peerCid.length === 0)
      throw protocolError(
        TransportError.PROTOCOL_VIOLATION,
        'NEW_CONNECTION_ID with a zero-length connection ID',
      );
    if (f.seq < this.peerCidSeq) {
      this.control.push({ frame: { type: 'retire_connection_id', seq: f.seq } });
      return;
    }
    this.peerCids.set(f.seq, f.cid.slice());
    if (f.retirePriorTo > this.peerCidSeq) {
      for (const seq of [...this.peerCids.keys()]) {
        if (seq < f.retirePriorTo) {
          this.peerCids.delete(seq);
          this.control.push({ frame: { type: 'retire_connection_id', seq } });
        }
      }
      const next = Math.min(...this.peerCids.keys());
      this.peerCidSeq = next;
      this.peerCid = this.peerCids.get(next) as Uint8Array;
    }
    if (this.peerCids.size > MAX_ISSUED_CIDS)
      throw protocolError(TransportError.CONNECTION_ID_LIMIT_ERROR, 'Too many connection IDs');
  }

  private onRetireConnectionId(seq: number): void {
    if (seq >= this.nextCidSeq)
      throw protocolError(TransportError.PROTOCOL_VIOLATION, 'Retiring a connection ID never issued', 0x19);
    const cid = this.ourCids.get(seq);
    if (!cid) return;
    this.ourCids.delete(seq);
    this.host.cidRetired(cid);
    this.issueConnectionIds();
  }

  /** Issues connection IDs up to the peer's active_connection_id_limit (capped at ours). */
  private issueConnectionIds(): void {
    const limit = Math.min(this.peerParams?.activeConnectionIdLimit ?? 2, MAX_ISSUED_CIDS);
    while (this.ourCids.size < limit) {
      const seq = this.nextCidSeq++;
      const cid = new Uint8Array(randomBytes(CID_LENGTH));
      this.ourCids.set(seq, cid);
      this.host.cidIssued(cid);
      this.control.push({
        frame: {
          type: 'new_connection_id',
          seq,
          retirePriorTo: 0,
          cid,
          resetToken: new Uint8Array(randomBytes(16)),
        },
      });
    }
  }

  private discardSpace(space: Space): void {
    const s = this.spaces[space] as SpaceState;
    if (!s.write && !s.read) return;
    s.read = undefined;
    s.write = undefined;
    s.ackAt = 0;
    s.probes = 0;
    this.recovery.discard(space);
  }

  // ---- closing --------------------------------------------------------------------------------

  private failWith(e: unknown): void {
    if (!(e instanceof DreggError)) throw e; // a bug of ours: let it surface
    const alert = (e as DreggError & { alert?: number }).alert;
    const code =
      e.code === 'E_TLS' && alert !== undefined ? TransportError.CRYPTO_ERROR + alert : transportErrorOf(e);
    const frameType = (e as DreggError & { frameType?: number }).frameType ?? 0;
    this.enterClosing(
      { type: 'connection_close', app: false, code, frameType, reason: e.message.slice(0, 100) },
      { code, reason: e.message, remote: false },
    );
  }

  private enterClosing(frame: Frame, result: { code: number; reason: string; remote: boolean }): void {
    const now = this.now();
    this.closeFrame = frame;
    this.state = 'closing';
    this.closeUntil = now + 3 * this.recovery.rtt.pto;
    this.sendClose(now);
    this.finish(result);
    this.arm();
  }

  private enterDraining(result: { code: number; reason: string; remote: boolean }, now: number): void {
    this.state = 'draining';
    this.closeUntil = now + 3 * this.recovery.rtt.pto;
    this.finish(result);
    this.arm();
  }

  private finish(result: { code: number; reason: string; remote: boolean }): void {
    const error = new DreggError(
      'E_UNREACHABLE',
      `QUIC connection closed (${result.code}${result.reason ? `: ${result.reason}` : ''})`,
    );
    for (const s of this.streams.values()) s.fail(error);
    for (const w of this.streamWaiters.flat()) w();
    this.streamWaiters[0] = [];
    this.streamWaiters[1] = [];
    this.resolveClosed(result);
  }

  /** The CONNECTION_CLOSE in every space we have keys for (the peer may lack the 1-RTT ones). */
  private sendClose(now: number): void {
    const frame = this.closeFrame;
    if (!frame) return;
    this.closeSentAt = now;
    const packets: Uint8Array[] = [];
    for (const space of [0, 1, 2] as Space[]) {
      const s = this.spaces[space] as SpaceState;
      if (!s.write) continue;
      // A transport close is allowed at every level; an application close only in 1-RTT (§12.4).
      const f: Frame =
        space !== APPLICATION_SPACE && frame.type === 'connection_close' && frame.app
          ? {
              type: 'connection_close',
              app: false,
              code: TransportError.APPLICATION_ERROR,
              frameType: 0,
              reason: '',
            }
          : frame;
      const w: Writer = { buf: new Uint8Array(frameSize(f) + 4), pos: 0 };
      encodeFrame(w, f);
      packets.push(this.seal(space, w, 0));
    }
    this.sendPackets(packets);
  }

  /** Ends at once, without a closing period (the endpoint is shutting down). */
  terminateNow(): void {
    if (this.state === 'handshake' || this.state === 'open')
      this.finish({ code: 0, reason: 'endpoint closed', remote: false });
    this.terminate();
  }

  private terminate(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const cid of this.ourCids.values()) this.host.cidRetired(cid);
    this.host.gone();
  }

  // ---- timers ---------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  /** Sets the one timer to the earliest deadline: ACK, loss/PTO, pacing, idle or end of closing. */
  private arm(): void {
    let at: number;
    if (this.state === 'closed') return;
    if (this.state === 'closing' || this.state === 'draining') at = this.closeUntil;
    else {
      at =
        this.idleTimeout > 0
          ? this.lastActivity + Math.max(this.idleTimeout, 3 * this.recovery.rtt.pto)
          : Number.POSITIVE_INFINITY;
      for (const s of this.spaces) if (s.ackAt > 0 && s.ackAt < at) at = s.ackAt;
      const t = this.recovery.timer(this.handshakeComplete, this.amplificationBlocked());
      if (t && t.at < at) at = t.at;
      if (this.pacedUntil > 0 && this.pacedUntil < at) at = this.pacedUntil;
    }
    if (at === Number.POSITIVE_INFINITY) return;
    if (this.timer && this.timerAt === at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, at - this.now()));
  }

  private onTimer(): void {
    this.timer = undefined;
    const now = this.now();
    if (this.state === 'closing' || this.state === 'draining') {
      if (now >= this.closeUntil) this.terminate();
      else this.arm();
      return;
    }
    if (this.state === 'closed') return;
    if (
      this.idleTimeout > 0 &&
      now >= this.lastActivity + Math.max(this.idleTimeout, 3 * this.recovery.rtt.pto)
    ) {
      // Idle timeout: close silently (RFC 9000 §10.1).
      this.finish({ code: 0, reason: 'idle timeout', remote: false });
      this.terminate();
      return;
    }
    const { lost, space, probe } = this.recovery.onTimeout(
      now,
      this.handshakeComplete,
      this.amplificationBlocked(),
    );
    for (const p of lost) this.onPacketLost(space, p);
    if (probe !== undefined) this.prepareProbe(probe);
    this.pacedUntil = 0;
    this.flush();
  }

  /** A PTO fired for `space`: resend its unacknowledged data in up to two probe packets (RFC 9002 §6.2.4). */
  private prepareProbe(space: Space): void {
    const s = this.spaces[space] as SpaceState;
    s.probes = 2;
    for (const p of this.recovery.inFlight(space)) {
      for (const item of p.data) {
        if (item.t === 'crypto')
          s.cryptoSend.onLost({ offset: item.offset, length: item.length, fin: false });
        else if (item.t === 'stream' && this.streams.has(item.stream.id)) {
          item.stream.send?.onLost({ offset: item.offset, length: item.length, fin: item.fin });
          this.sendQueue.add(item.stream);
        }
      }
    }
  }

  // ---- sending --------------------------------------------------------------------------------

  private pacedUntil = 0;

  private amplificationBlocked(): boolean {
    return !this.addressValidated && this.bytesSent >= 3 * this.bytesReceived;
  }

  /** Sends everything that may go now: ACKs, CRYPTO, control frames, datagrams and stream data. */
  flush(): void {
    if (this.state !== 'handshake' && this.state !== 'open') return;
    const out: Uint8Array[] = [];
    this.pacedUntil = 0;
    for (let guard = 0; guard < 256; guard++) {
      const now = this.now();
      // Until the address is validated we send at most 3x what we received (RFC 9000 §8.1), in whole
      // 1200-byte datagrams since those carrying Initial packets must be padded to that size.
      if (!this.addressValidated && 3 * this.bytesReceived - this.bytesSent < MAX_DATAGRAM_SIZE) break;
      const budget = MAX_DATAGRAM_SIZE;
      const d = this.buildDatagram(now, budget);
      if (!d) break;
      out.push(d);
      this.bytesSent += d.length;
    }
    if (out.length > 0) this.host.send(out);
    this.arm();
  }

  /** One datagram of coalesced packets (Initial, Handshake, 1-RTT), or undefined when nothing is due. */
  private buildDatagram(now: number, budget: number): Uint8Array | undefined {
    const parts: { space: Space; w: Writer; items: Sent[]; eliciting: boolean; headerSize: number }[] = [];
    let used = 0;
    const cc = this.recovery.cc;
    for (const space of [0, 1, 2] as Space[]) {
      const s = this.spaces[space] as SpaceState;
      if (!s.write) continue;
      const headerSize = this.headerSize(space);
      const room = budget - used - headerSize - AEAD_TAG_LENGTH;
      if (room < 32) break;
      const probing = s.probes > 0;
      // New ack-eliciting data needs congestion window (probes excepted) and, in 1-RTT, pacing.
      let mayElicit = probing || cc.bytesInFlight + budget <= cc.window;
      if (
        mayElicit &&
        !probing &&
        space === APPLICATION_SPACE &&
        (this.sendQueue.size > 0 || this.datagramsOut.length > 0)
      ) {
        const wait = this.pacer.delay(now, budget, cc.window, this.recovery.rtt.smoothed);
        if (wait > 0) {
          mayElicit = false;
          this.pacedUntil = now + wait;
        }
      }
      const w: Writer = { buf: new Uint8Array(room + 4), pos: 0 };
      const items: Sent[] = [];
      const eliciting = this.fillPacket(space, w, room, items, mayElicit, now);
      if (w.pos === 0) continue;
      if (probing && eliciting) s.probes--;
      parts.push({ space, w, items, eliciting, headerSize });
      used += headerSize + w.pos + AEAD_TAG_LENGTH;
    }
    if (parts.length === 0) return undefined;
    // Datagrams carrying an Initial packet are padded to 1200 bytes (RFC 9000 §14.1).
    const last = parts[parts.length - 1] as (typeof parts)[number];
    const pad = parts[0]?.space === 0 ? Math.max(0, MAX_DATAGRAM_SIZE - used) : 0;
    const packets: Uint8Array[] = [];
    for (const part of parts) {
      const padding = part === last ? pad : 0;
      const packet = this.seal(part.space, part.w, padding);
      packets.push(packet);
      const inFlight = part.eliciting || padding > 0;
      const sent: SentPacket<Sent[]> = {
        pn: (this.spaces[part.space] as SpaceState).nextPn - 1,
        time: now,
        size: packet.length,
        ackEliciting: part.eliciting,
        inFlight,
        data: part.items,
      };
      this.recovery.onSent(part.space, sent);
      if (part.space === APPLICATION_SPACE && inFlight) this.pacer.onSent(packet.length);
    }
    return packets.length === 1 ? (packets[0] as Uint8Array) : Buffer.concat(packets);
  }

  private headerSize(space: Space): number {
    const pnLen = 4; // upper bound; seal uses the real length and pads the difference away
    if (space === APPLICATION_SPACE) return 1 + this.peerCid.length + pnLen;
    const cid = this.ourCids.get(0) ?? this.options.cid;
    return 7 + this.peerCid.length + cid.length + (space === 0 ? 1 : 0) + 2 + pnLen;
  }

  /** Writes the frames due in `space` into `w`; returns whether any is ack-eliciting. */
  private fillPacket(
    space: Space,
    w: Writer,
    room: number,
    items: Sent[],
    mayElicit: boolean,
    now: number,
  ): boolean {
    const s = this.spaces[space] as SpaceState;
    let eliciting = false;
    // An ACK goes out when due, or rides along with anything else we send: reserve its room first.
    let ack: Frame | undefined;
    if (s.unacked > 0 || s.ackAt > 0) {
      const delay = Math.max(0, Math.round(((now - s.received.largestAt) * 1000) / 2 ** ACK_DELAY_EXPONENT));
      ack = s.received.ackFrame(space === APPLICATION_SPACE ? delay : 0);
    }
    const limit = room - (ack ? frameSize(ack) : 0);
    const fits = (n: number) => w.pos + n <= limit;
    const emit = (frame: Frame, item: Sent): boolean => {
      const n = frameSize(frame);
      if (!fits(n)) return false;
      encodeFrame(w, frame);
      items.push(item);
      eliciting = true;
      return true;
    };
    if (mayElicit) {
      while (s.cryptoSend.pending && w.pos + 16 < limit) {
        const max = limit - w.pos - cryptoHeaderSize(s.cryptoSend.written, limit);
        const next = s.cryptoSend.next(max, Number.POSITIVE_INFINITY);
        if (!next || next.data.length === 0) break;
        emit(
          { type: 'crypto', offset: next.offset, data: next.data },
          { t: 'crypto', offset: next.offset, length: next.data.length },
        );
      }
      if (space === APPLICATION_SPACE) this.fillApplication(w, limit, emit);
      if (s.probes > 0 && !eliciting && fits(1)) {
        w.buf[w.pos++] = 0x01; // PING: a probe must elicit an ACK
        eliciting = true;
      }
    }
    if (ack && ((s.ackAt > 0 && s.ackAt <= now) || eliciting)) {
      encodeFrame(w, ack);
      items.push({ t: 'ack', largest: s.received.largest });
      s.unacked = 0;
      s.ackAt = 0;
    }
    return eliciting;
  }

  private fillApplication(w: Writer, room: number, emit: (f: Frame, item: Sent) => boolean): void {
    for (const data of this.pathResponses.splice(0))
      emit({ type: 'path_response', data }, { t: 'control', frame: { type: 'path_response', data } });
    while (this.control.length > 0) {
      const c = this.control[0] as { frame: Frame; stream?: Stream };
      if (!emit(c.frame, { t: 'control', frame: c.frame })) break;
      this.control.shift();
    }
    if (this.maxDataToSend !== undefined) {
      const frame: Frame = { type: 'max_data', max: this.maxDataToSend };
      if (emit(frame, { t: 'control', frame })) this.maxDataToSend = undefined;
    }
    for (const dir of [0, 1]) {
      if (this.peerStreamLimit[dir] !== this.peerStreamLimitSent[dir]) {
        const frame: Frame = {
          type: 'max_streams',
          bidi: dir === 0,
          max: this.peerStreamLimit[dir] as number,
        };
        if (emit(frame, { t: 'control', frame }))
          this.peerStreamLimitSent[dir] = this.peerStreamLimit[dir] as number;
      }
    }
    while (this.datagramsOut.length > 0) {
      const data = this.datagramsOut[0] as Uint8Array;
      if (!emit({ type: 'datagram', data }, { t: 'datagram' })) break;
      this.datagramsOut.shift();
    }
    // Streams, round robin: a stream that sent goes to the back of the queue.
    for (const stream of [...this.sendQueue]) {
      if (room - w.pos < 24) break;
      this.sendQueue.delete(stream);
      if (!this.fillStream(stream, w, room, emit)) continue;
      this.sendQueue.add(stream);
    }
  }

  /** Writes one stream's control frames and data; returns whether it still has something to send. */
  private fillStream(
    stream: Stream,
    w: Writer,
    room: number,
    emit: (f: Frame, item: Sent) => boolean,
  ): boolean {
    if (stream.resetCode !== undefined && !stream.resetSent && stream.send) {
      const frame: Frame = {
        type: 'reset_stream',
        id: stream.id,
        code: stream.resetCode,
        finalSize: stream.send.sentUpTo,
      };
      if (!emit(frame, { t: 'control', frame, stream })) return true;
      stream.resetSent = true;
    }
    if (stream.stopCode !== undefined && !stream.stopSent) {
      const frame: Frame = { type: 'stop_sending', id: stream.id, code: stream.stopCode };
      if (!emit(frame, { t: 'control', frame, stream })) return true;
      stream.stopSent = true;
    }
    if (stream.maxDataToSend !== undefined) {
      const frame: Frame = { type: 'max_stream_data', id: stream.id, max: stream.maxDataToSend };
      if (!emit(frame, { t: 'control', frame, stream })) return true;
      stream.maxDataToSend = undefined;
    }
    const send = stream.send;
    if (!send || !stream.sendable) return false;
    const connRoom = this.peerMaxData - this.dataSent;
    const limit = Math.min(stream.sendMax, send.sentUpTo + Math.max(0, connRoom));
    for (;;) {
      const space = room - w.pos - streamHeaderSize(stream.id, send.sentUpTo + 1, room);
      if (space <= 0) return true;
      const before = send.sentUpTo;
      const next = send.next(space, limit);
      if (!next) break;
      this.dataSent += send.sentUpTo - before;
      const frame: Frame = {
        type: 'stream',
        id: stream.id,
        offset: next.offset,
        data: next.data,
        fin: next.fin,
      };
      emit(frame, { t: 'stream', stream, offset: next.offset, length: next.data.length, fin: next.fin });
      stream.onSendProgress();
      if (!stream.sendable) return false;
    }
    // Blocked by flow control with data waiting: say so once per limit (RFC 9000 §4.1).
    if (send.newBytes > 0 && connRoom <= 0 && this.dataBlockedSentAt !== this.peerMaxData) {
      const frame: Frame = { type: 'data_blocked', limit: this.peerMaxData };
      if (emit(frame, { t: 'control', frame })) this.dataBlockedSentAt = this.peerMaxData;
    }
    return false;
  }

  /** Protects the payload in `w` (plus `padding` zero bytes) as the next packet of `space`. */
  private seal(space: Space, w: Writer, padding: number): Uint8Array {
    const s = this.spaces[space] as SpaceState;
    const phases = space === APPLICATION_SPACE ? this.phases : undefined;
    const write = phases ? phases.write : (s.write as PacketProtection);
    const pn = s.nextPn++;
    const pnLen = packetNumberLength(pn, s.largestAcked);
    // Pad to the header size we budgeted for (4-byte packet number) so sizes stay as planned.
    const extra = padding + (4 - pnLen);
    let payload = w.buf.subarray(0, w.pos);
    if (extra > 0) {
      payload =
        w.pos + extra <= w.buf.length
          ? w.buf.subarray(0, w.pos + extra)
          : Buffer.concat([payload, new Uint8Array(extra)]);
      payload.fill(0, w.pos);
    }
    const header =
      space === APPLICATION_SPACE
        ? shortHeader(this.peerCid, pn, pnLen, phases?.phase ?? 0)
        : longHeader(
            {
              type: space === 0 ? 'initial' : 'handshake',
              dcid: this.peerCid,
              scid: this.ourCids.get(0) ?? this.options.cid,
            },
            pn,
            pnLen,
            payload.length,
          );
    return write.seal(header, payload, pn);
  }

  private sendPackets(packets: Uint8Array[]): void {
    if (packets.length === 0) return;
    this.host.send([packets.length === 1 ? (packets[0] as Uint8Array) : Buffer.concat(packets)]);
  }
}

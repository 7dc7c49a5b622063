/**
 * Request/response over libp2p: the machinery of the client<->relay contract (./contract.ts names the
 * operations). One libp2p protocol per operation, `/cipherclerk/1/<op>`, so a peer that lacks an
 * operation refuses it in protocol negotiation. A caller keeps ONE long-lived stream per (connection,
 * operation), opened on its first call, and pipelines requests on it: many may be in flight, each
 * request frame carries a request id, each response frame the id it answers, and responses come back
 * in whatever order their handlers finish. (Opening a libp2p stream costs milliseconds of CPU on each
 * side; a frame on an open stream costs a fraction of one.)
 *
 * A frame is an unsigned LEB128 varint length L (at most 5 bytes, minimal), then a 4-byte big-endian
 * request id, then L - 4 bytes of body. The request body is the operation's own bytes. The response
 * body is deterministic CBOR, either `{ok: bytes}` or `{err: {code, message}}` with one of our stable
 * error codes, so a handler's `DreggError` reaches the caller as the same code and message; any other
 * failure is reported as `E_INTERNAL` with a generic message (the exception itself stays on the
 * server, unlogged: it may hold secrets).
 *
 * Every read is bounded: a frame's declared length is checked against the operation's limit before a
 * byte of its body is accepted (the id, 4 bytes, is read first so the refusal can name it); a frame
 * over the limit is answered `E_TOO_LARGE` and the stream reset, since the reader cannot resync. Both
 * sides have per-request deadlines. A server admits a request only if its peer has a token in its
 * bucket and fewer than `rpcInFlightPerPeer` requests of this operation in flight (`E_RATE_LIMITED`
 * otherwise, answered at once without running the handler). A server whose answers its peer does not
 * read resets the stream once they exceed a bound. No stream error, reset or malformed frame rejects a
 * promise that nobody awaits.
 */
import { type Connection, isPeerId, type Libp2p, type PeerId, type Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, type ErrorCode, ErrorCodes } from '../errors.ts';
import { DEFAULT_NET_LIMITS, type NetLimits, netLimits } from './limits.ts';

export interface RpcOp {
  /** Path segment(s) of the protocol id: `turn/submit` gives `/cipherclerk/1/turn/submit`. */
  readonly name: string;
  /** Largest request body, in bytes. */
  readonly maxRequest: number;
  /** Largest `ok` body, in bytes. */
  readonly maxResponse: number;
  /** Deadline of one call on both sides; `NetLimits.rpcTimeoutMs` when absent. */
  readonly timeoutMs?: number;
}

export const RPC_PROTOCOL_PREFIX = '/cipherclerk/1/';

export const rpcProtocol = (op: RpcOp): string => `${RPC_PROTOCOL_PREFIX}${op.name}`;

export interface RpcPeer {
  /** The remote libp2p peer id (authenticated by the noise handshake). */
  readonly peerId: string;
}

/**
 * Serves one request. Throw a `DreggError` to answer with its code and message. `context.signal`
 * aborts at the operation's deadline (the caller has been answered `E_TIMEOUT` by then).
 */
export type RpcHandler = (
  request: Uint8Array,
  from: RpcPeer,
  context: { readonly signal: AbortSignal },
) => Promise<Uint8Array>;

export interface RpcObserver {
  /** A handler ran: `outcome` is 'ok' or the error code answered; `ms` from request read to answer. */
  served?(op: string, outcome: 'ok' | string, ms: number): void;
  /** A request was refused before its handler ran: 'rate-limited', 'too-large', 'malformed', 'timeout', 'reset'. */
  dropped?(op: string, reason: string): void;
}

/** A connection, as far as `callRpc` needs one (a libp2p `Connection` is one). */
export interface RpcConnection {
  newStream(
    protocols: string | string[],
    options?: { signal?: AbortSignal; negotiateFully?: boolean },
  ): Promise<Stream>;
}

/** What `{ok}` / `{err}` add to a body; an error message is cut to `MAX_ERROR_MESSAGE` characters. */
const RESPONSE_OVERHEAD = 16;
const MAX_ERROR_MESSAGE = 512;
const ERROR_FRAME = 1024;
/** A varint of a frame length: 5 bytes cover 2^35, far past any operation's limit. */
const MAX_VARINT_BYTES = 5;
/** The request id after the length. */
const ID_BYTES = 4;
/** Answers a server may queue for a peer that does not read them, beyond its in-flight handlers' answers. */
const WRITE_SLACK = 64 * 1024;

/** The largest response body (the CBOR envelope) a caller of `op` reads. */
export function responseFrameLimit(op: RpcOp): number {
  return Math.max(op.maxResponse + RESPONSE_OVERHEAD, ERROR_FRAME);
}

// ---- framing ------------------------------------------------------------------------------------

/** `varint(4 + body.length) || id (u32, big-endian) || body`. */
export function encodeFrame(id: number, body: Uint8Array): Uint8Array {
  let n = ID_BYTES + body.length;
  let headerLength = 1;
  for (let m = n; m >= 128; m = Math.floor(m / 128)) headerLength++;
  const frame = new Uint8Array(headerLength + ID_BYTES + body.length);
  let i = 0;
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    frame[i++] = b;
  } while (n > 0);
  frame[i++] = (id >>> 24) & 0xff;
  frame[i++] = (id >>> 16) & 0xff;
  frame[i++] = (id >>> 8) & 0xff;
  frame[i++] = id & 0xff;
  frame.set(body, i);
  return frame;
}

function chunkBytes(chunk: Uint8Array | { subarray(): Uint8Array }): Uint8Array {
  return chunk instanceof Uint8Array ? chunk : chunk.subarray();
}

/** What a `FrameReader` reports; after `tooLarge` or `malformed` it reads nothing more. */
export interface FrameSink {
  frame(id: number, body: Uint8Array): void;
  /** The declared body exceeds the limit (nothing of it was read). */
  tooLarge(id: number): void;
  /** `id` when it was read before the frame turned out malformed. */
  malformed(id: number | undefined, reason: string): void;
}

const HEADER = 0;
const ID = 1;
const BODY = 2;
const DEAD = 3;

/**
 * Splits a byte stream into frames as chunks arrive, holding at most one frame body of at most
 * `maxBody` bytes. Synchronous: the sink runs inside `push`.
 */
export class FrameReader {
  private state = HEADER;
  private length = 0;
  private headerBytes = 0;
  private id = 0;
  private idBytes = 0;
  private body = new Uint8Array(0);
  private filled = 0;
  /** Frames completed so far. */
  frames = 0;

  constructor(
    private readonly maxBody: number,
    private readonly sink: FrameSink,
  ) {}

  /** In the middle of a frame. */
  get partial(): boolean {
    return this.state !== DEAD && (this.state !== HEADER || this.headerBytes > 0);
  }

  /** The id of the frame under way, if its id has been read. */
  get partialId(): number | undefined {
    return this.state === BODY ? this.id : undefined;
  }

  get dead(): boolean {
    return this.state === DEAD;
  }

  /** Stops reading (what arrives later is ignored). */
  kill(): void {
    this.state = DEAD;
  }

  push(bytes: Uint8Array): void {
    let i = 0;
    while (i < bytes.length && this.state !== DEAD) {
      if (this.state === HEADER) {
        const b = bytes[i++]!;
        if (this.headerBytes === MAX_VARINT_BYTES) {
          this.fail(undefined, 'bad length');
          return;
        }
        this.length += (b & 0x7f) * 2 ** (7 * this.headerBytes);
        this.headerBytes++;
        if ((b & 0x80) === 0) {
          if (b === 0 && this.headerBytes > 1) {
            this.fail(undefined, 'bad length');
            return;
          }
          if (this.length < ID_BYTES) {
            this.fail(undefined, 'no request id');
            return;
          }
          this.state = ID;
          this.id = 0;
          this.idBytes = 0;
        }
      } else if (this.state === ID) {
        this.id = this.id * 256 + bytes[i++]!;
        if (++this.idBytes < ID_BYTES) continue;
        const bodyLength = this.length - ID_BYTES;
        if (bodyLength > this.maxBody) {
          this.state = DEAD;
          this.sink.tooLarge(this.id);
          return;
        }
        if (bytes.length - i >= bodyLength) {
          // The whole body is in this chunk (the common case): one copy, no staging buffer. A copy
          // into a plain Uint8Array: the chunk may be a Node Buffer (whose `slice` is a view into a
          // pooled allocation).
          const body = new Uint8Array(bodyLength);
          body.set(bytes.subarray(i, i + bodyLength));
          i += bodyLength;
          this.complete(body);
        } else {
          this.body = new Uint8Array(bodyLength);
          this.filled = 0;
          this.state = BODY;
        }
      } else {
        const n = Math.min(this.body.length - this.filled, bytes.length - i);
        this.body.set(bytes.subarray(i, i + n), this.filled);
        this.filled += n;
        i += n;
        if (this.filled === this.body.length) {
          const body = this.body;
          this.body = new Uint8Array(0);
          this.complete(body);
        }
      }
    }
  }

  private complete(body: Uint8Array): void {
    this.state = HEADER;
    this.length = 0;
    this.headerBytes = 0;
    this.frames++;
    this.sink.frame(this.id, body);
  }

  private fail(id: number | undefined, reason: string): void {
    this.state = DEAD;
    this.sink.malformed(id, reason);
  }
}

/**
 * Writes frames in order, waiting for `stream.onDrain()` whenever `send` says the stream is full.
 * `overflow` is called (once the queue exceeds `cap` bytes) for a peer that does not read.
 */
class FrameWriter {
  private readonly queue: Uint8Array[] = [];
  private queued = 0;
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly stream: Stream,
    private readonly cap: number,
    private readonly overflow: () => void,
  ) {}

  write(frame: Uint8Array): void {
    if (this.flushing === undefined) {
      try {
        if (this.stream.send(frame)) return;
      } catch {
        return; // Closed for writing: the stream's close handler settles whoever waits.
      }
      this.flushing = this.flush();
      return;
    }
    this.queue.push(frame);
    this.queued += frame.length;
    if (this.queued > this.cap) this.overflow();
  }

  /** Resolves once everything written so far has been handed to the stream. */
  async flushed(): Promise<void> {
    while (this.flushing !== undefined) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      for (;;) {
        await this.stream.onDrain();
        let blocked = false;
        while (this.queue.length > 0 && !blocked) {
          const frame = this.queue.shift()!;
          this.queued -= frame.length;
          blocked = !this.stream.send(frame);
        }
        if (!blocked) return;
      }
    } catch {
      this.queue.length = 0;
      this.queued = 0;
    } finally {
      this.flushing = undefined;
    }
  }
}

// ---- response envelope --------------------------------------------------------------------------

function encodeOk(body: Uint8Array): Uint8Array {
  return encodeCbor({ ok: body });
}

function encodeErr(code: ErrorCode, message: string): Uint8Array {
  return encodeCbor({ err: { code, message: message.slice(0, MAX_ERROR_MESSAGE) } });
}

function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ErrorCodes, code);
}

/** The `ok` body, or the `err` rethrown as a `DreggError`; `E_DECODE` for anything else. */
function decodeResponse(frame: Uint8Array, op: RpcOp): Uint8Array {
  const value = decodeCbor(frame, 'rpc response');
  if (isCborMap(value) && Object.keys(value).length === 1) {
    const { ok, err } = value;
    if (ok instanceof Uint8Array) {
      if (ok.length > op.maxResponse) {
        throw new DreggError('E_TOO_LARGE', `Response to ${op.name} exceeds ${op.maxResponse} bytes`);
      }
      return ok;
    }
    if (isCborMap(err) && Object.keys(err).length === 2) {
      const { code, message } = err;
      if (typeof code === 'string' && typeof message === 'string') {
        const text = message.slice(0, MAX_ERROR_MESSAGE);
        // A code this build does not know (a newer relay) is still reported, as an internal error.
        if (isErrorCode(code)) throw new DreggError(code, text);
        throw new DreggError('E_INTERNAL', `Relay answered an unknown error code (${code.slice(0, 32)})`);
      }
    }
  }
  throw new DreggError('E_DECODE', 'Malformed rpc response');
}

// ---- server -------------------------------------------------------------------------------------

interface PeerState {
  inFlight: number;
  tokens: number;
  /** When `tokens` was last topped up (ms). */
  at: number;
}

/** Per-peer admission for one operation: a token bucket and an in-flight cap. */
class Admission {
  private readonly peers = new Map<string, PeerState>();

  constructor(private readonly limits: NetLimits) {}

  admit(peer: string, now: number): boolean {
    let s = this.peers.get(peer);
    if (s === undefined) {
      if (this.peers.size >= 4 * this.limits.maxConnections) this.sweep(now);
      s = { inFlight: 0, tokens: this.limits.rpcBurst, at: now };
      this.peers.set(peer, s);
    }
    this.refill(s, now);
    if (s.inFlight >= this.limits.rpcInFlightPerPeer || s.tokens < 1) return false;
    s.tokens -= 1;
    s.inFlight += 1;
    return true;
  }

  release(peer: string): void {
    const s = this.peers.get(peer);
    if (s !== undefined) s.inFlight -= 1;
  }

  private refill(s: PeerState, now: number): void {
    const rate = this.limits.rpcRatePerSecond / 1000;
    s.tokens = Math.min(this.limits.rpcBurst, s.tokens + (now - s.at) * rate);
    s.at = now;
  }

  /** Forgets idle peers whose bucket has refilled: they are indistinguishable from new ones. */
  private sweep(now: number): void {
    for (const [peer, s] of this.peers) {
      this.refill(s, now);
      if (s.inFlight === 0 && s.tokens >= this.limits.rpcBurst) this.peers.delete(peer);
    }
  }
}

export interface ServeRpcOptions {
  readonly observer?: RpcObserver;
  readonly limits?: Partial<NetLimits>;
}

function notify(fn: (() => void) | undefined): void {
  try {
    fn?.();
  } catch {
    // An observer's failure never changes what is served.
  }
}

/** Registers `handler` for `op` on `node`. */
export async function serveRpc(
  node: Libp2p,
  op: RpcOp,
  handler: RpcHandler,
  o: ServeRpcOptions = {},
): Promise<void> {
  const limits = netLimits(o.limits);
  const admission = new Admission(limits);
  const timeoutMs = op.timeoutMs ?? limits.rpcTimeoutMs;
  const observer = o.observer;
  const dropped = (reason: string): void =>
    notify(observer?.dropped === undefined ? undefined : () => observer.dropped!(op.name, reason));
  const served = (outcome: string, started: number): void => {
    const ms = Date.now() - started;
    notify(observer?.served === undefined ? undefined : () => observer.served!(op.name, outcome, ms));
  };

  /** One stream: many requests, answered as their handlers finish. */
  const serve = (stream: Stream, peerId: string): void => {
    // Frames are consumed as they arrive; this caps only what libp2p holds before our listener runs.
    stream.maxReadBufferLength = Math.max(MAX_VARINT_BYTES + ID_BYTES + op.maxRequest, 1 << 20);
    let dead = false;
    let remoteDone = false;
    /** Requests read and not yet answered. */
    let owed = 0;
    let frameTimer: ReturnType<typeof setTimeout> | undefined;
    let frameTimerSeq = -1;

    const reset = (why: string): void => {
      if (!dead) {
        dead = true;
        reader.kill();
        stream.abort(new Error(why));
      }
      clearTimeout(frameTimer);
    };
    const writer = new FrameWriter(
      stream,
      limits.rpcInFlightPerPeer * (responseFrameLimit(op) + MAX_VARINT_BYTES + ID_BYTES) + WRITE_SLACK,
      () => reset('rpc peer does not read its answers'),
    );
    /** Closes our side once every request read has been answered and the peer will send no more. */
    const maybeFinish = (): void => {
      if (dead || !remoteDone || owed > 0) return;
      dead = true;
      clearTimeout(frameTimer);
      writer
        .flushed()
        .then(() => stream.close({ signal: AbortSignal.timeout(1000) }))
        .catch(() => stream.abort(new Error('rpc stream not closed')));
    };
    const answer = (id: number, body: Uint8Array): void => {
      owed--;
      if (!dead) writer.write(encodeFrame(id, body));
      maybeFinish();
    };
    /** Answers `id`, then closes and resets: after a frame it cannot read, the stream cannot resync. */
    const answerAndReset = (id: number, body: Uint8Array, why: string): void => {
      if (dead) return;
      writer.write(encodeFrame(id, body));
      dead = true;
      clearTimeout(frameTimer);
      writer
        .flushed()
        .then(() => stream.close({ signal: AbortSignal.timeout(1000) }))
        .catch(() => undefined)
        .finally(() => stream.abort(new Error(why)));
    };

    const run = (id: number, request: Uint8Array, started: number): void => {
      const deadline = new AbortController();
      let answered = false;
      // The handler runs to completion even past the deadline (it holds its peer's in-flight slot
      // until then); the caller is answered E_TIMEOUT at the deadline.
      const timer = setTimeout(() => {
        deadline.abort();
        if (answered) return;
        answered = true;
        answer(id, encodeErr('E_TIMEOUT', `${op.name} did not finish in time`));
        served('E_TIMEOUT', started);
      }, timeoutMs);
      const settle = (outcome: string, body: Uint8Array): void => {
        admission.release(peerId);
        clearTimeout(timer);
        if (answered) return;
        answered = true;
        answer(id, body);
        served(outcome, started);
      };
      (async () => handler(request, { peerId }, { signal: deadline.signal }))().then(
        (result) => {
          if (!(result instanceof Uint8Array))
            settle('E_INTERNAL', encodeErr('E_INTERNAL', ErrorCodes.E_INTERNAL));
          else if (result.length > op.maxResponse)
            settle('E_TOO_LARGE', encodeErr('E_TOO_LARGE', `The answer to ${op.name} exceeds its limit`));
          else settle('ok', encodeOk(result));
        },
        (e: unknown) => {
          if (e instanceof DreggError) settle(e.code, encodeErr(e.code, e.message));
          else settle('E_INTERNAL', encodeErr('E_INTERNAL', ErrorCodes.E_INTERNAL));
        },
      );
    };

    const reader = new FrameReader(op.maxRequest, {
      frame(id, request) {
        owed++;
        const started = Date.now();
        if (!admission.admit(peerId, started)) {
          dropped('rate-limited');
          answer(id, encodeErr('E_RATE_LIMITED', `Too many ${op.name} requests; retry later`));
          return;
        }
        run(id, request, started);
      },
      tooLarge(id) {
        dropped('too-large');
        answerAndReset(
          id,
          encodeErr('E_TOO_LARGE', `rpc request exceeds ${op.maxRequest} bytes`),
          'rpc request too large',
        );
      },
      malformed(id, reason) {
        dropped('malformed');
        if (id === undefined) reset(`malformed rpc request: ${reason}`);
        else
          answerAndReset(
            id,
            encodeErr('E_DECODE', `Malformed rpc request: ${reason}`),
            'malformed rpc request',
          );
      },
    });

    stream.addEventListener('message', (evt) => {
      if (dead) return;
      reader.push(chunkBytes(evt.data));
      if (dead) return;
      // A frame begun must be complete within the deadline (a peer trickling bytes holds nothing long).
      if (!reader.partial) {
        clearTimeout(frameTimer);
        frameTimer = undefined;
      } else if (frameTimer === undefined || frameTimerSeq !== reader.frames) {
        clearTimeout(frameTimer);
        frameTimerSeq = reader.frames;
        frameTimer = setTimeout(() => {
          dropped('timeout');
          reset('rpc request timed out');
        }, timeoutMs);
      }
    });
    stream.addEventListener('remoteCloseWrite', () => {
      // Deferred: data that arrived with the close is dispatched first.
      setTimeout(() => {
        if (dead) return;
        remoteDone = true;
        if (reader.partial) {
          const id = reader.partialId;
          dropped('malformed');
          if (id === undefined) {
            reset('malformed rpc request: truncated');
            return;
          }
          reader.kill();
          owed++;
          answer(id, encodeErr('E_DECODE', 'Malformed rpc request: truncated'));
          return;
        }
        maybeFinish();
      }, 0);
    });
    stream.addEventListener('close', (evt) => {
      if (!dead && evt.error !== undefined) dropped('reset');
      dead = true;
      reader.kill();
      clearTimeout(frameTimer);
    });
  };

  await node.handle(
    rpcProtocol(op),
    (stream, connection) => {
      try {
        serve(stream, connection.remotePeer.toString());
      } catch {
        stream.abort(new Error('rpc failed'));
      }
    },
    { maxInboundStreams: limits.rpcMaxInboundStreams },
  );
}

// ---- client -------------------------------------------------------------------------------------

export interface CallRpcOptions {
  /** Cancels the call (reported as `E_TIMEOUT`). */
  readonly signal?: AbortSignal;
  /** Overrides the operation's deadline. */
  readonly timeoutMs?: number;
}

function isConnection(target: unknown): target is RpcConnection {
  return typeof (target as RpcConnection | null)?.newStream === 'function';
}

const unreachable = (op: RpcOp): DreggError =>
  new DreggError('E_UNREACHABLE', `Could not reach ${op.name} on the peer, or the stream broke`);

const timedOut = (op: RpcOp): DreggError => new DreggError('E_TIMEOUT', `${op.name} timed out`);

/** How a failure to open or negotiate a stream reads to our callers. */
function openError(e: unknown, op: RpcOp, signal: AbortSignal): DreggError {
  if (signal.aborted) return timedOut(op);
  if (e instanceof Error && e.name === 'UnsupportedProtocolError') {
    return new DreggError('E_UNSUPPORTED', `The peer does not serve ${rpcProtocol(op)}`);
  }
  return unreachable(op);
}

interface Pending {
  ok(body: Uint8Array): void;
  fail(error: DreggError): void;
}

/** The caller's end of one (connection, operation) stream, with its calls in flight by id. */
class Channel {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private stream: Stream | undefined;
  private writer: FrameWriter | undefined;
  private reader: FrameReader | undefined;
  closed = false;
  readonly ready: Promise<void>;

  constructor(
    connection: RpcConnection,
    private readonly op: RpcOp,
    private readonly gone: (channel: Channel) => void,
  ) {
    this.ready = this.open(connection);
    this.ready.catch(() => undefined);
  }

  private async open(connection: RpcConnection): Promise<void> {
    const signal = AbortSignal.timeout(this.op.timeoutMs ?? DEFAULT_NET_LIMITS.rpcTimeoutMs);
    let stream: Stream;
    try {
      stream = await connection.newStream(rpcProtocol(this.op), { signal, negotiateFully: false });
    } catch (e) {
      this.close();
      throw openError(e, this.op, signal);
    }
    if (this.closed) {
      stream.abort(new Error('rpc channel closed'));
      throw unreachable(this.op);
    }
    const op = this.op;
    const reader = new FrameReader(responseFrameLimit(op), {
      frame: (id, body) => {
        // A late answer to a call that timed out finds nobody and is dropped.
        const p = this.pending.get(id);
        if (p === undefined) return;
        let value: Uint8Array;
        try {
          value = decodeResponse(body, op);
        } catch (e) {
          p.fail(e instanceof DreggError ? e : new DreggError('E_DECODE', 'Malformed rpc response'));
          return;
        }
        p.ok(value);
      },
      tooLarge: (id) => {
        this.pending
          .get(id)
          ?.fail(new DreggError('E_TOO_LARGE', `Response to ${op.name} exceeds ${op.maxResponse} bytes`));
        this.close();
      },
      malformed: (id, reason) => {
        if (id !== undefined)
          this.pending.get(id)?.fail(new DreggError('E_DECODE', `Malformed rpc response: ${reason}`));
        this.close();
      },
    });
    this.stream = stream;
    this.reader = reader;
    this.writer = new FrameWriter(stream, Number.POSITIVE_INFINITY, () => undefined);
    stream.addEventListener('message', (evt) => {
      if (!this.closed) reader.push(chunkBytes(evt.data));
    });
    // The peer will answer nothing more: deferred, so that data which came with the close is read.
    stream.addEventListener('remoteCloseWrite', () => setTimeout(() => this.close(), 0));
    stream.addEventListener('close', () => this.close());
  }

  /** Sends one request; settles with the decoded `ok` body or a `DreggError`. */
  call(request: Uint8Array, timeoutMs: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      let id: number | undefined;
      let settled = false;
      const finish = (): boolean => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (id !== undefined) this.pending.delete(id);
        return true;
      };
      const onAbort = (): void => {
        if (finish()) reject(timedOut(this.op));
      };
      const timer = setTimeout(onAbort, timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      const send = (): void => {
        if (settled) return;
        if (this.closed || this.writer === undefined) {
          if (finish()) reject(unreachable(this.op));
          return;
        }
        do id = this.nextId = (this.nextId + 1) >>> 0;
        while (this.pending.has(id));
        this.pending.set(id, {
          ok: (body) => {
            if (finish()) resolve(body);
          },
          fail: (error) => {
            if (finish()) reject(error);
          },
        });
        this.writer.write(encodeFrame(id, request));
      };
      if (signal?.aborted) onAbort();
      else if (this.writer !== undefined) send();
      else
        this.ready.then(send, (e: unknown) => {
          if (finish()) reject(e instanceof DreggError ? e : unreachable(this.op));
        });
    });
  }

  /** The stream is done with: every call still waiting fails (E_UNREACHABLE unless told otherwise). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.gone(this);
    const partial = this.reader?.partialId;
    this.reader?.kill();
    if (partial !== undefined)
      this.pending.get(partial)?.fail(new DreggError('E_DECODE', 'Malformed rpc response: truncated'));
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.fail(unreachable(this.op));
    if (this.stream !== undefined && this.stream.status === 'open')
      this.stream.abort(new Error('rpc channel closed'));
  }
}

/** Open channels per connection, by protocol; a channel leaves when its stream or connection closes. */
const channels = new WeakMap<RpcConnection, Map<string, Channel>>();

function channelFor(connection: RpcConnection, op: RpcOp): Channel {
  let byProtocol = channels.get(connection);
  if (byProtocol === undefined) {
    byProtocol = new Map();
    channels.set(connection, byProtocol);
  }
  const protocol = rpcProtocol(op);
  let channel = byProtocol.get(protocol);
  if (channel === undefined || channel.closed) {
    const map = byProtocol;
    channel = new Channel(connection, op, (c) => {
      if (map.get(protocol) === c) map.delete(protocol);
    });
    byProtocol.set(protocol, channel);
  }
  return channel;
}

/** An open, unlimited connection to `peer` (direct ones first), if there is one. */
function openConnection(node: Libp2p, peer: PeerId): Connection | undefined {
  let found: Connection | undefined;
  for (const c of node.getConnections(peer)) {
    if (c.status !== 'open' || c.limits != null) continue;
    if (c.direct) return c;
    found ??= c;
  }
  return found;
}

/**
 * Calls `op` on `target` (a peer id or multiaddr, over a connection already open to it or dialled, or
 * an open connection) and returns the `ok` body. Throws the server's error code and message as a
 * `DreggError`; `E_TOO_LARGE` for a request or response over the operation's limit; `E_TIMEOUT` at the
 * deadline or on `signal`; `E_UNSUPPORTED` if the peer does not serve the operation; `E_UNREACHABLE`
 * if it cannot be reached or the stream breaks; `E_DECODE` for a malformed response.
 */
export async function callRpc(
  node: Libp2p,
  target: PeerId | Multiaddr | RpcConnection,
  op: RpcOp,
  request: Uint8Array,
  o: CallRpcOptions = {},
): Promise<Uint8Array> {
  if (!(request instanceof Uint8Array)) throw new DreggError('E_ARGUMENT', 'An rpc request is bytes');
  if (request.length > op.maxRequest) {
    throw new DreggError('E_TOO_LARGE', `Request to ${op.name} exceeds ${op.maxRequest} bytes`);
  }
  const timeoutMs = o.timeoutMs ?? op.timeoutMs ?? DEFAULT_NET_LIMITS.rpcTimeoutMs;
  if (o.signal?.aborted) throw timedOut(op);
  let connection: RpcConnection | undefined = isConnection(target)
    ? target
    : isPeerId(target)
      ? openConnection(node, target)
      : undefined;
  let remaining = timeoutMs;
  if (connection === undefined) {
    const started = Date.now();
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = o.signal === undefined ? timeout : AbortSignal.any([o.signal, timeout]);
    try {
      connection = await node.dial(target as PeerId | Multiaddr, { signal });
    } catch (e) {
      throw openError(e, op, signal);
    }
    remaining = Math.max(1, timeoutMs - (Date.now() - started));
  }
  return channelFor(connection, op).call(request, remaining, o.signal);
}

/**
 * Request/response over libp2p: the machinery of the client<->relay contract (./contract.ts names the
 * operations). One libp2p protocol per operation, `/cipherclerk/1/<op>`; one stream carries exactly one
 * request frame from the caller and one response frame back. A frame is an unsigned LEB128 varint
 * length followed by that many bytes (the framing of it-length-prefixed and of most libp2p protocols).
 *
 * The request frame is the operation's own bytes. The response frame is deterministic CBOR, either
 * `{ok: bytes}` or `{err: {code, message}}` with one of our stable error codes, so a handler's
 * `DreggError` reaches the caller as the same code and message; any other failure is reported as
 * `E_INTERNAL` with a generic message (the exception itself stays on the server, unlogged: it may
 * hold secrets).
 *
 * Every read is bounded: the declared length is checked against the operation's limit before a byte of
 * the body is accepted, and the stream's own read buffer is capped to the frame, so a peer cannot make
 * either side buffer more than the limit. Both sides have deadlines. A server admits a request only if
 * its peer has a token in its bucket and fewer than `rpcInFlightPerPeer` requests of this operation in
 * flight (`E_RATE_LIMITED` otherwise); libp2p's `maxInboundStreams` caps streams per connection. No
 * stream error, reset or malformed frame rejects a promise that nobody awaits.
 */
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface';
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
  /** A handler ran: `outcome` is 'ok' or the error code answered; `ms` from stream open to answer. */
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

/** The largest response frame a caller of `op` reads. */
export function responseFrameLimit(op: RpcOp): number {
  return Math.max(op.maxResponse + RESPONSE_OVERHEAD, ERROR_FRAME);
}

// ---- framing ------------------------------------------------------------------------------------

export function encodeFrame(body: Uint8Array): Uint8Array {
  let n = body.length;
  const header: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    header.push(b);
  } while (n > 0);
  const frame = new Uint8Array(header.length + body.length);
  frame.set(header);
  frame.set(body, header.length);
  return frame;
}

function chunkBytes(chunk: Uint8Array | { subarray(): Uint8Array }): Uint8Array {
  return chunk instanceof Uint8Array ? chunk : chunk.subarray();
}

/**
 * Reads exactly one frame of at most `max` bytes and nothing after it in the same chunk.
 * `E_TOO_LARGE` as soon as the declared length exceeds `max`; `E_DECODE` for a malformed varint,
 * trailing bytes or an end of stream before the frame is complete.
 */
async function readFrame(stream: Stream, max: number, what: string): Promise<Uint8Array> {
  let length = 0;
  let headerBytes = 0;
  let body: Uint8Array | undefined;
  let filled = 0;
  for await (const chunk of stream) {
    const bytes = chunkBytes(chunk);
    let i = 0;
    while (body === undefined && i < bytes.length) {
      const b = bytes[i++]!;
      if (headerBytes === MAX_VARINT_BYTES) throw new DreggError('E_DECODE', `Malformed ${what}: bad length`);
      length += (b & 0x7f) * 2 ** (7 * headerBytes);
      headerBytes++;
      if (length > max) throw new DreggError('E_TOO_LARGE', `${what} exceeds ${max} bytes`);
      if ((b & 0x80) === 0) {
        if (b === 0 && headerBytes > 1) throw new DreggError('E_DECODE', `Malformed ${what}: bad length`);
        body = new Uint8Array(length);
      }
    }
    if (body === undefined) continue;
    const n = Math.min(length - filled, bytes.length - i);
    body.set(bytes.subarray(i, i + n), filled);
    filled += n;
    i += n;
    if (filled === length) {
      if (i < bytes.length) throw new DreggError('E_DECODE', `Malformed ${what}: bytes after the frame`);
      return body;
    }
  }
  throw new DreggError('E_DECODE', `Malformed ${what}: truncated`);
}

/** Sends one frame, waiting for the stream to drain if its buffer is full, then closes our write side. */
async function sendFrameAndClose(stream: Stream, body: Uint8Array, signal: AbortSignal): Promise<void> {
  if (!stream.send(encodeFrame(body))) await stream.onDrain({ signal });
  await stream.close({ signal });
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

  const serve = async (stream: Stream, connection: Connection): Promise<void> => {
    const started = Date.now();
    const peerId = connection.remotePeer.toString();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    // Never buffer more than one request frame, however slowly we read.
    stream.maxReadBufferLength = op.maxRequest + MAX_VARINT_BYTES;
    const answer = async (body: Uint8Array): Promise<void> => {
      try {
        await sendFrameAndClose(stream, body, deadline.signal);
      } catch {
        stream.abort(new Error('rpc response not sent'));
      }
    };
    const drop = async (reason: string, code: ErrorCode, message: string): Promise<void> => {
      notify(observer?.dropped === undefined ? undefined : () => observer.dropped!(op.name, reason));
      await answer(encodeErr(code, message));
    };

    if (!admission.admit(peerId, started)) {
      // Answered without reading the request: what arrives of it stays within the capped read buffer.
      await drop('rate-limited', 'E_RATE_LIMITED', `Too many ${op.name} requests; retry later`);
      clearTimeout(timer);
      return;
    }
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        admission.release(peerId);
      }
    };
    try {
      let request: Uint8Array;
      try {
        request = await readWithDeadline(stream, op.maxRequest, 'rpc request', deadline.signal);
      } catch (e) {
        release();
        if (deadline.signal.aborted) {
          notify(observer?.dropped === undefined ? undefined : () => observer.dropped!(op.name, 'timeout'));
          stream.abort(new Error('rpc request timed out'));
          return;
        }
        if (e instanceof DreggError && (e.code === 'E_TOO_LARGE' || e.code === 'E_DECODE')) {
          // Answered, not read further: the rest of an oversized request overflows the capped read
          // buffer, which resets the stream.
          await drop(e.code === 'E_TOO_LARGE' ? 'too-large' : 'malformed', e.code, e.message);
          return;
        }
        notify(observer?.dropped === undefined ? undefined : () => observer.dropped!(op.name, 'reset'));
        stream.abort(new Error('rpc request failed'));
        return;
      }

      // The handler runs to completion even past the deadline (it holds its peer's in-flight slot
      // until then); the caller is answered E_TIMEOUT at the deadline.
      const work = (async () => handler(request, { peerId }, { signal: deadline.signal }))();
      work.then(release, release);
      const timedOut = new Promise<'timeout'>((resolve) =>
        deadline.signal.addEventListener('abort', () => resolve('timeout'), { once: true }),
      );
      let body: Uint8Array;
      let outcome: string;
      try {
        const result = await Promise.race([work, timedOut]);
        if (result === 'timeout') {
          outcome = 'E_TIMEOUT';
          body = encodeErr('E_TIMEOUT', `${op.name} did not finish in time`);
        } else if (!(result instanceof Uint8Array)) {
          outcome = 'E_INTERNAL';
          body = encodeErr('E_INTERNAL', ErrorCodes.E_INTERNAL);
        } else if (result.length > op.maxResponse) {
          outcome = 'E_TOO_LARGE';
          body = encodeErr('E_TOO_LARGE', `The answer to ${op.name} exceeds its limit`);
        } else {
          outcome = 'ok';
          body = encodeOk(result);
        }
      } catch (e) {
        if (e instanceof DreggError) {
          outcome = e.code;
          body = encodeErr(e.code, e.message);
        } else {
          outcome = 'E_INTERNAL';
          body = encodeErr('E_INTERNAL', ErrorCodes.E_INTERNAL);
        }
      }
      if (outcome === 'E_TIMEOUT') {
        // The deadline has passed: answer under a short grace period of its own.
        await sendFrameAndClose(stream, body, AbortSignal.timeout(1000)).catch(() =>
          stream.abort(new Error('rpc response not sent')),
        );
      } else {
        await answer(body);
      }
      const ms = Date.now() - started;
      notify(observer?.served === undefined ? undefined : () => observer.served!(op.name, outcome, ms));
    } finally {
      clearTimeout(timer);
    }
  };

  await node.handle(
    rpcProtocol(op),
    (stream, connection) => {
      serve(stream, connection).catch(() => {
        try {
          stream.abort(new Error('rpc failed'));
        } catch {
          // Already closed: nothing left to release.
        }
      });
    },
    { maxInboundStreams: limits.rpcMaxInboundStreams },
  );
}

/** `readFrame`, aborting the stream (which ends the read) when `signal` fires. */
async function readWithDeadline(
  stream: Stream,
  max: number,
  what: string,
  signal: AbortSignal,
): Promise<Uint8Array> {
  if (signal.aborted) throw new DreggError('E_TIMEOUT', `${what} timed out`);
  const onAbort = (): void => stream.abort(new DreggError('E_TIMEOUT', `${what} timed out`));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await readFrame(stream, max, what);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
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

/** How a failure to open, negotiate or use a stream reads to our callers. */
function openError(e: unknown, op: RpcOp, signal: AbortSignal): DreggError {
  if (signal.aborted) return new DreggError('E_TIMEOUT', `${op.name} timed out`);
  if (e instanceof Error && e.name === 'UnsupportedProtocolError') {
    return new DreggError('E_UNSUPPORTED', `The peer does not serve ${rpcProtocol(op)}`);
  }
  return new DreggError('E_UNREACHABLE', `Could not reach ${op.name} on the peer, or the stream broke`);
}

/**
 * Calls `op` on `target` (a peer id or multiaddr to dial, or an open connection) and returns the
 * `ok` body. Throws the server's error code and message as a `DreggError`; `E_TOO_LARGE` for a request
 * or response over the operation's limit; `E_TIMEOUT` at the deadline or on `signal`; `E_UNSUPPORTED`
 * if the peer does not serve the operation; `E_UNREACHABLE` if it cannot be reached or the stream
 * breaks; `E_DECODE` for a malformed response.
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
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = o.signal === undefined ? timeout : AbortSignal.any([o.signal, timeout]);
  const protocol = rpcProtocol(op);

  let stream: Stream;
  try {
    // Optimistic protocol selection: the protocol id goes out with the request, saving a round trip;
    // a peer that does not serve it answers with a refusal the read below reports as E_UNSUPPORTED.
    stream = isConnection(target)
      ? await target.newStream(protocol, { signal, negotiateFully: false })
      : await node.dialProtocol(target, protocol, { signal, negotiateFully: false });
  } catch (e) {
    throw openError(e, op, signal);
  }
  const limit = responseFrameLimit(op);
  stream.maxReadBufferLength = limit + MAX_VARINT_BYTES;
  try {
    await sendFrameAndClose(stream, request, signal);
    const frame = await readWithDeadline(stream, limit, `response to ${op.name}`, signal);
    return decodeResponse(frame, op);
  } catch (e) {
    if (stream.status === 'open') stream.abort(new Error('rpc call failed'));
    if (e instanceof DreggError && !signal.aborted) throw e;
    throw openError(e, op, signal);
  }
}

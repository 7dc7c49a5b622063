/**
 * The CapTP wire: every frame of a session is one deterministic-CBOR map with an `op` field. The
 * decoder is strict (exact field sets, bounded numbers and lists) and fails only with `E_DECODE`
 * (not CBOR) or `E_INVALID` (CBOR, but not a message), so a session can abort cleanly on anything
 * a peer sends. The formats are documented in core/docs/captp.md; this file is their one definition.
 *
 * Descriptors are written from the sender's point of view: `export` is an object the sender exports
 * (the receiver imports it), `import` is an object the receiver exported (the sender hands it back),
 * `answer` is the receiver's answer to one of the sender's questions (a promise, for pipelining).
 */

import { isName } from '../caps/caveats.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, type ErrorCode, ErrorCodes } from '../errors.ts';

export const CAPTP_VERSION = 1;

/** Largest frame a session reads (checked by the transport before the frame is buffered). */
export const MAX_FRAME = 256 * 1024;
/** Strand ids are 0 .. MAX_STRANDS - 1: a peer cannot make us keep unbounded per-strand state. */
export const MAX_STRANDS = 64;
/** Arguments of one call. */
export const MAX_ARGS = 16;
/** Error messages on the wire are cut to this many characters. */
export const MAX_ERROR_MESSAGE = 512;
/** Table ids and question ids are unsigned 32-bit. */
const MAX_ID = 0xffff_ffff;

export type Desc =
  | { readonly t: 'export'; readonly id: number }
  | { readonly t: 'import'; readonly id: number }
  | { readonly t: 'answer'; readonly id: number };

/** What a call is sent to: always an object of the receiver's (an export of its, or an answer of its). */
export type TargetDesc = Extract<Desc, { t: 'import' | 'answer' }>;

/** A positional value: plain data, or one reference. References sit only at the top of an argument. */
export type Arg = { readonly d: CborValue } | { readonly r: Desc };

export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
}

export type Hello = {
  readonly op: 'hello';
  readonly v: number;
  readonly did: string;
  readonly nonce: Uint8Array;
  /** The epoch this side proposes: one past the last it had with any session to this peer. */
  readonly epoch: number;
};

export type Message =
  | Hello
  | { readonly op: 'auth'; readonly sig: Uint8Array }
  | {
      readonly op: 'call';
      /** Strand id and the message's sequence number on that strand (from 0, no gaps). */
      readonly s: number;
      readonly q: number;
      readonly to: TargetDesc;
      readonly m: string;
      readonly a: readonly Arg[];
      /** The question id the sender will refer to the answer by; absent for a send-only message. */
      readonly ans?: number;
    }
  | { readonly op: 'return'; readonly ans: number; readonly ok: Arg }
  | { readonly op: 'return'; readonly ans: number; readonly err: WireError }
  /** The questioner will send nothing more to this answer position: the answerer may forget it. */
  | { readonly op: 'finish'; readonly ans: number }
  /** The importer drops `n` references to export `id`: as many as it received since it last dropped. */
  | { readonly op: 'drop'; readonly id: number; readonly n: number }
  | { readonly op: 'abort'; readonly code: ErrorCode; readonly message: string };

export type Call = Extract<Message, { op: 'call' }>;

// ---- encoding ----------------------------------------------------------------------------------

function descToCbor(d: Desc): CborMap {
  return { t: d.t, id: d.id };
}

function argToCbor(a: Arg): CborMap {
  return 'd' in a ? { d: a.d } : { r: descToCbor(a.r) };
}

export function encodeMessage(m: Message): Uint8Array {
  switch (m.op) {
    case 'hello':
      return encodeCbor({ op: m.op, v: m.v, did: m.did, nonce: m.nonce, epoch: m.epoch });
    case 'auth':
      return encodeCbor({ op: m.op, sig: m.sig });
    case 'call': {
      const body: CborMap = { op: m.op, s: m.s, q: m.q, to: descToCbor(m.to), m: m.m, a: m.a.map(argToCbor) };
      if (m.ans !== undefined) body.ans = m.ans;
      return encodeCbor(body);
    }
    case 'return':
      return encodeCbor(
        'ok' in m
          ? { op: m.op, ans: m.ans, ok: argToCbor(m.ok) }
          : { op: m.op, ans: m.ans, err: { code: m.err.code, message: m.err.message } },
      );
    case 'finish':
      return encodeCbor({ op: m.op, ans: m.ans });
    case 'drop':
      return encodeCbor({ op: m.op, id: m.id, n: m.n });
    case 'abort':
      return encodeCbor({ op: m.op, code: m.code, message: m.message });
  }
}

// ---- strict decoding ---------------------------------------------------------------------------

function bad(why: string): never {
  throw new DreggError('E_INVALID', `Malformed CapTP message: ${why}`);
}

function fields(
  v: CborValue | undefined,
  required: readonly string[],
  optional: readonly string[] = [],
): CborMap {
  if (!isCborMap(v)) return bad('expected a map');
  const keys = Object.keys(v);
  for (const k of required) if (!Object.hasOwn(v, k)) bad(`missing field "${k}"`);
  for (const k of keys) if (!required.includes(k) && !optional.includes(k)) bad(`unexpected field "${k}"`);
  return v;
}

function uint(v: CborValue | undefined, max: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) bad(`${what} out of range`);
  return v;
}

function bytes(v: CborValue | undefined, length: number, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) bad(`${what} must be ${length} bytes`);
  return v;
}

function text(v: CborValue | undefined, max: number, what: string): string {
  if (typeof v !== 'string' || v.length > max) bad(`${what} must be text of at most ${max} characters`);
  return v;
}

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ErrorCodes, code);
}

/** An unknown code (a newer peer) is kept as `E_INTERNAL`: the message still says what happened. */
function errorCode(v: CborValue | undefined): ErrorCode {
  if (typeof v !== 'string' || v.length > 64) bad('error code must be short text');
  return isErrorCode(v) ? v : 'E_INTERNAL';
}

function desc(v: CborValue | undefined): Desc {
  const m = fields(v, ['t', 'id']);
  const id = uint(m.id, MAX_ID, 'descriptor id');
  if (m.t === 'export' || m.t === 'import' || m.t === 'answer') return { t: m.t, id };
  return bad('unknown descriptor type');
}

function arg(v: CborValue | undefined): Arg {
  if (!isCborMap(v)) return bad('an argument must be a map');
  if (Object.hasOwn(v, 'd')) return { d: fields(v, ['d']).d! };
  return { r: desc(fields(v, ['r']).r) };
}

/** Decodes one frame; `E_DECODE` or `E_INVALID` for anything that is not a well-formed message. */
export function decodeMessage(frame: Uint8Array): Message {
  const v = decodeCbor(frame, 'CapTP message');
  if (!isCborMap(v)) return bad('expected a map');
  switch (v.op) {
    case 'hello': {
      const m = fields(v, ['op', 'v', 'did', 'nonce', 'epoch']);
      return {
        op: 'hello',
        v: uint(m.v, MAX_ID, 'version'),
        did: text(m.did, 128, 'did'),
        nonce: bytes(m.nonce, 32, 'nonce'),
        epoch: uint(m.epoch, Number.MAX_SAFE_INTEGER, 'epoch'),
      };
    }
    case 'auth':
      return { op: 'auth', sig: bytes(fields(v, ['op', 'sig']).sig, 64, 'signature') };
    case 'call': {
      const m = fields(v, ['op', 's', 'q', 'to', 'm', 'a'], ['ans']);
      const to = desc(m.to);
      if (to.t === 'export') bad('a call goes to an object of the receiver');
      if (!isName(m.m)) bad('method must be a name');
      if (!Array.isArray(m.a) || m.a.length > MAX_ARGS) bad(`at most ${MAX_ARGS} arguments`);
      const call: Call = {
        op: 'call',
        s: uint(m.s, MAX_STRANDS - 1, 'strand'),
        q: uint(m.q, Number.MAX_SAFE_INTEGER, 'sequence number'),
        to,
        m: m.m,
        a: m.a.map(arg),
        ...(m.ans === undefined ? {} : { ans: uint(m.ans, MAX_ID, 'question id') }),
      };
      return call;
    }
    case 'return': {
      if (Object.hasOwn(v, 'ok')) {
        const m = fields(v, ['op', 'ans', 'ok']);
        return { op: 'return', ans: uint(m.ans, MAX_ID, 'question id'), ok: arg(m.ok) };
      }
      const m = fields(v, ['op', 'ans', 'err']);
      const e = fields(m.err, ['code', 'message']);
      return {
        op: 'return',
        ans: uint(m.ans, MAX_ID, 'question id'),
        err: { code: errorCode(e.code), message: text(e.message, MAX_ERROR_MESSAGE, 'error message') },
      };
    }
    case 'finish':
      return { op: 'finish', ans: uint(fields(v, ['op', 'ans']).ans, MAX_ID, 'question id') };
    case 'drop': {
      const m = fields(v, ['op', 'id', 'n']);
      return { op: 'drop', id: uint(m.id, MAX_ID, 'export id'), n: uint(m.n, MAX_ID, 'count') };
    }
    case 'abort': {
      const m = fields(v, ['op', 'code', 'message']);
      return { op: 'abort', code: errorCode(m.code), message: text(m.message, MAX_ERROR_MESSAGE, 'message') };
    }
    default:
      return bad('unknown op');
  }
}

/** The wire form of an error: our code and message, or a generic one for anything else (it may hold secrets). */
export function wireError(e: unknown): WireError {
  if (e instanceof DreggError) return { code: e.code, message: e.message.slice(0, MAX_ERROR_MESSAGE) };
  return { code: 'E_INTERNAL', message: ErrorCodes.E_INTERNAL };
}

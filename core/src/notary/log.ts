/**
 * The notary's log: one event per thing that changed the ledger, in the order the relay applied them.
 * Refused turns are not events. Every event carries an idempotency key, so a submission seen twice is
 * found again rather than appended twice.
 *
 * Event (deterministic CBOR map, see core/docs/notary.md):
 *
 *   v     1
 *   seq   position in the log, from 0, gap-free
 *   kind  "turn" | "issue" | "register" | "proved"
 *   key   idempotency key, 32 bytes: the turn's hash (turn, proved), the new cell's id (issue), the
 *         genesis commitment of a cell made proved (register)
 *   agent the acting agent (turn, proved), the cell's owner (issue, register): a did:key
 *   cell  the acting cell (turn, proved), the new or registered cell (issue, register): 64 hex digits
 *   rcpt  hash of the receipt the relay signed (turn, proved), null (issue, register)
 *   iss   computrons that entered the ledger with this event (genesis, bridge mints)
 *   dst   computrons that left it (burns, fees without a fee cell, finalized bridge locks)
 *   at    Unix seconds when the relay applied it
 *
 * The log's Merkle tree is the RFC 9162 log of core/src/crypto/merkle-log.ts under the notary's
 * contexts, over event digests: digest = H_notaryEvent(CBOR event), leaf = H_notaryLeaf(seq || digest),
 * root = H_notaryRoot(height || MTH).
 *
 * The kinds "register" and "proved" (the private path, core/docs/notary.md) came after version 1 and
 * did not bump it: every event a version-1 log held decodes exactly as before, and a reader that
 * predates them refuses the new kinds rather than misreading them.
 */
import { DID_SHAPE } from '../caps/caveats.ts';
import { hashFor } from '../crypto/hash.ts';
import { merkleLog } from '../crypto/merkle-log.ts';
import { toHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, decoding } from '../errors.ts';
import { MAX_AMOUNT } from '../turns/effects.ts';

export const LOG_VERSION = 1;

export type LogEventKind = 'turn' | 'issue' | 'register' | 'proved';
const KINDS: readonly string[] = ['turn', 'issue', 'register', 'proved'];

export interface LogEvent {
  readonly seq: number;
  readonly kind: LogEventKind;
  /** The idempotency key: the turn's hash (turn) or the issued cell's id (issue), 32 bytes. */
  readonly key: Uint8Array;
  readonly agent: string;
  readonly cell: string;
  /** The receipt's hash (turn); null for an issue. */
  readonly receipt: Uint8Array | null;
  /** Computrons that entered the ledger with this event. */
  readonly issued: bigint;
  /** Computrons that left it. */
  readonly destroyed: bigint;
  readonly at: number;
}

/** The log's Merkle tree, under the notary's own contexts. */
export const logTree = merkleLog({ leaf: 'notaryLeaf', node: 'notaryNode', root: 'notaryRoot' });

export function logEventToCbor(e: LogEvent): CborMap {
  return {
    v: LOG_VERSION,
    seq: e.seq,
    kind: e.kind,
    key: e.key,
    agent: e.agent,
    cell: e.cell,
    rcpt: e.receipt,
    iss: e.issued,
    dst: e.destroyed,
    at: e.at,
  };
}

export function encodeLogEvent(e: LogEvent): Uint8Array {
  return encodeCbor(logEventToCbor(e)).slice();
}

/** The event's digest: what the log tree's leaf commits to. */
export function logEventDigest(e: LogEvent): Uint8Array {
  return digestOfEncodedEvent(encodeLogEvent(e));
}

/** The digest of an event from its canonical encoding (for a writer that has encoded it anyway). */
export function digestOfEncodedEvent(bytes: Uint8Array): Uint8Array {
  return hashFor('notaryEvent', bytes);
}

const FIELDS = ['agent', 'at', 'cell', 'dst', 'iss', 'key', 'kind', 'rcpt', 'seq', 'v'];
const HEX64 = /^[0-9a-f]{64}$/;

function bad(what: string, why: string): never {
  throw new DreggError('E_INVALID', `Invalid ${what}: ${why}`);
}

/** Exactly `fields`, no more, no fewer. */
export function checkFields(v: CborMap, fields: readonly string[], what: string): void {
  if (Object.keys(v).length !== fields.length || !fields.every((k) => Object.hasOwn(v, k)))
    bad(what, `fields are {${fields.join(', ')}}`);
}

export function wholeNumber(v: CborValue | undefined, what: string, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    bad(what, `${field} must be a whole number`);
  return v;
}

export function amount(v: CborValue | undefined, what: string, field: string): bigint {
  const n = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof n !== 'bigint' || n < 0n || n > MAX_AMOUNT) bad(what, `${field} must be a 64-bit amount`);
  return n;
}

export function bytes(v: CborValue | undefined, length: number, what: string, field: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) bad(what, `${field} must be ${length} bytes`);
  return v;
}

export function logEventFromCbor(v: CborValue): LogEvent {
  const what = 'log event';
  if (!isCborMap(v)) bad(what, 'not a map');
  checkFields(v, FIELDS, what);
  if (v.v !== LOG_VERSION) bad(what, `unknown version ${String(v.v)}`);
  if (typeof v.kind !== 'string' || !KINDS.includes(v.kind)) bad(what, `kind is one of ${KINDS.join(', ')}`);
  if (typeof v.agent !== 'string' || !DID_SHAPE.test(v.agent)) bad(what, 'agent must be a did:key');
  if (typeof v.cell !== 'string' || !HEX64.test(v.cell)) bad(what, 'cell must be 64 hex digits');
  const event: LogEvent = {
    seq: wholeNumber(v.seq, what, 'seq'),
    kind: v.kind as LogEventKind,
    key: bytes(v.key, 32, what, 'key'),
    agent: v.agent,
    cell: v.cell,
    receipt: v.rcpt === null ? null : bytes(v.rcpt, 32, what, 'rcpt'),
    issued: amount(v.iss, what, 'iss'),
    destroyed: amount(v.dst, what, 'dst'),
    at: wholeNumber(v.at, what, 'at'),
  };
  if ((event.kind === 'turn' || event.kind === 'proved') && event.receipt === null)
    bad(what, 'a turn event names its receipt');
  if (
    (event.kind === 'proved' || event.kind === 'register') &&
    (event.issued !== 0n || event.destroyed !== 0n)
  )
    bad(what, 'the relay knows no supply movement of a proved cell');
  if (event.kind === 'register' && event.receipt !== null) bad(what, 'a register event has no receipt');
  if (
    event.kind === 'issue' &&
    (event.receipt !== null || event.destroyed !== 0n || toHex(event.key) !== event.cell)
  )
    bad(what, 'an issue event is keyed by its cell, has no receipt and destroys nothing');
  return event;
}

/** Decodes a log event from outside; fails only with `E_DECODE` or `E_INVALID`. */
export function decodeLogEvent(bytes: Uint8Array): LogEvent {
  return decoding('log event', () => logEventFromCbor(decodeCbor(bytes, 'log event')));
}

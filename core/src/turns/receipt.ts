/**
 * Receipts: what an executor signs after applying a turn. One per turn, chained per agent (`prev` is
 * the hash of the agent's previous receipt, `seq` counts from 0), so an agent's history is a hash
 * chain anyone can check with `verifyReceiptChain` against the executors they trust.
 *
 * Wire form (deterministic CBOR map): {v, turn, agent, cell, seq, prev, old, new, fx, ev, res, fee,
 * burn, at, exec, sig}. `old`/`new` commit to every ledger record the turn touched, before and after.
 */

import { DID_SHAPE, isName } from '../caps/caveats.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { bytesEqual, concatBytes, toHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError, decoding } from '../errors.ts';
import type { EmittedEvent } from './context.ts';
import { type Effect, effectToCbor } from './effects.ts';

export const RECEIPT_VERSION = 1;

export interface ReceiptBody {
  /** Hash of the signed turn (hex). */
  readonly turn: string;
  readonly agent: string;
  readonly cell: string;
  readonly seq: number;
  readonly prev: string | null;
  /** Commitments to the touched records before and after the turn. */
  readonly oldState: Uint8Array;
  readonly newState: Uint8Array;
  /** Hash of the turn's effect list. */
  readonly effects: Uint8Array;
  readonly events: readonly EmittedEvent[];
  /** What each effect returned (a created id, a slot, null). */
  readonly results: readonly CborValue[];
  readonly fee: bigint;
  /** Computrons this turn took out of circulation (burns, and a fee with no fee cell). */
  readonly burned: bigint;
  /** Unix seconds at execution. */
  readonly at: number;
  /** The executor's did:key. */
  readonly executor: string;
}

export interface Receipt extends ReceiptBody {
  readonly signature: Uint8Array;
}

export function effectsHash(effects: readonly Effect[]): Uint8Array {
  return hashFor('turnEffects', encodeCbor(effects.map(effectToCbor)));
}

function bodyToCbor(r: ReceiptBody): CborMap {
  return {
    v: RECEIPT_VERSION,
    turn: r.turn,
    agent: r.agent,
    cell: r.cell,
    seq: r.seq,
    prev: r.prev,
    old: r.oldState,
    new: r.newState,
    fx: r.effects,
    ev: r.events.map((e) => ({ cell: e.cell, topic: e.topic, data: e.data })),
    res: [...r.results],
    fee: r.fee,
    burn: r.burned,
    at: r.at,
    exec: r.executor,
  };
}

const digests = new WeakMap<ReceiptBody, Uint8Array>();
const hashes = new WeakMap<Receipt, Uint8Array>();

export function receiptSigningDigest(r: ReceiptBody): Uint8Array {
  let d = digests.get(r);
  if (d === undefined) {
    d = hashFor('receiptSigning', encodeCbor(bodyToCbor(r)));
    digests.set(r, d);
  }
  return d;
}

export function receiptHash(r: Receipt): Uint8Array {
  let h = hashes.get(r);
  if (h === undefined) {
    h = hashFor('receiptHash', concatBytes(receiptSigningDigest(r), r.signature));
    hashes.set(r, h);
  }
  return h;
}

export function receiptHashHex(r: Receipt): string {
  return toHex(receiptHash(r));
}

export async function signReceipt(body: ReceiptBody, seed: Uint8Array, ed: Ed25519): Promise<Receipt> {
  const digest = receiptSigningDigest(body);
  const receipt = { ...body, signature: await ed.sign(seed, digest) };
  // The signed receipt has the body's fields, hence its digest: its hash need not encode it again.
  digests.set(receipt, digest);
  return receipt;
}

export function encodeReceipt(r: Receipt): Uint8Array {
  return encodeCbor({ ...bodyToCbor(r), sig: r.signature }).slice();
}

const FIELDS = [
  'agent',
  'at',
  'burn',
  'cell',
  'ev',
  'exec',
  'fee',
  'fx',
  'new',
  'old',
  'prev',
  'res',
  'seq',
  'sig',
  'turn',
  'v',
];
const HEX64 = /^[0-9a-f]{64}$/;

function bad(why: string): never {
  throw new DreggError('E_INVALID', `Invalid receipt: ${why}`);
}

function isEventData(v: CborValue | undefined): v is EmittedEvent['data'] {
  return (
    v === null ||
    typeof v === 'string' ||
    typeof v === 'number' ||
    typeof v === 'bigint' ||
    typeof v === 'boolean' ||
    v instanceof Uint8Array
  );
}

function bytes32(v: CborValue | undefined, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== 32) bad(`${what} must be 32 bytes`);
  return v;
}

function amount(v: CborValue | undefined, what: string): bigint {
  const n = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof n !== 'bigint' || n < 0n) bad(`${what} must be a whole number`);
  return n;
}

export function receiptFromCbor(v: CborValue): Receipt {
  if (!isCborMap(v)) bad('not a map');
  if (Object.keys(v).length !== FIELDS.length || !FIELDS.every((k) => Object.hasOwn(v, k)))
    bad(`fields are {${FIELDS.join(', ')}}`);
  if (v.v !== RECEIPT_VERSION) bad(`unknown version ${String(v.v)}`);
  for (const k of ['agent', 'exec'] as const)
    if (typeof v[k] !== 'string' || !DID_SHAPE.test(v[k])) bad(`${k} must be a did:key`);
  for (const k of ['turn', 'cell'] as const)
    if (typeof v[k] !== 'string' || !HEX64.test(v[k])) bad(`${k} must be 64 hex digits`);
  if (v.prev !== null && !(typeof v.prev === 'string' && HEX64.test(v.prev)))
    bad('prev must be a receipt hash or null');
  for (const k of ['seq', 'at'] as const)
    if (typeof v[k] !== 'number' || !Number.isSafeInteger(v[k]) || v[k] < 0)
      bad(`${k} must be a whole number`);
  if (!Array.isArray(v.ev) || !Array.isArray(v.res)) bad('events and results are lists');
  // Exactly what an executor emits, so that a receipt decodes only from its canonical encoding.
  const events = v.ev.map((e) => {
    if (
      !isCborMap(e) ||
      Object.keys(e).length !== 3 ||
      typeof e.cell !== 'string' ||
      !HEX64.test(e.cell) ||
      !isName(e.topic) ||
      !isEventData(e.data)
    )
      bad('an event is {cell, topic, data}: a cell id, a topic name, and a field value or null');
    return { cell: e.cell, topic: e.topic, data: e.data };
  });
  if (!(v.sig instanceof Uint8Array) || v.sig.length !== 64) bad('sig must be 64 bytes');
  return {
    turn: v.turn as string,
    agent: v.agent as string,
    cell: v.cell as string,
    seq: v.seq as number,
    prev: v.prev as string | null,
    oldState: bytes32(v.old, 'old'),
    newState: bytes32(v.new, 'new'),
    effects: bytes32(v.fx, 'fx'),
    events,
    results: v.res,
    fee: amount(v.fee, 'fee'),
    burned: amount(v.burn, 'burn'),
    at: v.at as number,
    executor: v.exec as string,
    signature: v.sig,
  };
}

/** Decodes a receipt from outside; fails only with `E_DECODE` or `E_INVALID`. */
export function decodeReceipt(bytes: Uint8Array): Receipt {
  return decoding('receipt', () => receiptFromCbor(decodeCbor(bytes, 'receipt')));
}

export interface ReceiptChainOptions {
  readonly ed: Ed25519;
  /** The executors (did:key) whose receipts count. */
  readonly executors: readonly string[];
  /** Where the chain must start: the hash of the receipt before the first one (null: the agent's first). */
  readonly after?: string | null;
}

/**
 * Checks an agent's receipts in order: one agent, consecutive `seq`, each `prev` the hash of the one
 * before, every signature a trusted executor's. Returns the chain head (the last receipt's hash).
 */
export async function verifyReceiptChain(
  receipts: readonly Receipt[],
  options: ReceiptChainOptions,
): Promise<string> {
  if (receipts.length === 0) throw new DreggError('E_INVALID', 'An empty receipt chain proves nothing');
  const agent = receipts[0]!.agent;
  let prev = options.after === undefined ? receipts[0]!.prev : options.after;
  let seq = receipts[0]!.seq;
  if (options.after === null && seq !== 0)
    throw new DreggError('E_INVALID', 'The chain must start at the first receipt');
  for (const [i, r] of receipts.entries()) {
    if (r.agent !== agent) throw new DreggError('E_INVALID', `Receipt ${i} belongs to another agent`);
    if (r.seq !== seq)
      throw new DreggError('E_INVALID', `Receipt ${i} has sequence ${r.seq}, expected ${seq}`);
    if (r.prev !== prev) throw new DreggError('E_INVALID', `Receipt ${i} does not follow the one before it`);
    if (!options.executors.includes(r.executor))
      throw new DreggError('E_UNTRUSTED', `Receipt ${i} was signed by an executor not trusted here`);
    if (!(await options.ed.verify(ed25519FromDidKey(r.executor), receiptSigningDigest(r), r.signature))) {
      throw new DreggError('E_BAD_SIGNATURE', `The executor's signature on receipt ${i} does not verify`);
    }
    prev = receiptHashHex(r);
    seq++;
  }
  return prev!;
}

export function sameEffects(r: ReceiptBody, effects: readonly Effect[]): boolean {
  return bytesEqual(r.effects, effectsHash(effects));
}

/**
 * A turn: one atomic state transition an agent asks for. The agent's signature covers the canonical
 * encoding of every field (PITFALLS 10) under the `turnSigning` context: the ledger it is for (no
 * replay on another ledger), the agent, the acting cell and
 * its nonce (no replay), the previous receipt (no reordering or forking of the agent's chain), every
 * effect, the fee and the deadline (no alteration).
 *
 * Wire form (deterministic CBOR map): {v, led, agent, cell, n, prev, fx, fee, until, bind?, sig}.
 */

import { DID_SHAPE } from '../caps/caveats.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { concatBytes, toHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError, decoding } from '../errors.ts';
import { type Effect, effectsFromValue, effectToCbor, MAX_AMOUNT } from './effects.ts';

export const TURN_VERSION = 1;

export interface TurnBody {
  /** The ledger (federation) the turn is for: signed, so it cannot be replayed on another ledger. */
  readonly ledger: string;
  readonly agent: string;
  /** The acting cell: its nonce must equal `nonce`, and it pays the fee. */
  readonly cell: string;
  readonly nonce: number;
  /** Hash of the agent's previous receipt (64 hex), or null for the agent's first turn. */
  readonly prev: string | null;
  readonly effects: readonly Effect[];
  readonly fee: bigint;
  /** Unix seconds after which the turn is refused. */
  readonly validUntil: number;
  /** The binding signature that proves a turn's shielded notes balance (only with note effects). */
  readonly binding?: Uint8Array;
}

export interface Turn extends TurnBody {
  readonly signature: Uint8Array;
}

const HEX64 = /^[0-9a-f]{64}$/;

function bodyToCbor(b: TurnBody, withBinding: boolean): CborMap {
  return {
    v: TURN_VERSION,
    led: b.ledger,
    agent: b.agent,
    cell: b.cell,
    n: b.nonce,
    prev: b.prev,
    fx: b.effects.map(effectToCbor),
    fee: b.fee,
    until: b.validUntil,
    bind: withBinding ? b.binding : undefined,
  } as CborMap;
}

const digests = new WeakMap<TurnBody, Uint8Array>();
const hashes = new WeakMap<Turn, Uint8Array>();

/** What the agent signs: the digest of the canonical encoding of every field of the body. */
export function turnSigningDigest(b: TurnBody): Uint8Array {
  let d = digests.get(b);
  if (d === undefined) {
    d = hashFor('turnSigning', encodeCbor(bodyToCbor(b, true)));
    digests.set(b, d);
  }
  return d;
}

/** What the binding signature signs: every field except the binding signature itself. */
export function bindingMessage(b: TurnBody): Uint8Array {
  return hashFor('turnSigning', encodeCbor(bodyToCbor(b, false)));
}

/** The turn's id: its signing digest with its signature, hashed (names this exact signed turn). */
export function turnHash(t: Turn): Uint8Array {
  let h = hashes.get(t);
  if (h === undefined) {
    h = hashFor('turnHash', concatBytes(turnSigningDigest(t), t.signature));
    hashes.set(t, h);
  }
  return h;
}

export async function signTurn(body: TurnBody, seed: Uint8Array, ed: Ed25519): Promise<Turn> {
  checkBody(body);
  return { ...body, signature: await ed.sign(seed, turnSigningDigest(body)) };
}

export async function verifyTurnSignature(t: Turn, ed: Ed25519): Promise<boolean> {
  let key: Uint8Array;
  try {
    key = ed25519FromDidKey(t.agent);
  } catch {
    return false; // No signature verifies under something that is not a key.
  }
  return ed.verify(key, turnSigningDigest(t), t.signature);
}

export function encodeTurn(t: Turn): Uint8Array {
  return encodeCbor({ ...bodyToCbor(t, true), sig: t.signature } as CborMap).slice();
}

function bad(why: string): never {
  throw new DreggError('E_INVALID', `Invalid turn: ${why}`);
}

/** Whether a did:key of the right shape decodes to a valid Ed25519 public key (cached by did-key.ts). */
function isKey(did: string): boolean {
  try {
    ed25519FromDidKey(did);
    return true;
  } catch {
    return false;
  }
}

/** Ledger names: the federation names bridges use ("local" for the n = 1 ledger). */
const LEDGER = /^[a-z0-9][a-z0-9.-]{0,62}$/;

function checkBody(b: TurnBody): void {
  if (typeof b.ledger !== 'string' || !LEDGER.test(b.ledger)) bad('ledger must be a ledger name');
  if (typeof b.agent !== 'string' || !DID_SHAPE.test(b.agent) || !isKey(b.agent))
    bad('agent must be an Ed25519 did:key');
  if (typeof b.cell !== 'string' || !HEX64.test(b.cell)) bad('cell must be a cell id (64 hex digits)');
  if (!Number.isSafeInteger(b.nonce) || b.nonce < 0) bad('nonce must be a whole number');
  if (b.prev !== null && !(typeof b.prev === 'string' && HEX64.test(b.prev)))
    bad('prev must be a receipt hash or null');
  if (typeof b.fee !== 'bigint' || b.fee < 0n || b.fee > MAX_AMOUNT)
    bad('fee must be a whole number of computrons');
  if (!Number.isSafeInteger(b.validUntil) || b.validUntil < 0) bad('validUntil must be Unix seconds');
  if (b.binding !== undefined && !(b.binding instanceof Uint8Array && b.binding.length === 64))
    bad('binding must be 64 bytes');
}

const FIELDS = ['agent', 'bind', 'cell', 'fee', 'fx', 'led', 'n', 'prev', 'sig', 'until', 'v'];

export function turnFromCbor(v: CborValue): Turn {
  if (!isCborMap(v)) bad('not a map');
  for (const k of Object.keys(v)) if (!FIELDS.includes(k)) bad(`unknown field ${k}`);
  if (v.v !== TURN_VERSION) bad(`unknown version ${String(v.v)}`);
  if (!(v.sig instanceof Uint8Array) || v.sig.length !== 64) bad('sig must be 64 bytes');
  const fee = typeof v.fee === 'number' ? BigInt(v.fee) : v.fee;
  const body: TurnBody = {
    ledger: v.led as string,
    agent: v.agent as string,
    cell: v.cell as string,
    nonce: v.n as number,
    prev: v.prev === undefined ? bad('prev is required') : (v.prev as string | null),
    effects: effectsFromValue(v.fx),
    fee: fee as bigint,
    validUntil: v.until as number,
    binding: v.bind === undefined ? undefined : (v.bind as Uint8Array),
  };
  checkBody(body);
  return { ...body, signature: v.sig };
}

/** Decodes a turn from the wire; fails only with `E_DECODE` or `E_INVALID`. */
export function decodeTurn(bytes: Uint8Array): Turn {
  return decoding('turn', () => turnFromCbor(decodeCbor(bytes, 'turn')));
}

export function turnHashHex(t: Turn): string {
  return toHex(turnHash(t));
}

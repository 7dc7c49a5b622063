/**
 * A cell: a small isolated object owned by an agent. Cells are immutable values — an effect makes a
 * new cell from the old one — so a turn's journal is a list of old references, and a cell's state
 * commitment is computed once per value.
 *
 * The canonical encoding (what the state commitment hashes, and what stores keep) is a CBOR map with
 * these fields, in this (deterministic, key-sorted) order — see core/docs/effects.md:
 *
 *   bal    balance in computrons (unsigned 64-bit)
 *   cl     c-list: [[slot, handle], ...] sorted by slot
 *   f      fields: {name: value}
 *   id     the cell id (32 bytes, hex)
 *   life   "active" | "frozen"
 *   n      nonce: the number the next turn acting as this cell must carry
 *   own    owner (did:key)
 *   perm   {effect: "anyone" | "none"} (an effect not listed is the owner's)
 *   v      format version (1)
 *   vk     an extra agent (did:key) that may act for this cell, or null
 */

import { DID_SHAPE } from '../caps/caveats.ts';
import { type Handle, handleFromCbor, handleToCbor } from '../caps/handle.ts';
import { hashFor } from '../crypto/hash.ts';
import { concatBytes, toHex, utf8 } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import {
  EFFECT_TYPES,
  type EffectType,
  type FieldValue,
  type Lifecycle,
  MAX_AMOUNT,
  MAX_SLOT,
  MAX_VALUE_BYTES,
  type Permission,
} from '../turns/effects.ts';

export const CELL_VERSION = 1;
/** Bounds that keep one cell small enough to hash, store and prove per turn. */
export const MAX_FIELDS = 64;
export const MAX_CLIST = 256;

export interface Cell {
  /** 64 hex digits: `H_cellId(owner public key || salt)`. */
  readonly id: string;
  readonly owner: string;
  readonly fields: Readonly<Record<string, FieldValue>>;
  readonly nonce: number;
  readonly balance: bigint;
  readonly clist: ReadonlyMap<number, Handle>;
  /** Exceptions to "only the owner (or a handle) may cause this effect on the cell". */
  readonly permissions: Readonly<Partial<Record<EffectType, Exclude<Permission, 'owner'>>>>;
  readonly vk: string | null;
  readonly lifecycle: Lifecycle;
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * A cell id from its owner and a 32-byte salt (hex). An agent creating a cell for itself chooses the
 * salt; a cell created for someone else gets a salt mixed with the creating turn (apply/state.ts).
 */
export function cellId(owner: string, saltHex: string): string {
  if (!HEX64.test(saltHex)) throw new DreggError('E_ARGUMENT', 'A cell salt is 32 bytes in hex');
  return toHex(hashFor('cellId', concatBytes(ed25519FromDidKey(owner), utf8.encode(saltHex))));
}

/**
 * A fresh cell. Its one default permission: anyone may grant it a capability (receiving is open, as
 * in E a reference can be passed to anyone); its owner can close that with set-permissions.
 */
export function newCell(owner: string, saltHex: string, balance = 0n): Cell {
  return {
    id: cellId(owner, saltHex),
    owner,
    fields: {},
    nonce: 0,
    balance,
    clist: new Map(),
    permissions: { 'grant-capability': 'anyone' },
    vk: null,
    lifecycle: 'active',
  };
}

/** Who may act for the cell as its owner: the owner, and the verification key's agent when set. */
export function actsAsOwner(cell: Cell, agent: string): boolean {
  return cell.owner === agent || cell.vk === agent;
}

/** The lowest free c-list slot. */
export function freeSlot(cell: Cell): number {
  if (cell.clist.size >= MAX_CLIST)
    throw new DreggError('E_INVALID', `A c-list holds at most ${MAX_CLIST} handles`);
  let slot = 0;
  while (cell.clist.has(slot)) slot++;
  return slot;
}

export function cellToCbor(c: Cell): CborMap {
  return {
    v: CELL_VERSION,
    id: c.id,
    own: c.owner,
    f: { ...c.fields },
    n: c.nonce,
    bal: c.balance,
    cl: [...c.clist.entries()].sort((a, b) => a[0] - b[0]).map(([slot, h]) => [slot, handleToCbor(h)]),
    perm: { ...c.permissions },
    vk: c.vk,
    life: c.lifecycle,
  };
}

const encodings = new WeakMap<Cell, Uint8Array>();
const commitments = new WeakMap<Cell, Uint8Array>();

export function encodeCell(c: Cell): Uint8Array {
  let e = encodings.get(c);
  if (e === undefined) {
    e = encodeCbor(cellToCbor(c)).slice();
    encodings.set(c, e);
  }
  return e;
}

/** The cell's state commitment: BLAKE3 (context `cellState`) over its canonical encoding. */
export function stateCommitment(c: Cell): Uint8Array {
  let h = commitments.get(c);
  if (h === undefined) {
    h = hashFor('cellState', encodeCell(c));
    commitments.set(c, h);
  }
  return h;
}

function bad(why: string): never {
  throw new DreggError('E_INVALID', `Invalid cell: ${why}`);
}

function fieldValue(v: CborValue): FieldValue {
  if (
    typeof v === 'string' ||
    typeof v === 'number' ||
    typeof v === 'bigint' ||
    typeof v === 'boolean' ||
    v instanceof Uint8Array
  ) {
    if (encodeCbor(v).length > MAX_VALUE_BYTES) bad('a field value is too large');
    return v;
  }
  return bad('a field value must be text, an integer, a boolean or bytes');
}

/** Validates a decoded cell (from a store or the wire); fails only with `E_INVALID`. */
export function cellFromCbor(v: CborValue): Cell {
  if (!isCborMap(v)) bad('not a map');
  const keys = ['bal', 'cl', 'f', 'id', 'life', 'n', 'own', 'perm', 'v', 'vk'];
  if (Object.keys(v).length !== keys.length || !keys.every((k) => Object.hasOwn(v, k)))
    bad(`fields are {${keys.join(', ')}}`);
  if (v.v !== CELL_VERSION) bad(`unknown version ${String(v.v)}`);
  if (typeof v.id !== 'string' || !HEX64.test(v.id)) bad('malformed id');
  if (typeof v.own !== 'string' || !DID_SHAPE.test(v.own)) bad('malformed owner');
  if (typeof v.n !== 'number' || !Number.isSafeInteger(v.n) || v.n < 0) bad('malformed nonce');
  const bal = typeof v.bal === 'number' && Number.isSafeInteger(v.bal) ? BigInt(v.bal) : v.bal;
  if (typeof bal !== 'bigint' || bal < 0n || bal > MAX_AMOUNT) bad('malformed balance');
  if (!isCborMap(v.f) || Object.keys(v.f).length > MAX_FIELDS) bad('malformed fields');
  const fields: Record<string, FieldValue> = {};
  for (const [k, x] of Object.entries(v.f)) fields[k] = fieldValue(x);
  if (!Array.isArray(v.cl) || v.cl.length > MAX_CLIST) bad('malformed c-list');
  const clist = new Map<number, Handle>();
  let last = -1;
  for (const entry of v.cl) {
    if (!Array.isArray(entry) || entry.length !== 2) bad('a c-list entry is [slot, handle]');
    const [slot, h] = entry;
    if (typeof slot !== 'number' || !Number.isInteger(slot) || slot <= last || slot > MAX_SLOT)
      bad('c-list slots must ascend');
    clist.set(slot, handleFromCbor(h));
    last = slot;
  }
  if (!isCborMap(v.perm)) bad('malformed permissions');
  const permissions: Partial<Record<EffectType, 'anyone' | 'none'>> = {};
  for (const [k, p] of Object.entries(v.perm)) {
    if (!EFFECT_TYPES.includes(k as EffectType) || (p !== 'anyone' && p !== 'none'))
      bad(`malformed permission ${k}`);
    permissions[k as EffectType] = p;
  }
  if (v.vk !== null && (typeof v.vk !== 'string' || !DID_SHAPE.test(v.vk))) bad('malformed verification key');
  if (v.life !== 'active' && v.life !== 'frozen') bad('malformed lifecycle');
  return {
    id: v.id,
    owner: v.own,
    fields,
    nonce: v.n,
    balance: bal,
    clist,
    permissions,
    vk: v.vk,
    lifecycle: v.life,
  };
}

export function decodeCell(bytes: Uint8Array): Cell {
  return cellFromCbor(decodeCbor(bytes, 'cell'));
}

/**
 * The ledger state the executor works on: one keyed map of immutable records, and the journal that
 * makes a turn atomic. Every key has a kind prefix:
 *
 *   cell:<id>              a Cell
 *   head:<did>             the agent's receipt chain head {hash, seq}
 *   chan:<id>              a revocation channel {owner, tripped}
 *   box:<id>               a sealed box {pair, handle, by, cell}
 *   note:<id>              an unspent shielded note {commitment, owner}
 *   nf:<nullifier>         a spent note's nullifier {}
 *   obl:<id>               an obligation in escrow {from, to, amount, due, asset?} (asset: a wrapped one)
 *   hold:<cell>/<asset>    a cell's holding of a wrapped asset {amount} (never 0: absent instead)
 *   lock:<id>              a bridge lock {owner, cell, amount, federation, recipient, expires, state}
 *   minted:<fed>/<lock>    a bridge mint already done {amount, cell, asset?}
 *   msg:<id>               a message waiting in a cell's inbox {to, from, agent, topic, data}
 *   meter:cell:<id>/<budget id>   computrons moved so far under a budget caveat of handles to a cell
 *   supply                 the supply ledger {genesis, bridgedIn, bridgedOut, burned, shielded}
 *   supply:<asset>         a wrapped asset's supply {bridgedIn, burned} (assets.ts)
 *
 * A transaction records the first old value of every key it touches; rolling back writes them back,
 * so a failed turn leaves every record (the same objects, hence byte-identical encodings) as before.
 */
import { type Cell, cellFromCbor, cellToCbor, encodeCell } from '../cells/cell.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError } from '../errors.ts';

export type Value = Cell | CborMap;
export type State = Map<string, Value>;

export interface Supply {
  /** Computrons created by the local demo genesis (`dregg cell new --balance`). */
  genesis: bigint;
  bridgedIn: bigint;
  bridgedOut: bigint;
  burned: bigint;
  /** Public value inside the shielded pool (deposits minus withdrawals). */
  shielded: bigint;
}

export const SUPPLY_KEY = 'supply';

export class Tx {
  private readonly journal = new Map<string, Value | undefined>();

  constructor(readonly state: State) {}

  get(key: string): Value | undefined {
    return this.state.get(key);
  }

  put(key: string, value: Value): void {
    if (!this.journal.has(key)) this.journal.set(key, this.state.get(key));
    this.state.set(key, value);
  }

  delete(key: string): void {
    if (!this.journal.has(key)) this.journal.set(key, this.state.get(key));
    this.state.delete(key);
  }

  /** Keys written, with their value before the transaction (undefined: absent). */
  before(): ReadonlyMap<string, Value | undefined> {
    return this.journal;
  }

  rollback(): void {
    for (const [key, old] of this.journal) {
      if (old === undefined) this.state.delete(key);
      else this.state.set(key, old);
    }
    this.journal.clear();
  }
}

export function cellKey(id: string): string {
  return `cell:${id}`;
}

export function isCell(v: Value | undefined): v is Cell {
  return v !== undefined && 'lifecycle' in v && v.clist instanceof Map;
}

export function getCell(tx: { get(key: string): Value | undefined }, id: string): Cell {
  const v = tx.get(cellKey(id));
  if (!isCell(v)) throw new DreggError('E_NOT_FOUND', `No cell ${id}`);
  return v;
}

/** A non-cell record (channels, boxes, notes, escrows, heads, meters), or undefined. */
export function record(tx: { get(key: string): Value | undefined }, key: string): CborMap | undefined {
  const v = tx.get(key);
  return v === undefined || isCell(v) ? undefined : v;
}

export function supplyOf(tx: { get(key: string): Value | undefined }): Supply {
  const s = tx.get(SUPPLY_KEY) as CborMap | undefined;
  const n = (k: string) => BigInt((s?.[k] as number | bigint | undefined) ?? 0);
  return {
    genesis: n('genesis'),
    bridgedIn: n('bridgedIn'),
    bridgedOut: n('bridgedOut'),
    burned: n('burned'),
    shielded: n('shielded'),
  };
}

export function putSupply(tx: Tx, s: Supply): void {
  tx.put(SUPPLY_KEY, { ...s });
}

/** The bytes a store keeps for a record. */
export function encodeValue(v: Value): Uint8Array {
  return isCell(v) ? encodeCell(v) : encodeCbor(v).slice();
}

/** A record read back from a store; fails only with `E_DECODE`/`E_INVALID`. */
export function decodeValue(key: string, bytes: Uint8Array): Value {
  const v: CborValue = decodeCbor(bytes, `ledger record ${key}`);
  if (key.startsWith('cell:')) return cellFromCbor(v);
  if (!isCborMap(v)) throw new DreggError('E_INVALID', `Ledger record ${key} is not a map`);
  return v;
}

/** The canonical form of a record inside a state commitment. */
export function valueToCbor(v: Value): CborValue {
  return isCell(v) ? cellToCbor(v) : v;
}

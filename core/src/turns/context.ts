/**
 * What one turn's effects share while they run: the transaction, the acting agent and cell, the
 * clock reading, the results of earlier effects (for `$n` references), emitted events, the running
 * balance of shielded notes, and delegation chains verified before the turn started.
 */
import type { Handle } from '../caps/handle.ts';
import { hashFor } from '../crypto/hash.ts';
import { concatBytes, toHex } from '../encoding/bytes.ts';
import type { CborValue } from '../encoding/cbor.ts';
import { DreggError } from '../errors.ts';
import { type CellRef, type FieldValue, MAX_AMOUNT } from './effects.ts';
import { putSupply, type Supply, supplyOf, type Tx } from './state.ts';
import type { TurnBody } from './turn.ts';

export interface EmittedEvent {
  readonly cell: string;
  readonly topic: string;
  readonly data: FieldValue | null;
}

/** A delegation chain presented with an effect, already verified: the holder's token as a handle. */
export interface PreparedChain {
  readonly handle: Handle;
  /** Everyone the chain passed through, issuer first: an `aud` caveat may name any of them. */
  readonly custody: readonly string[];
}

export interface ExecEnv {
  /** Unix seconds, from the executor's clock. */
  readonly now: number;
  /** This ledger's federation name (bridges name the other side by theirs). */
  readonly federation: string;
  /** Public keys of federations whose bridge attestations this ledger accepts. */
  readonly federations: ReadonlyMap<string, Uint8Array>;
  /**
   * Bridged federations whose mints credit a wrapped asset (federation -> asset id, from this
   * ledger's genesis); a federation not named here mints computrons.
   */
  readonly wrapped?: ReadonlyMap<string, string>;
}

export class TurnContext {
  index = 0;
  readonly results: CborValue[] = [];
  readonly events: EmittedEvent[] = [];
  readonly notes = {
    inputs: [] as Uint8Array[],
    outputs: [] as Uint8Array[],
    publicIn: 0n,
    publicOut: 0n,
    used: false,
  };

  constructor(
    readonly tx: Tx,
    readonly turn: TurnBody,
    /** Digest of the turn (its signing digest): the seed of the ids of objects it creates. */
    readonly digest: Uint8Array,
    readonly env: ExecEnv,
    readonly chains: ReadonlyMap<number, PreparedChain>,
  ) {}

  get agent(): string {
    return this.turn.agent;
  }

  /** A cell id, or the cell an earlier effect of this turn created (`$n`). */
  cellId(ref: CellRef): string {
    if (!ref.startsWith('$')) return ref;
    const n = Number(ref.slice(1));
    const r = n < this.index ? this.results[n] : undefined;
    if (typeof r !== 'string' || r.length !== 64) {
      throw new DreggError(
        'E_INVALID',
        `effects[${this.index}]: ${ref} does not name a cell an earlier effect created`,
      );
    }
    return r;
  }

  /** The id of the k-th object this effect creates: unique per (turn, effect, k), 16 bytes hex. */
  objectId(k = 0): string {
    return objectIdOf(this.digest, this.index, k);
  }

  /** Changes the supply ledger; `E_INVALID` if a counter would leave [0, 2^64), which no record can hold. */
  updateSupply(change: (s: Supply) => void): void {
    const s = supplyOf(this.tx);
    change(s);
    for (const [k, v] of Object.entries(s)) {
      if (v < 0n || v > MAX_AMOUNT)
        throw new DreggError('E_INVALID', `The supply counter ${k} would leave [0, 2^64)`);
    }
    putSupply(this.tx, s);
  }
}

/**
 * The id of the k-th object that effect `index` of the turn with signing digest `digest` creates (an
 * obligation, a message): 16 bytes hex. Anyone holding the turn can name what it will create.
 */
export function objectIdOf(digest: Uint8Array, index: number, k = 0): string {
  const at = new Uint8Array(4);
  new DataView(at.buffer).setUint16(0, index);
  new DataView(at.buffer).setUint16(2, k);
  return toHex(hashFor('ledgerObjectId', concatBytes(digest, at), 16));
}

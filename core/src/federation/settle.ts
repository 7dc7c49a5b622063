/**
 * Settling the final order: every relay walks the same ordered blocks and their turns in the same
 * sequence, so every relay takes the same turns and refuses the same ones.
 *
 * A turn spends its acting cell's state at its nonce. Two different turns that spend the same state
 * (a double spend, possibly sent to two relays that put them in blocks concurrently) both reach the
 * order; only the first that takes effect does, and the second is refused with evidence: the turn
 * that spent the state first and where the order put it. The same turn twice (sent to two relays)
 * is a duplicate: one effect, and the second is answered with the first's place.
 *
 * The ledger itself is the caller's (`apply`): the relay's executor, or a model in tests. A turn the
 * executor refuses for another reason spends nothing, so a later valid turn on that state is taken.
 */
import { DreggError, type ErrorCode } from '../errors.ts';
import { decodeTurn, type Turn, turnHashHex } from '../turns/turn.ts';
import type { Ordered } from './order.ts';

/** A turn's place in the final order: the block that carries it and the item's index there. */
export interface Place {
  readonly turn: string;
  readonly block: string;
  readonly item: number;
  /** Position in the federation's log of settled turns. */
  readonly height: number;
}

export type Outcome =
  | { readonly kind: 'accepted'; readonly place: Place }
  | { readonly kind: 'duplicate'; readonly place: Place; readonly first: Place }
  | {
      readonly kind: 'refused';
      readonly place: Place;
      readonly code: ErrorCode;
      readonly message: string;
      /** For a double spend: where the turn that spent the same state first is. */
      readonly spentBy?: Place;
    };

export interface Settlement {
  /** Settles newly ordered blocks; returns one outcome per turn they carry, in order. */
  settle(ordered: readonly Ordered[]): Promise<Outcome[]>;
  /** Turns settled so far (accepted, duplicate or refused): the log height attested roots sign. */
  height(): number;
}

/** Applies one turn to the ledger; throws a `DreggError` to refuse it. */
export type Apply = (turn: Turn, place: Place) => Promise<void> | void;

/**
 * Applies turns to the ledger in the given order, all at once (so the ledger can commit them
 * together); one result per turn: undefined when it took effect, the `DreggError` that refused it.
 * The ledger must itself refuse a turn whose state an earlier one spent (a stale nonce), because the
 * settlement cannot gate a turn on the outcome of one in the same call; it then reports that refusal
 * as the double spend it is, with the first spend's place.
 */
export type ApplyInOrder = (
  turns: readonly { readonly turn: Turn; readonly place: Place }[],
) => Promise<readonly (DreggError | undefined)[]>;

export const spendKey = (turn: Turn): string => `${turn.cell}/${turn.nonce}`;

/** Hands the ledger its turns in order, at most `slice` per call, awaiting `pause` between calls. */
export interface InSlices {
  readonly inOrder: ApplyInOrder;
  /**
   * Turns per call (all of them by default). A relay settles a wave in slices and yields between
   * them (`pause`), so gossip and mining go on while a big wave settles: the calls are the same
   * turns in the same order, so outcomes and the ledger are as with one call.
   */
  readonly slice?: number;
  readonly pause?: () => Promise<void>;
}

export function createSettlement(apply: Apply | InSlices): Settlement {
  const spent = new Map<string, Place>();
  const seen = new Map<string, Place>();
  let height = 0;

  type Gated = Outcome | { readonly kind: 'apply'; readonly turn: Turn; readonly place: Place };

  /** What a turn's outcome is before the ledger is asked: malformed, a duplicate, or a spent state. */
  function gate(bytes: Uint8Array, block: string, item: number): Gated {
    let turn: Turn;
    try {
      turn = decodeTurn(bytes);
    } catch (e) {
      const err = e as DreggError;
      const place = { turn: '', block, item, height: height++ };
      return { kind: 'refused', place, code: err.code, message: err.message };
    }
    const hash = turnHashHex(turn);
    const first = seen.get(hash);
    if (first !== undefined)
      return { kind: 'duplicate', place: { turn: hash, block, item, height: height++ }, first };
    const place = { turn: hash, block, item, height: height++ };
    seen.set(hash, place);
    const spentBy = spent.get(spendKey(turn));
    return spentBy === undefined ? { kind: 'apply', turn, place } : doubleSpend(turn, place, spentBy);
  }

  function doubleSpend(turn: Turn, place: Place, spentBy: Place): Outcome {
    return {
      kind: 'refused',
      place,
      code: 'E_STALE',
      message: `Double spend: the state of cell ${turn.cell} at nonce ${turn.nonce} was spent by ${spentBy.turn}`,
      spentBy,
    };
  }

  /** The outcome of a turn the ledger was asked to apply (error: its refusal). */
  function applied(turn: Turn, place: Place, error: DreggError | undefined): Outcome {
    const spentBy = spent.get(spendKey(turn));
    if (spentBy !== undefined) {
      // Spent earlier in the same call: the ledger must have refused it (stale nonce).
      if (error === undefined)
        throw new DreggError('E_INTERNAL', `The ledger took a second spend of ${spendKey(turn)}`);
      return doubleSpend(turn, place, spentBy);
    }
    if (error !== undefined) return { kind: 'refused', place, code: error.code, message: error.message };
    spent.set(spendKey(turn), place);
    return { kind: 'accepted', place };
  }

  async function one(g: Gated): Promise<Outcome> {
    if (g.kind !== 'apply') return g;
    // Gated again: an earlier turn of this call may have spent the state since.
    const spentBy = spent.get(spendKey(g.turn));
    if (spentBy !== undefined) return doubleSpend(g.turn, g.place, spentBy);
    try {
      await (apply as Apply)(g.turn, g.place);
    } catch (e) {
      if (!(e instanceof DreggError)) throw e;
      return applied(g.turn, g.place, e);
    }
    return applied(g.turn, g.place, undefined);
  }

  async function settle(ordered: readonly Ordered[]): Promise<Outcome[]> {
    const gated: Gated[] = [];
    for (const o of ordered) {
      if (!o.delivered) continue;
      for (const [i, item] of o.node.block.payload.entries())
        if (item.kind === 'turn') gated.push(gate(item.turn, o.node.key, i));
    }
    if (typeof apply === 'function') {
      const out: Outcome[] = [];
      for (const g of gated) out.push(await one(g));
      return out;
    }
    const asked = gated.filter((g) => g.kind === 'apply');
    const slice = apply.slice ?? Math.max(asked.length, 1);
    const results: (DreggError | undefined)[] = [];
    for (let from = 0; from < asked.length; from += slice) {
      if (from > 0) await apply.pause?.();
      results.push(...(await apply.inOrder(asked.slice(from, from + slice))));
    }
    let k = 0;
    return gated.map((g) => (g.kind === 'apply' ? applied(g.turn, g.place, results[k++]) : g));
  }

  return { settle, height: () => height };
}

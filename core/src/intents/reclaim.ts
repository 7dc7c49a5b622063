/**
 * A participant takes its own escrow back after the ring's deadline (core/docs/intents.md, "Taking an
 * escrow back"). An escrow is an obligation from the participant's cell to the ring's escrow cell,
 * due at the deadline: until then only its creditor (the coordinator, through the escrow cell) may
 * collect it; from then on only its debtor may take back what is left. So if the coordinator vanished,
 * or never refunded, the payer signs one turn that moves the obligation back into its own cell.
 *
 * Everything needed is in the pledge: the escrow turn names the cell, the amount and the deadline, and
 * the obligation's id follows from the turn (the first object its first effect creates); so do the
 * revocation channels of any capabilities escrowed with it, which the same turn trips. A name handed
 * to the coordinator (custody) is not the giver's to take back: only the coordinator returns it.
 */
import type { Ed25519 } from '../crypto/ed25519.ts';
import { DreggError } from '../errors.ts';
import { type LedgerView, nextTurn, type Signer } from '../router/cells.ts';
import { objectIdOf } from '../turns/context.ts';
import type { Effect } from '../turns/effects.ts';
import { type Turn, turnSigningDigest } from '../turns/turn.ts';
import type { Pledge } from './client.ts';

/** An escrow as its own turn describes it. */
export interface Escrow {
  readonly obligation: string;
  /** The payer's cell: the escrow leaves it and comes back to it. */
  readonly cell: string;
  readonly amount: bigint;
  /** Unix seconds: from then on the payer may take it back. */
  readonly due: number;
  /** The revocation channels of the capabilities escrowed beside the computrons (tripped on reclaim). */
  readonly channels: readonly string[];
}

/** How long a reclaiming turn stays valid (seconds). */
const RECLAIM_VALIDITY = 600;

/**
 * The escrow a pledged turn creates: one obligation from a cell, then any revocable grants and names
 * handed into custody (`escrowTurn`). `E_INVALID` for a turn that is not an escrow; `E_UNSUPPORTED`
 * for one without computrons: nothing in a reclaiming turn could then fail if the ring had settled,
 * and tripping the grants' channels would take back what the receiver was given (the giver can trip
 * them itself with `revoke-delegation`, knowingly).
 */
export function escrowOf(pledge: Pick<Pledge, 'turn'>): Escrow {
  const [e, ...grants] = pledge.turn.effects;
  if (e?.type === 'grant-capability' || custody(e))
    throw new DreggError(
      'E_UNSUPPORTED',
      'This escrow holds capabilities or names only: if the ring never settled, revoke them yourself; a name comes back from the coordinator',
    );
  if (
    e?.type !== 'create-obligation' ||
    e.from.startsWith('$') ||
    grants.some((g) => !custody(g) && (g.type !== 'grant-capability' || g.revocable !== true))
  )
    throw new DreggError('E_INVALID', 'That turn is not an escrow: one obligation from a cell, then grants');
  const digest = turnSigningDigest(pledge.turn);
  return {
    obligation: objectIdOf(digest, 0),
    cell: e.from,
    amount: e.amount,
    due: e.due,
    // A revocable grant's channel is the second object its effect makes (turns/apply/capabilities.ts).
    channels: grants.flatMap((g, i) => (custody(g) ? [] : [objectIdOf(digest, i + 1, 1)])),
  };
}

/** A name handed to the coordinator: its entry cell's ownership moved, nothing else. */
const custody = (e: Effect | undefined): boolean =>
  e?.type === 'set-permissions' &&
  e.owner !== undefined &&
  e.permissions === undefined &&
  e.lifecycle === undefined;

/**
 * The payer's turn taking its escrow back into its cell: `E_NOT_YET_VALID` before the deadline (the
 * coordinator alone may move the escrow until then). The ledger refuses it with `E_NOT_FOUND` when
 * the escrow is no longer there: the ring settled, or its coordinator refunded it.
 */
export function reclaimTurn(
  payer: Signer,
  ledger: Pick<LedgerView, 'ledger' | 'cell' | 'head'>,
  pledge: Pick<Pledge, 'turn'>,
  now: number,
  ed: Ed25519,
): Promise<Turn> {
  const e = escrowOf(pledge);
  if (now < e.due)
    throw new DreggError(
      'E_NOT_YET_VALID',
      `The escrow falls due at ${e.due}: until then only the ring's coordinator can return it`,
    );
  return nextTurn(
    ledger,
    payer,
    e.cell,
    // One turn: if the obligation is gone (the ring settled), the channels stay untouched.
    [
      { type: 'transfer', obligation: e.obligation, to: e.cell, amount: e.amount },
      ...e.channels.map((channel) => ({ type: 'revoke-delegation' as const, channel })),
    ],
    ed,
    now + RECLAIM_VALIDITY,
  );
}

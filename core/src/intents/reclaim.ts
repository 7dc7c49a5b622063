/**
 * A participant takes its own escrow back after the ring's deadline (core/docs/intents.md, "Taking an
 * escrow back"). An escrow is an obligation from the participant's cell to the ring's escrow cell,
 * due at the deadline: until then only its creditor (the coordinator, through the escrow cell) may
 * collect it; from then on only its debtor may take back what is left. So if the coordinator vanished,
 * or never refunded, the payer signs one turn that moves the obligation back into its own cell.
 *
 * Everything needed is in the pledge: the escrow turn names the cell, the amount and the deadline, and
 * the obligation's id follows from the turn (the first object its one effect creates).
 */
import type { Ed25519 } from '../crypto/ed25519.ts';
import { DreggError } from '../errors.ts';
import { type LedgerView, nextTurn, type Signer } from '../router/cells.ts';
import { objectIdOf } from '../turns/context.ts';
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
}

/** How long a reclaiming turn stays valid (seconds). */
const RECLAIM_VALIDITY = 600;

/** The escrow a pledged turn creates (`E_INVALID` for a turn that is not one escrow). */
export function escrowOf(pledge: Pick<Pledge, 'turn'>): Escrow {
  const [e, ...more] = pledge.turn.effects;
  if (e?.type !== 'create-obligation' || more.length > 0 || e.from.startsWith('$'))
    throw new DreggError('E_INVALID', 'That turn is not an escrow: one obligation from a cell');
  return {
    obligation: objectIdOf(turnSigningDigest(pledge.turn), 0),
    cell: e.from,
    amount: e.amount,
    due: e.due,
  };
}

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
    [{ type: 'transfer', obligation: e.obligation, to: e.cell, amount: e.amount }],
    ed,
    now + RECLAIM_VALIDITY,
  );
}

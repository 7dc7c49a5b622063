/**
 * A participant takes its own escrow back after the ring's deadline (core/docs/intents.md, "Taking an
 * escrow back"). An escrow is an obligation from the participant's cell to the ring's escrow cell
 * (or several: computrons, then one per wrapped asset), due at the deadline: until then only its
 * creditor (the coordinator, through the escrow cell) may collect it; from then on only its debtor
 * may take back what is left. So if the coordinator vanished, or never refunded, the payer signs one
 * turn that moves the obligations back into its own cell.
 *
 * Everything needed is in the pledge: the escrow turn names the cell, the amounts and the deadline,
 * and each obligation's id follows from the turn (the first object its effect creates); so do the
 * revocation channels of any capabilities escrowed with it, which the same turn trips. A name handed
 * to the coordinator (custody) is not the giver's to take back: only the coordinator returns it.
 */
import type { Ed25519 } from '../crypto/ed25519.ts';
import { DreggError } from '../errors.ts';
import { type LedgerView, nextTurn, type Signer } from '../router/cells.ts';
import { objectIdOf } from '../turns/context.ts';
import type { Effect, EffectOf } from '../turns/effects.ts';
import { type Turn, turnSigningDigest } from '../turns/turn.ts';
import type { Pledge } from './client.ts';

/** An escrow as its own turn describes it. */
export interface Escrow {
  /** Its obligations, in the turn's order: an id, an amount, and the asset (none: computrons). */
  readonly obligations: readonly { readonly id: string; readonly amount: bigint; readonly asset?: string }[];
  /** The payer's cell: the escrow leaves it and comes back to it. */
  readonly cell: string;
  /** Computrons escrowed (0 when it escrows assets only). */
  readonly amount: bigint;
  /** Unix seconds: from then on the payer may take it back. */
  readonly due: number;
  /** The revocation channels of the capabilities escrowed beside the computrons (tripped on reclaim). */
  readonly channels: readonly string[];
}

/** How long a reclaiming turn stays valid (seconds). */
const RECLAIM_VALIDITY = 600;

/**
 * The escrow a pledged turn creates: obligations from one cell, all due together, then any revocable
 * grants and names handed into custody (`escrowTurn`). `E_INVALID` for a turn that is not an escrow;
 * `E_UNSUPPORTED` for one without obligations: nothing in a reclaiming turn could then fail if the
 * ring had settled, and tripping the grants' channels would take back what the receiver was given
 * (the giver can trip them itself with `revoke-delegation`, knowingly).
 */
export function escrowOf(pledge: Pick<Pledge, 'turn'>): Escrow {
  const { effects } = pledge.turn;
  const n = effects.findIndex((e) => e.type !== 'create-obligation');
  const obligations = (n < 0 ? effects : effects.slice(0, n)) as EffectOf<'create-obligation'>[];
  const grants = effects.slice(obligations.length);
  const first = obligations[0];
  if (first === undefined && (grants[0]?.type === 'grant-capability' || custody(grants[0])))
    throw new DreggError(
      'E_UNSUPPORTED',
      'This escrow holds capabilities or names only: if the ring never settled, revoke them yourself; a name comes back from the coordinator',
    );
  if (
    first === undefined ||
    first.from.startsWith('$') ||
    obligations.some((o) => o.from !== first.from || o.due !== first.due) ||
    grants.some((g) => !custody(g) && (g.type !== 'grant-capability' || g.revocable !== true))
  )
    throw new DreggError(
      'E_INVALID',
      'That turn is not an escrow: obligations from one cell, due together, then grants',
    );
  const digest = turnSigningDigest(pledge.turn);
  return {
    obligations: obligations.map((o, i) => ({
      id: objectIdOf(digest, i),
      amount: o.amount,
      ...(o.asset === undefined ? {} : { asset: o.asset }),
    })),
    cell: first.from,
    amount: obligations.reduce((sum, o) => (o.asset === undefined ? sum + o.amount : sum), 0n),
    due: first.due,
    // A revocable grant's channel is the second object its effect makes (turns/apply/capabilities.ts).
    channels: grants.flatMap((g, i) => (custody(g) ? [] : [objectIdOf(digest, obligations.length + i, 1)])),
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
    // One turn: if an obligation is gone (the ring settled), the channels stay untouched.
    [
      ...e.obligations.map((o) => ({
        type: 'transfer' as const,
        obligation: o.id,
        to: e.cell,
        amount: o.amount,
        ...(o.asset === undefined ? {} : { asset: o.asset }),
      })),
      ...e.channels.map((channel) => ({ type: 'revoke-delegation' as const, channel })),
    ],
    ed,
    now + RECLAIM_VALIDITY,
  );
}

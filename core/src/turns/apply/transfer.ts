/**
 * Transfer group: Transfer (between cells, or out of an obligation's escrow) and Burn, of computrons
 * or, with `asset`, of a wrapped asset. Value moved under a handle is charged to the handle's budget
 * caveats (which count computrons: a budgeted handle moves no asset).
 */
import { actsAsOwner } from '../../cells/cell.ts';
import type { CborMap } from '../../encoding/cbor.ts';
import { DreggError } from '../../errors.ts';
import { authorizeCell, chargeBudget } from '../authority.ts';
import type { TurnContext } from '../context.ts';
import type { EffectOf } from '../effects.ts';
import { getCell } from '../state.ts';
import { countSupply, credit, debit, exists } from './common.ts';

export function transfer(ctx: TurnContext, e: EffectOf<'transfer'>): null {
  const to = ctx.cellId(e.to);
  if (!exists(ctx, to)) throw new DreggError('E_NOT_FOUND', `No cell ${to}`);
  if (e.obligation !== undefined) {
    if (e.via !== undefined)
      throw new DreggError('E_INVALID', 'An obligation is collected by its parties, not through a handle');
    collect(ctx, e.obligation, e.amount, e.asset);
  } else {
    const from = ctx.cellId(e.from!);
    const auth = authorizeCell(ctx, from, 'transfer', e.via);
    chargeBudget(ctx, auth, e.amount, e.asset);
    debit(ctx, from, e.amount, e.asset);
  }
  credit(ctx, to, e.amount, e.asset);
  return null;
}

/**
 * Takes `amount` out of an obligation: its creditor (the owner of its `to` cell) may collect until it
 * is due; from then on its debtor (the owner of its `from` cell) may take back what is left. The
 * collecting transfer names what the obligation holds (`asset`, or none for computrons), so a signed
 * turn always says what it moves.
 */
function collect(ctx: TurnContext, id: string, amount: bigint, asset: string | undefined): void {
  const key = `obl:${id}`;
  const o = ctx.tx.get(key) as CborMap | undefined;
  if (o === undefined) throw new DreggError('E_NOT_FOUND', `No obligation ${id}`);
  const held = o.asset as string | undefined;
  if (held !== asset)
    throw new DreggError(
      'E_INVALID',
      `Obligation ${id} holds ${held ?? 'computrons'}, the transfer names ${asset ?? 'computrons'}`,
    );
  const due = ctx.env.now >= (o.due as number);
  const party = due ? (o.from as string) : (o.to as string);
  if (!exists(ctx, party) || !actsAsOwner(getCell(ctx.tx, party), ctx.agent)) {
    throw new DreggError(
      'E_DENIED',
      due
        ? 'This obligation is due: only its debtor may take it back'
        : 'Only the creditor may collect this obligation before it is due',
    );
  }
  const left = BigInt(o.amount as bigint | number);
  if (amount > left) throw new DreggError('E_INSUFFICIENT', `The obligation holds ${left}, not ${amount}`);
  if (left === amount) ctx.tx.delete(key);
  else ctx.tx.put(key, { ...o, amount: left - amount });
}

export function burn(ctx: TurnContext, e: EffectOf<'burn'>): null {
  const id = ctx.cellId(e.cell);
  const auth = authorizeCell(ctx, id, 'burn', e.via);
  chargeBudget(ctx, auth, e.amount, e.asset);
  debit(ctx, id, e.amount, e.asset);
  countSupply(ctx, 'burned', e.amount, e.asset);
  return null;
}

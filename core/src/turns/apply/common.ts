/**
 * Small steps every effect group uses: replacing a cell, and moving value in and out of one —
 * computrons (its balance) or, with `asset`, a wrapped asset (its holding record, ../assets.ts).
 */
import type { Cell } from '../../cells/cell.ts';
import { DreggError } from '../../errors.ts';
import { creditAsset, debitAsset, updateAssetSupply } from '../assets.ts';
import type { TurnContext } from '../context.ts';
import { MAX_AMOUNT } from '../effects.ts';
import { cellKey, getCell } from '../state.ts';

export function updateCell(ctx: TurnContext, id: string, change: (c: Cell) => Partial<Cell>): Cell {
  const old = getCell(ctx.tx, id);
  const next: Cell = { ...old, ...change(old) };
  ctx.tx.put(cellKey(id), next);
  return next;
}

export function debit(ctx: TurnContext, id: string, amount: bigint, asset?: string): void {
  if (asset !== undefined) {
    getCell(ctx.tx, id); // a holding belongs to a cell that exists
    debitAsset(ctx.tx, id, asset, amount);
    return;
  }
  updateCell(ctx, id, (c) => {
    if (c.balance < amount) {
      throw new DreggError('E_INSUFFICIENT', `Cell ${id.slice(0, 12)}… holds ${c.balance}, not ${amount}`);
    }
    return { balance: c.balance - amount };
  });
}

export function credit(ctx: TurnContext, id: string, amount: bigint, asset?: string): void {
  if (asset !== undefined) {
    getCell(ctx.tx, id);
    creditAsset(ctx.tx, id, asset, amount);
    return;
  }
  updateCell(ctx, id, (c) => {
    if (c.balance + amount > MAX_AMOUNT)
      throw new DreggError('E_INVALID', `Cell ${id.slice(0, 12)}… would exceed 2^64 - 1`);
    return { balance: c.balance + amount };
  });
}

export function exists(ctx: TurnContext, id: string): boolean {
  return ctx.tx.get(cellKey(id)) !== undefined;
}

/**
 * Counts value entering the ledger by a bridge (`bridgedIn`) or leaving it (`burned`), in the supply
 * of its unit: the computrons' supply, or with `asset` that asset's.
 */
export function countSupply(
  ctx: TurnContext,
  counter: 'bridgedIn' | 'burned',
  amount: bigint,
  asset?: string,
): void {
  const add = (s: Record<typeof counter, bigint>) => {
    s[counter] += amount;
  };
  if (asset === undefined) ctx.updateSupply(add);
  else updateAssetSupply(ctx.tx, asset, add);
}

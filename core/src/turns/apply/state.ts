/** State effects: SetField, CreateCell, IncrementNonce, SetPermissions, SetVerificationKey. */
import { cellId, MAX_FIELDS, newCell } from '../../cells/cell.ts';
import { hashFor } from '../../crypto/hash.ts';
import { concatBytes, fromHex, toHex } from '../../encoding/bytes.ts';
import { DreggError } from '../../errors.ts';
import { authorizeCell } from '../authority.ts';
import type { TurnContext } from '../context.ts';
import type { EffectOf } from '../effects.ts';
import { cellKey, getCell } from '../state.ts';
import { debit, exists, updateCell } from './common.ts';

export function setField(ctx: TurnContext, e: EffectOf<'set-field'>): null {
  const id = ctx.cellId(e.cell);
  authorizeCell(ctx, id, 'set-field', e.via);
  updateCell(ctx, id, (c) => {
    const fields = { ...c.fields };
    if (e.value === null) delete fields[e.key];
    else fields[e.key] = e.value;
    if (Object.keys(fields).length > MAX_FIELDS)
      throw new DreggError('E_INVALID', `A cell holds at most ${MAX_FIELDS} fields`);
    return { fields };
  });
  return null;
}

/**
 * A new cell for `owner`, funded from the acting cell (so the total supply is unchanged). Funding it
 * is an effect on the acting cell, so it needs authority there (refused while that cell is frozen).
 */
export function createCell(
  ctx: TurnContext,
  salt: string,
  balance: bigint,
  owner = ctx.agent,
  effect: 'create-cell' | 'spawn-with-delegation' = 'create-cell',
): string {
  const id = cellId(owner, owner === ctx.agent ? salt : saltFor(ctx, salt));
  if (exists(ctx, id)) throw new DreggError('E_EXISTS', `Cell ${id} already exists`);
  if (balance > 0n) {
    authorizeCell(ctx, ctx.turn.cell, effect);
    debit(ctx, ctx.turn.cell, balance);
  }
  ctx.tx.put(cellKey(id), newCell(owner, owner === ctx.agent ? salt : saltFor(ctx, salt), balance));
  return id;
}

/**
 * The salt of a cell made for someone else: mixed with this turn and effect, so nobody can occupy the
 * id an owner would choose for itself (the creator learns the id from the result, or uses `$n`).
 */
function saltFor(ctx: TurnContext, salt: string): string {
  const at = new Uint8Array(2);
  new DataView(at.buffer).setUint16(0, ctx.index);
  return toHex(hashFor('ledgerObjectId', concatBytes(ctx.digest, at, fromHex(salt))));
}

export function createCellEffect(ctx: TurnContext, e: EffectOf<'create-cell'>): string {
  return createCell(ctx, e.salt, e.balance ?? 0n, e.owner);
}

export function incrementNonce(ctx: TurnContext, e: EffectOf<'increment-nonce'>): number {
  const id = ctx.cellId(e.cell);
  authorizeCell(ctx, id, 'increment-nonce', e.via);
  return updateCell(ctx, id, (c) => ({ nonce: c.nonce + 1 })).nonce;
}

/**
 * Permissions and the verification key are the owner's alone: no handle, permission or verification
 * key delegates them (a session key may act as the cell, never lock its owner out or replace itself).
 */
function ownerOnly(ctx: TurnContext, id: string, what: 'set-permissions' | 'set-verification-key'): void {
  authorizeCell(ctx, id, what);
  if (getCell(ctx.tx, id).owner !== ctx.agent)
    throw new DreggError('E_DENIED', `Only the owner may ${what.replace('-', ' ')}`);
}

/**
 * Sets permissions and the lifecycle, and moves ownership when `owner` is given. The id stays what it
 * was (derived from the creator at creation, never re-derived). Moving the owner clears the
 * verification key: it was the old owner's delegate, and a sold cell must not stay usable by the
 * seller's session key. Handles granted on the cell earlier are not touched (they end only through
 * their own revocation channels, which stay their issuers').
 */
export function setPermissions(ctx: TurnContext, e: EffectOf<'set-permissions'>): null {
  const id = ctx.cellId(e.cell);
  ownerOnly(ctx, id, 'set-permissions');
  updateCell(ctx, id, (c) => {
    const permissions = { ...c.permissions };
    for (const [effect, p] of Object.entries(e.permissions ?? {})) {
      if (p === 'owner') delete permissions[effect as keyof typeof permissions];
      else permissions[effect as keyof typeof permissions] = p;
    }
    const moved = e.owner === undefined ? {} : { owner: e.owner, vk: null };
    return { permissions, lifecycle: e.lifecycle ?? c.lifecycle, ...moved };
  });
  return null;
}

export function setVerificationKey(ctx: TurnContext, e: EffectOf<'set-verification-key'>): null {
  const id = ctx.cellId(e.cell);
  ownerOnly(ctx, id, 'set-verification-key');
  updateCell(ctx, id, () => ({ vk: e.key }));
  return null;
}

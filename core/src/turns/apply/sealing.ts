/**
 * Sealing (the E-rights sealer/unsealer pair): CreateSealPair, Seal, Unseal. A box exists only as a
 * ledger record that Seal wrote after checking the sealer held the handle it boxed, so an unsealed
 * handle always derives from one its sealer really held (PITFALLS 5); Unseal checks it is still live.
 */
import { attenuateHandle, type Handle, handleFromCbor, handleToCbor } from '../../caps/handle.ts';
import type { CborMap } from '../../encoding/cbor.ts';
import { DreggError } from '../../errors.ts';
import { authorizeCell, checkAllows, checkLive, slotHandle } from '../authority.ts';
import type { TurnContext } from '../context.ts';
import type { EffectOf } from '../effects.ts';
import { deposit } from './capabilities.ts';

export function createSealPair(ctx: TurnContext): CborMap {
  // Both halves land in the acting cell's c-list: an effect on it (refused while it is frozen).
  authorizeCell(ctx, ctx.turn.cell, 'create-seal-pair');
  const pair = ctx.objectId();
  const sealer = deposit(ctx, ctx.turn.cell, { target: { kind: 'sealer', id: pair }, caveats: [] });
  const unsealer = deposit(ctx, ctx.turn.cell, { target: { kind: 'unsealer', id: pair }, caveats: [] });
  return { pair, sealer, unsealer };
}

function half(
  ctx: TurnContext,
  slot: number,
  kind: 'sealer' | 'unsealer',
  effect: 'seal' | 'unseal',
): Handle {
  const h = slotHandle(ctx, slot);
  if (h.target.kind !== kind)
    throw new DreggError('E_DENIED', `Slot ${slot} holds a ${h.target.kind}, not a ${kind}`);
  checkLive(ctx, h);
  checkAllows(h, effect);
  return h;
}

export function seal(ctx: TurnContext, e: EffectOf<'seal'>): string {
  const sealer = half(ctx, e.sealer, 'sealer', 'seal');
  const content = slotHandle(ctx, e.slot);
  checkLive(ctx, content);
  const boxed = attenuateHandle(content, e.caveats);
  const box = ctx.objectId();
  ctx.tx.put(`box:${box}`, {
    pair: sealer.target.id,
    h: handleToCbor(boxed),
    by: ctx.agent,
    cell: ctx.turn.cell,
  });
  return box;
}

export function unseal(ctx: TurnContext, e: EffectOf<'unseal'>): number {
  const unsealer = half(ctx, e.unsealer, 'unsealer', 'unseal');
  const box = ctx.tx.get(`box:${e.box}`) as CborMap | undefined;
  if (box === undefined) throw new DreggError('E_NOT_FOUND', `No sealed box ${e.box}`);
  if (box.pair !== unsealer.target.id)
    throw new DreggError('E_DENIED', 'This box was sealed under another seal pair');
  const content = handleFromCbor(box.h);
  checkLive(ctx, content);
  authorizeCell(ctx, ctx.turn.cell, 'unseal');
  return deposit(ctx, ctx.turn.cell, content);
}

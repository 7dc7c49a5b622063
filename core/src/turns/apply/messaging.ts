/**
 * Messaging: Introduce (three-party), PipelinedSend, CreateObligation, and EmitEvent.
 *
 * Introduce: the acting agent, from its own cell, holds a handle to B (`slot`) and a handle to C
 * (`to`) that allows `introduce`; C receives a handle to B no wider than the introducer's. The
 * introducer is always the acting party: both handles come from the acting cell, which the turn's
 * signer must own (PITFALLS 6).
 */
import { attenuateHandle } from '../../caps/handle.ts';
import { DreggError } from '../../errors.ts';
import { authorize, authorizeCell, chargeBudget, checkLive, slotHandle } from '../authority.ts';
import type { TurnContext } from '../context.ts';
import type { EffectOf } from '../effects.ts';
import { getCell } from '../state.ts';
import { deposit } from './capabilities.ts';
import { debit, exists } from './common.ts';

export function introduce(ctx: TurnContext, e: EffectOf<'introduce'>): number {
  const introduced = slotHandle(ctx, e.slot);
  checkLive(ctx, introduced);
  const recipient = slotHandle(ctx, e.to);
  if (recipient.target.kind !== 'cell')
    throw new DreggError('E_DENIED', 'Only a cell can be introduced to something');
  authorize(ctx, getCell(ctx.tx, recipient.target.id), 'introduce', { slot: e.to });
  return deposit(ctx, recipient.target.id, attenuateHandle(introduced, e.caveats));
}

/** Queues a message for a cell — possibly one this turn created (`$n`: a promise resolved in-turn). */
export function pipelinedSend(ctx: TurnContext, e: EffectOf<'pipelined-send'>): string {
  const to = ctx.cellId(e.to);
  authorizeCell(ctx, to, 'pipelined-send', e.via);
  const id = ctx.objectId();
  ctx.tx.put(`msg:${id}`, { to, from: ctx.turn.cell, agent: ctx.agent, topic: e.topic, data: e.data });
  return id;
}

/**
 * Moves `amount` (of computrons, or of `asset`) into escrow owed to `to`: collectable by its creditor
 * until `due`, then returnable.
 */
export function createObligation(ctx: TurnContext, e: EffectOf<'create-obligation'>): string {
  const from = ctx.cellId(e.from);
  const to = ctx.cellId(e.to);
  if (!exists(ctx, to)) throw new DreggError('E_NOT_FOUND', `No cell ${to}`);
  if (e.due <= ctx.env.now) throw new DreggError('E_INVALID', 'An obligation must fall due in the future');
  const auth = authorizeCell(ctx, from, 'create-obligation', e.via);
  chargeBudget(ctx, auth, e.amount, e.asset);
  debit(ctx, from, e.amount, e.asset);
  const id = ctx.objectId();
  // A computron obligation's record has no `asset` key: the same record as before assets existed.
  ctx.tx.put(`obl:${id}`, { from, to, amount: e.amount, due: e.due, ...(e.asset ? { asset: e.asset } : {}) });
  return id;
}

export function emitEvent(ctx: TurnContext, e: EffectOf<'emit-event'>): null {
  authorizeCell(ctx, ctx.turn.cell, 'emit-event');
  ctx.events.push({ cell: ctx.turn.cell, topic: e.topic, data: e.data });
  return null;
}

/**
 * Capability effects: GrantCapability, RevokeCapability, RevokeDelegation, SpawnWithDelegation.
 * Every handle they produce is `attenuateHandle(source, caveats)`: the source's caveats plus more,
 * checked with the one lattice, so expiry, effect mask, budget and channels all carry over
 * (PITFALLS 6) and nothing comes out wider than what it derives from.
 */
import type { Caveat } from '../../caps/caveats.ts';
import { attenuateHandle, type Handle } from '../../caps/handle.ts';
import { actsAsOwner, freeSlot } from '../../cells/cell.ts';
import type { CborMap } from '../../encoding/cbor.ts';
import { DreggError } from '../../errors.ts';
import { authorizeCell, checkLive, slotHandle } from '../authority.ts';
import type { TurnContext } from '../context.ts';
import type { EffectOf, Source } from '../effects.ts';
import { getCell } from '../state.ts';
import { updateCell } from './common.ts';
import { createCell } from './state.ts';

/** The handle a derivation starts from: a live slot of the acting cell, or ownership of a cell. */
export function sourceHandle(ctx: TurnContext, source: Source): Handle {
  if ('slot' in source) {
    const h = slotHandle(ctx, source.slot);
    checkLive(ctx, h);
    return h;
  }
  const id = ctx.cellId(source.cell);
  if (!actsAsOwner(getCell(ctx.tx, id), ctx.agent)) {
    throw new DreggError('E_DENIED', `Only the owner of cell ${id.slice(0, 12)}… can grant from ownership`);
  }
  return { target: { kind: 'cell', id }, caveats: [] };
}

/** Puts a handle into the lowest free slot of a cell's c-list; returns the slot. */
export function deposit(ctx: TurnContext, cellId: string, h: Handle): number {
  let slot = 0;
  updateCell(ctx, cellId, (c) => {
    slot = freeSlot(c);
    return { clist: new Map(c.clist).set(slot, h) };
  });
  return slot;
}

/** A new revocation channel owned by the acting agent, and the caveat that ties a handle to it. */
function newChannel(ctx: TurnContext): Caveat {
  const channel = ctx.objectId(1);
  ctx.tx.put(`chan:${channel}`, { owner: ctx.agent, tripped: false });
  return { t: 'rev', channel, owner: ctx.agent };
}

export function grantCapability(ctx: TurnContext, e: EffectOf<'grant-capability'>): CborMap {
  const to = ctx.cellId(e.to);
  authorizeCell(ctx, to, 'grant-capability', e.via);
  const parent = sourceHandle(ctx, e.source);
  const rev = e.revocable === true ? newChannel(ctx) : undefined;
  const child = attenuateHandle(parent, rev === undefined ? e.caveats : [...e.caveats, rev]);
  const slot = deposit(ctx, to, child);
  return rev?.t === 'rev' ? { slot, channel: rev.channel } : { slot };
}

export function revokeCapability(ctx: TurnContext, e: EffectOf<'revoke-capability'>): null {
  const id = ctx.cellId(e.cell);
  authorizeCell(ctx, id, 'revoke-capability', e.via);
  updateCell(ctx, id, (c) => {
    if (!c.clist.has(e.slot))
      throw new DreggError('E_NOT_FOUND', `Slot ${e.slot} of cell ${id.slice(0, 12)}… is empty`);
    const clist = new Map(c.clist);
    clist.delete(e.slot);
    return { clist };
  });
  return null;
}

/** Trips a channel: every handle carrying it, in any c-list or sealed box, is dead from now on. */
export function revokeDelegation(ctx: TurnContext, e: EffectOf<'revoke-delegation'>): null {
  const key = `chan:${e.channel}`;
  const ch = ctx.tx.get(key) as CborMap | undefined;
  if (ch === undefined) throw new DreggError('E_NOT_FOUND', `No revocation channel ${e.channel}`);
  if (ch.owner !== ctx.agent) throw new DreggError('E_DENIED', 'Only the owner of a channel may trip it');
  ctx.tx.put(key, { owner: ch.owner, tripped: true });
  return null;
}

export function spawnWithDelegation(ctx: TurnContext, e: EffectOf<'spawn-with-delegation'>): string {
  // Derive every handle before the child exists, so a grant cannot name the child itself.
  const handles = e.grants.map((g) => attenuateHandle(sourceHandle(ctx, g.source), g.caveats));
  const id = createCell(ctx, e.salt, e.balance ?? 0n, e.owner, 'spawn-with-delegation');
  updateCell(ctx, id, () => ({ clist: new Map(handles.map((h, slot) => [slot, h])) }));
  return id;
}

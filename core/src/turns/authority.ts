/**
 * Who may cause an effect on a cell. Exactly one of:
 *  - the owner (or the agent named by the cell's verification key), unless the cell's permissions
 *    say "none" for that effect;
 *  - anyone, when the cell's permissions say "anyone" for that effect;
 *  - the holder of a handle (a slot of the acting cell's c-list, or a verified delegation chain)
 *    whose target is the cell, whose caveats all hold now, and whose effect mask (`actions`) names
 *    the effect. Handles are read through the one lattice (`handleRights`).
 *
 * A frozen cell refuses every effect except `set-permissions` by its owner (to thaw it).
 */
import { type Handle, handleRights, sameTarget } from '../caps/handle.ts';
import { actsAsOwner, type Cell } from '../cells/cell.ts';
import { DreggError } from '../errors.ts';
import type { TurnContext } from './context.ts';
import type { EffectType, Via } from './effects.ts';
import { cellKey, getCell, record, type Value } from './state.ts';

/** How an effect was authorized: by ownership/permission (no handle), or by a handle to charge. */
export interface Authority {
  readonly handle?: Handle;
}

const OWNER: Authority = {};

/** The handle in slot `slot` of the acting cell; `E_NOT_FOUND` if the slot is empty. */
export function slotHandle(ctx: TurnContext, slot: number, cellId = ctx.turn.cell): Handle {
  const h = getCell(ctx.tx, cellId).clist.get(slot);
  if (h === undefined)
    throw new DreggError('E_NOT_FOUND', `Slot ${slot} of cell ${cellId.slice(0, 12)}… is empty`);
  return h;
}

/**
 * Throws unless every caveat of `h` holds now for this agent: the validity window, revocation
 * channels (an unknown channel counts as revoked, PITFALLS 9), audience, and service.
 */
export function checkLive(ctx: TurnContext, h: Handle, custody: readonly string[] = []): void {
  const now = ctx.env.now;
  for (const c of h.caveats) {
    switch (c.t) {
      case 'nbf':
        if (now < c.at) throw new DreggError('E_NOT_YET_VALID', `This handle is not valid before ${c.at}`);
        break;
      case 'exp':
        if (now >= c.at) throw new DreggError('E_EXPIRED', `This handle expired at ${c.at}`);
        break;
      case 'rev':
        if (!channelLive(ctx.tx, c.channel, c.owner))
          throw new DreggError('E_REVOKED', `Revocation channel ${c.channel} is tripped or unknown`);
        break;
      case 'aud':
        if (c.did !== ctx.agent && !custody.includes(c.did))
          throw new DreggError('E_AUDIENCE', `This handle is bound to ${c.did}`);
        break;
      case 'services':
        if (!c.services.includes('cells')) throw new DreggError('E_DENIED', 'This handle is not for cells');
        break;
      case 'epoch':
        // A delegation chain's epochs were checked when it was verified, before the turn (the ledger
        // learns of no epoch bumps: its own revocation is revoke-delegation). On a c-list handle an
        // epoch means nothing the ledger can check, so it is refused rather than ignored.
        if (custody.length === 0)
          throw new DreggError('E_DENIED', 'Epoch-bound capabilities are not honoured in c-lists');
        break;
      case 'actions':
      case 'budget':
        break;
    }
  }
}

type Reader = { get(key: string): Value | undefined };

/** Whether revocation channel `channel` is `owner`'s and not tripped (an unknown one is revoked, PITFALLS 9). */
function channelLive(tx: Reader, channel: string, owner: string): boolean {
  const ch = record(tx, `chan:${channel}`);
  return ch !== undefined && ch.owner === owner && ch.tripped === false;
}

/** Whether one of `h`'s revocation channels is tripped or unknown in `tx`: no turn can use it again. */
export function handleRevoked(tx: Reader, h: Handle): boolean {
  return h.caveats.some((c) => c.t === 'rev' && !channelLive(tx, c.channel, c.owner));
}

/** Throws `E_DENIED` unless the handle's effect mask names `effect`. */
export function checkAllows(h: Handle, effect: EffectType): void {
  const { actions } = handleRights(h);
  if (actions !== 'all' && !actions.has(effect)) {
    throw new DreggError('E_DENIED', `This handle does not allow ${effect}`);
  }
}

function viaHandle(ctx: TurnContext, via: Via): { handle: Handle; custody: readonly string[] } {
  if ('slot' in via) return { handle: slotHandle(ctx, via.slot), custody: [] };
  const prepared = ctx.chains.get(ctx.index);
  if (prepared === undefined)
    throw new DreggError('E_INTERNAL', 'A delegation chain was not verified before the turn');
  return prepared;
}

/** Authorizes `effect` on `cell` for the acting agent, or throws a coded error. */
export function authorize(ctx: TurnContext, cell: Cell, effect: EffectType, via?: Via): Authority {
  const permission = cell.permissions[effect];
  if (permission === 'none')
    throw new DreggError('E_DENIED', `Cell ${cell.id.slice(0, 12)}… forbids ${effect} to everyone`);
  if (cell.lifecycle === 'frozen' && !(effect === 'set-permissions' && actsAsOwner(cell, ctx.agent))) {
    throw new DreggError('E_DENIED', `Cell ${cell.id.slice(0, 12)}… is frozen`);
  }
  if (via === undefined) {
    if (actsAsOwner(cell, ctx.agent) || permission === 'anyone') return OWNER;
    throw new DreggError(
      'E_DENIED',
      `${effect} on cell ${cell.id.slice(0, 12)}… needs its owner or a handle to it`,
    );
  }
  const { handle, custody } = viaHandle(ctx, via);
  if (!sameTarget(handle.target, { kind: 'cell', id: cell.id })) {
    throw new DreggError(
      'E_DENIED',
      `That handle designates another ${handle.target.kind}, not cell ${cell.id.slice(0, 12)}…`,
    );
  }
  checkLive(ctx, handle, custody);
  checkAllows(handle, effect);
  return { handle };
}

/** Authority over the cell named by `id` (which must exist). */
export function authorizeCell(ctx: TurnContext, id: string, effect: EffectType, via?: Via): Authority {
  if (ctx.tx.get(cellKey(id)) === undefined) throw new DreggError('E_NOT_FOUND', `No cell ${id}`);
  return authorize(ctx, getCell(ctx.tx, id), effect, via);
}

/**
 * Charges `amount` computrons to every budget caveat of the handle that authorized a movement of
 * value (`E_BUDGET` if any would be exceeded). Ownership has no budget. A meter is named by the
 * handle's target and the budget id, so nobody can spend another cell's budget by reusing its id on a
 * handle to a cell of their own; a derived handle that restates its parent's id with a smaller cap
 * shares the parent's meter, charged once, up to the smaller cap. Budgets meter computrons only: a
 * handle carrying one may not move a wrapped asset at all (`asset`: `E_BUDGET`); without one, it may.
 */
export function chargeBudget(ctx: TurnContext, auth: Authority, amount: bigint, asset?: string): void {
  if (auth.handle === undefined) return;
  // A budget counts computrons: under one, an asset move is unbounded, so it is refused outright.
  if (asset !== undefined && auth.handle.caveats.some((c) => c.t === 'budget'))
    throw new DreggError('E_BUDGET', `A handle with a budget caveat moves computrons only, not ${asset}`);
  const caps = new Map<string, bigint>();
  for (const c of auth.handle.caveats) {
    if (c.t !== 'budget') continue;
    const max = BigInt(c.max);
    const prev = caps.get(c.id);
    caps.set(c.id, prev === undefined || max < prev ? max : prev);
  }
  const { kind, id: target } = auth.handle.target;
  for (const [id, max] of caps) {
    const key = `meter:${kind}:${target}/${id}`;
    const spent = BigInt((record(ctx.tx, key)?.spent as bigint | number | undefined) ?? 0);
    if (spent + amount > max) {
      throw new DreggError(
        'E_BUDGET',
        `Moving ${amount} exceeds the remaining budget ${max - spent} of ${max} (budget ${id})`,
      );
    }
    ctx.tx.put(key, { spent: spent + amount });
  }
}

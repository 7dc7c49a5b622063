/**
 * The ledger form of every exchange item, and what a participant in a ring owes (decisions in
 * core/docs/intents.md, "Escrows"). Computrons are escrowed as an obligation, and so is each wrapped
 * asset (an obligation of that asset, core/src/turns/assets.ts); a name is its entry cell itself,
 * whose ownership moves into the coordinator's custody and on to the receiver; every other
 * settleable item is a capability — a handle in a c-list — escrowed as a revocable grant into the
 * ring's escrow cell and delegated on to the receiver, attenuated by what it wants:
 *
 * | item | handle to | offered caveats (the escrow carries them all) | wanted caveats (appended on delivery) |
 * |---|---|---|---|
 * | capability | any cell of the giver's (or a handle it holds) | the offer's caveats | the want's caveats |
 * | service S, n units | a cell of the giver's whose field `service` is S | `actions: [pipelined-send]`, `budget` n under S's id | the same, with the wanted units |
 * | storage b bytes, s seconds | a cell whose field `service` is `storage` | the same as service `storage`, b·s byte-seconds | the wanted byte-seconds |
 * | name N in zone Z | ownership of a cell whose fields `zone`, `name` are Z, N | — | — |
 */
import type { Caveat } from '../caps/caveats.ts';
import { type Handle, handleRights, MAX_HANDLE_CAVEATS } from '../caps/handle.ts';
import { narrows, rightsOf, stepNarrows } from '../caps/rights.ts';
import type { Cell } from '../cells/cell.ts';
import { hashFor } from '../crypto/hash.ts';
import { toHex, utf8 } from '../encoding/bytes.ts';
import { DreggError, type ErrorCode } from '../errors.ts';
import type { Intent } from './intent.ts';
import type { ExchangeItem } from './items.ts';
import type { Ring } from './solver.ts';

/** A capability item as it lives on the ledger: caveats, and the fields its target cell must carry. */
export interface LedgerForm {
  readonly caveats: readonly Caveat[];
  readonly fields: Readonly<Record<string, string>>;
  /** The item is the cell itself (a name's entry): its ownership moves, no handle is made. */
  readonly ownership?: true;
}

/** One non-computron item a participant owes the ring: escrowed as a grant, delivered as a delegation. */
export interface Grant {
  /** The offered item and the want it meets (for people: what goes out, what the receiver gets). */
  readonly offer: ExchangeItem;
  readonly want: ExchangeItem;
  /** Caveats the escrowed handle must carry, every one (so the receiver never gets more than offered). */
  readonly offered: readonly Caveat[];
  /** Caveats appended when the escrow delegates it on (so the receiver gets no more than it wanted). */
  readonly wanted: readonly Caveat[];
  /** Fields the handle's target cell must carry (a service's name, a namespace entry). */
  readonly fields: Readonly<Record<string, string>>;
  /**
   * A name: the giver's escrow moves the entry cell's ownership to the coordinator (custody), the
   * settling turn on to the receiver's agent, an abort back to the giver; `offered`/`wanted` are empty.
   */
  readonly ownership: boolean;
}

/** An amount of one wrapped asset a participant owes: escrowed as one obligation of that asset. */
export interface AssetOwed {
  readonly asset: string;
  readonly amount: bigint;
}

/**
 * What one participant owes: computrons (possibly 0) escrowed as one obligation, one obligation per
 * wrapped asset (by asset id), and grants.
 */
export interface Owes {
  readonly computrons: bigint;
  readonly assets: readonly AssetOwed[];
  readonly grants: readonly Grant[];
}

/** The budget id a service's units are metered under: derived from its name, so offer and want agree. */
export function serviceBudgetId(service: string): string {
  return toHex(hashFor('intentServiceBudget', utf8.encode(service), 8));
}

function serviceForm(service: string, units: number): LedgerForm {
  return {
    caveats: [
      { t: 'actions', actions: ['pipelined-send'] },
      { t: 'budget', id: serviceBudgetId(service), max: units },
    ],
    fields: { service },
  };
}

/** The ledger form of a capability-like item; `E_UNSUPPORTED` for amounts (computrons, assets). */
export function ledgerForm(item: ExchangeItem): LedgerForm {
  switch (item.kind) {
    case 'capability':
      return { caveats: item.caveats, fields: {} };
    case 'service':
      return serviceForm(item.service, item.units);
    case 'storage': {
      const byteSeconds = item.bytes * item.seconds;
      if (!Number.isSafeInteger(byteSeconds))
        throw new DreggError('E_UNSUPPORTED', 'That much storage is beyond a budget (2^53 byte-seconds)');
      return serviceForm('storage', byteSeconds);
    }
    case 'name':
      return { caveats: [], fields: { zone: item.zone, name: item.name }, ownership: true };
    case 'asset':
    case 'computrons':
      throw new DreggError('E_UNSUPPORTED', `${item.kind} are escrowed as an obligation, not a grant`);
  }
}

/**
 * What every participant (by intent id) owes: the computrons and each asset its leg pays (what the
 * receiver wants; the giver keeps any surplus it offered) and a grant per other item. `E_UNSUPPORTED`
 * when the ring trades an item with no escrow (storage beyond a budget), `E_NOT_FOUND` when an intent
 * is missing.
 */
export function ringOwes(ring: Ring, intents: ReadonlyMap<string, Intent>): Map<string, Owes> {
  const owes = new Map<string, Owes>();
  for (const leg of ring.legs) {
    const from = intents.get(leg.from);
    const to = intents.get(leg.to);
    if (from === undefined || to === undefined)
      throw new DreggError('E_NOT_FOUND', `No intent ${from === undefined ? leg.from : leg.to}`);
    let computrons = 0n;
    const assets = new Map<string, bigint>();
    const grants: Grant[] = [];
    for (const g of leg.gives) {
      const offer = from.offers[g.offer];
      const want = to.wants[g.want];
      if (offer === undefined || want === undefined)
        throw new DreggError('E_NOT_FOUND', 'A leg names an item its intents do not have');
      if (want.kind === 'computrons') {
        computrons += want.amount;
        continue;
      }
      if (want.kind === 'asset') {
        assets.set(want.asset, (assets.get(want.asset) ?? 0n) + want.amount);
        continue;
      }
      const o = ledgerForm(offer);
      const w = ledgerForm(want);
      grants.push({
        offer,
        want,
        offered: o.caveats,
        wanted: w.caveats,
        fields: o.fields,
        ownership: o.ownership === true,
      });
    }
    const byId = [...assets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    owes.set(leg.from, { computrons, assets: byId.map(([asset, amount]) => ({ asset, amount })), grants });
  }
  return owes;
}

/**
 * Why an escrowed handle cannot stand for `g`, as a blame code and a reason; `undefined` when it can.
 * The coordinator reads the handle from its escrow cell after the escrow turn executed, so it judges
 * what was really granted. The handle must carry every offered caveat (never more than offered), take
 * the wanted ones as a narrowing step (a wider want than escrowed is a short escrow), stay live for the
 * coordinator until the deadline (no audience, epoch or foreign service; no expiry before it), and
 * designate a cell carrying the item's fields.
 */
export function escrowedHandleProblem(
  h: Handle,
  g: Grant,
  target: Cell | undefined,
  now: number,
  deadline: number,
): { code: ErrorCode; why: string } | undefined {
  const rights = handleRights(h);
  const offered = rightsOf(g.offered);
  if (h.target.kind !== 'cell' || target === undefined)
    return { code: 'E_INSUFFICIENT', why: 'The escrowed capability designates no cell of this ledger' };
  for (const [k, v] of Object.entries(g.fields))
    if (target.fields[k] !== v)
      return { code: 'E_INSUFFICIENT', why: `The escrowed capability's cell does not carry ${k} = ${v}` };
  if (!narrows(rights, offered))
    return { code: 'E_WIDENING', why: 'The escrowed capability is wider than the intent offered' };
  if (!stepNarrows(rights, g.wanted) || h.caveats.length + g.wanted.length > MAX_HANDLE_CAVEATS)
    return { code: 'E_INSUFFICIENT', why: 'The escrowed capability is narrower than the receiver wants' };
  for (const c of h.caveats) {
    const dead =
      c.t === 'aud' ||
      c.t === 'epoch' ||
      (c.t === 'services' && !c.services.includes('cells')) ||
      (c.t === 'exp' && c.at <= deadline) ||
      (c.t === 'nbf' && c.at > now);
    if (dead)
      return {
        code: 'E_INSUFFICIENT',
        why: `The escrowed capability cannot be delegated on by the escrow until the deadline (${c.t})`,
      };
  }
  return undefined;
}

/**
 * Why a name's entry cell, as it lies after the giver's escrow turn, cannot stand for `g`, as a blame
 * code and a reason; `undefined` when it can: the coordinator must now own it, and it must carry the
 * entry's fields.
 */
export function custodyProblem(
  cell: Cell | undefined,
  g: Grant,
  coordinator: string,
): { code: ErrorCode; why: string } | undefined {
  if (cell === undefined || cell.owner !== coordinator)
    return {
      code: 'E_INSUFFICIENT',
      why: "The escrow did not hand the name's entry cell to the coordinator",
    };
  for (const [k, v] of Object.entries(g.fields))
    if (cell.fields[k] !== v)
      return { code: 'E_INSUFFICIENT', why: `The escrowed entry cell does not carry ${k} = ${v}` };
  return undefined;
}

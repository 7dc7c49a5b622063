/**
 * Exchange items (seed 000, "Intent Solving"): what an intent offers and what it wants. Satisfaction is
 * structural and boolean — no prices: an offered item satisfies a wanted one when it is of the same
 * kind and at least as much of it.
 *
 * A capability is described by its restrictions (caveats). An offered capability satisfies a wanted one
 * when the giver can attenuate what it offers to what is wanted: appending the wanted caveats to the
 * offered ones must narrow, by the one lattice's `declaredRights`/`widening` — the same check a
 * delegation step passes, so a match never promises a delegation the executor would refuse.
 */
import { type Caveat, caveatFromCbor, caveatToCbor, isName } from '../caps/caveats.ts';
import { type Rights, rightsOf, stepNarrows } from '../caps/rights.ts';
import { type CborMap, type CborValue, isCborMap } from '../encoding/cbor.ts';
import { DreggError, quoted } from '../errors.ts';
import { isAssetId } from '../turns/assets.ts';
import { isZone } from './zones.ts';

export type ExchangeItem =
  /** An amount of computrons, the ledger's native unit. */
  | { readonly kind: 'computrons'; readonly amount: bigint }
  /**
   * An amount of a wrapped asset (`w-avt-a`: minted against a lock on another federation), named by
   * the ledger's asset-id rule (`isAssetId`) and escrowed as an obligation of that asset.
   */
  | { readonly kind: 'asset'; readonly asset: string; readonly amount: bigint }
  /** A capability, described by the restrictions it carries (at most 8 caveats). */
  | { readonly kind: 'capability'; readonly caveats: readonly Caveat[] }
  /** Units of a named service (calls, jobs, minutes: the service defines its unit). */
  | { readonly kind: 'service'; readonly service: string; readonly units: number }
  /** Storage: so many bytes kept for so many seconds. */
  | { readonly kind: 'storage'; readonly bytes: number; readonly seconds: number }
  /** A namespace entry: `name` in `zone`. */
  | { readonly kind: 'name'; readonly zone: string; readonly name: string };

export type ItemKind = ExchangeItem['kind'];

/** Caveats a capability item may carry: bounds every satisfaction check. */
export const MAX_ITEM_CAVEATS = 8;
/** Amounts up to 2^63 − 1: a computron balance fits a signed 64-bit integer everywhere. */
const MAX_AMOUNT = (1n << 63n) - 1n;

const rightsCache = new WeakMap<readonly Caveat[], Rights>();

/** The rights a capability item describes (memoised: items are immutable and the solver asks often). */
function itemRights(caveats: readonly Caveat[]): Rights {
  let r = rightsCache.get(caveats);
  if (r === undefined) {
    r = rightsOf(caveats);
    rightsCache.set(caveats, r);
  }
  return r;
}

/**
 * Whether `offer` satisfies `want`. Amounts and units: at least as much. A capability: the offered
 * restrictions attenuated by the wanted ones narrow the offer (nothing wanted is wider than offered).
 */
export function satisfies(offer: ExchangeItem, want: ExchangeItem): boolean {
  switch (want.kind) {
    case 'computrons':
      return offer.kind === 'computrons' && offer.amount >= want.amount;
    case 'asset':
      return offer.kind === 'asset' && offer.asset === want.asset && offer.amount >= want.amount;
    case 'capability': {
      if (offer.kind !== 'capability') return false;
      return stepNarrows(itemRights(offer.caveats), want.caveats, itemRights(want.caveats));
    }
    case 'service':
      return offer.kind === 'service' && offer.service === want.service && offer.units >= want.units;
    case 'storage':
      return offer.kind === 'storage' && offer.bytes >= want.bytes && offer.seconds >= want.seconds;
    case 'name':
      return offer.kind === 'name' && offer.zone === want.zone && offer.name === want.name;
  }
}

/**
 * Index keys: an offer can satisfy a want only if the two share a key. The solver looks up candidate
 * givers by these instead of testing every pair.
 */
export function offerKeys(item: ExchangeItem): readonly string[] {
  if (item.kind !== 'capability') return wantKeys(item);
  const services = itemRights(item.caveats).services;
  return services === 'all'
    ? ['capability:any', 'capability']
    : ['capability:any', ...[...services].map((s) => `capability:${s}`)];
}

export function wantKeys(item: ExchangeItem): readonly string[] {
  switch (item.kind) {
    case 'computrons':
      return ['computrons'];
    case 'asset':
      return [`asset:${item.asset}`];
    case 'capability': {
      // A want that names no service inherits the offer's (declaredRights): any capability offer may
      // do. One that names services needs an offer for every service, or one covering them all.
      const services = itemRights(item.caveats).services;
      if (services === 'all' || services.size === 0) return ['capability:any'];
      return ['capability', `capability:${[...services].sort()[0]!}`];
    }
    case 'service':
      return [`service:${item.service}`];
    case 'storage':
      return ['storage'];
    case 'name':
      return [`name:${item.zone}:${item.name}`];
  }
}

/**
 * How much of its kind an item is (an amount, units, bytes; 0 where size does not apply), as a
 * number: only its order matters. An offer smaller than a want of the same key never satisfies it,
 * so the solver scans offers largest first and stops at the first one smaller than the want.
 */
export function itemSize(item: ExchangeItem): number {
  switch (item.kind) {
    case 'computrons':
    case 'asset':
      return Number(item.amount);
    case 'service':
      return item.units;
    case 'storage':
      return item.bytes;
    case 'capability':
    case 'name':
      return 0;
  }
}

export function itemToCbor(item: ExchangeItem): CborMap {
  switch (item.kind) {
    case 'computrons':
      return { k: 'computrons', amt: item.amount };
    case 'asset':
      return { k: 'asset', as: item.asset, amt: item.amount };
    case 'capability':
      return { k: 'capability', cav: item.caveats.map(caveatToCbor) };
    case 'service':
      return { k: 'service', svc: item.service, n: item.units };
    case 'storage':
      return { k: 'storage', b: item.bytes, s: item.seconds };
    case 'name':
      return { k: 'name', z: item.zone, nm: item.name };
  }
}

function bad(why: string): never {
  throw new DreggError('E_INVALID', `Invalid exchange item: ${why}`);
}

function amount(v: CborValue | undefined): bigint {
  const a = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : v;
  if (typeof a !== 'bigint' || a <= 0n || a > MAX_AMOUNT)
    bad('an amount is a whole number from 1 to 2^63 - 1');
  return a;
}

function count(v: CborValue | undefined, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) bad(`${what} is a positive whole number`);
  return v;
}

function name(v: CborValue | undefined, what: string): string {
  if (!isName(v)) bad(`${what} is a lowercase name`);
  return v;
}

/** Validates a decoded item; fails only with `E_INVALID`. */
export function itemFromCbor(v: CborValue | undefined): ExchangeItem {
  if (!isCborMap(v)) bad('an item is a map');
  const fields = (keys: readonly string[]) => {
    const have = Object.keys(v);
    if (have.length !== keys.length + 1 || !keys.every((k) => Object.hasOwn(v, k)))
      bad(`a ${String(v.k)} item has exactly the fields k, ${keys.join(', ')}`);
  };
  switch (v.k) {
    case 'computrons':
      fields(['amt']);
      return { kind: 'computrons', amount: amount(v.amt) };
    case 'asset':
      fields(['as', 'amt']);
      if (!isAssetId(v.as)) bad('the asset is an asset id (a lowercase name, never "computrons")');
      return { kind: 'asset', asset: v.as, amount: amount(v.amt) };
    case 'capability': {
      fields(['cav']);
      const cav = v.cav;
      if (!Array.isArray(cav) || cav.length > MAX_ITEM_CAVEATS)
        bad(`a capability item carries a list of at most ${MAX_ITEM_CAVEATS} caveats`);
      return { kind: 'capability', caveats: cav.map(caveatFromCbor) };
    }
    case 'service':
      fields(['svc', 'n']);
      return { kind: 'service', service: name(v.svc, 'the service'), units: count(v.n, 'units') };
    case 'storage':
      fields(['b', 's']);
      return { kind: 'storage', bytes: count(v.b, 'bytes'), seconds: count(v.s, 'seconds') };
    case 'name': {
      fields(['z', 'nm']);
      if (!isZone(v.z)) bad('the zone is malformed');
      return { kind: 'name', zone: v.z, name: name(v.nm, 'the name') };
    }
    default:
      return bad(`unknown kind ${quoted(v.k)}`);
  }
}

/** One line a person can read: "250 computrons", "storage:read,write for 1 service". */
export function describeItem(item: ExchangeItem): string {
  switch (item.kind) {
    case 'computrons':
      return `${item.amount} computrons`;
    case 'asset':
      return `${item.amount} ${item.asset}`;
    case 'capability': {
      const r = itemRights(item.caveats);
      const list = (s: ReadonlySet<string> | 'all') => (s === 'all' ? 'any' : [...s].sort().join(', '));
      const budget = r.budget === null ? '' : `, budget ${r.budget}`;
      return `a capability: services ${list(r.services)}, actions ${list(r.actions)}${budget}`;
    }
    case 'service':
      return `${item.units} units of ${item.service}`;
    case 'storage':
      return `${item.bytes} bytes stored for ${item.seconds} s`;
    case 'name':
      return `the name ${item.name} in ${item.zone}`;
  }
}

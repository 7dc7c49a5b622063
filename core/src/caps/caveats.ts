/**
 * Typed caveats. A token's authority is the intersection of all its caveats (they are conjunctive:
 * appending one never widens, PITFALLS 2). Each caveat is a small CBOR map with a type tag `t`; its
 * canonical encoding is what the HMAC chain and signatures cover.
 *
 * Actions are whole names in a set, never letters or prefixes (PITFALLS 8).
 */

import { bytesEqual, toHex } from '../encoding/bytes.ts';
import type { CborMap, CborValue } from '../encoding/cbor.ts';
import { encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, quoted } from '../errors.ts';

export type Caveat =
  /** The request's service must be one of these (a sorted set of whole names). */
  | { t: 'services'; services: readonly string[] }
  /** The request's action must be one of these (a sorted set of whole names). */
  | { t: 'actions'; actions: readonly string[] }
  /** At most `max` units in total, metered by the service under `id`. */
  | { t: 'budget'; id: string; max: number }
  /** Not valid before this time (Unix seconds). */
  | { t: 'nbf'; at: number }
  /** Not valid at or after this time (Unix seconds). */
  | { t: 'exp'; at: number }
  /** Only this holder (or those it delegates to by signed envelope) may use it. */
  | { t: 'aud'; did: string }
  /** Dead as soon as `owner` trips this channel; an unknown channel counts as tripped (PITFALLS 9). */
  | { t: 'rev'; channel: string; owner: string }
  /** Issued while `by` was at delegation epoch `epoch`; stale once `by` moves too far past it. */
  | { t: 'epoch'; by: string; epoch: number };

export type CaveatType = Caveat['t'];

/** Action and service names: lowercase words, digits, `.`, `-`, `_`, `:`, `/`. */
const NAME = /^[a-z0-9][a-z0-9._:/-]{0,63}$/;
const HEX16 = /^[0-9a-f]{32}$/;
const BUDGET_ID = /^[0-9a-f]{16}$/;
/** The shape of an Ed25519 did:key (the key itself is checked where it is used). */
export const DID_SHAPE = /^did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}$/;
/** Largest time or amount we accept: keeps arithmetic exact in doubles. */
const MAX_INT = Number.MAX_SAFE_INTEGER;

export function isName(s: unknown): s is string {
  return typeof s === 'string' && NAME.test(s);
}

function bad(message: string): never {
  throw new DreggError('E_INVALID', `Invalid caveat: ${message}`);
}

function uint(v: CborValue | undefined, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_INT)
    bad(`${what} must be a whole number`);
  return v;
}

function str(v: CborValue | undefined, pattern: RegExp, what: string): string {
  if (typeof v !== 'string' || !pattern.test(v)) bad(`${what} is malformed`);
  return v;
}

function nameSet(v: CborValue | undefined, what: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 64) bad(`${what}s must be a non-empty list`);
  const names = v.map((a) => str(a, NAME, `${what} name`));
  for (let i = 1; i < names.length; i++) {
    if (names[i - 1]! >= names[i]!) bad(`${what}s must be sorted and unique`);
  }
  return names;
}

function exactKeys(m: CborMap, keys: readonly string[]): void {
  const have = Object.keys(m);
  if (have.length !== keys.length || !keys.every((k) => Object.hasOwn(m, k))) {
    bad(`a "${String(m.t)}" caveat has fields {${have.join(', ')}}, expected {${keys.join(', ')}}`);
  }
}

/** Validates a decoded value as a caveat; fails only with `E_INVALID`. */
export function caveatFromCbor(v: CborValue): Caveat {
  if (!isCborMap(v)) return bad('not a map');
  const m = v;
  switch (m.t) {
    case 'services':
      exactKeys(m, ['t', 'services']);
      return { t: 'services', services: nameSet(m.services, 'service') };
    case 'actions':
      exactKeys(m, ['t', 'actions']);
      return { t: 'actions', actions: nameSet(m.actions, 'action') };
    case 'budget':
      exactKeys(m, ['t', 'id', 'max']);
      return { t: 'budget', id: str(m.id, BUDGET_ID, 'budget id'), max: uint(m.max, 'budget') };
    case 'nbf':
      exactKeys(m, ['t', 'at']);
      return { t: 'nbf', at: uint(m.at, 'not-before') };
    case 'exp':
      exactKeys(m, ['t', 'at']);
      return { t: 'exp', at: uint(m.at, 'expiry') };
    case 'aud':
      exactKeys(m, ['t', 'did']);
      return { t: 'aud', did: str(m.did, DID_SHAPE, 'audience DID') };
    case 'rev':
      exactKeys(m, ['t', 'channel', 'owner']);
      return {
        t: 'rev',
        channel: str(m.channel, HEX16, 'channel id'),
        owner: str(m.owner, DID_SHAPE, 'channel owner'),
      };
    case 'epoch':
      exactKeys(m, ['t', 'by', 'epoch']);
      return { t: 'epoch', by: str(m.by, DID_SHAPE, 'epoch owner'), epoch: uint(m.epoch, 'epoch') };
    default:
      return bad(`unknown type ${quoted(m.t)}`);
  }
}

export function caveatToCbor(c: Caveat): CborMap {
  // Spread copies into a fresh plain object; `actions` becomes a mutable array for the encoder.
  if (c.t === 'actions') return { t: c.t, actions: [...c.actions] };
  if (c.t === 'services') return { t: c.t, services: [...c.services] };
  return { ...c };
}

/** Remembers a derived value per (immutable) object. */
function memoised<V>(derive: (c: Caveat) => V): (c: Caveat) => V {
  const cache = new WeakMap<Caveat, V>();
  return (c) => {
    let v = cache.get(c);
    if (v === undefined) {
      v = derive(c);
      cache.set(c, v);
    }
    return v;
  };
}

// Caveats are immutable values, so their encoding is computed once per object: it is on the hot path
// of token verification (the HMAC chain and the rights lattice both need it).

/** The canonical bytes of a caveat: what the HMAC chain covers and how caveats are compared. */
export const caveatBytes: (c: Caveat) => Uint8Array = memoised((c) => encodeCbor(caveatToCbor(c)));

/** A caveat's identity for set membership: the hex of its canonical bytes. */
export const caveatKey: (c: Caveat) => string = memoised((c) => toHex(caveatBytes(c)));

/** Two caveat lists are the same list: same caveats, same order (compared by canonical bytes). */
export function sameCaveats(a: readonly Caveat[], b: readonly Caveat[]): boolean {
  return a.length === b.length && a.every((c, i) => bytesEqual(caveatBytes(c), caveatBytes(b[i]!)));
}

function sortedNames(names: readonly string[], what: string): string[] {
  const set = [...new Set(names)].sort();
  if (set.length === 0) throw new DreggError('E_ARGUMENT', `A ${what} restriction needs at least one name`);
  for (const a of set) {
    if (!isName(a)) throw new DreggError('E_ARGUMENT', `"${a}" is not a valid ${what} name`);
  }
  return set;
}

/** An actions caveat from any list of names (sorted, deduplicated; bad names refused). */
export function actionsCaveat(names: readonly string[]): Caveat {
  return { t: 'actions', actions: sortedNames(names, 'action') };
}

/** A services caveat from any list of names (sorted, deduplicated; bad names refused). */
export function servicesCaveat(names: readonly string[]): Caveat {
  return { t: 'services', services: sortedNames(names, 'service') };
}

/** One caveat in plain words, for people inspecting what they are about to accept. */
export function describeCaveat(c: Caveat): string {
  switch (c.t) {
    case 'services':
      return `only for the service${c.services.length > 1 ? 's' : ''} ${c.services.join(', ')}`;
    case 'actions':
      return `only these actions: ${c.actions.join(', ')}`;
    case 'budget':
      return `at most ${c.max} units in total (budget ${c.id})`;
    case 'nbf':
      return `not before ${new Date(c.at * 1000).toISOString()}`;
    case 'exp':
      return `expires at ${new Date(c.at * 1000).toISOString()}`;
    case 'aud':
      return `only usable by ${c.did} (or whoever it delegates to)`;
    case 'rev':
      return `revocable at once by ${c.owner} (channel ${c.channel})`;
    case 'epoch':
      return `dies when ${c.by} bumps their delegation epoch past ${c.epoch}`;
  }
}

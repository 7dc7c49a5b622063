/**
 * The one rights lattice. `narrows(child, parent)` is THE definition of attenuation for cipherclerk:
 * tokens, envelopes, c-lists, the router, the relay and the firmament all call it (or, in C, the header
 * generated from it). There is exactly one ordering and it has one meaning (PITFALLS 1).
 *
 * A child narrows its parent iff its actions are a subset of the parent's, its services a subset,
 * its validity window inside the parent's, its budget no larger, and its caveats include all of the
 * parent's (so every condition the parent imposed, such as audience, channels and epochs, still applies).
 */

import { DreggError } from '../errors.ts';
import { type Caveat, caveatKey } from './caveats.ts';

/** A set of names, or every name (`'all'`, the top of the lattice: no restriction of that kind). */
export type NameSet = ReadonlySet<string> | 'all';

export interface Rights {
  readonly services: NameSet;
  readonly actions: NameSet;
  /** Largest total cost, or `null` for no budget limit. */
  readonly budget: number | null;
  /** Unix seconds; 0 when there is no lower bound. */
  readonly notBefore: number;
  /** Unix seconds; `null` when it never expires. */
  readonly expiry: number | null;
  /** The canonical encodings (hex) of every caveat that produced these rights. */
  readonly caveats: ReadonlySet<string>;
}

export const TOP: Rights = {
  services: 'all',
  actions: 'all',
  budget: null,
  notBefore: 0,
  expiry: null,
  caveats: new Set(),
};

function intersect(a: NameSet, b: readonly string[]): NameSet {
  return a === 'all' ? new Set(b) : new Set(b.filter((x) => a.has(x)));
}

/** The rights a list of caveats grants: the intersection of all of them (caveats are conjunctive). */
export function rightsOf(caveats: readonly Caveat[]): Rights {
  let { services, actions, budget, notBefore, expiry } = TOP;
  const keys = new Set<string>();
  for (const c of caveats) {
    keys.add(caveatKey(c));
    switch (c.t) {
      case 'services':
        services = intersect(services, c.services);
        break;
      case 'actions':
        actions = intersect(actions, c.actions);
        break;
      case 'budget':
        budget = budget === null ? c.max : Math.min(budget, c.max);
        break;
      case 'nbf':
        notBefore = Math.max(notBefore, c.at);
        break;
      case 'exp':
        expiry = expiry === null ? c.at : Math.min(expiry, c.at);
        break;
      // Audience, channel and epoch caveats restrict who and until when; they are carried in `caveats`.
      case 'aud':
      case 'rev':
      case 'epoch':
        break;
    }
  }
  return { services, actions, budget, notBefore, expiry, caveats: keys };
}

function subset(child: NameSet, parent: NameSet): boolean {
  if (parent === 'all') return true;
  if (child === 'all') return false;
  for (const x of child) if (!parent.has(x)) return false;
  return true;
}

/** A dimension in which a child is wider than its parent. */
type Dimension = 'services' | 'actions' | 'budget' | 'notBefore' | 'expiry' | 'caveats';

/** The first dimension in which `child` is wider than `parent`; allocates nothing (solvers ask often). */
function widenedIn(child: Rights, parent: Rights): Dimension | undefined {
  if (!subset(child.services, parent.services)) return 'services';
  if (!subset(child.actions, parent.actions)) return 'actions';
  if (parent.budget !== null && (child.budget === null || child.budget > parent.budget)) return 'budget';
  if (child.notBefore < parent.notBefore) return 'notBefore';
  if (parent.expiry !== null && (child.expiry === null || child.expiry > parent.expiry)) return 'expiry';
  for (const k of parent.caveats) if (!child.caveats.has(k)) return 'caveats';
  return undefined;
}

/** The first way in which `child` is wider than `parent`, in words, or `undefined` if it narrows. */
export function widening(child: Rights, parent: Rights): string | undefined {
  switch (widenedIn(child, parent)) {
    case undefined:
      return undefined;
    case 'services':
      return `services ${show(child.services)} exceed ${show(parent.services)}`;
    case 'actions':
      return `actions ${show(child.actions)} exceed ${show(parent.actions)}`;
    case 'budget':
      return `budget ${child.budget ?? 'unlimited'} exceeds ${parent.budget}`;
    case 'notBefore':
      return 'it becomes valid before its parent does';
    case 'expiry':
      return `it expires ${child.expiry === null ? 'never' : `at ${child.expiry}`}, after its parent (${parent.expiry})`;
    case 'caveats':
      return 'it drops a caveat of its parent';
  }
}

/** `true` iff `child` is a narrowing of (or equal to) `parent`. */
export function narrows(child: Rights, parent: Rights): boolean {
  return widenedIn(child, parent) === undefined;
}

/** Throws `E_WIDENING` (the same code at every backing) unless `child` narrows `parent`. */
export function assertNarrows(child: Rights, parent: Rights, what = 'capability'): void {
  const why = widening(child, parent);
  if (why !== undefined) throw new DreggError('E_WIDENING', `The ${what} would widen its parent: ${why}`);
}

/**
 * What one delegation step declares, on its own terms: the rights its appended caveats state, with
 * every dimension they leave open inherited from the parent. A step that declares, say, a budget
 * larger than the parent's is refused even though conjunction would make it harmless, because the
 * recipient would be shown a restriction that is not the real one. `own` is `rightsOf(appended)`, for
 * a caller that has it already.
 */
export function declaredRights(
  parent: Rights,
  appended: readonly Caveat[],
  own: Rights = rightsOf(appended),
): Rights {
  return declared(parent, appended, own, new Set([...parent.caveats, ...own.caveats]));
}

/**
 * Whether the step appending `appended` narrows `parent`: what `narrows(declaredRights(parent,
 * appended), parent)` answers, without building the union of caveats — a union keeps every caveat of
 * the parent, so the parent's own set stands in for it exactly. The intent solver asks this for
 * every capability offer against every capability want.
 */
export function stepNarrows(
  parent: Rights,
  appended: readonly Caveat[],
  own: Rights = rightsOf(appended),
): boolean {
  return narrows(declared(parent, appended, own, parent.caveats), parent);
}

function declared(
  parent: Rights,
  appended: readonly Caveat[],
  own: Rights,
  caveats: ReadonlySet<string>,
): Rights {
  let setsNotBefore = false;
  for (const c of appended) if (c.t === 'nbf') setsNotBefore = true;
  return {
    services: own.services === 'all' ? parent.services : own.services,
    actions: own.actions === 'all' ? parent.actions : own.actions,
    budget: own.budget ?? parent.budget,
    notBefore: setsNotBefore ? own.notBefore : parent.notBefore,
    expiry: own.expiry ?? parent.expiry,
    caveats,
  };
}

function show(s: NameSet): string {
  return s === 'all' ? 'any' : `{${[...s].sort().join(', ')}}`;
}

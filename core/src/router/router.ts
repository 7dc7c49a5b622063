/**
 * The router (seed 001): one handle type, one set of verbs — resolve, invoke, attenuateAndGrant,
 * revoke — dispatched by the handle's target kind to whichever backing registered for it: a local
 * cell (this executor), a remote cell (the relay client), a firmament object (the local kernel).
 * The app never sees which.
 *
 * The router checks before it dispatches (a derived handle must narrow its parent, an invoked action
 * must be in the handle's effect mask, the handle must be inside its validity window), and every
 * backing checks again on its own side, so a widening is refused with the same code (`E_WIDENING`)
 * whichever backing would have served it.
 */
import type { Caveat } from '../caps/caveats.ts';
import { attenuateHandle, type Handle, handleRights, type TargetKind } from '../caps/handle.ts';
import type { CborMap, CborValue } from '../encoding/cbor.ts';
import { DreggError } from '../errors.ts';

/** An operation on a target: for cells the action is an effect name and args its parameters. */
export interface Invocation {
  readonly action: string;
  readonly args?: CborMap;
}

/** What a handle designates, as its backing sees it now. */
export interface Resolved {
  readonly kind: TargetKind;
  readonly id: string;
  /** Where the handle is held in the backing (a c-list slot, a kernel slot), if anywhere. */
  readonly held: string;
  /** A short public description of the target (never its secrets). */
  readonly summary: CborMap;
}

export interface Backing {
  readonly kind: TargetKind;
  resolve(h: Handle): Promise<Resolved>;
  invoke(h: Handle, request: Invocation): Promise<CborValue>;
  /** Delivers `child` (already derived from `parent` by the router) to `recipient`; re-checks it narrows. */
  grant(parent: Handle, child: Handle, recipient: string): Promise<Handle>;
  revoke(h: Handle): Promise<void>;
}

export interface Router {
  register(backing: Backing): void;
  kinds(): TargetKind[];
  resolve(h: Handle): Promise<Resolved>;
  invoke(h: Handle, request: Invocation): Promise<CborValue>;
  attenuateAndGrant(h: Handle, caveats: readonly Caveat[], recipient: string): Promise<Handle>;
  revoke(h: Handle): Promise<void>;
}

/** Refuses an action outside the handle's effect mask, or a handle outside its validity window. */
export function checkInvocation(h: Handle, action: string, now: number): void {
  const r = handleRights(h);
  if (r.actions !== 'all' && !r.actions.has(action))
    throw new DreggError('E_DENIED', `This handle does not allow ${action}`);
  if (r.expiry !== null && now >= r.expiry)
    throw new DreggError('E_EXPIRED', `This handle expired at ${r.expiry}`);
  if (now < r.notBefore)
    throw new DreggError('E_NOT_YET_VALID', `This handle is not valid before ${r.notBefore}`);
}

export function createRouter(options: { now: () => number }): Router {
  const backings = new Map<TargetKind, Backing>();
  const backingFor = (h: Handle): Backing => {
    const b = backings.get(h.target.kind);
    if (b === undefined)
      throw new DreggError('E_NOT_FOUND', `No backing serves ${h.target.kind} targets here`);
    return b;
  };
  return {
    register(backing) {
      if (backings.has(backing.kind))
        throw new DreggError('E_EXISTS', `A backing for ${backing.kind} is already registered`);
      backings.set(backing.kind, backing);
    },
    kinds: () => [...backings.keys()],
    resolve: async (h) => backingFor(h).resolve(h),
    async invoke(h, request) {
      const b = backingFor(h);
      checkInvocation(h, request.action, options.now());
      return b.invoke(h, request);
    },
    async attenuateAndGrant(h, caveats, recipient) {
      const b = backingFor(h);
      const child = attenuateHandle(h, caveats);
      return b.grant(h, child, recipient);
    },
    revoke: async (h) => backingFor(h).revoke(h),
  };
}

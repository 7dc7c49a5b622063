/**
 * The one handle type (seed 001): a capability is `{target, caveats}` wherever it lives — a slot of a
 * cell's c-list, a handle the router dispatches, a sealed box's contents. Its rights are the caveats
 * read through the one lattice (`rightsOf`); deriving a handle only ever appends caveats, and every
 * derivation is checked with the one `assertNarrows`.
 *
 * On cells the `actions` caveat names the effects a handle may cause (its effect mask, PITFALLS 8:
 * whole names), `exp`/`nbf` its validity window, `rev` its revocation channel, `budget` the most
 * computrons it may move, and `aud` the one agent that may exercise it.
 */
import type { CborMap, CborValue } from '../encoding/cbor.ts';
import { isCborMap } from '../encoding/cbor.ts';
import { DreggError, quoted } from '../errors.ts';
import { type Caveat, caveatFromCbor, caveatToCbor, sameCaveats } from './caveats.ts';
import { assertNarrows, declaredRights, type Rights, rightsOf } from './rights.ts';

/**
 * What a handle designates. `cell` is a cell in the local ledger; `sealer`/`unsealer` are the two
 * halves of a seal pair; `remote` is a cell on a relay, `firmament` an object of the local kernel
 * (their backings register with the router).
 */
export type TargetKind = 'cell' | 'sealer' | 'unsealer' | 'remote' | 'firmament';
export const TARGET_KINDS: readonly TargetKind[] = ['cell', 'sealer', 'unsealer', 'remote', 'firmament'];

export interface Target {
  readonly kind: TargetKind;
  /** The object's id within its kind (a cell id, a seal pair id, `relay/cell`, a kernel object). */
  readonly id: string;
}

export interface Handle {
  readonly target: Target;
  readonly caveats: readonly Caveat[];
}

/** At most this many caveats on one handle: bounds every check and every stored c-list slot. */
export const MAX_HANDLE_CAVEATS = 32;
const TARGET_ID = /^[0-9a-z][0-9a-z._:/-]{0,199}$/;

const rightsCache = new WeakMap<Handle, Rights>();

/** The rights a handle carries (memoised: handles are immutable values). */
export function handleRights(h: Handle): Rights {
  let r = rightsCache.get(h);
  if (r === undefined) {
    r = rightsOf(h.caveats);
    rightsCache.set(h, r);
  }
  return r;
}

export function sameTarget(a: Target, b: Target): boolean {
  return a.kind === b.kind && a.id === b.id;
}

/** The same handle: the same target and the same caveats in the same order. */
export function sameHandle(a: Handle, b: Handle): boolean {
  return sameTarget(a.target, b.target) && sameCaveats(a.caveats, b.caveats);
}

/**
 * The handle derived from `parent` by appending `caveats`. Refused with `E_WIDENING` when the appended
 * caveats declare anything wider than the parent (a larger budget, more effects, a later expiry):
 * conjunction would make the result harmless, but its holder would be shown a right it does not have.
 */
export function attenuateHandle(parent: Handle, caveats: readonly Caveat[]): Handle {
  if (parent.caveats.length + caveats.length > MAX_HANDLE_CAVEATS) {
    throw new DreggError('E_INVALID', `A handle carries at most ${MAX_HANDLE_CAVEATS} caveats`);
  }
  const child: Handle = { target: parent.target, caveats: [...parent.caveats, ...caveats] };
  assertNarrows(declaredRights(handleRights(parent), caveats), handleRights(parent));
  assertHandleNarrows(child, parent);
  return child;
}

/** `E_WIDENING` unless `child` designates the same target with rights that narrow `parent`'s. */
export function assertHandleNarrows(child: Handle, parent: Handle): void {
  if (!sameTarget(child.target, parent.target)) {
    throw new DreggError('E_WIDENING', 'A derived handle must designate the same target as its parent');
  }
  assertNarrows(handleRights(child), handleRights(parent), 'handle');
}

export function handleToCbor(h: Handle): CborMap {
  return { kind: h.target.kind, id: h.target.id, cav: h.caveats.map(caveatToCbor) };
}

/** Validates a decoded handle; fails only with `E_INVALID`. */
export function handleFromCbor(v: CborValue | undefined): Handle {
  if (!isCborMap(v) || Object.keys(v).length !== 3)
    throw new DreggError('E_INVALID', 'A handle is {kind, id, cav}');
  const { kind, id, cav } = v;
  if (!TARGET_KINDS.includes(kind as TargetKind))
    throw new DreggError('E_INVALID', `Unknown handle target kind ${quoted(kind)}`);
  if (typeof id !== 'string' || !TARGET_ID.test(id))
    throw new DreggError('E_INVALID', 'Malformed handle target id');
  if (!Array.isArray(cav) || cav.length > MAX_HANDLE_CAVEATS)
    throw new DreggError('E_INVALID', `A handle carries a list of at most ${MAX_HANDLE_CAVEATS} caveats`);
  return { target: { kind: kind as TargetKind, id }, caveats: cav.map(caveatFromCbor) };
}

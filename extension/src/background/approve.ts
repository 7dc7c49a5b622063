/**
 * What a site may ask for, and the rule that the person's answer only narrows it. Both are checked
 * here, in the background, with core's one rights lattice: the approval window's controls only offer
 * narrowing, but a decision that widens (whatever sent it) is refused with `E_WIDENING`.
 */
import { assertNarrows, DreggError, type Rights } from '@cipherclerk/core';
import { type Ask, type Grant, isRecord } from '../protocol.ts';

const MAX_NAME = 64;
const MAX_ACTIONS = 16;
const MAX_REASON = 280;
/** The longest a site may ask to hold a grant: 30 days. */
export const MAX_TTL_S = 30 * 24 * 60 * 60;

function names(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_ACTIONS)
    throw new DreggError('E_ARGUMENT', `Ask for 1 to ${MAX_ACTIONS} ${what}`);
  const out = v.map((x) => name(x, what));
  if (new Set(out).size !== out.length) throw new DreggError('E_ARGUMENT', `The ${what} repeat`);
  return out;
}

function name(v: unknown, what: string): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9._:-]+$/.test(v) || v.length > MAX_NAME)
    throw new DreggError('E_ARGUMENT', `Each of the ${what} is a short name (letters, digits, . _ : -)`);
  return v;
}

function whole(v: unknown, what: string, max: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max)
    throw new DreggError('E_ARGUMENT', `The ${what} is a whole number from 1 to ${max}`);
  return v;
}

/** A site's ask, from outside input; refuses with `E_ARGUMENT`. */
export function checkAsk(v: unknown): Ask {
  if (!isRecord(v)) throw new DreggError('E_ARGUMENT', 'requestCapability takes an object');
  if (v.reason !== undefined && (typeof v.reason !== 'string' || v.reason.length > MAX_REASON))
    throw new DreggError('E_ARGUMENT', `The reason is text of at most ${MAX_REASON} characters`);
  return {
    service: name(v.service, 'service'),
    actions: names(v.actions, 'actions'),
    ...(v.budget === undefined ? {} : { budget: whole(v.budget, 'budget', Number.MAX_SAFE_INTEGER) }),
    ttl: whole(v.ttl, 'ttl', MAX_TTL_S),
    ...(v.reason === undefined ? {} : { reason: v.reason as string }),
  };
}

/** The rights an ask or a grant stands for, `now` being when the grant would be made. */
export function rightsFor(service: string, x: Omit<Ask, 'service'> | Grant, now: number): Rights {
  return {
    services: new Set([service]),
    actions: new Set(x.actions),
    budget: x.budget ?? null,
    notBefore: 0,
    expiry: now + x.ttl,
    caveats: new Set(),
  };
}

/** The person's answer, from the approval window (outside input all the same); it must narrow `ask`. */
export function checkGrant(ask: Ask, v: unknown, now: number): Grant {
  if (!isRecord(v)) throw new DreggError('E_ARGUMENT', 'A grant is an object');
  if (typeof v.from !== 'string' || v.from.length === 0 || v.from.length > 128)
    throw new DreggError('E_ARGUMENT', 'Choose the capability to grant it from');
  const grant: Grant = {
    from: v.from,
    actions: names(v.actions, 'actions'),
    ...(v.budget === undefined ? {} : { budget: whole(v.budget, 'budget', Number.MAX_SAFE_INTEGER) }),
    ttl: whole(v.ttl, 'ttl', MAX_TTL_S),
  };
  assertNarrows(rightsFor(ask.service, grant, now), rightsFor(ask.service, ask, now), 'grant');
  return grant;
}

import { actionsCaveat, type Caveat, servicesCaveat } from '../caps/caveats.ts';
import { checkValidity } from '../caps/chain.ts';
import {
  type Chain,
  chainToText,
  type EnvelopeBody,
  envelopeHash,
  envelopeHashHex,
  signEnvelope,
} from '../caps/envelope.ts';
import { checkRevocation } from '../caps/revocation.ts';
import { assertNarrows, declaredRights, rightsOf } from '../caps/rights.ts';
import { attenuate, tokenId } from '../caps/token.ts';
import { nowSeconds } from '../clock.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import type { Agent } from './agent.ts';
import { randomHex, wholeNumber } from './mint.ts';
import { resolveCapability } from './resolve.ts';

/** Lifetime of a delegation when none is asked for: a shared capability always expires (PITFALLS 20). */
export const DEFAULT_DELEGATION_TTL_S = 24 * 60 * 60;

/** What the delegator restricts. Every field narrows; asking for more than the parent has is refused. */
export interface Attenuation {
  readonly services?: readonly string[];
  readonly actions?: readonly string[];
  readonly maxBudget?: number;
  /** Seconds from now (default 24 h). */
  readonly maxTtl?: number;
  /** Seconds from now before which it is not valid. */
  readonly notBefore?: number;
  /** Enrol this delegation in a new revocation channel the delegator owns. */
  readonly channel?: boolean;
}

export interface DelegateReturnType {
  readonly chain: Chain;
  readonly text: string;
  /** The delegation hash (hex): what `revoke --delegation` takes. */
  readonly hash: string;
  readonly channel?: string;
}

/**
 * Attenuates a capability this agent holds (a token it minted, or a delegation made to it) and signs
 * an envelope binding the result to `recipient`. Refuses with `E_WIDENING` any restriction wider than
 * what the agent holds.
 */
export async function delegate(
  agent: Agent,
  tokenRef: string,
  recipient: string,
  a: Attenuation = {},
): Promise<DelegateReturnType> {
  ed25519FromDidKey(recipient);
  const parent = resolveCapability(agent, tokenRef);
  const holder = parent.chain.length > 0 ? parent.chain[parent.chain.length - 1]!.to : parent.token.issuer;
  if (holder !== agent.did)
    throw new DreggError('E_AUDIENCE', 'This capability was delegated to someone else');
  const now = nowSeconds(agent.clock);
  checkRevocation(agent.revocation, parent.token, parent.chain, agent);
  checkValidity(parent.token, now);

  const restrict: Caveat[] = [];
  if (a.services !== undefined) restrict.push(servicesCaveat(a.services));
  if (a.actions !== undefined) restrict.push(actionsCaveat(a.actions));
  if (a.maxBudget !== undefined)
    restrict.push({ t: 'budget', id: randomHex(8), max: wholeNumber(a.maxBudget, 'budget') });
  if (a.notBefore !== undefined)
    restrict.push({ t: 'nbf', at: now + wholeNumber(a.notBefore, 'not-before') });
  // An explicit TTL beyond the parent's expiry is refused below; the default simply stops at it.
  const parentRights = rightsOf(parent.token.caveats);
  const parentExpiry = parentRights.expiry;
  const ttl = a.maxTtl === undefined ? DEFAULT_DELEGATION_TTL_S : wholeNumber(a.maxTtl, 'ttl');
  const expiry =
    a.maxTtl === undefined && parentExpiry !== null ? Math.min(now + ttl, parentExpiry) : now + ttl;
  restrict.push({ t: 'exp', at: expiry });
  let channel: string | undefined;
  if (a.channel === true) {
    channel = randomHex(16);
    restrict.push({ t: 'rev', channel, owner: agent.did });
  }
  restrict.push({ t: 'aud', did: recipient }, { t: 'epoch', by: agent.did, epoch: agent.state.epoch });

  assertNarrows(declaredRights(parentRights, restrict), parentRights, 'delegation');

  const token = attenuate(parent.token, restrict);
  const last = parent.chain[parent.chain.length - 1];
  const body: EnvelopeBody = {
    v: 1,
    token,
    parent: last === undefined ? null : envelopeHash(last),
    from: agent.did,
    to: recipient,
    restrict,
    issuedAt: now,
    expiry: rightsOf(token.caveats).expiry!,
    epoch: agent.state.epoch,
  };
  const env = await signEnvelope(body, agent.identity.seed, agent.ed);
  const chain = [...parent.chain, env];
  const hash = envelopeHashHex(env);
  const text = chainToText(chain);
  if (channel !== undefined) {
    agent.state.channels[channel] = { tripped: false };
    agent.revocation.enrolled.add(`${channel}/${agent.did}`);
  }
  agent.state.issued[hash] = { token: tokenId(token), to: recipient, chain: text, issuedAt: now };
  return { chain, text, hash, ...(channel === undefined ? {} : { channel }) };
}

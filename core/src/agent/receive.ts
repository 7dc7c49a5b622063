import { verifyChain } from '../caps/chain.ts';
import { type Chain, chainFromText, chainToText, envelopeHashHex } from '../caps/envelope.ts';
import type { Token } from '../caps/token.ts';
import type { TrustPolicy } from '../caps/trust.ts';
import { nowSeconds } from '../clock.ts';
import { DreggError } from '../errors.ts';
import type { Agent } from './agent.ts';

export interface ReceiveReturnType {
  /** The id under which the delegation is held: its envelope hash (hex). */
  readonly id: string;
  readonly token: Token;
  readonly chain: Chain;
}

/**
 * Accepts a delegation made to this agent after every check of seed 002: all signatures back to
 * someone `authority` trusts, nothing revoked, every step only narrowing with restrictions exactly as
 * declared, within its validity window, and bound to this agent.
 */
export async function receiveSignedDelegation(
  agent: Agent,
  delegation: Chain | string,
  authority: TrustPolicy,
): Promise<ReceiveReturnType> {
  const chain = typeof delegation === 'string' ? chainFromText(delegation) : delegation;
  const token = await verifyChain(chain, {
    ed: agent.ed,
    now: nowSeconds(agent.clock),
    revocation: agent.revocation,
    maxStaleness: agent.maxStaleness,
    trust: authority,
  });
  const last = chain[chain.length - 1]!;
  if (last.to !== agent.did)
    throw new DreggError('E_AUDIENCE', `This delegation is for ${last.to}, not for you`);
  const id = envelopeHashHex(last);
  agent.state.held[id] = { chain: chainToText(chain), from: last.from, acceptedAt: nowSeconds(agent.clock) };
  return { id, token, chain };
}

import { actionsCaveat, type Caveat, servicesCaveat } from '../caps/caveats.ts';
import { mintRootToken, newRootKey, type Token, tokenId, tokenToText } from '../caps/token.ts';
import { nowSeconds } from '../clock.ts';
import { toHex } from '../encoding/bytes.ts';
import { DreggError } from '../errors.ts';
import type { Agent } from './agent.ts';
import { encodeCaveatList } from './resolve.ts';

export interface MintParameters {
  readonly service: string;
  readonly actions?: readonly string[];
  readonly budget?: number;
  /** Lifetime in seconds; none means the root token does not expire. */
  readonly ttl?: number;
  /** Enrol the token in a new revocation channel this agent owns. */
  readonly channel?: boolean;
}

export interface MintReturnType {
  readonly id: string;
  readonly token: Token;
  readonly text: string;
  readonly channel?: string;
}

export function randomHex(bytes: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Mints a root token for a service this agent runs. Its fresh random root key goes to the keyring. */
export function mintToken(agent: Agent, p: MintParameters): MintReturnType {
  const caveats: Caveat[] = [servicesCaveat([p.service])];
  if (p.actions !== undefined) caveats.push(actionsCaveat(p.actions));
  if (p.budget !== undefined)
    caveats.push({ t: 'budget', id: randomHex(8), max: wholeNumber(p.budget, 'budget') });
  if (p.ttl !== undefined)
    caveats.push({ t: 'exp', at: nowSeconds(agent.clock) + wholeNumber(p.ttl, 'ttl') });
  let channel: string | undefined;
  if (p.channel === true) {
    channel = randomHex(16);
    caveats.push({ t: 'rev', channel, owner: agent.did });
    agent.state.channels[channel] = { tripped: false };
    agent.revocation.enrolled.add(`${channel}/${agent.did}`);
  }
  const rootKey = newRootKey();
  const token = mintRootToken({ issuer: agent.did, rootKey, caveats });
  const id = tokenId(token);
  agent.secrets.rootKeys[id] = rootKey;
  agent.state.minted[id] = { caveats: encodeCaveatList(caveats), createdAt: nowSeconds(agent.clock) };
  return { id, token, text: tokenToText(token), ...(channel === undefined ? {} : { channel }) };
}

export function wholeNumber(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new DreggError('E_ARGUMENT', `The ${what} must be a whole number`);
  return n;
}

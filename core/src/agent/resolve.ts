/**
 * Turning what a person types (`--token X`) into a capability: a token id from the keyring, the id of
 * a held delegation, or a token or delegation in text form.
 */
import { type Caveat, caveatFromCbor, caveatToCbor } from '../caps/caveats.ts';
import { type Chain, chainFromText } from '../caps/envelope.ts';
import type { Presented } from '../caps/request.ts';
import { mintRootToken, type Token, tokenFromText } from '../caps/token.ts';
import { fromHex, toHex } from '../encoding/bytes.ts';
import { decodeCbor, encodeCbor } from '../encoding/cbor.ts';
import { textKind } from '../encoding/text.ts';
import { DreggError } from '../errors.ts';
import type { Agent } from './agent.ts';

export function encodeCaveatList(caveats: readonly Caveat[]): string {
  return toHex(encodeCbor(caveats.map(caveatToCbor)));
}

export function decodeCaveatList(hex: string): Caveat[] {
  const v = decodeCbor(fromHex(hex), 'caveat list');
  if (!Array.isArray(v)) throw new DreggError('E_INVALID', 'A caveat list is a list');
  return v.map(caveatFromCbor);
}

/** The full root token for one we minted, rebuilt from its root key. */
export function mintedToken(agent: Agent, id: string): Token | undefined {
  const minted = agent.state.minted[id];
  const rootKey = agent.secrets.rootKeys[id];
  if (minted === undefined || rootKey === undefined) return undefined;
  return mintRootToken({
    issuer: agent.did,
    rootKey,
    caveats: decodeCaveatList(minted.caveats),
    nonce: fromHex(id),
  });
}

/** Resolves a reference to a capability this agent can present or delegate. */
export function resolveCapability(agent: Agent, ref: string): Presented {
  const text = ref.trim();
  const minted = mintedToken(agent, text);
  if (minted !== undefined) return { token: minted, chain: [] };
  const held = agent.state.held[text];
  if (held !== undefined) return presentedFromChain(chainFromText(held.chain));
  switch (textKind(text)) {
    case 'token':
      return { token: tokenFromText(text), chain: [] };
    case 'envelope':
      return presentedFromChain(chainFromText(text));
    default:
      throw new DreggError(
        'E_NOT_FOUND',
        'Not a token id, a held delegation id, or a token or delegation text',
      );
  }
}

export function presentedFromChain(chain: Chain): Presented {
  return { token: chain[chain.length - 1]!.token, chain };
}

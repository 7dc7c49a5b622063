/**
 * The minting service's check of a request against a capability (`dregg cap verify`): the token was
 * minted here (HMAC chain from our root key), the chain that delivered it is sound, nothing is revoked
 * or expired, the holder is the one it is bound to, and the request is inside every caveat.
 */
import { DreggError } from '../errors.ts';
import { type ChainOptions, checkValidity, verifyChain } from './chain.ts';
import type { Chain } from './envelope.ts';
import { checkRevocation } from './revocation.ts';
import { type Token, tokenId, verifyTag } from './token.ts';
import { TrustedKey } from './trust.ts';

export interface CapRequest {
  readonly service: string;
  readonly action: string;
  /** Units this request consumes from every budget on the token (default 0). */
  readonly cost?: number;
  /** The authenticated presenter. Defaults to the chain's final recipient. */
  readonly holder?: string;
}

/** Spending per budget id, kept by the service. */
export interface BudgetMeter {
  spent(budgetId: string): number;
  charge(budgetId: string, amount: number): void;
}

/** A capability as presented: a token and the chain that delivered it (empty for a root token). */
export interface Presented {
  readonly token: Token;
  readonly chain: Chain;
}

export interface RequestOptions extends Omit<ChainOptions, 'trust'> {
  /** Our DID: we only honour tokens we minted. */
  readonly self: string;
  /** Root key of a token we minted, by token id. */
  readonly rootKey: (tokenId: string) => Uint8Array | undefined;
  /** When given, budgets are metered: the request is charged if allowed. */
  readonly meter?: BudgetMeter;
}

/** Throws a coded `DreggError` unless the request is allowed; charges the meter when it is. */
export async function checkRequest(
  p: Presented,
  request: CapRequest,
  options: RequestOptions,
): Promise<void> {
  const token = p.chain.length > 0 ? p.chain[p.chain.length - 1]!.token : p.token;
  if (p.chain.length > 0) {
    await verifyChain(p.chain, { ...options, trust: TrustedKey(options.self) });
  } else {
    checkRevocation(options.revocation, token, [], options);
    checkValidity(token, options.now);
  }
  const rootKey = token.issuer === options.self ? options.rootKey(tokenId(token)) : undefined;
  if (rootKey === undefined) throw new DreggError('E_UNTRUSTED', 'This token was not minted here');
  if (!verifyTag(token, rootKey))
    throw new DreggError('E_BAD_MAC', 'The token has been altered (HMAC chain broken)');

  // Every caveat must allow the request (conjunction); checked caveat by caveat, no sets built.
  for (const c of token.caveats) {
    if (c.t === 'services' && !c.services.includes(request.service)) {
      throw new DreggError('E_DENIED', `Not granted for the service "${request.service}"`);
    }
    if (c.t === 'actions' && !c.actions.includes(request.action)) {
      throw new DreggError('E_DENIED', `The action "${request.action}" is not granted`);
    }
  }

  const custody = p.chain.length > 0 ? [token.issuer, ...p.chain.map((e) => e.to)] : [];
  const holder = request.holder ?? custody[custody.length - 1];
  if (custody.length > 0 && holder !== custody[custody.length - 1]) {
    throw new DreggError('E_AUDIENCE', 'The presenter is not the holder this delegation was made to');
  }
  for (const c of token.caveats) {
    if (c.t === 'aud' && !(custody.includes(c.did) || (custody.length === 0 && holder === c.did))) {
      throw new DreggError('E_AUDIENCE', `Bound to ${c.did}, presented by ${holder ?? 'an unnamed holder'}`);
    }
  }

  const cost = request.cost ?? 0;
  if (!Number.isSafeInteger(cost) || cost < 0)
    throw new DreggError('E_ARGUMENT', 'Cost must be a whole number');
  for (const c of token.caveats) {
    if (c.t !== 'budget') continue;
    const spent = options.meter?.spent(c.id) ?? 0;
    if (spent + cost > c.max) {
      throw new DreggError(
        'E_BUDGET',
        `Cost ${cost} exceeds the remaining budget ${c.max - spent} of ${c.max}`,
      );
    }
  }
  if (options.meter !== undefined && cost > 0) {
    for (const c of token.caveats) if (c.t === 'budget') options.meter.charge(c.id, cost);
  }
}

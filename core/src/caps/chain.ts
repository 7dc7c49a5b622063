/**
 * Checking a delegation chain, as seed 002 says a recipient must before accepting, and as a service
 * must before honouring a request:
 *
 *  1. every step is structurally sound: it names its parent by hash, the delegator is the previous
 *     recipient (custody), the token is the parent's token with exactly the declared restrictions
 *     appended (PITFALLS 3), each step only narrows (`narrows`, E_WIDENING), and each step is bound
 *     to its recipient and to the delegator's epoch;
 *  2. every signature verifies (Ed25519, strict);
 *  3. the chain is vouched for by someone the verifier trusts;
 *  4. nothing in it is revoked, and it is within its validity window.
 *
 * Structural checks run first because they are cheap and need no keys.
 */
import type { Ed25519 } from '../crypto/ed25519.ts';
import { bytesEqual } from '../encoding/bytes.ts';
import { DreggError } from '../errors.ts';
import { type Caveat, sameCaveats } from './caveats.ts';
import { type Chain, envelopeHash, verifyEnvelopeSignature } from './envelope.ts';
import { checkRevocation, type RevocationState } from './revocation.ts';
import { assertNarrows, declaredRights, rightsOf } from './rights.ts';
import type { Token } from './token.ts';
import { type TrustPolicy, trusts } from './trust.ts';

/** Clock skew we tolerate on `issuedAt`, in seconds. */
export const MAX_SKEW_S = 300;

export interface ChainOptions {
  readonly ed: Ed25519;
  /** Unix seconds. */
  readonly now: number;
  readonly revocation: RevocationState;
  /** How many epochs a delegation may lag its delegator's current epoch. */
  readonly maxStaleness: number;
  /** Whom to trust. Omitted only by the minting service, which checks the HMAC chain instead. */
  readonly trust?: TrustPolicy;
}

/** Step-by-step structure; no signatures, no trust, no revocation. */
export function checkChainStructure(chain: Chain, now: number): void {
  if (chain.length === 0) throw new DreggError('E_INVALID', 'A delegation chain is never empty');
  const first = chain[0]!;
  for (let i = 0; i < chain.length; i++) {
    const env = chain[i]!;
    const step = `step ${i + 1} (${env.from} -> ${env.to})`;
    const tok = env.token;
    if (tok.issuer !== first.token.issuer || !bytesEqual(tok.nonce, first.token.nonce)) {
      throw new DreggError('E_INVALID', `In ${step} the token is not the same root as the rest of the chain`);
    }
    let parentCaveats: readonly Caveat[];
    if (i === 0) {
      if (env.parent !== null)
        throw new DreggError('E_INVALID', 'The first delegation has no parent envelope');
      if (env.from !== tok.issuer)
        throw new DreggError('E_INVALID', 'The first delegation must come from the issuer');
      if (env.restrict.length > tok.caveats.length) {
        throw new DreggError(
          'E_RESTRICTION_MISMATCH',
          `In ${step} more restrictions are declared than appended`,
        );
      }
      parentCaveats = tok.caveats.slice(0, tok.caveats.length - env.restrict.length);
    } else {
      const prev = chain[i - 1]!;
      if (env.parent === null || !bytesEqual(env.parent, envelopeHash(prev))) {
        throw new DreggError('E_INVALID', `In ${step} the parent hash does not name the previous envelope`);
      }
      if (env.from !== prev.to)
        throw new DreggError('E_INVALID', `In ${step} the delegator is not the previous recipient`);
      parentCaveats = prev.token.caveats;
    }
    const parentRights = rightsOf(parentCaveats);
    const rights = rightsOf(tok.caveats);
    assertNarrows(rights, parentRights, `delegation in ${step}`);
    assertNarrows(declaredRights(parentRights, env.restrict), parentRights, `delegation in ${step}`);
    if (!sameCaveats(tok.caveats, [...parentCaveats, ...env.restrict])) {
      throw new DreggError(
        'E_RESTRICTION_MISMATCH',
        `In ${step} the declared restrictions differ from the caveats appended`,
      );
    }
    if (!env.restrict.some((c) => c.t === 'aud' && c.did === env.to)) {
      throw new DreggError('E_INVALID', `In ${step} the token is not bound to its recipient`);
    }
    if (!env.restrict.some((c) => c.t === 'epoch' && c.by === env.from && c.epoch === env.epoch)) {
      throw new DreggError('E_INVALID', `In ${step} the token does not carry the delegator's epoch`);
    }
    if (rights.expiry !== env.expiry) {
      throw new DreggError(
        'E_RESTRICTION_MISMATCH',
        `In ${step} the declared expiry is not the token's expiry`,
      );
    }
    if (env.issuedAt > now + MAX_SKEW_S)
      throw new DreggError('E_INVALID', `In ${step} the envelope is issued in the future`);
  }
}

/** Full check of a delegation chain. Returns the holder's token (the last step's). */
export async function verifyChain(chain: Chain, options: ChainOptions): Promise<Token> {
  checkChainStructure(chain, options.now);
  const valid = await Promise.all(chain.map((env) => verifyEnvelopeSignature(env, options.ed)));
  const bad = valid.indexOf(false);
  if (bad >= 0) throw new DreggError('E_BAD_SIGNATURE', `The signature of step ${bad + 1} does not verify`);
  if (options.trust !== undefined && !trusts(options.trust, chain)) {
    throw new DreggError('E_UNTRUSTED', 'No one this recipient trusts signed any step of the chain');
  }
  const token = chain[chain.length - 1]!.token;
  checkRevocation(options.revocation, token, chain, { maxStaleness: options.maxStaleness });
  checkValidity(token, options.now);
  return token;
}

/** Throws `E_EXPIRED` or `E_NOT_YET_VALID` unless `now` (Unix seconds) is inside the token's window. */
export function checkValidity(token: Token, now: number): void {
  for (const c of token.caveats) {
    if (c.t === 'exp' && now >= c.at)
      throw new DreggError('E_EXPIRED', `Expired at ${new Date(c.at * 1000).toISOString()}`);
    if (c.t === 'nbf' && now < c.at) {
      throw new DreggError('E_NOT_YET_VALID', `Not valid before ${new Date(c.at * 1000).toISOString()}`);
    }
  }
}

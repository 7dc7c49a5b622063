/**
 * Trust policies: whom a recipient trusts to vouch for a delegation chain (seed 002's
 * `DelegationAuthority`). A signer vouches for the chain up to and including its own step: everything
 * after it is authority derived from it by signed, narrowing steps.
 */
import { bytesEqual } from '../encoding/bytes.ts';
import { type Chain, envelopeHash } from './envelope.ts';

export type TrustPolicy =
  /** Accept chains issued or signed along the way by this DID. */
  | { readonly kind: 'TrustedKey'; readonly did: string }
  /** Accept chains issued or signed along the way by any of these DIDs. */
  | { readonly kind: 'TrustedKeys'; readonly dids: readonly string[] }
  /** Accept chains that extend a delegation we already hold (named by its envelope hash). */
  | { readonly kind: 'ChainsFromParent'; readonly parent: Uint8Array };

export const TrustedKey = (did: string): TrustPolicy => ({ kind: 'TrustedKey', did });
export const TrustedKeys = (dids: readonly string[]): TrustPolicy => ({
  kind: 'TrustedKeys',
  dids: [...dids],
});
export const ChainsFromParent = (parent: Uint8Array): TrustPolicy => ({ kind: 'ChainsFromParent', parent });

/** Whether the policy vouches for this (already signature-checked) chain. */
export function trusts(policy: TrustPolicy, chain: Chain): boolean {
  const signers = new Set(chain.map((e) => e.from));
  switch (policy.kind) {
    case 'TrustedKey':
      return signers.has(policy.did);
    case 'TrustedKeys':
      return policy.dids.some((d) => signers.has(d));
    case 'ChainsFromParent':
      return chain.some((e) => bytesEqual(envelopeHash(e), policy.parent));
  }
}

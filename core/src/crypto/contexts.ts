/**
 * The registry of domain-separation contexts. Every BLAKE3 derive-key context used anywhere in
 * cipherclerk is listed here and nowhere else, so that no two purposes can ever share a hash domain
 * (PITFALLS 10, 13). Format: "cipherclerk v1 <purpose>". Changing a string changes every hash made
 * under it: treat them as frozen once released.
 */
export const Contexts = {
  /** Hash of a capability token's canonical encoding: the token's public id. */
  tokenHash: 'cipherclerk v1 token hash',
  /** Digest of a delegation envelope's unsigned body, which the delegator signs. */
  envelopeSigning: 'cipherclerk v1 delegation envelope signing',
  /** Hash of a whole signed delegation envelope: the "delegation hash" that revocation names. */
  envelopeHash: 'cipherclerk v1 delegation envelope hash',
  /** Digest of a revocation record's unsigned body, which the revoker signs. */
  revocationSigning: 'cipherclerk v1 revocation record signing',
  sealedBoxKey: 'cipherclerk v1 sealed box key',
  /** Key fingerprint shown to people (first bytes of this hash of a public key). */
  keyFingerprint: 'cipherclerk v1 key fingerprint',
  /** Additional data binding a keyring ciphertext to its header (version, KDF parameters). */
  keyringHeader: 'cipherclerk v1 keyring header',
} as const;

export type Context = keyof typeof Contexts;

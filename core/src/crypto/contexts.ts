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
  /** STARK Fiat-Shamir transcript: absorbing parameters, statement, commitments and openings. */
  starkTranscript: 'cipherclerk v1 stark transcript',
  /** STARK Fiat-Shamir transcript: squeezing challenge bytes from the transcript state. */
  starkChallenge: 'cipherclerk v1 stark challenge',
  /** STARK query proof-of-work: the key of the grinding hash over (transcript state, nonce). */
  starkProofOfWork: 'cipherclerk v1 stark proof of work',
  /** STARK Merkle trees: the BLAKE3 key of leaf hashes (one row or one FRI coset per leaf). */
  starkMerkleLeaf: 'cipherclerk v1 stark merkle leaf',
  /** STARK Merkle trees: the BLAKE3 key of inner nodes (one compression of two child digests). */
  starkMerkleNode: 'cipherclerk v1 stark merkle node',
} as const;

export type Context = keyof typeof Contexts;

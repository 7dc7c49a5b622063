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
  /** Poseidon2 sponge: the capacity IV of each purpose, derived from the purpose's label (stark/poseidon2/sponge.ts). */
  poseidon2Domain: 'cipherclerk v1 poseidon2 sponge domain',
  /** Turn proofs: a field's key as field elements (proofs/state.ts). */
  proofFieldKey: 'cipherclerk v1 proof field key',
  /** Turn proofs: a field's value as field elements. */
  proofFieldValue: 'cipherclerk v1 proof field value',
  /** Turn proofs: the part of a cell's state a turn proof does not open (id, owner, c-list, permissions, key, lifecycle). */
  proofCellRest: 'cipherclerk v1 proof cell rest',
  /** Turn proofs: the hiding salt of a state commitment, from the owner's proof secret, the cell and the nonce. */
  proofStateSalt: 'cipherclerk v1 proof state salt',
  /** Turn proofs: the owner's proof secret, derived from the identity's signing seed (proofs/state.ts `proofSecret`). */
  proofSecret: 'cipherclerk v1 proof secret',
  /** Proved cells: what an owner signs to make a cell proved at a relay (ledger, agent, cell, nonce-0 salt). */
  provedRegistration: 'cipherclerk v1 proved cell registration',
  /** Proved cells: what an owner signs to submit a proved turn (ledger, agent, cell, statement, proof hash). */
  provedSubmission: 'cipherclerk v1 proved turn submission',
  /** Proved cells: the hash of a turn proof's bytes (signed in a submission, kept by the relay in place of the proof). */
  provedProofHash: 'cipherclerk v1 proved turn proof hash',
  /** A cell's id: the hash of (owner public key, salt). */
  cellId: 'cipherclerk v1 cell id',
  /** A cell's state commitment: the hash of its canonical encoding. */
  cellState: 'cipherclerk v1 cell state',
  /** Ledger Merkle tree: leaves (cell id and state commitment). */
  ledgerLeaf: 'cipherclerk v1 ledger merkle leaf',
  /** Ledger Merkle tree: inner nodes (two child digests). */
  ledgerNode: 'cipherclerk v1 ledger merkle node',
  /** Commitment to the states of the cells one turn touched (before or after it). */
  turnState: 'cipherclerk v1 turn state commitment',
  /** Digest of a turn's unsigned body, which the acting agent signs. */
  turnSigning: 'cipherclerk v1 turn signing',
  /** Hash of a whole signed turn: the turn's id in receipts. */
  turnHash: 'cipherclerk v1 turn hash',
  /** Hash of a turn's effect list, in receipts. */
  turnEffects: 'cipherclerk v1 turn effects',
  /** Ids of ledger objects a turn creates (channels, seal pairs, boxes, obligations, locks, messages). */
  ledgerObjectId: 'cipherclerk v1 ledger object id',
  /** Digest of a receipt's unsigned body, which the executor signs. */
  receiptSigning: 'cipherclerk v1 receipt signing',
  /** Hash of a whole signed receipt: the link of the per-agent receipt chain. */
  receiptHash: 'cipherclerk v1 receipt hash',
  /** Digest a federation signs to attest a bridge event (a lock minted, finalized or cancelled). */
  bridgeAttestation: 'cipherclerk v1 bridge attestation',
  /** Pedersen commitments: seed of the blinding generator H (nobody knows log_G H). */
  pedersenGenerator: 'cipherclerk v1 pedersen blinding generator',
  /** Shielded notes: Fiat-Shamir challenge of a range proof. */
  noteRangeChallenge: 'cipherclerk v1 note range proof challenge',
  /** Shielded notes: Fiat-Shamir challenge of a turn's binding signature (value balance). */
  noteBindingChallenge: 'cipherclerk v1 note binding signature challenge',
  /** Shielded notes: a note's id (hash of its commitment and owner). */
  noteId: 'cipherclerk v1 note id',
  /** Shielded notes: the nullifier that marks a note spent. */
  noteNullifier: 'cipherclerk v1 note nullifier',
  /** Relay inboxes: hash of a deposited sealed box (a message digest commits to it, not to the bytes). */
  inboxCiphertext: 'cipherclerk v1 inbox ciphertext',
  /** Relay inboxes: a message's digest (times, size, deposit, refund claim, ciphertext hash). */
  inboxMessage: 'cipherclerk v1 inbox message',
  /** Relay inboxes, MerkleQueue: leaves (sequence number and message digest). */
  inboxLeaf: 'cipherclerk v1 inbox merkle leaf',
  /** Relay inboxes, MerkleQueue: inner nodes (two child digests). */
  inboxNode: 'cipherclerk v1 inbox merkle node',
  /** Relay inboxes, MerkleQueue: the root (message count and top node). */
  inboxRoot: 'cipherclerk v1 inbox merkle root',
  /** Relay inboxes: digest of an inbox head (relay, recipient, height, root, time); the relay signs it. */
  inboxHead: 'cipherclerk v1 inbox head',
  /** Relay inboxes: a drain challenge's digest (relay, recipient, nonce, height, expiry); recipient signs. */
  inboxDrainChallenge: 'cipherclerk v1 inbox drain challenge',
  /** Relay inboxes: digest of an acknowledgement (relay, recipient, height, root); the recipient signs it. */
  inboxAck: 'cipherclerk v1 inbox acknowledgement',
  /** Relay inboxes: the relay's key of an idempotency record (recipient and the sender's key). */
  inboxIdempotency: 'cipherclerk v1 inbox idempotency key',
  /** Relay inboxes: commitment to a refund claim secret (whoever reveals the secret collects the refund). */
  inboxRefundClaim: 'cipherclerk v1 inbox refund claim',
  /** A relay's signing key (receipts, attested roots, inbox heads, gossip), derived from its key file. */
  relaySigningKey: 'cipherclerk v1 relay signing key',
  /** A relay's libp2p identity key (its peer id), derived from its key file apart from the signing key. */
  relayPeerKey: 'cipherclerk v1 relay peer key',
  /** Turn notary: digest of one log event (seq, kind, idempotency key, receipt, supply movement). */
  notaryEvent: 'cipherclerk v1 notary log event',
  /** Turn notary, log Merkle tree: leaves (sequence number and event digest). */
  notaryLeaf: 'cipherclerk v1 notary log merkle leaf',
  /** Turn notary, log Merkle tree: inner nodes (two child digests). */
  notaryNode: 'cipherclerk v1 notary log merkle node',
  /** Turn notary, log Merkle tree: the root (event count and top node). */
  notaryRoot: 'cipherclerk v1 notary log merkle root',
  /** Turn notary: digest of an attested root (relay, ledger, height, ledger root, log root, supply, time). */
  notaryAttestedRoot: 'cipherclerk v1 notary attested root',
  /** Gossip: digest of a gossip envelope's unsigned fields (version, topic, signer, time, body), signed by its author. */
  gossipEnvelope: 'cipherclerk v1 gossip envelope',
  /** CapTP: a session's id, the hash of both hellos (DIDs, nonces, proposed epochs). */
  captpSessionId: 'cipherclerk v1 captp session id',
  /** CapTP: what each side of a session signs to authenticate (session id and the signer's DID). */
  captpSessionAuth: 'cipherclerk v1 captp session auth',
  /** CapTP: the key of a swiss table entry (the hash of the swiss number; the table never holds swiss). */
  captpSwissId: 'cipherclerk v1 captp swiss id',
  /** CapTP: digest of a handoff certificate's unsigned body, which the introducer signs. */
  captpHandoffCert: 'cipherclerk v1 captp handoff certificate',
  /** CapTP: what the recipient of a handoff signs to present it (certificate digest and session id). */
  captpHandoffPresent: 'cipherclerk v1 captp handoff presentation',
  /** CapTP: digest of a letter's unsigned body (store-and-forward to an offline vat), signed by its sender. */
  captpLetter: 'cipherclerk v1 captp letter',
  /** Intents: digest of an intent's unsigned body (offers, wants, zone, expiry, nonce), signed by its agent. */
  intentSigning: 'cipherclerk v1 intent signing',
  /** Intents: an intent's id, the hash of the whole signed intent. */
  intentId: 'cipherclerk v1 intent id',
  /** Ring settlement: a ring's id, the hash of its legs (who gives which offer for which want). */
  intentRing: 'cipherclerk v1 intent ring',
  /** Ring settlement: a participant's commitment to its escrow turn (turn bytes and a salt). */
  intentEscrowCommit: 'cipherclerk v1 intent escrow commitment',
  /** Ring settlement: what a participant signs to commit (ring, intent, receiving cell, commitment). */
  intentEscrowSigning: 'cipherclerk v1 intent escrow commitment signing',
  /** Intents: what an agent signs to withdraw its open intent from a relay's pool (the intent id). */
  intentWithdrawSigning: 'cipherclerk v1 intent withdraw signing',
  /** Relays: the ring coordinator's signing seed, from the relay's signing seed (its own receipt chain). */
  intentCoordinatorKey: 'cipherclerk v1 intent coordinator key',
  /** Ring settlement: the budget id a service's (or storage's) units are metered under, from its name. */
  intentServiceBudget: 'cipherclerk v1 intent service budget',
  /** Federation: digest of a blocklace block's unsigned fields (federation, epoch, creator, seq, acks, payload), signed by its creator. */
  federationBlockSigning: 'cipherclerk v1 federation block signing',
  /** Federation: a block's id, the hash of its whole signed encoding (what other blocks acknowledge). */
  federationBlockHash: 'cipherclerk v1 federation block hash',
  /** Federation: digest of an attested root (federation, committee epoch, ledger root, log height), signed by each member. */
  federationAttestedRoot: 'cipherclerk v1 federation attested root',
  /** Federation: a committee's id, the hash of its epoch and sorted member keys (what a light client pins). */
  federationCommittee: 'cipherclerk v1 federation committee',
  /** Federation: digest of a settled turn's federated receipt (its place in the final order and its outcome). */
  federationReceipt: 'cipherclerk v1 federation receipt',
  /** Federation, settlement log Merkle tree: leaves (height and receipt digest). */
  federationLogLeaf: 'cipherclerk v1 federation log merkle leaf',
  /** Federation, settlement log Merkle tree: inner nodes. */
  federationLogNode: 'cipherclerk v1 federation log merkle node',
  /** Federation, settlement log Merkle tree: the root (receipt count and top node). */
  federationLogRoot: 'cipherclerk v1 federation log merkle root',
  /** Federation: what the members of epoch e sign to hand over to epoch e + 1's committee. */
  federationTransition: 'cipherclerk v1 federation committee transition',
  /** Federation: what a relay's operator signs, with the relay's own key, to have it endorse a committee change. */
  federationProposal: 'cipherclerk v1 federation committee proposal',
  /** Federation bridges: the key of a federation's bridge module (public by design: only settled claims act as it). */
  federationBridgeModule: 'cipherclerk v1 federation bridge module',
  /** Federation bridges: a claim's id (hash of its encoding), to answer the same claim twice alike. */
  federationBridgeClaim: 'cipherclerk v1 federation bridge claim',
  /** Extension: what a site's session key signs to invoke a capability granted to it (request, time, nonce). */
  siteInvocation: 'cipherclerk v1 site invocation',
} as const;

export type Context = keyof typeof Contexts;

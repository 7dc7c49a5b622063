/** Turn validity proofs (issue 7): Poseidon2 state commitments, the turn AIR, proving and verifying. */
export {
  nullifierOf,
  type ProvedState,
  proofSecret,
  provedState,
  provedStateCommitment,
  stateElements,
  stateSalt,
} from './state.ts';
export {
  checkProof,
  decodeProofFile,
  decodeProvedRegistration,
  decodeProvedSubmission,
  digestBytes,
  elementsFromBytes,
  elementsToBytes,
  encodeProofFile,
  encodeProvedRegistration,
  encodeProvedSubmission,
  MAX_PROOF_BYTES,
  MAX_SUBMISSION_BYTES,
  type ProofFile,
  type ProvedRegistration,
  type ProvedSubmission,
  proofHash,
  type Signer,
  signProvedRegistration,
  signProvedSubmission,
  statementJson,
  verifyProvedRegistration,
  verifyProvedSubmission,
  verifySubmissionSignature,
} from './submission.ts';
export { fieldSteps, TURN_AIR_WIDTH, turnAir } from './turn-air.ts';
export {
  type ProvedTurn,
  proveTurn,
  type TurnProofOptions,
  type TurnStatement,
  turnTrace,
  verifyTurnProof,
} from './turn-proof.ts';

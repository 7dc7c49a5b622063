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
export { fieldSteps, TURN_AIR_WIDTH, turnAir } from './turn-air.ts';
export {
  type ProvedTurn,
  proveTurn,
  type TurnProofOptions,
  type TurnStatement,
  turnTrace,
  verifyTurnProof,
} from './turn-proof.ts';

/** The STARK engine: BabyBear / BLAKE3 / FRI prover and verifier. See core/docs/stark.md. */
export type { Air, BoundaryConstraint, ConstraintOps } from './air.ts';
export { cubeChainAir, cubeChainTrace } from './airs/cube-chain.ts';
export { fibonacciAir, fibonacciTrace } from './airs/fibonacci.ts';
export { poseidon2ChainAir, poseidon2ChainTrace } from './airs/poseidon2-chain.ts';
export { type StarkKernels, tsKernels } from './kernels.ts';
export { conjecturedSecurityBits, STARK_PARAMS, type StarkParams } from './params.ts';
export {
  fillPoseidon2,
  POSEIDON2_CONSTRAINT_DEGREE,
  type Poseidon2Layout,
  poseidon2Constraints,
  poseidon2Layout,
  poseidon2RoundValues,
} from './poseidon2/gadget.ts';
export {
  generateInstance as generatePoseidon2Instance,
  type Poseidon2Instance,
  permute as poseidon2Permute,
  poseidon2BabyBear16,
} from './poseidon2/permutation.ts';
export {
  DIGEST_ELEMENTS as POSEIDON2_DIGEST_ELEMENTS,
  domainIv as poseidon2DomainIv,
  type Poseidon2Domain,
  Poseidon2Domains,
  poseidon2Compress,
  poseidon2Hash,
} from './poseidon2/sponge.ts';
export { decodeProof, encodeProof, PROOF_VERSION, type StarkProof } from './proof.ts';
export { checkTrace, type ProgressListener, type ProveOptions, type ProvePhase, prove } from './prover.ts';
export { verify } from './verifier.ts';

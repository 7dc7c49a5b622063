/** The STARK engine: BabyBear / BLAKE3 / FRI prover and verifier. See core/docs/stark.md. */
export type { Air, BoundaryConstraint, ConstraintOps } from './air.ts';
export { cubeChainAir, cubeChainTrace } from './airs/cube-chain.ts';
export { fibonacciAir, fibonacciTrace } from './airs/fibonacci.ts';
export { type StarkKernels, tsKernels } from './kernels.ts';
export { conjecturedSecurityBits, STARK_PARAMS, type StarkParams } from './params.ts';
export { decodeProof, encodeProof, PROOF_VERSION, type StarkProof } from './proof.ts';
export { checkTrace, type ProgressListener, type ProveOptions, type ProvePhase, prove } from './prover.ts';
export { verify } from './verifier.ts';

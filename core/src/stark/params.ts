/**
 * The STARK parameters, in one place. The verifier uses its own copy and never reads parameters
 * from a proof; they are also absorbed into the transcript, so a proof made under other parameters
 * (fewer queries, less grinding) fails every challenge (see core/docs/stark.md).
 */

export interface StarkParams {
  /** log2 of the LDE blowup (rate 1/8). */
  readonly logBlowup: number;
  /** FRI query repetitions. */
  readonly numQueries: number;
  /** Leading zero bits demanded of the query proof-of-work hash. */
  readonly powBits: number;
  /** log2 of the FRI folding arity; the kernels implement arity 8 only. */
  readonly logFoldingArity: number;
  /** log2 of the largest final FRI polynomial (coefficients sent in the clear). */
  readonly logFinalPolyMax: number;
  /** log2 of the number of Merkle cap digests (16) sent instead of one root. */
  readonly capHeight: number;
}

export const STARK_PARAMS: StarkParams = Object.freeze({
  logBlowup: 3,
  numQueries: 29,
  powBits: 16,
  logFoldingArity: 3,
  logFinalPolyMax: 3,
  capHeight: 4,
});

/**
 * Random rows a zero-knowledge AIR must leave after its constrained rows, in every column it hides
 * (core/docs/stark.md, "Zero knowledge"): each column is opened at z and z w (4 base-field
 * coordinates each) and at up to numQueries points x, and the quotient at x depends on the trace at
 * x and at x w too, so the verifier sees 8 + 2 numQueries linear functionals of each column.
 */
export function zkBlindingRows(params: StarkParams): number {
  return 8 + 2 * params.numQueries;
}

/** log2 |F_p^4| for BabyBear: 4 * log2(2^31 - 2^27 + 1). */
export const EXTENSION_FIELD_BITS = 4 * Math.log2(2013265921);

/**
 * Conjectured security in bits (the ethSTARK "toy problem" conjecture, as used by Plonky3 and
 * Winterfell): the query phase gives numQueries * logBlowup + powBits bits; the algebraic steps
 * (ALI, DEEP, FRI batching and folding) each fail with probability about D / |F_ext| for a domain
 * of D = 2^logLdeSize points, bounded here with a factor 2^logTerms for the number of terms
 * combined. The result is the smaller of the two. A zero-knowledge proof's quotient chunks overlap
 * (degree < n each at a stride of n/2), so the identity checked at z has degree up to N + 1.5 n
 * instead of N: log2(1 + 1.5 / blowup) bits less on the algebraic side.
 */
export function conjecturedSecurityBits(
  params: StarkParams,
  logLdeSize: number,
  logTerms: number,
  zk = false,
): number {
  const queryBits = params.numQueries * params.logBlowup + params.powBits;
  const degreeBits = zk ? logLdeSize + Math.log2(1 + 1.5 / 2 ** params.logBlowup) : logLdeSize;
  const fieldBits = EXTENSION_FIELD_BITS - degreeBits - logTerms;
  return Math.min(queryBits, fieldBits);
}

/**
 * An Algebraic Intermediate Representation: a trace of `width` columns and 2^logTraceLength rows is
 * valid iff every transition constraint vanishes on each pair of consecutive rows (all but the last)
 * and every boundary constraint holds. Constraints are written once, generically over the field
 * operations, and evaluated by the prover on base-field trace values and by the verifier on
 * extension-field openings at the DEEP point.
 */
import { fail } from '../errors.ts';

export interface ConstraintOps<F> {
  add(a: F, b: F): F;
  sub(a: F, b: F): F;
  mul(a: F, b: F): F;
  constant(c: number): F;
}

export interface BoundaryConstraint {
  readonly column: number;
  /** Row index in [0, 2^logTraceLength). */
  readonly row: number;
  readonly value: number;
}

export interface Air {
  /** Identity absorbed into the transcript ("name/version"): a proof for one AIR is no proof for another. */
  readonly id: string;
  readonly width: number;
  readonly logTraceLength: number;
  /** Maximum total degree of the transition constraints in the trace variables (at most 9 for blowup 8). */
  readonly constraintDegree: number;
  readonly numTransitionConstraints: number;
  readonly numPublicInputs: number;
  /**
   * Zero knowledge: the prover masks the composition quotient and the FRI input (core/docs/stark.md,
   * "Zero knowledge"). The AIR's part is to leave `zkBlindingRows(params)` rows of fresh randomness,
   * reached by no constraint, in every column it hides. Both sides read it from the AIR, never from
   * the proof.
   */
  readonly zk?: boolean;
  /** Writes the numTransitionConstraints constraint values for the row pair (current, next) into out. */
  evaluateTransition<F>(ops: ConstraintOps<F>, current: readonly F[], next: readonly F[], out: F[]): void;
  /** Boundary constraints for these public inputs (already checked to be canonical and counted). */
  boundaries(publicInputs: readonly number[]): BoundaryConstraint[];
}

/** Rejects public inputs that are not numPublicInputs canonical field elements. */
export function checkPublicInputs(air: Air, publicInputs: readonly number[]): void {
  if (publicInputs.length !== air.numPublicInputs) {
    fail('E_INVALID', `AIR ${air.id} takes ${air.numPublicInputs} public inputs, got ${publicInputs.length}`);
  }
  for (const x of publicInputs) {
    if (!Number.isInteger(x) || x < 0 || x >= 2013265921)
      fail('E_INVALID', 'public input is not a field element');
  }
}

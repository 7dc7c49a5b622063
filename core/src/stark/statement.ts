/**
 * What both sides bind into the transcript before any commitment: protocol version, parameters,
 * the AIR's identity and shape, and the public inputs; and the derived sizes both sides use.
 */
import { type Air, checkPublicInputs } from './air.ts';
import { type Ext, eadd, emul, epow, esub, fromBase, isZero, mulByX } from './ext.ts';
import { GENERATOR, pow } from './field.ts';
import type { StarkParams } from './params.ts';
import { PROOF_VERSION } from './proof.ts';
import { Transcript } from './transcript.ts';

export interface Shape {
  readonly logN: number;
  readonly n: number;
  /** log2 of the LDE size N = n * blowup. */
  readonly logLde: number;
  /** log2 of the quotient domain blowup: the quotient has degree < n * 2^logQuotientBlowup. */
  readonly logQuotientBlowup: number;
  /** Number of committed base-field quotient columns: 4 coordinates per chunk of degree < n. */
  readonly quotientColumns: number;
}

export function shapeOf(air: Air, params: StarkParams): Shape {
  const logN = air.logTraceLength;
  const logQ = Math.ceil(Math.log2(Math.max(1, air.constraintDegree - 1)));
  if (logQ > params.logBlowup)
    throw new RangeError(`constraint degree ${air.constraintDegree} exceeds the blowup`);
  if (logN < 1 || logN + params.logBlowup > 27) throw new RangeError('trace length out of range');
  return {
    logN,
    n: 2 ** logN,
    logLde: logN + params.logBlowup,
    logQuotientBlowup: logQ,
    quotientColumns: 4 * 2 ** logQ,
  };
}

export function startTranscript(air: Air, publicInputs: readonly number[], params: StarkParams): Transcript {
  checkPublicInputs(air, publicInputs);
  const tx = new Transcript(`cipherclerk stark v${PROOF_VERSION}`);
  tx.absorbWords('params', [
    params.logBlowup,
    params.numQueries,
    params.powBits,
    params.logFoldingArity,
    params.logFinalPolyMax,
    params.capHeight,
  ]);
  tx.absorb('air id', new TextEncoder().encode(air.id));
  tx.absorbWords('air shape', [
    air.width,
    air.logTraceLength,
    air.constraintDegree,
    air.numTransitionConstraints,
  ]);
  tx.absorbWords('public inputs', publicInputs);
  return tx;
}

/**
 * Draws the DEEP point z, redrawing (deterministically, on both sides) while z or z*w_n would fall in
 * the trace subgroup or the LDE coset, where the quotients below would be undefined.
 */
export function drawDeepPoint(tx: Transcript, shape: Shape): Ext {
  const gN = fromBase(pow(GENERATOR, 2 ** shape.logLde));
  for (;;) {
    const z = tx.challengeExt();
    const zn = epow(z, shape.n);
    if (isZero(esub(zn, [1, 0, 0, 0]))) continue;
    if (isZero(esub(epow(z, 2 ** shape.logLde), gN))) continue;
    return z;
  }
}

/** Powers 1, a, a^2, ..., a^(count-1). */
export function powers(a: Ext, count: number): Ext[] {
  const out: Ext[] = [];
  let x: Ext = [1, 0, 0, 0];
  for (let i = 0; i < count; i++) {
    out.push(x);
    x = emul(x, a);
  }
  return out;
}

/** Reassembles Q(z) = sum_c z^(c n) sum_l X^l Q_(c,l)(z) from the per-coordinate openings. */
export function quotientFromOpenings(quotientAtZ: readonly Ext[], z: Ext, n: number): Ext {
  let total: Ext = [0, 0, 0, 0];
  let zcn: Ext = [1, 0, 0, 0];
  let zn: Ext = z;
  for (let i = 1; i < n; i *= 2) zn = emul(zn, zn);
  for (let c = 0; c < quotientAtZ.length / 4; c++) {
    let chunk: Ext = [0, 0, 0, 0];
    for (let l = 0; l < 4; l++) chunk = eadd(chunk, mulByX(quotientAtZ[4 * c + l]!, l));
    total = eadd(total, emul(zcn, chunk));
    zcn = emul(zcn, zn);
  }
  return total;
}

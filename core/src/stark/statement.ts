/**
 * What both sides bind into the transcript before any commitment: protocol version, parameters,
 * the AIR's identity and shape, and the public inputs; and the derived sizes both sides use.
 */
import { type Air, checkPublicInputs } from './air.ts';
import { type Ext, eadd, emul, epow, esub, fromBase, isZero, mulByX } from './ext.ts';
import { GENERATOR, pow } from './field.ts';
import type { StarkParams } from './params.ts';
import { PROOF_VERSION, ZK_PROOF_VERSION } from './proof.ts';
import { Transcript } from './transcript.ts';

export interface Shape {
  readonly logN: number;
  readonly n: number;
  /** log2 of the LDE size N = n * blowup. */
  readonly logLde: number;
  /** log2 of the quotient domain blowup: the quotient has degree < n * 2^logQuotientBlowup. */
  readonly logQuotientBlowup: number;
  /** Whether the proof is zero-knowledge (the AIR says so). */
  readonly zk: boolean;
  /**
   * log2 of the chunks' stride: Q = sum_c x^(c stride) Q_c with every chunk of degree < n. The stride
   * is n, or n/2 in a zero-knowledge proof, whose chunks overlap by n/2 coefficients of mask.
   */
  readonly logChunkStride: number;
  /** Number of committed base-field quotient columns: 4 coordinates per chunk. */
  readonly quotientColumns: number;
  /** Base-field columns of the FRI mask after the quotient's in its tree: 4 in a zero-knowledge proof, else 0. */
  readonly maskColumns: number;
}

export function shapeOf(air: Air, params: StarkParams): Shape {
  const logN = air.logTraceLength;
  const logQ = Math.ceil(Math.log2(Math.max(1, air.constraintDegree - 1)));
  if (logQ > params.logBlowup)
    throw new RangeError(`constraint degree ${air.constraintDegree} exceeds the blowup`);
  if (logN < 1 || logN + params.logBlowup > 27) throw new RangeError('trace length out of range');
  const zk = air.zk === true;
  // A zero-knowledge chunk's mask (n/2 coefficients per base column) must outnumber what the verifier
  // sees of that column: 4 coordinates at z and one value per query.
  if (zk && 2 ** (logN - 1) < 4 + params.numQueries)
    throw new RangeError(`a zero-knowledge proof needs at least ${2 * (4 + params.numQueries)} rows`);
  const logChunkStride = zk ? logN - 1 : logN;
  return {
    logN,
    n: 2 ** logN,
    logLde: logN + params.logBlowup,
    logQuotientBlowup: logQ,
    zk,
    logChunkStride,
    quotientColumns: 4 * 2 ** (logN + logQ - logChunkStride),
    maskColumns: zk ? 4 : 0,
  };
}

export function startTranscript(air: Air, publicInputs: readonly number[], params: StarkParams): Transcript {
  checkPublicInputs(air, publicInputs);
  // The version names the protocol: a zero-knowledge proof is another protocol (extra oracle, other
  // chunking), so its transcript differs from the first byte.
  const tx = new Transcript(`cipherclerk stark v${air.zk === true ? ZK_PROOF_VERSION : PROOF_VERSION}`);
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

/**
 * The FRI mask's coefficient in the DEEP batch: the power of beta after every column's (trace, then
 * quotient), so the mask is one more batched function and the batch's soundness argument covers it.
 */
export function maskCoefficient(beta: Ext, shape: Shape, width: number): Ext {
  return epow(beta, width + shape.quotientColumns);
}

/** Reassembles Q(z) = sum_c z^(c stride) sum_l X^l Q_(c,l)(z) from the per-coordinate openings. */
export function quotientFromOpenings(quotientAtZ: readonly Ext[], z: Ext, stride: number): Ext {
  let total: Ext = [0, 0, 0, 0];
  let zcn: Ext = [1, 0, 0, 0];
  let zn: Ext = z;
  for (let i = 1; i < stride; i *= 2) zn = emul(zn, zn);
  for (let c = 0; c < quotientAtZ.length / 4; c++) {
    let chunk: Ext = [0, 0, 0, 0];
    for (let l = 0; l < 4; l++) chunk = eadd(chunk, mulByX(quotientAtZ[4 * c + l]!, l));
    total = eadd(total, emul(zcn, chunk));
    zcn = emul(zcn, zn);
  }
  return total;
}

/**
 * The STARK verifier, plain TypeScript (the relay and the wallet both run it). It replays the
 * transcript from the statement and the proof's commitments, checks the AIR identity at the DEEP
 * point, the proof-of-work, every batched Merkle opening, the DEEP composition at each query, every
 * FRI fold and the final polynomial. Any failure is a DreggError: E_DECODE for malformed bytes,
 * E_INVALID (with the failing check named) for a well-formed proof that does not verify.
 */

import { fail } from '../errors.ts';
import type { Air, ConstraintOps } from './air.ts';
import { type Ext, eadd, eequal, einv, emul, epow, escale, esub, fromBase, readExt } from './ext.ts';
import { bitReverse, GENERATOR, inv, mul, pow, rootOfUnity } from './field.ts';
import { friReplayCommit, friVerifyQueries, numFolds, uniqueSorted } from './fri.ts';
import { capLog, hashLeaf, verifyBatch } from './merkle.ts';
import { STARK_PARAMS, type StarkParams } from './params.ts';
import { type BatchOpening, decodeProof } from './proof.ts';
import {
  drawDeepPoint,
  maskCoefficient,
  powers,
  quotientFromOpenings,
  shapeOf,
  startTranscript,
} from './statement.ts';
import { powLeadingZeros } from './transcript.ts';

const extOps: ConstraintOps<Ext> = {
  add: eadd,
  sub: esub,
  mul: emul,
  constant: (c) => fromBase(c),
};

function reject(what: string): never {
  fail('E_INVALID', `STARK proof rejected: ${what}`);
}

function exts(flat: Uint32Array): Ext[] {
  const out: Ext[] = [];
  for (let i = 0; i < flat.length / 4; i++) out.push(readExt(flat, i));
  return out;
}

/** Verifies `proofBytes` for `air` and `publicInputs`; returns normally or throws a DreggError. */
export function verify(
  air: Air,
  publicInputs: readonly number[],
  proofBytes: Uint8Array,
  params: StarkParams = STARK_PARAMS,
): void {
  const proof = decodeProof(proofBytes);
  const shape = shapeOf(air, params);
  if (proof.zk !== shape.zk)
    reject(shape.zk ? 'the AIR demands a zero-knowledge proof' : 'unexpected zero-knowledge proof');
  const { n, logN, logLde } = shape;
  const width = air.width;
  const qCols = shape.quotientColumns;
  const tx = startTranscript(air, publicInputs, params);
  const capWords = (logLeaves: number): number => 8 * 2 ** capLog(logLeaves, params.capHeight);

  // Shapes first: everything below indexes by them.
  if (proof.traceCap.length !== capWords(logLde)) reject('trace cap size');
  if (proof.quotientCap.length !== capWords(logLde)) reject('quotient cap size');
  if (proof.traceAtZ.length !== 4 * width || proof.traceAtZNext.length !== 4 * width)
    reject('trace opening count');
  if (proof.quotientAtZ.length !== 4 * qCols) reject('quotient opening count');
  const folds = numFolds(logN, params);
  if (proof.friCaps.length !== folds) reject('FRI layer count');
  proof.friCaps.forEach((cap, l) => {
    if (cap.length !== capWords(logLde - 3 * (l + 1))) reject(`FRI layer ${l} cap size`);
  });
  if (proof.finalPoly.length !== 4 * 2 ** (logN - 3 * folds)) reject('final polynomial size');

  // Transcript replay and the AIR identity at z: sum_t alpha^t C_t(z) / Z_T(z) + boundary terms = Q(z).
  tx.absorbWords('trace cap', proof.traceCap);
  const alpha = tx.challengeExt();
  tx.absorbWords('quotient cap', proof.quotientCap);
  const z = drawDeepPoint(tx, shape);
  const omegaN = rootOfUnity(logN);
  const zNext = emul(z, fromBase(omegaN));
  tx.absorbWords('trace at z', proof.traceAtZ);
  tx.absorbWords('trace at zw', proof.traceAtZNext);
  tx.absorbWords('quotient at z', proof.quotientAtZ);
  const tz = exts(proof.traceAtZ);
  const tzn = exts(proof.traceAtZNext);
  const qz = exts(proof.quotientAtZ);

  const T = air.numTransitionConstraints;
  const boundaries = air.boundaries(publicInputs);
  const alphas = powers(alpha, T + boundaries.length);
  const cvals: Ext[] = new Array(T).fill(fromBase(0));
  air.evaluateTransition(extOps, tz, tzn, cvals);
  let transition: Ext = [0, 0, 0, 0];
  for (let t = 0; t < T; t++) transition = eadd(transition, emul(alphas[t]!, cvals[t]!));
  const zn = epow(z, n);
  const ztInv = emul(esub(z, fromBase(inv(omegaN))), einv(esub(zn, fromBase(1))));
  let composition = emul(transition, ztInv);
  boundaries.forEach((b, i) => {
    const term = emul(esub(tz[b.column]!, fromBase(b.value)), einv(esub(z, fromBase(pow(omegaN, b.row)))));
    composition = eadd(composition, emul(alphas[T + i]!, term));
  });
  if (!eequal(composition, quotientFromOpenings(qz, z, 2 ** shape.logChunkStride)))
    reject('AIR constraints do not hold at the DEEP point');

  // FRI commit phase replay.
  const beta = tx.challengeExt();
  const zetas = friReplayCommit(tx, proof.friCaps, proof.finalPoly);

  // Proof-of-work, then the queries it unlocks.
  if (powLeadingZeros(tx.powSeed(), proof.powNonce) < params.powBits) reject('insufficient proof-of-work');
  tx.absorbWords('pow nonce', [proof.powNonce]);
  const queries = uniqueSorted(tx.challengeIndices(params.numQueries, logLde));

  const traceRows = checkRows(proof.trace, queries, width, proof.traceCap, logLde, params, 'trace');
  // The quotient tree's rows: the chunks' columns, then the FRI mask's (zero knowledge).
  const qWidth = qCols + shape.maskColumns;
  const quotientRows = checkRows(
    proof.quotient,
    queries,
    qWidth,
    proof.quotientCap,
    logLde,
    params,
    'quotient',
  );

  // DEEP composition at each query: F(x) = (A(x) - A(z)) / (x - z) + (B(x) - B(zw)) / (x - zw).
  // Coefficient beta^i for column i (trace, then quotient); a trace column's z*w term shares its
  // coefficient (see the prover's deepComposition for why that is sound).
  const betas = powers(beta, width + qCols);
  let az: Ext = [0, 0, 0, 0];
  let bz: Ext = [0, 0, 0, 0];
  for (let j = 0; j < width; j++) {
    az = eadd(az, emul(betas[j]!, tz[j]!));
    bz = eadd(bz, emul(betas[j]!, tzn[j]!));
  }
  for (let i = 0; i < qCols; i++) az = eadd(az, emul(betas[width + i]!, qz[i]!));
  const maskCoeff = shape.zk ? maskCoefficient(beta, shape, width) : undefined;
  const wLde = rootOfUnity(logLde);
  const values = new Map<number, Ext>();
  queries.forEach((q, i) => {
    const x = fromBase(mul(GENERATOR, pow(wLde, bitReverse(q, logLde))));
    let b: Ext = [0, 0, 0, 0];
    for (let j = 0; j < width; j++) b = eadd(b, escale(betas[j]!, traceRows[i * width + j]!));
    let a = b;
    const row = quotientRows.subarray(i * qWidth, (i + 1) * qWidth);
    for (let j = 0; j < qCols; j++) a = eadd(a, escale(betas[width + j]!, row[j]!));
    const f = eadd(emul(esub(a, az), einv(esub(x, z))), emul(esub(b, bz), einv(esub(x, zNext))));
    // The mask's 4 base columns are the coordinates of one extension value M(x).
    values.set(q, maskCoeff === undefined ? f : eadd(f, emul(maskCoeff, readExt(row, qCols / 4))));
  });

  friVerifyQueries(values, zetas, proof.friCaps, proof.fri, proof.finalPoly, logLde, params);
}

/** Checks a batched row opening against its cap and returns the rows (row-major). */
function checkRows(
  opening: BatchOpening,
  queries: readonly number[],
  width: number,
  cap: Uint32Array,
  logLeaves: number,
  params: StarkParams,
  what: string,
): Uint32Array {
  if (opening.values.length !== width * queries.length) reject(`${what} opening count`);
  const digests = new Uint32Array(8 * queries.length);
  for (let i = 0; i < queries.length; i++) {
    digests.set(hashLeaf(opening.values.subarray(i * width, (i + 1) * width)), 8 * i);
  }
  if (!verifyBatch(cap, logLeaves, params.capHeight, queries, digests, opening.siblings)) {
    reject(`${what} Merkle opening`);
  }
  return opening.values;
}

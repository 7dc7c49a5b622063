/**
 * FRI with folding arity 8 (Ben-Sasson, Bentov, Horesh, Riabzev, "Fast Reed-Solomon Interactive
 * Oracle Proofs of Proximity", ICALP 2018), shared by prover and verifier.
 *
 * Layer l is the bit-reversed evaluation of f_l on the coset g^(8^l) <w_(N / 8^l)>; a leaf is one coset
 * of 8 consecutive values (8 extension elements). Folding with challenge zeta maps
 * f(x) = sum_(k<8) x^k f_k(x^8) to f'(y) = sum_k zeta^k f_k(y), dividing the degree bound by 8. After
 * `numFolds` layers the prover sends the remaining polynomial as at most 2^logFinalPolyMax
 * coefficients; the verifier evaluates it itself, so a codeword far from low degree fails at the
 * queried points (PITFALLS 14: the old FRI compared lengths only).
 */

import { fail } from '../errors.ts';
import { type Ext, eadd, eequal, emul, fromBase, readExt } from './ext.ts';
import { bitReverse, GENERATOR, inv, mul, pow, rootOfUnity } from './field.ts';
import { foldOne, type StarkKernels } from './kernels.ts';
import { buildTree, hashLeaf, LEAF_KEY, type MerkleTree, openBatch, verifyBatch } from './merkle.ts';
import type { StarkParams } from './params.ts';
import type { BatchOpening } from './proof.ts';
import type { Transcript } from './transcript.ts';

/** Number of committed (and folded) layers for a codeword of degree < 2^logDegree. */
export function numFolds(logDegree: number, params: StarkParams): number {
  const a = params.logFoldingArity;
  return Math.max(0, Math.ceil((logDegree - params.logFinalPolyMax) / a));
}

/** Shift of layer l's coset: g^(8^l). */
export function layerShift(layer: number, params: StarkParams): number {
  return pow(GENERATOR, 2n ** BigInt(params.logFoldingArity * layer));
}

/** 1 / x_m for coset m of a layer of size 2^logSize with the given shift (verifier side, one at a time). */
export function cosetPointInv(logSize: number, shift: number, m: number): number {
  const w = rootOfUnity(logSize);
  return inv(mul(shift, pow(w, bitReverse(m, logSize - 3))));
}

function cosetPointInvTable(logSize: number, shift: number): Uint32Array {
  const cosets = 2 ** (logSize - 3);
  const wInv = inv(rootOfUnity(logSize));
  const natural = new Uint32Array(cosets);
  let acc = inv(shift);
  for (let i = 0; i < cosets; i++) {
    natural[i] = acc;
    acc = mul(acc, wInv);
  }
  const out = new Uint32Array(cosets);
  for (let m = 0; m < cosets; m++) out[m] = natural[bitReverse(m, logSize - 3)]!;
  return out;
}

/** Evaluates a polynomial with extension coefficients (flat, 4 words each) at an extension point. */
export function evalExtPoly(coeffs: Uint32Array, x: Ext): Ext {
  let acc: Ext = [0, 0, 0, 0];
  for (let i = coeffs.length / 4 - 1; i >= 0; i--) acc = eadd(emul(acc, x), readExt(coeffs, i));
  return acc;
}

export interface FriCommitment {
  readonly trees: MerkleTree[];
  readonly layers: Uint32Array[];
  readonly caps: Uint32Array[];
  readonly finalPoly: Uint32Array;
}

/**
 * Commit phase. `codeword` is 4 * 2^logSize words (bit-reversed, on g<w>), claimed of degree
 * < 2^logDegree. Coefficients of the last layer above the bound are dropped: for an honest codeword
 * they are zero, and for any other the verifier's check against the final polynomial fails.
 */
export async function friCommit(
  tx: Transcript,
  codeword: Uint32Array,
  logSize: number,
  logDegree: number,
  params: StarkParams,
  kernels: StarkKernels,
  progress: (fraction: number) => void,
): Promise<FriCommitment> {
  const folds = numFolds(logDegree, params);
  const trees: MerkleTree[] = [];
  const layers: Uint32Array[] = [];
  const caps: Uint32Array[] = [];
  let layer = codeword;
  for (let l = 0; l < folds; l++) {
    const logL = logSize - 3 * l;
    const tree = await buildTree(await kernels.hashLeaves(layer, 32, LEAF_KEY), params.capHeight, kernels);
    trees.push(tree);
    layers.push(layer);
    caps.push(tree.cap);
    tx.absorbWords('fri layer', tree.cap);
    const zeta = tx.challengeExt();
    layer = await kernels.friFold(layer, cosetPointInvTable(logL, layerShift(l, params)), zeta);
    progress((l + 1) / (folds + 1));
  }
  const lastShift = layerShift(folds, params);
  const finalCount = 2 ** (logDegree - 3 * folds);
  const size = layer.length / 4;
  const components = [0, 1, 2, 3].map((c) => {
    const comp = new Uint32Array(size);
    for (let i = 0; i < size; i++) comp[i] = layer[4 * i + c]!;
    return comp;
  });
  const coeffs = await kernels.interpolate(components, lastShift);
  const finalPoly = new Uint32Array(4 * finalCount);
  for (let c = 0; c < 4; c++) {
    for (let i = 0; i < finalCount; i++) finalPoly[4 * i + c] = coeffs[c]![i]!;
  }
  tx.absorbWords('fri final', finalPoly);
  progress(1);
  return { trees, layers, caps, finalPoly };
}

/** Query phase (prover): for layer l, open the cosets holding positions q >> 3l, deduplicated. */
export function friOpen(commitment: FriCommitment, queries: readonly number[]): BatchOpening[] {
  return commitment.trees.map((tree, l) => {
    const cosets = uniqueSorted(queries.map((q) => q >>> (3 * (l + 1))));
    const values = new Uint32Array(32 * cosets.length);
    cosets.forEach((m, i) => {
      values.set(commitment.layers[l]!.subarray(32 * m, 32 * m + 32), 32 * i);
    });
    return { values, siblings: openBatch(tree, cosets) };
  });
}

export function uniqueSorted(xs: readonly number[]): number[] {
  return [...new Set(xs)].sort((a, b) => a - b);
}

/** Verifier: replays the commit phase (absorbing each layer cap and the final polynomial), returning the folding challenges. */
export function friReplayCommit(tx: Transcript, caps: readonly Uint32Array[], finalPoly: Uint32Array): Ext[] {
  const zetas: Ext[] = [];
  for (const cap of caps) {
    tx.absorbWords('fri layer', cap);
    zetas.push(tx.challengeExt());
  }
  tx.absorbWords('fri final', finalPoly);
  return zetas;
}

/**
 * Verifier query phase. `values` maps each queried position of layer 0 to the value the verifier
 * derived for it independently (in the STARK: the DEEP composition of the opened rows). Each layer's
 * opened coset must hold the value folded from the layer before, and the last values must equal the
 * final polynomial at their points. Throws E_INVALID naming the failing check.
 */
export function friVerifyQueries(
  initial: ReadonlyMap<number, Ext>,
  zetas: readonly Ext[],
  caps: readonly Uint32Array[],
  openings: readonly BatchOpening[],
  finalPoly: Uint32Array,
  logSize: number,
  params: StarkParams,
): void {
  const reject = (what: string): never => fail('E_INVALID', `STARK proof rejected: ${what}`);
  if (openings.length !== caps.length || zetas.length !== caps.length) reject('FRI layer count');
  let values = initial;
  for (let l = 0; l < caps.length; l++) {
    const logL = logSize - 3 * l;
    const opening = openings[l]!;
    const cosets = uniqueSorted([...values.keys()].map((p) => p >>> 3));
    if (opening.values.length !== 32 * cosets.length) reject(`FRI layer ${l} opening count`);
    const digests = new Uint32Array(8 * cosets.length);
    for (let i = 0; i < cosets.length; i++)
      digests.set(hashLeaf(opening.values.subarray(32 * i, 32 * i + 32)), 8 * i);
    if (!verifyBatch(caps[l]!, logL - 3, params.capHeight, cosets, digests, opening.siblings)) {
      reject(`FRI layer ${l} Merkle opening`);
    }
    const cosetIndex = new Map(cosets.map((m, i) => [m, i]));
    for (const [p, v] of values) {
      const i = cosetIndex.get(p >>> 3)!;
      if (!eequal(readExt(opening.values, 8 * i + (p & 7)), v))
        reject(`FRI layer ${l} inconsistent with its fold`);
    }
    const shift = layerShift(l, params);
    const next = new Map<number, Ext>();
    cosets.forEach((m, i) => {
      next.set(
        m,
        foldOne(opening.values.subarray(32 * i, 32 * i + 32), cosetPointInv(logL, shift, m), zetas[l]!),
      );
    });
    values = next;
  }
  const logLast = logSize - 3 * caps.length;
  const lastShift = layerShift(caps.length, params);
  const wLast = rootOfUnity(logLast);
  for (const [p, v] of values) {
    const x = fromBase(mul(lastShift, pow(wLast, bitReverse(p, logLast))));
    if (!eequal(evalExtPoly(finalPoly, x), v)) reject('FRI final polynomial mismatch');
  }
}

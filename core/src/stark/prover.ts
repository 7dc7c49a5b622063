/**
 * The STARK prover: trace -> coset LDE (blowup 8) -> Merkle commitment -> composition quotient ->
 * DEEP-ALI openings at an out-of-domain point z -> FRI on the DEEP composition -> proof-of-work ->
 * batched, deduplicated openings at the queried positions. Soundness arguments: DEEP-ALI from
 * Ben-Sasson, Goldberg, Kopparty, Saraf, "DEEP-FRI" (ITCS 2020); parameters in params.ts.
 */

import { fail } from '../errors.ts';
import { type Air, checkPublicInputs } from './air.ts';
import { rowBatches } from './batch-ops.ts';
import { type Ext, eadd, emul, emulFlat, esub, readExt, writeExt } from './ext.ts';
import { add, batchInv, bitReverse, GENERATOR, inv, mul, pow, rootOfUnity, sub } from './field.ts';
import { friCommit, friOpen, uniqueSorted } from './fri.ts';
import { type ConstraintEvaluator, type StarkKernels, tsKernels } from './kernels.ts';
import { buildTree, LEAF_KEY, openBatch } from './merkle.ts';
import { STARK_PARAMS, type StarkParams } from './params.ts';
import { encodeProof, type StarkProof } from './proof.ts';
import { cryptoRandomElements, type RandomElements } from './random.ts';
import { drawDeepPoint, maskCoefficient, powers, type Shape, shapeOf, startTranscript } from './statement.ts';
import { POW_KEY, powLeadingZeros } from './transcript.ts';

export type ProvePhase = 'trace' | 'quotient' | 'deep' | 'fri' | 'queries';

/** Progress of a proof: the phase and the fraction of the whole proof done. */
export type ProgressListener = (phase: ProvePhase, fraction: number) => void;

export interface ProveOptions {
  readonly kernels?: StarkKernels;
  readonly params?: StarkParams;
  readonly onProgress?: ProgressListener;
  /** The zero-knowledge masks' randomness (default: the CSPRNG); tests inject a seeded source. */
  readonly random?: RandomElements;
}

/** Points per batch of constraint evaluation (see batch-ops.ts). */
const BATCH = 2048;

/** Checks every constraint on the trace itself; a violated one is an E_INVALID naming it. */
export function checkTrace(
  air: Air,
  trace: readonly Uint32Array[],
  publicInputs: readonly number[],
  kernels: StarkKernels = tsKernels,
): void {
  checkShape(air, trace, publicInputs);
  const n = 2 ** air.logTraceLength;
  const size = Math.min(n, BATCH);
  (size % 4 === 0 ? kernels : tsKernels).withEvaluator(size, <V>(e: ConstraintEvaluator<V>) => {
    const out: V[] = new Array(air.numTransitionConstraints);
    for (const { start, cur, next } of rowBatches(trace, n, 1, size)) {
      e.begin();
      air.evaluateTransition(e.ops, cur.map(e.load), next.map(e.load), out);
      // The first violated row, and its first violated constraint; the last row has no successor,
      // so its (wrapped) transition is not a constraint.
      let row = size;
      for (const v of out) row = Math.min(row, e.firstNonZero(v));
      if (row < size && start + row < n - 1) {
        const bad = out.findIndex((v) => e.read(v, row + 1)[row] !== 0);
        fail('E_INVALID', `trace violates transition constraint ${bad} at row ${start + row}`);
      }
    }
  });
  for (const b of air.boundaries(publicInputs)) {
    if (trace[b.column]![b.row] !== b.value) fail('E_INVALID', `trace violates the boundary at row ${b.row}`);
  }
}

function checkShape(air: Air, trace: readonly Uint32Array[], publicInputs: readonly number[]): void {
  checkPublicInputs(air, publicInputs);
  const n = 2 ** air.logTraceLength;
  if (trace.length !== air.width || trace.some((c) => c.length !== n)) {
    fail('E_INVALID', `trace must be ${air.width} columns of ${n} rows`);
  }
}

/**
 * Proves that `trace` satisfies `air` for `publicInputs`; refuses an invalid trace (E_INVALID naming
 * the first violated constraint, as checkTrace does).
 *
 * Where the quotient domain has room to spare (|D| = 2^logQ n > d (n - 1) + n - 1 for degree d, as
 * for the turn AIR), the transitions are checked by the quotient itself instead of by a second
 * evaluation of every constraint on the trace. With the boundaries holding (checked directly), their
 * terms B are polynomials of degree <= n - 2, and the interpolant H of Q on D has degree <= top =
 * max((d - 1)(n - 1), n - 2) if the trace is valid (C / Z_T is then a polynomial). Conversely, if H
 * has that degree then (H - B) Z_T - C has degree <= max(top + n - 1, d (n - 1)) < |D| and vanishes
 * on D, so C = (H - B) Z_T vanishes on every constrained row. (C is the alpha-combination of the
 * constraints, which hides a violated one only with probability T / |F_ext|.) Only when the check
 * fails is checkTrace run, to name the constraint.
 */
export async function prove(
  air: Air,
  trace: readonly Uint32Array[],
  publicInputs: readonly number[],
  options: ProveOptions = {},
): Promise<Uint8Array> {
  const shape = shapeOf(air, options.params ?? STARK_PARAMS);
  const { n } = shape;
  const top = Math.max((air.constraintDegree - 1) * (n - 1), n - 2);
  const domain = n * 2 ** shape.logQuotientBlowup;
  if (top + n - 1 >= domain || air.constraintDegree * (n - 1) >= domain) {
    checkTrace(air, trace, publicInputs, options.kernels);
    return proveUnchecked(air, trace, publicInputs, options);
  }
  checkShape(air, trace, publicInputs);
  const refuse = (): never => {
    checkTrace(air, trace, publicInputs, options.kernels);
    return fail('E_INTERNAL', 'the quotient has too high a degree for a trace that checks');
  };
  if (air.boundaries(publicInputs).some((b) => trace[b.column]![b.row] !== b.value)) refuse();
  return run(air, trace, publicInputs, options, (coeffs) => {
    if (coeffs.some((c) => c.subarray(top + 1).some((x) => x !== 0))) refuse();
  });
}

/**
 * The protocol without the up-front trace check. Exported for the soundness tests, which must show
 * that the verifier (not only the prover's courtesy check) rejects a proof of an invalid trace.
 */
export async function proveUnchecked(
  air: Air,
  trace: readonly Uint32Array[],
  publicInputs: readonly number[],
  options: ProveOptions = {},
): Promise<Uint8Array> {
  return run(air, trace, publicInputs, options);
}

/** The protocol in the kernels' scope; `checkQuotient` sees the quotient's coefficients (prove above). */
function run(
  air: Air,
  trace: readonly Uint32Array[],
  publicInputs: readonly number[],
  options: ProveOptions,
  checkQuotient?: (coeffs: readonly Uint32Array[]) => void,
): Promise<Uint8Array> {
  const kernels = options.kernels ?? tsKernels;
  const body = (): Promise<Uint8Array> =>
    proveWith(kernels, air, trace, publicInputs, options, checkQuotient);
  return kernels.scope === undefined ? body() : kernels.scope(body);
}

async function proveWith(
  kernels: StarkKernels,
  air: Air,
  trace: readonly Uint32Array[],
  publicInputs: readonly number[],
  options: ProveOptions,
  checkQuotient?: (coeffs: readonly Uint32Array[]) => void,
): Promise<Uint8Array> {
  const params = options.params ?? STARK_PARAMS;
  const report = options.onProgress ?? (() => {});
  const shape = shapeOf(air, params);
  const tx = startTranscript(air, publicInputs, params);

  // 1. Trace LDE and commitment.
  report('trace', 0);
  const traceLde = await kernels.lde(trace, params.logBlowup, GENERATOR);
  const traceTree = await buildTree(await kernels.hashRows(traceLde, LEAF_KEY), params.capHeight, kernels);
  tx.absorbWords('trace cap', traceTree.cap);
  report('trace', 0.3);

  // 2. Composition quotient on the quotient domain (a prefix of the bit-reversed LDE), split into
  //    chunks of degree < n and committed by their LDE.
  const alpha = tx.challengeExt();
  const quotient = await compositionQuotient(kernels, air, shape, traceLde, publicInputs, alpha);
  checkQuotient?.(quotient);
  const random = options.random ?? cryptoRandomElements;
  const quotientCoeffs = shape.zk ? maskedChunks(quotient, shape, random) : chunksOf(quotient, shape);
  // The FRI mask (zero knowledge): a uniform polynomial of degree < n, committed beside the chunks.
  const mask = Array.from({ length: shape.maskColumns }, () => random(shape.n));
  const quotientLde = await kernels.evaluate([...quotientCoeffs, ...mask], 2 ** shape.logLde, GENERATOR);
  const quotientTree = await buildTree(
    await kernels.hashRows(quotientLde, LEAF_KEY),
    params.capHeight,
    kernels,
  );
  tx.absorbWords('quotient cap', quotientTree.cap);
  report('quotient', 0.5);

  // 3. DEEP openings at z and z * w_n.
  const z = drawDeepPoint(tx, shape);
  const omegaN = rootOfUnity(shape.logN);
  const zNext = emul(z, [omegaN, 0, 0, 0]);
  const [traceAtZ, traceAtZNext] = await evaluateAtPointAndNext(kernels, trace, z);
  const quotientAtZ = await evaluateCoefficientsAt(kernels, quotientCoeffs, z);
  const flatten = (xs: Ext[]): Uint32Array => {
    const f = new Uint32Array(4 * xs.length);
    for (let i = 0; i < xs.length; i++) writeExt(f, i, xs[i]!);
    return f;
  };
  const openings = {
    traceAtZ: flatten(traceAtZ),
    traceAtZNext: flatten(traceAtZNext),
    quotientAtZ: flatten(quotientAtZ),
  };
  tx.absorbWords('trace at z', openings.traceAtZ);
  tx.absorbWords('trace at zw', openings.traceAtZNext);
  tx.absorbWords('quotient at z', openings.quotientAtZ);

  // 4. DEEP composition F(x) = (A(x) - A(z)) / (x - z) + (B(x) - B(zw)) / (x - zw).
  const beta = tx.challengeExt();
  const unmasked = await deepComposition(
    kernels,
    shape,
    trace,
    quotientCoeffs,
    beta,
    z,
    zNext,
    traceAtZ,
    traceAtZNext,
    quotientAtZ,
  );
  const deep = shape.zk
    ? await addMask(
        kernels,
        unmasked,
        quotientLde.slice(quotientCoeffs.length),
        maskCoefficient(beta, shape, trace.length),
      )
    : unmasked;
  report('deep', 0.65);

  // 5. FRI on F (degree < n) and proof-of-work before the queries.
  const fri = await friCommit(tx, deep, shape.logLde, shape.logN, params, kernels, (f) =>
    report('fri', 0.65 + 0.3 * f),
  );
  const seed = tx.powSeed();
  const powNonce = await kernels.grind(seed, POW_KEY, params.powBits);
  if (powLeadingZeros(seed, powNonce) < params.powBits) fail('E_INTERNAL', 'grinding failed');
  tx.absorbWords('pow nonce', [powNonce]);
  const queries = uniqueSorted(tx.challengeIndices(params.numQueries, shape.logLde));

  const rows = (cols: Uint32Array[]): Uint32Array => {
    const out = new Uint32Array(cols.length * queries.length);
    queries.forEach((q, i) => {
      cols.forEach((c, j) => {
        out[i * cols.length + j] = c[q]!;
      });
    });
    return out;
  };
  const proof: StarkProof = {
    zk: shape.zk,
    traceCap: traceTree.cap,
    quotientCap: quotientTree.cap,
    ...openings,
    friCaps: fri.caps,
    finalPoly: fri.finalPoly,
    powNonce,
    trace: { values: rows(traceLde), siblings: openBatch(traceTree, queries) },
    quotient: { values: rows(quotientLde), siblings: openBatch(quotientTree, queries) },
    fri: friOpen(fri, queries),
  };
  report('queries', 1);
  return encodeProof(proof);
}

/** Q = sum_c x^(c n) Q_c: 4 coefficient columns (the extension coordinates) per chunk of n coefficients. */
function chunksOf(coeffs: readonly Uint32Array[], shape: Shape): Uint32Array[] {
  const { n } = shape;
  const chunks: Uint32Array[] = [];
  for (let c = 0; c < coeffs[0]!.length / n; c++) {
    for (let l = 0; l < 4; l++) chunks.push(coeffs[l]!.slice(c * n, (c + 1) * n));
  }
  return chunks;
}

/**
 * Zero knowledge: Q = sum_c x^(c m) q_c with m = n/2 and q_c of degree < m, committed as chunks
 * q'_c = q_c - R_c + x^m R_(c+1) of degree < n, with R_0 = R_C = 0 and R_1..R_(C-1) uniform of degree
 * < m (per coordinate). The masks telescope (sum_c x^(c m) q'_c = Q), so the identity the verifier
 * checks is unchanged, while each chunk's openings are uniform (core/docs/stark.md, "Zero knowledge").
 */
function maskedChunks(coeffs: readonly Uint32Array[], shape: Shape, random: RandomElements): Uint32Array[] {
  const { n } = shape;
  const m = 2 ** shape.logChunkStride;
  const count = coeffs[0]!.length / m;
  const masks = [0, 1, 2, 3].map(() =>
    Array.from({ length: count + 1 }, (_, c) => (c === 0 || c === count ? new Uint32Array(m) : random(m))),
  );
  const chunks: Uint32Array[] = [];
  for (let c = 0; c < count; c++) {
    for (let l = 0; l < 4; l++) {
      const chunk = new Uint32Array(n);
      const own = masks[l]![c]!;
      for (let i = 0; i < m; i++) chunk[i] = sub(coeffs[l]![c * m + i]!, own[i]!);
      chunk.set(masks[l]![c + 1]!, m);
      chunks.push(chunk);
    }
  }
  return chunks;
}

/** F + c M over the LDE, M the mask's 4 coordinate columns (bit-reversed evaluations). */
async function addMask(
  kernels: StarkKernels,
  deep: Uint32Array,
  maskLde: readonly Uint32Array[],
  c: Ext,
): Promise<Uint32Array> {
  const units: Ext[] = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
  const scaled = await kernels.combine(
    maskLde,
    units.map((u) => emul(c, u)),
  );
  const out = new Uint32Array(deep.length);
  for (let i = 0; i < out.length; i++) out[i] = add(deep[i]!, scaled[i]!);
  return out;
}

/**
 * The composition quotient Q = sum_t alpha^t C_t / Z_T + sum_b alpha^(T+b) (T_col - v_b) / (x - w^row_b),
 * with Z_T = (x^n - 1) / (x - w^(n-1)) the transition zerofier, evaluated on the first M = n * 2^logQ
 * points of the bit-reversed trace LDE (the coset g<w_M>) and interpolated: 4 coefficient columns
 * (the extension coordinates) of M coefficients.
 */
async function compositionQuotient(
  kernels: StarkKernels,
  air: Air,
  shape: Shape,
  traceLde: readonly Uint32Array[],
  publicInputs: readonly number[],
  alpha: Ext,
): Promise<Uint32Array[]> {
  const { n, logN, logQuotientBlowup: logQ } = shape;
  const logM = logN + logQ;
  const M = 2 ** logM;
  const qBlowup = 2 ** logQ;
  const T = air.numTransitionConstraints;
  const boundaries = air.boundaries(publicInputs);
  const alphas = powers(alpha, T + boundaries.length);

  // Work in the LDE's bit-reversed order, where the first M entries are g<w_M>: no reordering of the
  // trace or of Q (interpolation takes bit-reversed values). Position p = bitrev_logQ(lo) n +
  // bitrev_logN(hi) holds the point of natural index i = hi 2^logQ + lo, whose successor i + 2^logQ
  // (hi + 1) is in the same block of n positions, at succ[p mod n].
  const succ = new Uint32Array(n);
  for (let hi = 0; hi < n; hi++) succ[bitReverse(hi, logN)] = bitReverse((hi + 1) & (n - 1), logN);
  const xs = bitReversedCoset(logM);

  // 1 / Z_T(x) = (x - w_n^(n-1)) / (x^n - 1); x^n takes only 2^logQ values, g^n * w_qBlowup^lo,
  // one per block of positions (lo = bitrev_logQ(block)).
  const omegaLast = inv(rootOfUnity(logN));
  const gn = pow(GENERATOR, n);
  const wq = rootOfUnity(logQ);
  const vanishInv = new Uint32Array(qBlowup);
  for (let i = 0, w = 1; i < qBlowup; i++, w = mul(w, wq)) vanishInv[i] = inv(sub(mul(gn, w), 1));

  // Boundary terms by row: sum_b alpha_b (T_b - v_b) / d_r, d_r = x - w^r. Within a row the division
  // is shared, so a row contributes sum_b alpha_b T_b - sum_b alpha_b v_b, then one scaling (below).
  const omegaN = rootOfUnity(logN);
  const rows = [...new Set(boundaries.map((b) => b.row))].map((row) => {
    const root = pow(omegaN, row);
    const d = new Uint32Array(M);
    for (let i = 0; i < M; i++) d[i] = sub(xs[i]!, root);
    const members = boundaries.flatMap((bc, b) =>
      bc.row === row ? [{ column: bc.column, alpha: alphas[T + b]! }] : [],
    );
    let constant: Ext = [0, 0, 0, 0];
    boundaries.forEach((bc, b) => {
      if (bc.row === row) constant = esub(constant, emul(alphas[T + b]!, [bc.value, 0, 0, 0]));
    });
    return { root, inverse: batchInv(d), members, constant };
  });

  const q = [new Uint32Array(M), new Uint32Array(M), new Uint32Array(M), new Uint32Array(M)];
  const size = Math.min(M, BATCH);
  const zt = new Uint32Array(size);
  // Successor rows of one batch. Offsets r in a block whose top k bits are ones and the next a zero
  // (k < logN) have successor r - n + 3n / 2^(k+1): within such a run it is one shifted slice. A batch
  // that straddles runs (the last one of each block) is gathered.
  const leadingOnes = (r: number): number => Math.clz32(~((r << (32 - logN)) | 0));
  const successors = (col: Uint32Array, start: number): Uint32Array => {
    const r0 = start & (n - 1);
    const k = leadingOnes(r0);
    if (logN > 0 && size <= n && k < logN && leadingOnes(r0 + size - 1) === k) {
      const shift = (3 * n) / 2 ** (k + 1) - n;
      return col.subarray(start + shift, start + shift + size);
    }
    const gathered = new Uint32Array(size);
    for (let i = 0; i < size; i++) {
      const p = start + i;
      gathered[i] = col[(p & ~(n - 1)) | succ[p & (n - 1)]!]!;
    }
    return gathered;
  };
  // Vector backends work in groups of 4 lanes; a quotient domain smaller than that is evaluated in TS.
  (size % 4 === 0 ? kernels : tsKernels).withEvaluator(size, <V>(e: ConstraintEvaluator<V>) => {
    const out: V[] = new Array(T);
    for (let start = 0; start < M; start += size) {
      e.begin();
      const curV = traceLde.map((c) => e.load(c.subarray(start, start + size)));
      air.evaluateTransition(
        e.ops,
        curV,
        traceLde.map((c) => e.load(successors(c, start))),
        out,
      );
      const acc = e.extZeros();
      for (let t = 0; t < T; t++) e.accumulate(acc, alphas[t]!, out[t]!);
      // Horner over the boundary rows r_1..r_k: Q = (((C zt d_1 + B_1) d_2 / d_1 + B_2) ... + B_k) / d_k
      // with C the transition sum and B_j row j's undivided sum, so each row costs one scaling.
      for (let i = 0; i < size; i++) {
        const p = start + i;
        zt[i] = mul(sub(xs[p]!, omegaLast), vanishInv[bitReverse(p >>> logN, logQ)]!);
        if (rows.length > 0) zt[i] = mul(zt[i]!, sub(xs[p]!, rows[0]!.root));
      }
      e.scaleExt(acc, e.load(zt));
      rows.forEach((row, j) => {
        for (const { column, alpha } of row.members) e.accumulate(acc, alpha, curV[column]!);
        e.accumulate(acc, row.constant, e.ops.constant(1));
        const following = rows[j + 1];
        if (following === undefined) {
          e.scaleExt(acc, e.load(row.inverse.subarray(start, start + size)));
        } else {
          for (let i = 0; i < size; i++)
            zt[i] = mul(row.inverse[start + i]!, sub(xs[start + i]!, following.root));
          e.scaleExt(acc, e.load(zt));
        }
      });
      const words = e.read(acc, 4 * size);
      for (let l = 0; l < 4; l++) q[l]!.set(words.subarray(l * size, (l + 1) * size), start);
    }
  });
  return kernels.interpolate(q, GENERATOR);
}

/**
 * The points of g<w_(2^log)> in bit-reversed order. The second half of that order is the first half
 * times w (bitrev(k + 2^(log-1)) = bitrev(k) + 1), and the first half is the same order one size
 * down (the even powers, w^2), so it is built by doubling: 2^log - 1 multiplications, no reordering.
 */
function bitReversedCoset(log: number): Uint32Array {
  const out = new Uint32Array(2 ** log);
  out[0] = GENERATOR;
  for (let l = 1; l <= log; l++) {
    const half = 2 ** (l - 1);
    const w = rootOfUnity(l);
    for (let k = 0; k < half; k++) out[half + k] = mul(out[k]!, w);
  }
  return out;
}

/**
 * Barycentric evaluation of each natural-order column over <w_n> at an extension point z outside it,
 * and at z w_n. The weights at z w_n are those at z shifted by one place (w^i / (z w - w^i) =
 * w^(i-1) / (z - w^(i-1))) and the factor (z^n - 1) / n is the same, so one batch inversion serves both.
 */
async function evaluateAtPointAndNext(
  kernels: StarkKernels,
  columns: readonly Uint32Array[],
  z: Ext,
): Promise<[Ext[], Ext[]]> {
  const n = columns[0]!.length;
  const logN = Math.log2(n);
  const w = rootOfUnity(logN);
  // weight_i = w^i / (z - w^i); f(z) = (z^n - 1) / n * sum_i f_i weight_i. The weights are the DEEP
  // kernel's (A - a) / (x - z) + (B - b) / (x - z') at x = w^i with A = -w^i, a = 0 and B = b = 0:
  // one batch inversion in the kernels instead of in TypeScript (z' = z w_n is outside <w_n> too).
  const wi = new Uint32Array(n);
  const numerators = new Uint32Array(4 * n);
  for (let i = 0, x = 1; i < n; i++, x = mul(x, w)) {
    wi[i] = x;
    numerators[4 * i] = sub(0, x);
  }
  const zero: Ext = [0, 0, 0, 0];
  const weights = await kernels.deepCompose(
    numerators,
    new Uint32Array(4 * n),
    wi,
    z,
    emul(z, [w, 0, 0, 0]),
    zero,
    zero,
  );
  const next = new Uint32Array(4 * n);
  next.set(weights.subarray(0, 4 * (n - 1)), 4);
  next.set(weights.subarray(4 * (n - 1)), 0);
  const scale = emul(esub(pow2Ext(z, logN), [1, 0, 0, 0]), [inv(n), 0, 0, 0]);
  const at = async (ws: Uint32Array): Promise<Ext[]> => {
    const sums = await kernels.dot(columns, ws);
    return columns.map((_, c) => emul(readExt(sums, c), scale));
  };
  return [await at(weights), await at(next)];
}

function pow2Ext(z: Ext, k: number): Ext {
  let x = z;
  for (let i = 0; i < k; i++) x = emul(x, x);
  return x;
}

/** Evaluates base-field coefficient columns (all of one length) at an extension point: a dot product with z^i. */
async function evaluateCoefficientsAt(
  kernels: StarkKernels,
  columns: readonly Uint32Array[],
  z: Ext,
): Promise<Ext[]> {
  const n = columns[0]!.length;
  const zPowers = new Uint32Array(4 * n);
  zPowers[0] = 1;
  const zFlat = Uint32Array.from(z);
  for (let i = 1; i < n; i++) emulFlat(zPowers, 4 * i, zPowers, 4 * (i - 1), zFlat, 0);
  const sums = await kernels.dot(columns, zPowers);
  return columns.map((_, c) => readExt(sums, c));
}

/**
 * F over the whole bit-reversed LDE. Column i (trace columns, then quotient columns) has coefficient
 * beta^i; a trace column keeps the same coefficient in its z*w term, which is sound because, per
 * column, (T - a)/(x - z) + (T - b)/(x - zw) is a polynomial only if a = T(z) and b = T(zw)
 * (evaluate (T - a)(x - zw) + (T - b)(x - z) at x = z and x = zw). Sharing the coefficient means
 * the trace is combined once (B below) instead of twice. The verifier's DEEP check mirrors this.
 */
async function deepComposition(
  kernels: StarkKernels,
  shape: Shape,
  trace: readonly Uint32Array[],
  quotientCoeffs: readonly Uint32Array[],
  beta: Ext,
  z: Ext,
  zNext: Ext,
  traceAtZ: readonly Ext[],
  traceAtZNext: readonly Ext[],
  quotientAtZ: readonly Ext[],
): Promise<Uint32Array> {
  const width = trace.length;
  const betas = powers(beta, width + quotientCoeffs.length);
  let az: Ext = [0, 0, 0, 0];
  let bz: Ext = [0, 0, 0, 0];
  for (let j = 0; j < width; j++) {
    az = eadd(az, emul(betas[j]!, traceAtZ[j]!));
    bz = eadd(bz, emul(betas[j]!, traceAtZNext[j]!));
  }
  for (let i = 0; i < quotientCoeffs.length; i++) az = eadd(az, emul(betas[width + i]!, quotientAtZ[i]!));

  // B = sum_j beta^j T_j; A = B + sum_i beta^(w+i) Q_i, over the LDE. Each extension coordinate of
  // such a combination is a base-field linear combination, and the LDE (and coset evaluation) is
  // linear, so the columns are combined at the trace size first and only the 4 coordinates are
  // extended: 8 times fewer products than combining the extended columns, the same values.
  const N = 2 ** shape.logLde;
  const coordinates = (flat: Uint32Array): Uint32Array[] =>
    [0, 1, 2, 3].map((l) => {
      const c = new Uint32Array(flat.length / 4);
      for (let k = 0; k < c.length; k++) c[k] = flat[4 * k + l]!;
      return c;
    });
  const traceCombined = await kernels.combine(trace, betas.slice(0, width));
  const bCols = await kernels.lde(coordinates(traceCombined), shape.logLde - shape.logN, GENERATOR);
  const quotientCombined = await kernels.combine(quotientCoeffs, betas.slice(width));
  const qCols = await kernels.evaluate(coordinates(quotientCombined), N, GENERATOR);
  // Back to one extension element per point, by the kernels: a combination with unit coefficients.
  const units: Ext[] = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
  const B = await kernels.combine(bCols, units);
  const A = await kernels.combine([...qCols, ...bCols], [...units, ...units]);

  return kernels.deepCompose(A, B, bitReversedCoset(shape.logLde), z, zNext, az, bz);
}

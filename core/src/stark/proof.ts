/**
 * The proof object and its deterministic byte form.
 *
 * Layout (all integers little-endian u32): a version byte (1, or 2 for a zero-knowledge proof, whose
 * quotient openings carry the FRI mask's 4 columns after the chunks'; the layout is the same), then word vectors each prefixed by its
 * length in words, in this fixed order: trace cap, quotient cap, trace openings at z, at z*w, quotient
 * openings at z, the FRI layer count and each layer cap, the final polynomial, the proof-of-work nonce
 * (a bare u32), then for the trace, the quotient and each FRI layer: opened leaf values and Merkle
 * siblings. Field-element vectors must be canonical (< p); digest vectors are whole digests. The
 * decoder checks structure only; the verifier checks every length against the AIR and parameters.
 */
import { DreggError, fail } from '../errors.ts';
import { P } from './field.ts';

export const PROOF_VERSION = 1;
export const ZK_PROOF_VERSION = 2;

export interface BatchOpening {
  /** Leaf values of the opened leaves, concatenated in increasing index order. */
  readonly values: Uint32Array;
  /** Batch Merkle siblings (8 words each), see merkle.ts openBatch. */
  readonly siblings: Uint32Array;
}

export interface StarkProof {
  /** Zero-knowledge (version 2); the verifier compares it with what the AIR demands. */
  readonly zk: boolean;
  readonly traceCap: Uint32Array;
  readonly quotientCap: Uint32Array;
  readonly traceAtZ: Uint32Array;
  readonly traceAtZNext: Uint32Array;
  readonly quotientAtZ: Uint32Array;
  readonly friCaps: readonly Uint32Array[];
  readonly finalPoly: Uint32Array;
  readonly powNonce: number;
  readonly trace: BatchOpening;
  readonly quotient: BatchOpening;
  readonly fri: readonly BatchOpening[];
}

const MAX_FRI_LAYERS = 16;

export function encodeProof(proof: StarkProof): Uint8Array {
  const vectors: Uint32Array[] = [
    proof.traceCap,
    proof.quotientCap,
    proof.traceAtZ,
    proof.traceAtZNext,
    proof.quotientAtZ,
  ];
  let words = 0;
  const parts: (Uint32Array | number)[] = [];
  const vec = (v: Uint32Array): void => {
    parts.push(v.length, v);
    words += 1 + v.length;
  };
  const word = (x: number): void => {
    parts.push(x);
    words += 1;
  };
  for (const v of vectors) vec(v);
  word(proof.friCaps.length);
  for (const c of proof.friCaps) vec(c);
  vec(proof.finalPoly);
  word(proof.powNonce);
  for (const o of [proof.trace, proof.quotient, ...proof.fri]) {
    vec(o.values);
    vec(o.siblings);
  }
  const out = new Uint8Array(1 + 4 * words);
  const dv = new DataView(out.buffer);
  out[0] = proof.zk ? ZK_PROOF_VERSION : PROOF_VERSION;
  let at = 1;
  for (const p of parts) {
    if (typeof p === 'number') {
      dv.setUint32(at, p, true);
      at += 4;
    } else {
      for (let i = 0; i < p.length; i++, at += 4) dv.setUint32(at, p[i]!, true);
    }
  }
  return out;
}

class Reader {
  private at = 1;
  private readonly dv: DataView;

  constructor(private readonly bytes: Uint8Array) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  word(): number {
    if (this.at + 4 > this.bytes.length) fail('E_DECODE', 'STARK proof is truncated');
    const w = this.dv.getUint32(this.at, true);
    this.at += 4;
    return w;
  }

  vector(kind: 'field' | 'digest'): Uint32Array {
    const n = this.word();
    if (n * 4 > this.bytes.length - this.at) fail('E_DECODE', 'STARK proof vector overruns the proof');
    if (kind === 'digest' && n % 8 !== 0) fail('E_DECODE', 'STARK proof digest vector is not whole digests');
    const v = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      const w = this.dv.getUint32(this.at + 4 * i, true);
      if (kind === 'field' && w >= P) fail('E_DECODE', 'STARK proof holds a non-canonical field element');
      v[i] = w;
    }
    this.at += 4 * n;
    return v;
  }

  opening(): BatchOpening {
    return { values: this.vector('field'), siblings: this.vector('digest') };
  }

  end(): void {
    if (this.at !== this.bytes.length) fail('E_DECODE', 'STARK proof has trailing bytes');
  }
}

/** Parses a proof; any malformation is an E_DECODE (an unknown version is E_INVALID). */
export function decodeProof(bytes: Uint8Array): StarkProof {
  try {
    if (bytes.length < 1) fail('E_DECODE', 'STARK proof is empty');
    if (bytes[0] !== PROOF_VERSION && bytes[0] !== ZK_PROOF_VERSION)
      fail('E_INVALID', `unknown STARK proof version ${bytes[0]}`);
    const r = new Reader(bytes);
    const traceCap = r.vector('digest');
    const quotientCap = r.vector('digest');
    const traceAtZ = r.vector('field');
    const traceAtZNext = r.vector('field');
    const quotientAtZ = r.vector('field');
    const layers = r.word();
    if (layers > MAX_FRI_LAYERS) fail('E_DECODE', 'STARK proof has too many FRI layers');
    const friCaps: Uint32Array[] = [];
    for (let i = 0; i < layers; i++) friCaps.push(r.vector('digest'));
    const finalPoly = r.vector('field');
    const powNonce = r.word();
    const trace = r.opening();
    const quotient = r.opening();
    const fri: BatchOpening[] = [];
    for (let i = 0; i < layers; i++) fri.push(r.opening());
    r.end();
    return {
      zk: bytes[0] === ZK_PROOF_VERSION,
      traceCap,
      quotientCap,
      traceAtZ,
      traceAtZNext,
      quotientAtZ,
      friCaps,
      finalPoly,
      powNonce,
      trace,
      quotient,
      fri,
    };
  } catch (e) {
    if (e instanceof DreggError) throw e;
    throw new DreggError('E_DECODE', 'Malformed STARK proof', { cause: e });
  }
}

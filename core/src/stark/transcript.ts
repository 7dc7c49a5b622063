/**
 * The Fiat-Shamir transcript: a 32-byte BLAKE3 chaining state. Absorbing hashes the state with a
 * length-prefixed message; squeezing derives output from the state under a separate context and then
 * ratchets the state, so no output is ever reused and every challenge depends on everything absorbed
 * before it (parameters, AIR identity, public inputs, each commitment, the openings, the nonce).
 */
import { hashFor } from '../crypto/hash.ts';
import { utf8 } from '../encoding/bytes.ts';
import { keyedHashWords, keyWords } from './blake3.ts';
import type { Ext } from './ext.ts';
import { P } from './field.ts';

/** Key of the grinding hash (a registered context, like every BLAKE3 use). */
export const POW_KEY = keyWords(hashFor('starkProofOfWork', new Uint8Array(0)));

export class Transcript {
  private state: Uint8Array;

  constructor(protocol: string) {
    this.state = hashFor('starkTranscript', utf8.encode(protocol));
  }

  absorb(label: string, data: Uint8Array): void {
    const l = utf8.encode(label);
    const msg = new Uint8Array(32 + 4 + l.length + 4 + data.length);
    const dv = new DataView(msg.buffer);
    msg.set(this.state, 0);
    dv.setUint32(32, l.length, true);
    msg.set(l, 36);
    dv.setUint32(36 + l.length, data.length, true);
    msg.set(data, 40 + l.length);
    this.state = hashFor('starkTranscript', msg);
  }

  absorbWords(label: string, words: Uint32Array | readonly number[]): void {
    const bytes = new Uint8Array(4 * words.length);
    const dv = new DataView(bytes.buffer);
    for (let i = 0; i < words.length; i++) dv.setUint32(4 * i, words[i]!, true);
    this.absorb(label, bytes);
  }

  /** `n` fresh bytes; the state moves on so that the next squeeze differs. */
  squeeze(n: number): Uint8Array {
    const out = hashFor('starkChallenge', this.state, n);
    this.absorb('squeezed', new Uint8Array(0));
    return out;
  }

  /**
   * A uniform extension element: each coordinate is a 31-bit candidate accepted only below p
   * (rejection sampling, so no modular bias); acceptance is 15/16 per candidate.
   */
  challengeExt(): Ext {
    const coords: number[] = [];
    while (coords.length < 4) {
      const bytes = this.squeeze(32);
      const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      for (let i = 0; i < 8 && coords.length < 4; i++) {
        const c = dv.getUint32(4 * i, true) & 0x7fffffff;
        if (c < P) coords.push(c);
      }
    }
    return [coords[0]!, coords[1]!, coords[2]!, coords[3]!];
  }

  /** `count` indices uniform in [0, 2^logSize) (a power of two, so masking is unbiased). */
  challengeIndices(count: number, logSize: number): number[] {
    const bytes = this.squeeze(4 * count);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const mask = 2 ** logSize - 1;
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push((dv.getUint32(4 * i, true) & mask) >>> 0);
    return out;
  }

  /** The words the proof-of-work nonce is ground against: the current state. */
  powSeed(): Uint32Array {
    return keyWords(this.state);
  }
}

/** Leading zero bits of the grinding hash keyed-BLAKE3(seed || nonce). */
export function powLeadingZeros(seed: Uint32Array, nonce: number, key: Uint32Array = POW_KEY): number {
  const msg = new Uint32Array(9);
  msg.set(seed);
  msg[8] = nonce;
  const out = new Uint32Array(8);
  keyedHashWords(key, msg, 0, 9, out, 0);
  // Bits are counted from the first byte of the digest (its little-endian first word, low byte first).
  const w = out[0]!;
  const be = ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24);
  return Math.clz32(be);
}

/** Grinds the smallest nonce with at least `bits` leading zero bits. */
export function grind(seed: Uint32Array, bits: number, key: Uint32Array = POW_KEY): number {
  for (let nonce = 0; nonce <= 0xffffffff; nonce++) {
    if (powLeadingZeros(seed, nonce, key) >= bits) return nonce;
  }
  throw new RangeError('no proof-of-work nonce found');
}

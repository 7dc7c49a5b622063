/**
 * Sources of uniform field elements for the prover's masks and an AIR's blinding rows. The default is
 * the platform's CSPRNG; tests inject a seeded source to make two proofs comparable word for word.
 */
import { P } from './field.ts';

/** `count` field elements, each uniform in [0, p). */
export type RandomElements = (count: number) => Uint32Array;

/** Uniform field elements from `crypto.getRandomValues` (rejection of 31-bit draws >= p). */
export const cryptoRandomElements: RandomElements = (count) => {
  const out = new Uint32Array(count);
  const buf = new Uint32Array(Math.min(count + 64, 16384));
  let have = 0;
  while (have < count) {
    crypto.getRandomValues(buf);
    for (let i = 0; i < buf.length && have < count; i++) {
      const x = buf[i]! >>> 1;
      if (x < P) out[have++] = x;
    }
  }
  return out;
};

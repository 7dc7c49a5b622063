/**
 * Hashing field elements with Poseidon2-16, for the commitments that proofs and the relay use.
 *
 *   sponge     rate 8, capacity 8 (state = rate || capacity). The capacity starts at the IV of the
 *              hash's purpose (its domain), so hashes for different purposes are unrelated functions.
 *              Input is padded with one 1 then 0s up to a multiple of 8 (always at least the 1, so the
 *              padding is injective: inputs of different lengths never pad to the same blocks); each
 *              block is added into the rate and the state permuted. The digest is the rate after the
 *              last permutation: 8 elements, about 248 bits; generic collision resistance
 *              min(capacity, digest) / 2 ~ 124 bits.
 *   compress   the 2-to-1 function for Merkle trees: C(l, r) = first 8 of P(l || r) + (l || r), the
 *              Poseidon2 paper's compression mode (a truncated permutation with feed-forward, so that it
 *              cannot be inverted by running the permutation backwards). It takes no IV: it is a
 *              different mode, and a tree that needs separating from another hashes its leaves with
 *              the sponge under its own domain.
 */

import type { Context } from '../../crypto/contexts.ts';
import { hashFor } from '../../crypto/hash.ts';
import { fail } from '../../errors.ts';
import { add, P } from '../field.ts';
import { permuteInPlace, poseidon2BabyBear16 } from './permutation.ts';

export const RATE = 8;
export const CAPACITY = 8;
export const DIGEST_ELEMENTS = 8;

/**
 * The purposes Poseidon2 hashes for. Each label names a capacity IV: the first 8 little-endian words
 * of BLAKE3 derive-key ("cipherclerk v1 poseidon2 sponge domain", label), each reduced mod p.
 * Treat the labels as frozen once released: changing one changes every commitment made under it.
 */
export const Poseidon2Domains = {
  /** The commitment to a cell's state that proofs and the relay use (issue 7). */
  cellState: 'cell state',
  /** The nullifier of a spent state (issue 7). */
  nullifier: 'nullifier',
} as const;

export type Poseidon2Domain = keyof typeof Poseidon2Domains;

const DOMAIN_CONTEXT: Context = 'poseidon2Domain';
const ivs = new Map<Poseidon2Domain, Uint32Array>();

/** The capacity IV of a domain (8 field elements). */
export function domainIv(domain: Poseidon2Domain): Uint32Array {
  let iv = ivs.get(domain);
  if (iv === undefined) {
    const bytes = hashFor(DOMAIN_CONTEXT, new TextEncoder().encode(Poseidon2Domains[domain]));
    const words = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    iv = Uint32Array.from({ length: CAPACITY }, (_, i) => words.getUint32(4 * i, true) % P);
    ivs.set(domain, iv);
  }
  return iv;
}

function checkElements(input: ArrayLike<number>): void {
  for (let i = 0; i < input.length; i++) {
    const x = input[i]!;
    if (!Number.isInteger(x) || x < 0 || x >= P) fail('E_ARGUMENT', 'Poseidon2 input is not a field element');
  }
}

/** The input followed by 1 and then 0s up to the next multiple of the rate. */
export function pad(input: ArrayLike<number>): Uint32Array {
  const blocks = Math.floor(input.length / RATE) + 1;
  const out = new Uint32Array(blocks * RATE);
  out.set(Array.from(input));
  out[input.length] = 1;
  return out;
}

/** The Poseidon2 sponge hash of field elements under a domain: 8 field elements. */
export function poseidon2Hash(domain: Poseidon2Domain, input: ArrayLike<number>): Uint32Array {
  checkElements(input);
  const instance = poseidon2BabyBear16();
  const state = new Uint32Array(RATE + CAPACITY);
  state.set(domainIv(domain), RATE);
  const padded = pad(input);
  for (let at = 0; at < padded.length; at += RATE) {
    for (let j = 0; j < RATE; j++) state[j] = add(state[j]!, padded[at + j]!);
    permuteInPlace(state, instance);
  }
  return state.slice(0, DIGEST_ELEMENTS);
}

/** The 2-to-1 compression of two digests (8 elements each) into one, for Merkle trees. */
export function poseidon2Compress(left: ArrayLike<number>, right: ArrayLike<number>): Uint32Array {
  if (left.length !== DIGEST_ELEMENTS || right.length !== DIGEST_ELEMENTS) {
    fail('E_ARGUMENT', `Poseidon2 compression takes two digests of ${DIGEST_ELEMENTS} elements`);
  }
  checkElements(left);
  checkElements(right);
  const state = new Uint32Array(2 * DIGEST_ELEMENTS);
  state.set(Array.from(left));
  state.set(Array.from(right), DIGEST_ELEMENTS);
  const input = state.slice();
  permuteInPlace(state, poseidon2BabyBear16());
  for (let i = 0; i < DIGEST_ELEMENTS; i++) state[i] = add(state[i]!, input[i]!);
  return state.slice(0, DIGEST_ELEMENTS);
}

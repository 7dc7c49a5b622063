/**
 * The part of a cell's state that turn proofs open, as BabyBear elements, and its Poseidon2
 * commitment and nullifier (issue 7). The element list is absorbed by the sponge one block of 8 at a
 * time, and the turn AIR (turn-air.ts) re-absorbs exactly these blocks, so the layout is the contract
 * between the two:
 *
 *   header   [nonce, balance limb 0..3 (16 bits each, little-endian), salt 0..2]
 *   rest     8 elements: BLAKE3 (`proofCellRest`) of the canonical CBOR of everything a proved turn
 *            leaves alone (version, id, owner, c-list, permissions, verification key, lifecycle)
 *   fields   per field, sorted by key digest: the key digest block, then the value digest block
 *            (8 elements each: BLAKE3 under `proofFieldKey` / `proofFieldValue`, one word mod p each)
 *
 *   commitment = poseidon2Hash('cellState', elements)                      (8 elements)
 *   nullifier  = poseidon2Hash('nullifier', commitment || salt)           (8 elements)
 *
 * The encoding is injective on (nonce, balance, salt) and injective on the rest and the fields up to
 * BLAKE3 collisions of the digests (each digest keeps 8 words, about 248 bits after the reduction).
 * Limbs of 16 bits leave room for the AIR's borrow arithmetic and bit range checks. The salt hides
 * the state: without it a relay could test guesses of a balance against a commitment; it is derived
 * from a secret only the owner holds, so the wallet need not store it.
 */

import { type Cell, cellToCbor } from '../cells/cell.ts';
import { hashFor } from '../crypto/hash.ts';
import { concatBytes, utf8 } from '../encoding/bytes.ts';
import { encodeCbor } from '../encoding/cbor.ts';
import { fail } from '../errors.ts';
import { P } from '../stark/field.ts';
import { DIGEST_ELEMENTS, poseidon2Hash, RATE } from '../stark/poseidon2/sponge.ts';
import type { FieldValue } from '../turns/effects.ts';

export const BALANCE_LIMBS = 4;
export const LIMB_BITS = 16;
export const SALT_ELEMENTS = 3;
/** Nonces a proof accepts: the AIR adds 1 or 2 without a range check, so it must never wrap mod p. */
export const MAX_PROVED_NONCE = 2 ** 30;

export type Digest = Uint32Array;

export interface ProvedField {
  readonly key: Digest;
  readonly value: Digest;
}

/** A cell's state as the turn AIR sees it. */
export interface ProvedState {
  readonly nonce: number;
  readonly balance: bigint;
  readonly salt: Uint32Array;
  readonly rest: Digest;
  /** Sorted by key digest (`compareDigests`), keys distinct. */
  readonly fields: readonly ProvedField[];
}

/** 32 bytes as 8 field elements: each little-endian word reduced mod p. */
function words(bytes: Uint8Array): Digest {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Uint32Array.from({ length: DIGEST_ELEMENTS }, (_, i) => view.getUint32(4 * i, true) % P);
}

export function keyDigest(key: string): Digest {
  return words(hashFor('proofFieldKey', utf8.encode(key)));
}

export function valueDigest(value: FieldValue): Digest {
  return words(hashFor('proofFieldValue', encodeCbor(value)));
}

/** The digest of what a proved turn must leave unchanged. */
export function restDigest(cell: Cell): Digest {
  const { bal: _bal, f: _f, n: _n, ...rest } = cellToCbor(cell);
  return words(hashFor('proofCellRest', encodeCbor(rest)));
}

/** Lexicographic order of digests: the canonical order of a state's fields. */
export function compareDigests(a: Digest, b: Digest): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/**
 * The owner's proof secret: BLAKE3 `proofSecret` of the identity's 32-byte signing seed. One way, so
 * a salt never reveals the seed; deterministic, so the same words restore the same salts. It lives
 * wherever the seed lives (the wallet worker, the CLI process) and is wiped with it.
 */
export function proofSecret(identitySeed: Uint8Array): Uint8Array {
  if (identitySeed.length !== 32) fail('E_ARGUMENT', 'An identity seed is 32 bytes');
  return hashFor('proofSecret', identitySeed);
}

/**
 * The hiding salt of the state of `cellId` at `nonce`, from the owner's proof secret (at least 32
 * bytes). Deterministic, so the wallet can recompute the salt of any of its states.
 */
export function stateSalt(secret: Uint8Array, cellId: string, nonce: number): Uint32Array {
  if (secret.length < 32) fail('E_ARGUMENT', 'A proof secret is at least 32 bytes');
  const at = new Uint8Array(8);
  new DataView(at.buffer).setBigUint64(0, BigInt(nonce));
  return words(hashFor('proofStateSalt', concatBytes(secret, utf8.encode(cellId), at))).slice(
    0,
    SALT_ELEMENTS,
  );
}

export function provedState(cell: Cell, salt: Uint32Array): ProvedState {
  if (!Number.isSafeInteger(cell.nonce) || cell.nonce < 0 || cell.nonce > MAX_PROVED_NONCE)
    fail('E_ARGUMENT', `A proved cell's nonce is at most 2^30`);
  if (salt.length !== SALT_ELEMENTS || salt.some((x) => x >= P)) fail('E_ARGUMENT', 'malformed state salt');
  const fields = Object.entries(cell.fields)
    .map(([k, v]) => ({ key: keyDigest(k), value: valueDigest(v) }))
    .sort((a, b) => compareDigests(a.key, b.key));
  return { nonce: cell.nonce, balance: cell.balance, salt, rest: restDigest(cell), fields };
}

export function balanceLimbs(balance: bigint): number[] {
  if (balance < 0n || balance >= 1n << BigInt(BALANCE_LIMBS * LIMB_BITS))
    fail('E_ARGUMENT', 'a balance is an unsigned 64-bit number');
  return Array.from({ length: BALANCE_LIMBS }, (_, i) =>
    Number((balance >> BigInt(LIMB_BITS * i)) & 0xffffn),
  );
}

/** The header block: nonce, balance limbs, salt. */
export function headerBlock(s: ProvedState): number[] {
  return [s.nonce, ...balanceLimbs(s.balance), ...s.salt];
}

/** The elements the commitment hashes (a multiple of the rate: header, rest, key and value blocks). */
export function stateElements(s: ProvedState): Uint32Array {
  const out = new Uint32Array(RATE * (2 + 2 * s.fields.length));
  out.set(headerBlock(s));
  out.set(s.rest, RATE);
  s.fields.forEach((f, i) => {
    out.set(f.key, RATE * (2 + 2 * i));
    out.set(f.value, RATE * (3 + 2 * i));
  });
  return out;
}

export function provedStateCommitment(s: ProvedState): Digest {
  return poseidon2Hash('cellState', stateElements(s));
}

/**
 * The nullifier of a spent state: a function of the state alone (its commitment and its salt, which
 * the commitment binds), so two turns spending one state show the same nullifier whatever else they
 * differ in; and keyed by the salt, so nobody without the owner's secret can compute it from a
 * commitment (it stays unlinkable once the old commitment is hidden behind a membership proof).
 */
export function nullifierOf(commitment: Digest, salt: Uint32Array): Digest {
  return poseidon2Hash('nullifier', [...commitment, ...salt]);
}

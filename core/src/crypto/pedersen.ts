/**
 * The cryptography of shielded notes, over the prime-order group ristretto255 (RFC 9496).
 *
 * - A note's value is hidden in a Pedersen commitment C = v*G + r*H. It hides v perfectly (r is
 *   uniform) and binds it as long as nobody knows log_G(H), which is why H is derived by hashing
 *   (below) rather than chosen.
 * - A range proof shows that C hides some v in [0, 2^64), so that sums of commitments cannot wrap
 *   around the group order and mint value. It commits to each bit (C = sum 2^i C_i) and proves each
 *   C_i opens to 0 or 1 with a Cramer-Damgard-Schoenmakers OR-proof (CRYPTO '94), made
 *   non-interactive with one Fiat-Shamir challenge over every commitment and a caller's context.
 * - A binding signature (as in the Zcash protocol specification, "Balance and Binding Signature
 *   (Sapling)") shows that a turn balances: if value is conserved, the balance point
 *   sum(C_in) - sum(C_out) + (publicIn - publicOut)*G is a multiple of H whose discrete log (the
 *   "excess") only the author of the turn knows; a Schnorr signature with generator H proves that
 *   knowledge and binds the turn.
 *
 * All group and scalar arithmetic is noble's; this file only arranges it. Scalars are 32-byte
 * little-endian canonical encodings (< the group order L), points are 32-byte ristretto255
 * encodings, whose decoding is canonical by construction. JavaScript bigints are not constant-time,
 * so these provers leak timing like every other BigInt-based implementation; the library's
 * constant-time `multiply` is still used for secret scalars so that nothing leaks more than it must.
 */
import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { concatBytes } from '../encoding/bytes.ts';
import { fail } from '../errors.ts';
import { hashFor } from './hash.ts';

type Point = InstanceType<typeof ristretto255.Point>;

/** A source of random bytes; tests inject a deterministic one. Never reuse one across signatures. */
export type RandomSource = (n: number) => Uint8Array;

const { Point } = ristretto255;
const Fn = Point.Fn;

/** Bits of a note value: values are 0 <= v < 2^64. */
export const RANGE_BITS = 64;
const MAX_VALUE = (1n << BigInt(RANGE_BITS)) - 1n;

/** Bytes of one bit's record in a range proof: C_i, e0_i, s0_i, s1_i. */
const BIT_RECORD = 128;
/** Bytes of a range proof: the challenge e, then one record per bit. */
export const RANGE_PROOF_BYTES = 32 + RANGE_BITS * BIT_RECORD;
/** Bytes of a binding signature: R, then s. */
export const BINDING_SIGNATURE_BYTES = 64;

/** G: the ristretto255 generator of RFC 9496 §4.4, the base of values. */
const G = Point.BASE;

/**
 * H: the base of blindings. H = ristretto255 element derivation (RFC 9496 §4.3.4, the one-way map
 * from 64 uniform bytes) of BLAKE3-derive-key("cipherclerk v1 pedersen blinding generator",
 * encoding of G, 64 bytes). The map's output on a hash output is a point whose discrete log to G
 * nobody can know, and anyone can recompute it from this sentence.
 */
const H = ristretto255_hasher.deriveToCurve!(hashFor('pedersenGenerator', G.toBytes(), 64));

// A windowed table for H, the base of nearly every product here, built on first use so importing
// this module stays cheap. G (noble's Edwards base, shared with Ed25519 signing) already has one,
// which is left as noble set it.
H.precompute(8);

/** The two generators' encodings (fresh copies): `g` for values, `h` for blindings. */
export function pedersenGenerators(): { g: Uint8Array; h: Uint8Array } {
  return { g: G.toBytes(), h: H.toBytes() };
}

// ---------------------------------------------------------------------------------------------
// Scalars

function isBytes(x: unknown, length?: number): x is Uint8Array {
  return x instanceof Uint8Array && (length === undefined || x.length === length);
}

/** A canonical 32-byte scalar, or undefined (for verifiers, which answer false instead of throwing). */
function parseScalar(bytes: Uint8Array): bigint | undefined {
  if (bytes.length !== 32) return undefined;
  const s = bytesToNumberLE(bytes);
  return s < Fn.ORDER ? s : undefined;
}

/** Decodes a scalar: 32 bytes, little-endian, below the group order; else `E_DECODE`. */
export function scalarFromBytes(bytes: Uint8Array): bigint {
  if (!isBytes(bytes)) fail('E_ARGUMENT', 'A scalar is a Uint8Array');
  return parseScalar(bytes) ?? fail('E_DECODE', 'Not a canonical 32-byte scalar');
}

/** A scalar given as an API parameter (a blinding, an excess): `E_ARGUMENT` if it is not canonical. */
function scalarArg(bytes: unknown, what: string): bigint {
  if (!isBytes(bytes, 32)) fail('E_ARGUMENT', `${what} is a 32-byte scalar`);
  return parseScalar(bytes) ?? fail('E_ARGUMENT', `${what} is not a canonical scalar`);
}

/** (a + b) mod L, for summing blindings. */
export function addScalars(a: Uint8Array, b: Uint8Array): Uint8Array {
  return Fn.toBytes(Fn.add(scalarArg(a, 'A scalar'), scalarArg(b, 'A scalar')));
}

/** (a - b) mod L: the wallet's excess is sum(r_in) - sum(r_out). */
export function subScalars(a: Uint8Array, b: Uint8Array): Uint8Array {
  return Fn.toBytes(Fn.sub(scalarArg(a, 'A scalar'), scalarArg(b, 'A scalar')));
}

function randomFrom(random: RandomSource | undefined, n: number): Uint8Array {
  const bytes = random === undefined ? crypto.getRandomValues(new Uint8Array(n)) : random(n);
  if (!isBytes(bytes, n)) fail('E_ARGUMENT', `The random source must return ${n} bytes`);
  return bytes;
}

/** A uniform scalar: 64 random bytes reduced mod L, so the bias is below 2^-250. */
function randomScalar(random: RandomSource | undefined): bigint {
  return Fn.create(bytesToNumberLE(randomFrom(random, 64)));
}

/** A fresh uniformly random blinding factor (a canonical scalar). */
export function randomBlinding(random?: RandomSource): Uint8Array {
  return Fn.toBytes(randomScalar(random));
}

/** k*P for a secret k. noble's constant-time `multiply` refuses 0, whose product is the identity. */
function mulSecret(p: Point, k: bigint): Point {
  return k === 0n ? Point.ZERO : p.multiply(k);
}

/** A challenge: 64 bytes of the context's hash reduced mod L (uniform, unlike a 32-byte reduction). */
function challenge(context: 'noteRangeChallenge' | 'noteBindingChallenge', data: Uint8Array): bigint {
  return Fn.create(bytesToNumberLE(hashFor(context, data, 64)));
}

// ---------------------------------------------------------------------------------------------
// Commitments

function valueArg(value: unknown): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > MAX_VALUE) {
    fail('E_ARGUMENT', `A note value is a bigint in [0, 2^${RANGE_BITS})`);
  }
  return value;
}

function commitPoint(value: bigint, blinding: bigint): Point {
  return mulSecret(G, value).add(mulSecret(H, blinding));
}

/** The Pedersen commitment value*G + blinding*H (32 bytes); value in [0, 2^64) else `E_ARGUMENT`. */
export function commit(value: bigint, blinding: Uint8Array): Uint8Array {
  return commitPoint(valueArg(value), scalarArg(blinding, 'A blinding')).toBytes();
}

function decodePoint(bytes: Uint8Array): Point | undefined {
  if (bytes.length !== 32) return undefined;
  try {
    return Point.fromBytes(bytes);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Range proofs

/**
 * The Fiat-Shamir transcript: the commitment, every bit commitment, both first messages of every
 * OR-proof, then the caller's context with its length (the only variable-length part, so it goes
 * last and is length-prefixed, and no two transcripts share an encoding).
 */
function rangeChallenge(
  commitment: Uint8Array,
  bits: Uint8Array[],
  firsts: Uint8Array[],
  context: Uint8Array,
): bigint {
  const length = new Uint8Array(8);
  new DataView(length.buffer).setBigUint64(0, BigInt(context.length), true);
  return challenge('noteRangeChallenge', concatBytes(commitment, ...bits, ...firsts, length, context));
}

/**
 * Proves that commit(value, blinding) hides a value in [0, 2^64), bound to `context` (the turn
 * binds it, so a proof cannot be lifted into another turn). Layout (8224 bytes): e, then for each
 * bit i from the least significant: C_i, e0_i, s0_i, s1_i, where e1_i = e - e0_i.
 *
 * Bit i is C_i = b_i*G + r_i*H. Its OR-proof shows knowledge of log_H(P_0) or of log_H(P_1), with
 * P_0 = C_i and P_1 = C_i - G: the branch j = b_i is a real Schnorr proof (A_j = k*H, s_j = k + e_j*r_i),
 * the other is simulated (pick e_j and s_j, set A_j = s_j*H - e_j*P_j), and the challenges must
 * add up to the one Fiat-Shamir challenge e, so at most one branch can have been simulated.
 * The blindings r_i are random except r_0, chosen so that sum 2^i r_i = blinding: then
 * sum 2^i C_i = C, which the verifier checks.
 */
export function proveRange(
  value: bigint,
  blinding: Uint8Array,
  context: Uint8Array,
  random?: RandomSource,
): Uint8Array {
  const v = valueArg(value);
  const r = scalarArg(blinding, 'A blinding');
  if (!isBytes(context)) fail('E_ARGUMENT', 'A range proof context is a Uint8Array');
  const commitment = commitPoint(v, r).toBytes();

  const rs: bigint[] = new Array(RANGE_BITS);
  let rest = r;
  for (let i = 1; i < RANGE_BITS; i++) {
    rs[i] = randomScalar(random);
    rest = Fn.sub(rest, Fn.mul(rs[i]!, 1n << BigInt(i)));
  }
  rs[0] = rest;

  const bits: Uint8Array[] = [];
  const firsts: Uint8Array[] = [];
  const ks: bigint[] = [];
  const simE: bigint[] = [];
  const simS: bigint[] = [];
  for (let i = 0; i < RANGE_BITS; i++) {
    const bit = (v >> BigInt(i)) & 1n;
    const ri = rs[i]!;
    const rH = mulSecret(H, ri);
    bits.push((bit === 1n ? rH.add(G) : rH).toBytes());
    const k = randomScalar(random);
    const e = randomScalar(random);
    const s = randomScalar(random);
    ks.push(k);
    simE.push(e);
    simS.push(s);
    // The simulated branch's A = s*H - e*P with P = C_i - G (bit 0) or C_i (bit 1). Since
    // C_i = bit*G + r_i*H, that is (s - e*r_i)*H + e*G (bit 0) or (s - e*r_i)*H - e*G (bit 1):
    // two fixed-base products instead of one by the variable point C_i.
    const eG = mulSecret(G, e);
    const simulated = mulSecret(H, Fn.sub(s, Fn.mul(e, ri))).add(bit === 0n ? eG : eG.negate());
    const real = mulSecret(H, k);
    const [a0, a1] = bit === 0n ? [real, simulated] : [simulated, real];
    firsts.push(a0.toBytes(), a1.toBytes());
  }

  const e = rangeChallenge(commitment, bits, firsts, context);
  const proof = new Uint8Array(RANGE_PROOF_BYTES);
  proof.set(Fn.toBytes(e), 0);
  for (let i = 0; i < RANGE_BITS; i++) {
    const bit = (v >> BigInt(i)) & 1n;
    // The real branch's challenge is whatever makes the two add up to e.
    const eReal = Fn.sub(e, simE[i]!);
    const sReal = Fn.add(ks[i]!, Fn.mul(eReal, rs[i]!));
    const [e0, s0, s1] = bit === 0n ? [eReal, sReal, simS[i]!] : [simE[i]!, simS[i]!, sReal];
    const at = 32 + i * BIT_RECORD;
    proof.set(bits[i]!, at);
    proof.set(Fn.toBytes(e0), at + 32);
    proof.set(Fn.toBytes(s0), at + 64);
    proof.set(Fn.toBytes(s1), at + 96);
  }
  return proof;
}

/**
 * Checks a range proof for `commitment` under `context`. Answers false (never throws) for any
 * proof that does not verify, including one of the wrong length, with an undecodable point or with
 * a scalar that is not canonical (so that no two encodings of one proof both verify).
 */
export function verifyRange(commitment: Uint8Array, proof: Uint8Array, context: Uint8Array): boolean {
  if (!isBytes(commitment) || !isBytes(proof) || !isBytes(context)) {
    fail('E_ARGUMENT', 'verifyRange takes Uint8Arrays');
  }
  if (proof.length !== RANGE_PROOF_BYTES) return false;
  const c = decodePoint(commitment);
  const e = parseScalar(proof.subarray(0, 32));
  if (c === undefined || e === undefined) return false;

  const bits: Uint8Array[] = [];
  const firsts: Uint8Array[] = [];
  let sum = Point.ZERO;
  // Walk from the most significant bit so that sum ends as sum 2^i C_i (Horner's rule).
  const points: Point[] = new Array(RANGE_BITS);
  for (let i = RANGE_BITS - 1; i >= 0; i--) {
    const at = 32 + i * BIT_RECORD;
    const ci = decodePoint(proof.subarray(at, at + 32));
    if (ci === undefined) return false;
    points[i] = ci;
    sum = sum.double().add(ci);
  }
  if (!sum.equals(c)) return false;

  for (let i = 0; i < RANGE_BITS; i++) {
    const at = 32 + i * BIT_RECORD;
    const e0 = parseScalar(proof.subarray(at + 32, at + 64));
    const s0 = parseScalar(proof.subarray(at + 64, at + 96));
    const s1 = parseScalar(proof.subarray(at + 96, at + 128));
    if (e0 === undefined || s0 === undefined || s1 === undefined) return false;
    const e1 = Fn.sub(e, e0);
    const ci = points[i]!;
    // A_0 = s0*H - e0*C_i and A_1 = s1*H - e1*(C_i - G) = s1*H + e1*G - e1*C_i. Public scalars: the
    // faster variable-time products are fine here.
    const a0 = H.multiplyUnsafe(s0).subtract(ci.multiplyUnsafe(e0));
    const a1 = H.multiplyUnsafe(s1).add(G.multiplyUnsafe(e1)).subtract(ci.multiplyUnsafe(e1));
    bits.push(proof.slice(at, at + 32));
    firsts.push(a0.toBytes(), a1.toBytes());
  }
  return rangeChallenge(commitment, bits, firsts, context) === e;
}

// ---------------------------------------------------------------------------------------------
// Value balance and binding signatures

function publicAmount(amount: unknown, what: string): bigint {
  if (typeof amount !== 'bigint' || amount < 0n || amount > MAX_VALUE) {
    fail('E_ARGUMENT', `${what} is a bigint in [0, 2^${RANGE_BITS})`);
  }
  return amount;
}

function commitmentsArg(list: unknown, what: string): Point[] {
  if (!Array.isArray(list)) fail('E_ARGUMENT', `${what} is an array of commitments`);
  return list.map((bytes: unknown) => {
    if (!isBytes(bytes)) fail('E_ARGUMENT', `${what} holds Uint8Array commitments`);
    return decodePoint(bytes) ?? fail('E_DECODE', 'Malformed commitment');
  });
}

/**
 * The balance point of a turn: sum(inputs) - sum(outputs) + (publicIn - publicOut)*G, where
 * publicIn is public value the turn brings into its notes (a deposit) and publicOut public value
 * it pays out of them (a withdrawal). When value is conserved, sum(v_in) + publicIn =
 * sum(v_out) + publicOut, the G terms cancel and the point is excess*H with
 * excess = sum(r_in) - sum(r_out): the public key of the turn's binding signature. The verifier
 * computes this point itself from the turn; it is never taken from the signer.
 */
export function balancePoint(
  inputs: Uint8Array[],
  outputs: Uint8Array[],
  publicIn: bigint,
  publicOut: bigint,
): Uint8Array {
  const ins = commitmentsArg(inputs, 'inputs');
  const outs = commitmentsArg(outputs, 'outputs');
  const net = Fn.sub(publicAmount(publicIn, 'publicIn'), publicAmount(publicOut, 'publicOut'));
  let p = G.multiplyUnsafe(net);
  for (const c of ins) p = p.add(c);
  for (const c of outs) p = p.subtract(c);
  return p.toBytes();
}

/** excess*H: the public key a binding signature by `excess` verifies under. */
export function bindingPublicKey(excess: Uint8Array): Uint8Array {
  return mulSecret(H, scalarArg(excess, 'An excess')).toBytes();
}

function bindingChallenge(r: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  // R and P have fixed lengths, so the message can follow unprefixed without ambiguity.
  return challenge('noteBindingChallenge', concatBytes(r, publicKey, message));
}

/**
 * A Schnorr signature with generator H by the key `excess` over `message` (the turn's signing
 * digest): R = k*H, c = challenge(R, P, message) with P = excess*H, s = k + c*excess; R || s.
 * Binding P into c (key-prefixing) keeps a signature from being transplanted to another key.
 */
export function bindingSign(excess: Uint8Array, message: Uint8Array, random?: RandomSource): Uint8Array {
  const x = scalarArg(excess, 'An excess');
  if (!isBytes(message)) fail('E_ARGUMENT', 'A message is a Uint8Array');
  const k = randomScalar(random);
  const r = mulSecret(H, k).toBytes();
  const c = bindingChallenge(r, mulSecret(H, x).toBytes(), message);
  return concatBytes(r, Fn.toBytes(Fn.add(k, Fn.mul(c, x))));
}

/**
 * Checks a binding signature against a public key (a turn's `balancePoint`): s*H == R + c*P.
 * False, never an exception, for a malformed key or signature of any length.
 */
export function bindingVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!isBytes(publicKey) || !isBytes(message) || !isBytes(signature)) {
    fail('E_ARGUMENT', 'bindingVerify takes Uint8Arrays');
  }
  if (signature.length !== BINDING_SIGNATURE_BYTES) return false;
  const p = decodePoint(publicKey);
  const rBytes = signature.subarray(0, 32);
  const r = decodePoint(rBytes);
  const s = parseScalar(signature.subarray(32, 64));
  if (p === undefined || r === undefined || s === undefined) return false;
  const c = bindingChallenge(rBytes, publicKey, message);
  return H.multiplyUnsafe(s).equals(r.add(p.multiplyUnsafe(c)));
}

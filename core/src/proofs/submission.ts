/**
 * Wire formats of the private path (issue 7): what an owner sends a relay so that a cell's turns are
 * proved rather than shown, and the proof file of `dregg turn submit --prove`.
 *
 *   ProvedRegistration  {v, led, agent, cell, salt, sig}
 *       the owner asks the relay to make `cell` proved. `salt` is the nonce-0 state salt (3 elements,
 *       12 bytes little-endian): with the cell it already knows, the relay computes the genesis
 *       commitment itself. sig = Ed25519 by `agent` over H_provedRegistration(CBOR {v, led, agent, cell, salt}).
 *   ProvedSubmission    {v, led, agent, cell, old, new, turn, nf, proof, sig}
 *       a proved turn: its statement (commitments and nullifier as 32 bytes each, 8 little-endian
 *       words; the turn hash) and the proof bytes. sig = Ed25519 by `agent` over
 *       H_provedSubmission(CBOR {v, led, agent, cell, old, new, turn, nf, proof: H_provedProofHash(proof)}),
 *       so the signature covers the proof without hashing it into the CBOR twice.
 *   Proof file          {v, kind: "turn-proof", old, new, turn, nf, proof}: a statement and its proof.
 *
 * Decoders are strict (deterministic CBOR, exact fields, canonical field elements, bounded sizes) and
 * fail only with E_DECODE or E_INVALID.
 */
import { DID_SHAPE } from '../caps/caveats.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { toHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError, decoding, fail } from '../errors.ts';
import { P } from '../stark/field.ts';
import { type Digest, SALT_ELEMENTS } from './state.ts';
import { type ProvedTurn, type TurnStatement, verifyTurnProof } from './turn-proof.ts';

export const SUBMISSION_VERSION = 1;
/** The largest turn proof a relay takes (today's are about 60-90 KiB). */
export const MAX_PROOF_BYTES = 120 * 1024;
/** A registration: a few did:keys and hashes. */
export const MAX_REGISTRATION_BYTES = 1024;
/** A submission: the proof and at most 1 KiB around it. */
export const MAX_SUBMISSION_BYTES = MAX_PROOF_BYTES + 1024;

export interface ProvedRegistration {
  readonly ledger: string;
  /** The cell's owner, a did:key: the signer. */
  readonly agent: string;
  /** The cell id, 64 hex digits. */
  readonly cell: string;
  /** The state salt of nonce 0 (`stateSalt(secret, cell, 0)`). */
  readonly salt: Uint32Array;
  readonly signature: Uint8Array;
}

export interface ProvedSubmission {
  readonly ledger: string;
  readonly agent: string;
  readonly cell: string;
  readonly statement: TurnStatement;
  readonly proof: Uint8Array;
  readonly signature: Uint8Array;
}

/** Who signs: a did:key and its 32-byte Ed25519 seed. */
export interface Signer {
  readonly did: string;
  readonly seed: Uint8Array;
}

const LEDGER = /^[a-z0-9][a-z0-9.-]{0,62}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Field elements as little-endian 32-bit words. */
export function elementsToBytes(d: Uint32Array): Uint8Array {
  const out = new Uint8Array(4 * d.length);
  const view = new DataView(out.buffer);
  for (const [i, x] of d.entries()) view.setUint32(4 * i, x, true);
  return out;
}

/** The inverse of `elementsToBytes`; refuses a length other than `count` words or a non-canonical element. */
export function elementsFromBytes(b: Uint8Array, count: number, what: string): Uint32Array {
  if (b.length !== 4 * count) fail('E_INVALID', `${what} is ${4 * count} bytes`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = Uint32Array.from({ length: count }, (_, i) => view.getUint32(4 * i, true));
  if (out.some((x) => x >= P)) fail('E_INVALID', `${what} holds a non-canonical field element`);
  return out;
}

/** A commitment or nullifier as the relay stores and receipts carry it: 32 bytes. */
export const digestBytes = (d: Digest): Uint8Array => elementsToBytes(d);

export function proofHash(proof: Uint8Array): Uint8Array {
  return hashFor('provedProofHash', proof);
}

function statementToCbor(s: TurnStatement): CborMap {
  return {
    old: digestBytes(s.oldCommitment),
    new: digestBytes(s.newCommitment),
    turn: s.turnHash,
    nf: digestBytes(s.nullifier),
  };
}

function bad(what: string, why: string): never {
  throw new DreggError('E_INVALID', `Invalid ${what}: ${why}`);
}

function exactly(v: CborValue, fields: readonly string[], what: string): CborMap {
  if (!isCborMap(v)) bad(what, 'not a map');
  if (Object.keys(v).length !== fields.length || !fields.every((k) => Object.hasOwn(v, k)))
    bad(what, `fields are {${fields.join(', ')}}`);
  if (v.v !== SUBMISSION_VERSION) bad(what, `unknown version ${String(v.v)}`);
  return v;
}

function bytesField(v: CborValue | undefined, length: number, what: string, field: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) bad(what, `${field} must be ${length} bytes`);
  return v;
}

function statementFromCbor(m: CborMap, what: string): TurnStatement {
  const digest = (field: string) =>
    elementsFromBytes(bytesField(m[field], 32, what, field), 8, `${what}: ${field}`);
  return {
    oldCommitment: digest('old'),
    newCommitment: digest('new'),
    turnHash: bytesField(m.turn, 32, what, 'turn'),
    nullifier: digest('nf'),
  };
}

function header(m: CborMap, what: string): { ledger: string; agent: string; cell: string } {
  if (typeof m.led !== 'string' || !LEDGER.test(m.led)) bad(what, 'led must be a ledger name');
  if (typeof m.agent !== 'string' || !DID_SHAPE.test(m.agent)) bad(what, 'agent must be a did:key');
  if (typeof m.cell !== 'string' || !HEX64.test(m.cell)) bad(what, 'cell must be 64 hex digits');
  return { ledger: m.led, agent: m.agent, cell: m.cell };
}

function proofField(v: CborValue | undefined, what: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length === 0 || v.length > MAX_PROOF_BYTES)
    bad(what, `proof must be 1 to ${MAX_PROOF_BYTES} bytes`);
  return v;
}

function bounded(bytes: Uint8Array, max: number, what: string): void {
  if (!(bytes instanceof Uint8Array)) fail('E_DECODE', `Malformed ${what}`);
  if (bytes.length > max) fail('E_INVALID', `Invalid ${what}: longer than ${max} bytes`);
}

async function checkSignature(agent: string, digest: Uint8Array, sig: Uint8Array, ed: Ed25519, what: string) {
  let ok = false;
  try {
    ok = await ed.verify(ed25519FromDidKey(agent), digest, sig);
  } catch {
    ok = false;
  }
  if (!ok) fail('E_BAD_SIGNATURE', `The ${what} is not signed by ${agent}`);
}

// ---- registration -------------------------------------------------------------------------------

function registrationBody(r: Omit<ProvedRegistration, 'signature'>): CborMap {
  return {
    v: SUBMISSION_VERSION,
    led: r.ledger,
    agent: r.agent,
    cell: r.cell,
    salt: elementsToBytes(r.salt),
  };
}

export function registrationDigest(r: Omit<ProvedRegistration, 'signature'>): Uint8Array {
  return hashFor('provedRegistration', encodeCbor(registrationBody(r)));
}

export async function signProvedRegistration(
  ledger: string,
  signer: Signer,
  cell: string,
  salt: Uint32Array,
  ed: Ed25519,
): Promise<ProvedRegistration> {
  if (salt.length !== SALT_ELEMENTS || salt.some((x) => x >= P)) fail('E_ARGUMENT', 'malformed state salt');
  const body = { ledger, agent: signer.did, cell, salt };
  return { ...body, signature: await ed.sign(signer.seed, registrationDigest(body)) };
}

export function encodeProvedRegistration(r: ProvedRegistration): Uint8Array {
  return encodeCbor({ ...registrationBody(r), sig: r.signature }).slice();
}

export function decodeProvedRegistration(bytes: Uint8Array): ProvedRegistration {
  const what = 'proved cell registration';
  bounded(bytes, MAX_REGISTRATION_BYTES, what);
  return decoding(what, () => {
    const m = exactly(decodeCbor(bytes, what), ['agent', 'cell', 'led', 'salt', 'sig', 'v'], what);
    return {
      ...header(m, what),
      salt: elementsFromBytes(bytesField(m.salt, 4 * SALT_ELEMENTS, what, 'salt'), SALT_ELEMENTS, what),
      signature: bytesField(m.sig, 64, what, 'sig'),
    };
  });
}

/** Throws E_BAD_SIGNATURE unless `r` is signed by the agent it names. */
export async function verifyProvedRegistration(r: ProvedRegistration, ed: Ed25519): Promise<void> {
  await checkSignature(r.agent, registrationDigest(r), r.signature, ed, 'registration');
}

// ---- submission ---------------------------------------------------------------------------------

function submissionDigest(s: Omit<ProvedSubmission, 'signature'>): Uint8Array {
  return hashFor(
    'provedSubmission',
    encodeCbor({
      v: SUBMISSION_VERSION,
      led: s.ledger,
      agent: s.agent,
      cell: s.cell,
      ...statementToCbor(s.statement),
      proof: proofHash(s.proof),
    }),
  );
}

/** Signs a proved turn (`proveTurn`'s result) for submission to the relay of `ledger`. */
export async function signProvedSubmission(
  ledger: string,
  signer: Signer,
  cell: string,
  proved: Pick<ProvedTurn, 'statement' | 'proof'>,
  ed: Ed25519,
): Promise<ProvedSubmission> {
  const body = { ledger, agent: signer.did, cell, statement: proved.statement, proof: proved.proof };
  return { ...body, signature: await ed.sign(signer.seed, submissionDigest(body)) };
}

export function encodeProvedSubmission(s: ProvedSubmission): Uint8Array {
  return encodeCbor({
    v: SUBMISSION_VERSION,
    led: s.ledger,
    agent: s.agent,
    cell: s.cell,
    ...statementToCbor(s.statement),
    proof: s.proof,
    sig: s.signature,
  }).slice();
}

const SUBMISSION_FIELDS = ['agent', 'cell', 'led', 'new', 'nf', 'old', 'proof', 'sig', 'turn', 'v'];

export function decodeProvedSubmission(bytes: Uint8Array): ProvedSubmission {
  const what = 'proved turn submission';
  bounded(bytes, MAX_SUBMISSION_BYTES, what);
  return decoding(what, () => {
    const m = exactly(decodeCbor(bytes, what), SUBMISSION_FIELDS, what);
    return {
      ...header(m, what),
      statement: statementFromCbor(m, what),
      proof: proofField(m.proof, what),
      signature: bytesField(m.sig, 64, what, 'sig'),
    };
  });
}

/** Throws E_BAD_SIGNATURE unless `s` is signed by the agent it names. */
export async function verifySubmissionSignature(s: ProvedSubmission, ed: Ed25519): Promise<void> {
  await checkSignature(s.agent, submissionDigest(s), s.signature, ed, 'proved turn submission');
}

/**
 * The whole check of a submission, short of the relay's ordering: the agent's signature, then the
 * proof against the statement. A proof that does not verify (or does not decode) is E_INVALID naming
 * the reason.
 */
export async function verifyProvedSubmission(s: ProvedSubmission, ed: Ed25519): Promise<void> {
  await verifySubmissionSignature(s, ed);
  checkProof(s.statement, s.proof);
}

/** `verifyTurnProof`, with every refusal as E_INVALID "The turn proof does not verify: <why>". */
export function checkProof(statement: TurnStatement, proof: Uint8Array): void {
  try {
    verifyTurnProof(statement, proof);
  } catch (e) {
    const why = e instanceof DreggError ? e.message : 'malformed proof';
    throw new DreggError('E_INVALID', `The turn proof does not verify: ${why}`, { cause: e });
  }
}

// ---- proof file ---------------------------------------------------------------------------------

export const PROOF_FILE_KIND = 'turn-proof';

export interface ProofFile {
  readonly statement: TurnStatement;
  readonly proof: Uint8Array;
}

export function encodeProofFile(f: ProofFile): Uint8Array {
  return encodeCbor({
    v: SUBMISSION_VERSION,
    kind: PROOF_FILE_KIND,
    ...statementToCbor(f.statement),
    proof: f.proof,
  }).slice();
}

export function decodeProofFile(bytes: Uint8Array): ProofFile {
  const what = 'turn proof file';
  bounded(bytes, MAX_SUBMISSION_BYTES, what);
  return decoding(what, () => {
    const m = exactly(decodeCbor(bytes, what), ['kind', 'new', 'nf', 'old', 'proof', 'turn', 'v'], what);
    if (m.kind !== PROOF_FILE_KIND) bad(what, `kind must be "${PROOF_FILE_KIND}"`);
    return { statement: statementFromCbor(m, what), proof: proofField(m.proof, what) };
  });
}

/** A statement as JSON-friendly hex (what the CLI prints). */
export function statementJson(s: TurnStatement): {
  oldCommitment: string;
  newCommitment: string;
  turnHash: string;
  nullifier: string;
} {
  return {
    oldCommitment: toHex(digestBytes(s.oldCommitment)),
    newCommitment: toHex(digestBytes(s.newCommitment)),
    turnHash: toHex(s.turnHash),
    nullifier: toHex(digestBytes(s.nullifier)),
  };
}

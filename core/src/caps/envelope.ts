/**
 * Delegation envelopes. A delegator hands a recipient an attenuated token inside an envelope it signs:
 * Ed25519 over the BLAKE3 digest (context "delegation envelope signing") of the canonical encoding of
 * EVERY field: the token, the parent envelope's hash, delegator and recipient, the declared
 * restrictions, issued-at, expiry and the delegator's epoch (PITFALLS 10). The envelope's own hash
 * (context "delegation envelope hash", signature included) names it for subtree revocation.
 *
 * A delegation travels as its whole chain, root first, so that the recipient can check every step.
 */
import type { Ed25519 } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { concatBytes, toHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { fromText, toText } from '../encoding/text.ts';
import { DreggError } from '../errors.ts';
import { type Caveat, caveatFromCbor, caveatToCbor } from './caveats.ts';
import { type Token, tokenFromCbor, tokenToCbor } from './token.ts';

export const ENVELOPE_VERSION = 1;
/** Longest delegation chain we accept; deeper chains are refused before any signature is checked. */
export const MAX_CHAIN = 16;

export interface EnvelopeBody {
  readonly v: typeof ENVELOPE_VERSION;
  /** The token after this step's caveats were appended. */
  readonly token: Token;
  /** Hash of the previous envelope in the chain, or `null` for the first delegation from the issuer. */
  readonly parent: Uint8Array | null;
  readonly from: string;
  readonly to: string;
  /** The restrictions this step declares: exactly the caveats it appended. */
  readonly restrict: readonly Caveat[];
  /** Unix seconds. */
  readonly issuedAt: number;
  /** The token's effective expiry after this step (Unix seconds). */
  readonly expiry: number;
  /** The delegator's delegation epoch when it signed. */
  readonly epoch: number;
}

export interface Envelope extends EnvelopeBody {
  readonly signature: Uint8Array;
}

/** A delegation as it travels: every envelope from the issuer's first delegation to the holder. */
export type Chain = readonly Envelope[];

function bodyToCbor(b: EnvelopeBody): CborMap {
  return {
    v: b.v,
    tok: tokenToCbor(b.token),
    par: b.parent,
    from: b.from,
    to: b.to,
    res: b.restrict.map(caveatToCbor),
    iat: b.issuedAt,
    exp: b.expiry,
    ep: b.epoch,
  };
}

function envelopeToCbor(e: Envelope): CborMap {
  return { ...bodyToCbor(e), sig: e.signature };
}

// Envelopes are immutable values; their digest and hash are needed at several checks of one chain.
const digests = new WeakMap<EnvelopeBody, Uint8Array>();
const hashes = new WeakMap<Envelope, Uint8Array>();

/** What the delegator signs: a digest of the canonical encoding of every field of the body. */
export function signingDigest(body: EnvelopeBody): Uint8Array {
  let d = digests.get(body);
  if (d === undefined) {
    d = hashFor('envelopeSigning', encodeCbor(bodyToCbor(body)));
    digests.set(body, d);
  }
  return d;
}

/**
 * The delegation hash: what `revoke --delegation` names and what a child's `parent` points to. It
 * hashes the signing digest (which covers every field) with the signature, so it names this exact
 * signed envelope without encoding it a second time.
 */
export function envelopeHash(e: Envelope): Uint8Array {
  let h = hashes.get(e);
  if (h === undefined) {
    h = hashFor('envelopeHash', concatBytes(signingDigest(e), e.signature));
    hashes.set(e, h);
  }
  return h;
}

export function envelopeHashHex(e: Envelope): string {
  return toHex(envelopeHash(e));
}

export async function signEnvelope(body: EnvelopeBody, seed: Uint8Array, ed: Ed25519): Promise<Envelope> {
  return { ...body, signature: await ed.sign(seed, signingDigest(body)) };
}

export async function verifyEnvelopeSignature(e: Envelope, ed: Ed25519): Promise<boolean> {
  return ed.verify(ed25519FromDidKey(e.from), signingDigest(e), e.signature);
}

const FIELDS = ['v', 'tok', 'par', 'from', 'to', 'res', 'iat', 'exp', 'ep', 'sig'];

function uint(v: CborValue | undefined, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new DreggError('E_INVALID', `Envelope ${what} must be a whole number`);
  }
  return v;
}

function envelopeFromCbor(value: CborValue): Envelope {
  if (!isCborMap(value)) throw new DreggError('E_INVALID', 'An envelope is a map');
  const m = value;
  const keys = Object.keys(m);
  if (keys.length !== FIELDS.length || !FIELDS.every((k) => Object.hasOwn(m, k))) {
    throw new DreggError('E_INVALID', `An envelope has exactly the fields ${FIELDS.join(', ')}`);
  }
  if (m.v !== ENVELOPE_VERSION)
    throw new DreggError('E_INVALID', `Unsupported envelope version ${String(m.v)}`);
  if (m.par !== null && !(m.par instanceof Uint8Array && m.par.length === 32)) {
    throw new DreggError('E_INVALID', 'Envelope parent must be a 32-byte hash or null');
  }
  if (typeof m.from !== 'string' || typeof m.to !== 'string')
    throw new DreggError('E_INVALID', 'Envelope parties are DIDs');
  // Decoding the DIDs here makes a malformed party an early, typed error.
  ed25519FromDidKey(m.from);
  ed25519FromDidKey(m.to);
  if (!Array.isArray(m.res)) throw new DreggError('E_INVALID', 'Envelope restrictions must be a list');
  if (!(m.sig instanceof Uint8Array) || m.sig.length !== 64)
    throw new DreggError('E_INVALID', 'Envelope signature must be 64 bytes');
  return {
    v: ENVELOPE_VERSION,
    token: tokenFromCbor(m.tok),
    parent: m.par,
    from: m.from,
    to: m.to,
    restrict: m.res.map(caveatFromCbor),
    issuedAt: uint(m.iat, 'issued-at'),
    expiry: uint(m.exp, 'expiry'),
    epoch: uint(m.ep, 'epoch'),
    signature: m.sig,
  };
}

export function encodeChain(chain: Chain): Uint8Array {
  return encodeCbor({ v: ENVELOPE_VERSION, chain: chain.map(envelopeToCbor) });
}

/** Decodes a delegation chain from outside bytes; fails only with typed errors. */
export function decodeChain(bytes: Uint8Array): Chain {
  const value = decodeCbor(bytes, 'delegation');
  if (!isCborMap(value)) throw new DreggError('E_INVALID', 'A delegation is a map');
  const m = value;
  if (Object.keys(m).length !== 2 || m.v !== ENVELOPE_VERSION || !Array.isArray(m.chain)) {
    throw new DreggError('E_INVALID', 'A delegation has exactly the fields v (= 1) and chain');
  }
  if (m.chain.length === 0 || m.chain.length > MAX_CHAIN) {
    throw new DreggError('E_INVALID', `A delegation chain has 1 to ${MAX_CHAIN} envelopes`);
  }
  return m.chain.map(envelopeFromCbor);
}

export function chainToText(chain: Chain): string {
  return toText('envelope', encodeChain(chain));
}

export function chainFromText(text: string): Chain {
  return decodeChain(fromText('envelope', text));
}

/**
 * The attested root: after each batch the relay signs where its ledger and its log stand. A light
 * client that holds one checks a receipt's inclusion in the log under it (./inclusion.ts), and
 * compares two of them to see that the log only grew.
 *
 * Wire form (deterministic CBOR map): {v, relay, led, h, lroot, log, iss, dst, at, sig}. The relay
 * signs H_notaryAttestedRoot(CBOR of every field but sig): the height and supply are inside the
 * signature (PITFALLS 11), and the verifier must pin the relay's key itself — `verifyAttestedRoot`
 * checks the signature against the key the root names, which proves nothing about who that is.
 */
import { DID_SHAPE } from '../caps/caveats.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError, decoding } from '../errors.ts';
import { amount, bytes, checkFields, LOG_VERSION, wholeNumber } from './log.ts';

export interface AttestedRootBody {
  readonly v: 1;
  /** The relay's did:key: the signer. */
  readonly relay: string;
  /** The ledger (federation name) the relay orders turns for. */
  readonly ledger: string;
  /** Events in the log. */
  readonly height: number;
  /** The ledger Merkle root over every cell (core/src/cells/ledger-root.ts) after the batch. */
  readonly ledgerRoot: Uint8Array;
  /** The log Merkle root over the first `height` events. */
  readonly logRoot: Uint8Array;
  /** Totals over the whole log: what entered the ledger and what left it. */
  readonly supply: { readonly issued: bigint; readonly destroyed: bigint };
  /** Unix seconds at signing. */
  readonly at: number;
}

export interface AttestedRoot extends AttestedRootBody {
  readonly signature: Uint8Array;
}

function bodyToCbor(r: AttestedRootBody): CborMap {
  return {
    v: LOG_VERSION,
    relay: r.relay,
    led: r.ledger,
    h: r.height,
    lroot: r.ledgerRoot,
    log: r.logRoot,
    iss: r.supply.issued,
    dst: r.supply.destroyed,
    at: r.at,
  };
}

/** What the relay signs. */
export function attestedRootDigest(r: AttestedRootBody): Uint8Array {
  return hashFor('notaryAttestedRoot', encodeCbor(bodyToCbor(r)));
}

export async function signAttestedRoot(
  body: AttestedRootBody,
  seed: Uint8Array,
  ed: Ed25519,
): Promise<AttestedRoot> {
  return { ...body, signature: await ed.sign(seed, attestedRootDigest(body)) };
}

/**
 * Whether `root` is signed by the relay it names. Never throws. The caller must also check that
 * `root.relay` is the relay it means to trust.
 */
export async function verifyAttestedRoot(root: AttestedRoot, ed: Ed25519): Promise<boolean> {
  try {
    return await ed.verify(ed25519FromDidKey(root.relay), attestedRootDigest(root), root.signature);
  } catch {
    return false;
  }
}

export function attestedRootToCbor(r: AttestedRoot): CborMap {
  return { ...bodyToCbor(r), sig: r.signature };
}

export function encodeAttestedRoot(r: AttestedRoot): Uint8Array {
  return encodeCbor(attestedRootToCbor(r)).slice();
}

const FIELDS = ['at', 'dst', 'h', 'iss', 'led', 'log', 'lroot', 'relay', 'sig', 'v'];
const LEDGER = /^[a-z0-9][a-z0-9.-]{0,62}$/;

export function attestedRootFromCbor(v: CborValue): AttestedRoot {
  const what = 'attested root';
  if (!isCborMap(v)) throw new DreggError('E_INVALID', 'Invalid attested root: not a map');
  checkFields(v, FIELDS, what);
  if (v.v !== LOG_VERSION) throw new DreggError('E_INVALID', `Invalid attested root: unknown version`);
  if (typeof v.relay !== 'string' || !DID_SHAPE.test(v.relay))
    throw new DreggError('E_INVALID', 'Invalid attested root: relay must be a did:key');
  if (typeof v.led !== 'string' || !LEDGER.test(v.led))
    throw new DreggError('E_INVALID', 'Invalid attested root: led must be a ledger name');
  return {
    v: 1,
    relay: v.relay,
    ledger: v.led,
    height: wholeNumber(v.h, what, 'h'),
    ledgerRoot: bytes(v.lroot, 32, what, 'lroot'),
    logRoot: bytes(v.log, 32, what, 'log'),
    supply: { issued: amount(v.iss, what, 'iss'), destroyed: amount(v.dst, what, 'dst') },
    at: wholeNumber(v.at, what, 'at'),
    signature: bytes(v.sig, 64, what, 'sig'),
  };
}

/** Decodes an attested root from outside; fails only with `E_DECODE` or `E_INVALID`. */
export function decodeAttestedRoot(bytes: Uint8Array): AttestedRoot {
  return decoding('attested root', () => attestedRootFromCbor(decodeCbor(bytes, 'attested root')));
}

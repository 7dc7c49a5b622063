/**
 * Attested roots of a federation, and the light client's check of them.
 *
 * After each final wave every member signs {federation, committee epoch, ledger root, log height}:
 * everything a light client relies on is inside the signed digest (PITFALLS 11: no threshold or
 * height outside the signature). A root carries a list of (signer, signature) pairs; the light
 * client pins the committee (from a genesis file or its first connection, shown to the user) and
 * accepts the root only when more than 2/3 of the pinned members, counted once each, have a valid
 * signature on it. Signatures by non-members, repeats of a member and signatures that do not verify
 * count for nothing, and each one is verified: nothing is taken on its length.
 *
 * Wire form (deterministic CBOR map): {v, fed, ep, lroot, h, sigs: [[signer, signature], ...]}, and
 * `log` (the settlement log's Merkle root, ./receipts.ts), inside the signed digest like every other
 * field. Relays always sign it, and a light client accepts no root without it (light.ts `followRoot`,
 * receipts.ts `verifyFederatedReceipt`); the wire form keeps it optional only so that a root without
 * it keeps its digest and `checkFederationRoot` can still count signatures on one.
 */
import { verifyEd25519Sync } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { toHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, decoding } from '../errors.ts';
import type { Signer } from './block.ts';
import { type Committee, isSupermajority } from './committee.ts';

export const ROOT_VERSION = 1;
/** More signatures than any committee this code runs: a bound for the decoder. */
export const MAX_ROOT_SIGNATURES = 1024;

export interface FederationRootBody {
  readonly federation: string;
  readonly epoch: number;
  /** The ledger Merkle root after the turns ordered so far. */
  readonly ledgerRoot: Uint8Array;
  /** Entries in the federation's log (turns ordered, accepted or refused). */
  readonly height: number;
  /** The Merkle root of the first `height` federated receipts (./receipts.ts `receiptLog`). */
  readonly logRoot?: Uint8Array;
}

export interface RootSignature {
  readonly signer: Uint8Array;
  readonly signature: Uint8Array;
}

export interface FederationRoot extends FederationRootBody {
  readonly signatures: readonly RootSignature[];
}

function bodyToCbor(r: FederationRootBody): CborMap {
  const body: CborMap = { v: ROOT_VERSION, fed: r.federation, ep: r.epoch, lroot: r.ledgerRoot, h: r.height };
  return r.logRoot === undefined ? body : { ...body, log: r.logRoot };
}

export function federationRootDigest(r: FederationRootBody): Uint8Array {
  return hashFor('federationAttestedRoot', encodeCbor(bodyToCbor(r)));
}

/** One member's signature on a root body. */
export async function signFederationRoot(
  body: FederationRootBody,
  signer: Uint8Array,
  sign: Signer,
): Promise<RootSignature> {
  return { signer, signature: await sign(federationRootDigest(body)) };
}

export interface RootCheck {
  readonly accepted: boolean;
  /** Distinct pinned members whose signature verified (hex keys). */
  readonly signers: readonly string[];
  /** Why it was refused, when it was. */
  readonly reason?: string;
}

/** The light client's check against a pinned committee. Never throws. */
export function checkFederationRoot(root: FederationRoot, pinned: Committee): RootCheck {
  if (root.federation !== pinned.federation)
    return { accepted: false, signers: [], reason: `the root is for federation ${root.federation}` };
  if (root.epoch !== pinned.epoch)
    return {
      accepted: false,
      signers: [],
      reason: `the root is for epoch ${root.epoch}, pinned is ${pinned.epoch}`,
    };
  return countSignatures(federationRootDigest(root), root.signatures, pinned);
}

/**
 * Counts the distinct members of `pinned` whose signature on `digest` verifies, and accepts more than
 * 2/3 of them: non-members, repeats and bytes that do not verify count for nothing. Never throws.
 */
export function countSignatures(
  digest: Uint8Array,
  signatures: readonly RootSignature[],
  pinned: Committee,
): RootCheck {
  const signers = new Set<string>();
  for (const { signer, signature } of signatures) {
    const key = toHex(signer);
    if (signers.has(key) || !pinned.keys.includes(key)) continue;
    if (verifyEd25519Sync(signer, digest, signature)) signers.add(key);
  }
  const list = [...signers].sort();
  return isSupermajority(pinned, signers.size)
    ? { accepted: true, signers: list }
    : {
        accepted: false,
        signers: list,
        reason: `${signers.size} of ${pinned.members.length} members signed; more than 2/3 must`,
      };
}

export function encodeFederationRoot(r: FederationRoot): Uint8Array {
  return encodeCbor({
    ...bodyToCbor(r),
    sigs: r.signatures.map((s) => [s.signer, s.signature]),
  }).slice();
}

function bad(message: string): never {
  throw new DreggError('E_INVALID', `Invalid federation root: ${message}`);
}

function rootFromCbor(v: CborValue): FederationRoot {
  if (!isCborMap(v)) bad('not a map');
  const names = ['ep', 'fed', 'h', 'lroot', 'sigs', 'v', ...(Object.hasOwn(v, 'log') ? ['log'] : [])];
  if (Object.keys(v).length !== names.length || !names.every((k) => Object.hasOwn(v, k)))
    bad(`fields are {${names.join(', ')}}`);
  if (v.v !== ROOT_VERSION) bad('unknown version');
  if (typeof v.fed !== 'string' || !/^[a-z0-9][a-z0-9.-]{0,62}$/.test(v.fed))
    bad('fed must be a federation name');
  const whole = (x: CborValue | undefined, name: string): number => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) bad(`${name} must be a whole number`);
    return x;
  };
  if (!(v.lroot instanceof Uint8Array) || v.lroot.length !== 32) bad('lroot must be 32 bytes');
  if (v.log !== undefined && !(v.log instanceof Uint8Array && v.log.length === 32))
    bad('log must be 32 bytes');
  if (!Array.isArray(v.sigs) || v.sigs.length > MAX_ROOT_SIGNATURES)
    bad(`sigs must be a list of at most ${MAX_ROOT_SIGNATURES}`);
  const signatures = v.sigs.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) bad('a signature is a [signer, signature] pair');
    const [signer, signature] = pair;
    if (!(signer instanceof Uint8Array) || signer.length !== 32) bad('a signer is 32 bytes');
    if (!(signature instanceof Uint8Array) || signature.length !== 64) bad('a signature is 64 bytes');
    return { signer, signature };
  });
  return {
    federation: v.fed,
    epoch: whole(v.ep, 'ep'),
    ledgerRoot: v.lroot,
    height: whole(v.h, 'h'),
    ...(v.log instanceof Uint8Array ? { logRoot: v.log } : {}),
    signatures,
  };
}

/** Decodes a root from outside; fails only with `E_DECODE` or `E_INVALID`. Checks no signature. */
export function decodeFederationRoot(bytes: Uint8Array): FederationRoot {
  return decoding('federation root', () => rootFromCbor(decodeCbor(bytes, 'federation root')));
}

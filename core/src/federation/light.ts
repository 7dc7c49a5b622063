/**
 * The light client's hold on a federation: a pinned committee, and following it across epochs.
 *
 * The wallet pins a committee once, from a genesis file or on its first connection (trust on first
 * use: the committee id is shown to the person so it can be compared out of band), and from then on
 * trusts nothing that does not chain back to that pin. A committee change (membership.ts) ends epoch
 * e; the members of epoch e then sign a *transition*: the id of epoch e + 1's committee. The client
 * moves its pin from e to e + 1 only on a transition signed by more than 2/3 of the committee it holds
 * (the same count as an attested root, `countSignatures`), and accepts roots of e + 1 only after that.
 * A relay cannot skip an epoch: each step needs the previous committee's supermajority.
 *
 * Roots also only move forward: a root below the height of the last one verified is refused, so a
 * relay cannot roll the client back to an older (still validly signed) state. And a root is accepted
 * only with `logRoot` (the settlement log it commits to): every member signs it, and without it the
 * root proves no receipt.
 *
 * Genesis (JSON, what a federation publishes): {"federation": name, "epoch": e, "members": [hex key, ...]}.
 * Transition (deterministic CBOR map): {v, fed, ep (the new epoch), mem: [key, ...], sigs: [[signer, signature], ...]}.
 */
import { hashFor } from '../crypto/hash.ts';
import { fromHex, toHex } from '../encoding/bytes.ts';
import { type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, decoding } from '../errors.ts';
import {
  checkFederationRoot,
  countSignatures,
  type FederationRoot,
  MAX_ROOT_SIGNATURES,
  type RootCheck,
  type RootSignature,
} from './attest.ts';
import type { Signer } from './block.ts';
import { type Committee, committee, committeeId } from './committee.ts';

export const TRANSITION_VERSION = 1;
/** More members than any committee this code runs: a bound for the decoders. */
export const MAX_MEMBERS = 1024;
const NAME = /^[a-z0-9][a-z0-9.-]{0,62}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Epoch e's committee handing over to `next` (epoch e + 1). */
export interface Transition {
  readonly next: Committee;
  readonly signatures: readonly RootSignature[];
}

export function transitionDigest(next: Committee): Uint8Array {
  return hashFor('federationTransition', committeeId(next));
}

export async function signTransition(
  next: Committee,
  signer: Uint8Array,
  sign: Signer,
): Promise<RootSignature> {
  return { signer, signature: await sign(transitionDigest(next)) };
}

/** Whether `t` hands `pinned` over to its next committee. Never throws. */
export function checkTransition(t: Transition, pinned: Committee): RootCheck {
  if (t.next.federation !== pinned.federation)
    return { accepted: false, signers: [], reason: `the transition is for federation ${t.next.federation}` };
  if (t.next.epoch !== pinned.epoch + 1)
    return {
      accepted: false,
      signers: [],
      reason: `the transition is to epoch ${t.next.epoch}; from epoch ${pinned.epoch} only ${pinned.epoch + 1} follows`,
    };
  return countSignatures(transitionDigest(t.next), t.signatures, pinned);
}

/** What the wallet keeps: the committee it trusts now, and the last root it verified. */
export interface Pin {
  readonly committee: Committee;
  /** How the first committee was pinned. */
  readonly source: 'genesis' | 'first-use';
  readonly root?: {
    readonly epoch: number;
    readonly height: number;
    readonly ledgerRoot: string;
    readonly logRoot?: string;
  };
}

export type Follow =
  | { readonly accepted: true; readonly pin: Pin; readonly signers: readonly string[] }
  | { readonly accepted: false; readonly reason: string };

/**
 * Checks `root` against `pin`, first following `transitions` (in epoch order) when the root is of a
 * later epoch. Returns the new pin on success; the old pin stays valid on refusal. Never throws.
 */
export function followRoot(pin: Pin, root: FederationRoot, transitions: readonly Transition[] = []): Follow {
  let c = pin.committee;
  for (const t of transitions) {
    if (c.epoch >= root.epoch) break;
    // A relay serves every certificate since genesis; a pin that has moved on needs only the later ones.
    if (t.next.epoch <= c.epoch) continue;
    const step = checkTransition(t, c);
    if (!step.accepted) return { accepted: false, reason: `epoch ${c.epoch + 1}: ${step.reason}` };
    c = t.next;
  }
  if (root.epoch < pin.committee.epoch)
    return {
      accepted: false,
      reason: `the root is of epoch ${root.epoch}, older than the pinned ${pin.committee.epoch}`,
    };
  if (c.epoch !== root.epoch)
    return {
      accepted: false,
      reason: `no transition signed by epoch ${c.epoch} leads to epoch ${root.epoch}`,
    };
  // A root without the settlement log's root proves no receipt, and a wallet has no use for one.
  if (root.logRoot === undefined) return { accepted: false, reason: 'the root commits to no settlement log' };
  const check = checkFederationRoot(root, c);
  if (!check.accepted) return { accepted: false, reason: check.reason ?? 'the root is not accepted' };
  if (pin.root !== undefined && root.height < pin.root.height)
    return {
      accepted: false,
      reason: `the root is at height ${root.height}, below the verified ${pin.root.height}`,
    };
  return {
    accepted: true,
    signers: check.signers,
    pin: {
      committee: c,
      source: pin.source,
      root: {
        epoch: root.epoch,
        height: root.height,
        ledgerRoot: toHex(root.ledgerRoot),
        logRoot: toHex(root.logRoot),
      },
    },
  };
}

function bad(what: string, message: string): never {
  throw new DreggError('E_INVALID', `Invalid ${what}: ${message}`);
}

function members(v: unknown, what: string, asHex: boolean): Uint8Array[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_MEMBERS)
    bad(what, `members are a list of 1 to ${MAX_MEMBERS} keys`);
  return v.map((m) => {
    if (asHex) {
      if (typeof m !== 'string' || !HEX64.test(m)) bad(what, 'a member is 64 hex digits');
      return fromHex(m);
    }
    if (!(m instanceof Uint8Array) || m.length !== 32) bad(what, 'a member is 32 bytes');
    return m;
  });
}

function committeeOf(what: string, federation: unknown, epoch: unknown, keys: Uint8Array[]): Committee {
  if (typeof federation !== 'string' || !NAME.test(federation))
    bad(what, 'federation must be a federation name');
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0)
    bad(what, 'epoch must be a whole number');
  try {
    return committee(federation, epoch, keys);
  } catch (e) {
    // Repeated members: the committee constructor's E_ARGUMENT is, for outside input, E_INVALID.
    bad(what, (e as Error).message);
  }
}

export function encodeGenesis(c: Committee): string {
  return JSON.stringify({ federation: c.federation, epoch: c.epoch, members: c.keys });
}

/** A committee from a genesis file (or what a relay served at first use); fails only with `E_DECODE` or `E_INVALID`. */
export function decodeGenesis(text: string): Committee {
  return decoding('federation genesis', () => {
    const v: unknown = JSON.parse(text);
    if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('federation genesis', 'not an object');
    const o = v as Record<string, unknown>;
    const names = ['epoch', 'federation', 'members'];
    if (Object.keys(o).length !== names.length || !names.every((k) => Object.hasOwn(o, k)))
      bad('federation genesis', `fields are {${names.join(', ')}}`);
    return committeeOf(
      'federation genesis',
      o.federation,
      o.epoch,
      members(o.members, 'federation genesis', true),
    );
  });
}

export function encodeTransition(t: Transition): Uint8Array {
  return encodeCbor({
    v: TRANSITION_VERSION,
    fed: t.next.federation,
    ep: t.next.epoch,
    mem: [...t.next.members],
    sigs: t.signatures.map((s) => [s.signer, s.signature]),
  }).slice();
}

function transitionFromCbor(v: CborValue): Transition {
  const what = 'federation transition';
  if (!isCborMap(v)) bad(what, 'not a map');
  const names = ['ep', 'fed', 'mem', 'sigs', 'v'];
  if (Object.keys(v).length !== names.length || !names.every((k) => Object.hasOwn(v, k)))
    bad(what, `fields are {${names.join(', ')}}`);
  if (v.v !== TRANSITION_VERSION) bad(what, 'unknown version');
  const next = committeeOf(what, v.fed, v.ep, members(v.mem, what, false));
  if (!Array.isArray(v.sigs) || v.sigs.length > MAX_ROOT_SIGNATURES)
    bad(what, `sigs must be a list of at most ${MAX_ROOT_SIGNATURES}`);
  const signatures = v.sigs.map((pair) => {
    if (!Array.isArray(pair) || pair.length !== 2) bad(what, 'a signature is a [signer, signature] pair');
    const [signer, signature] = pair;
    if (!(signer instanceof Uint8Array) || signer.length !== 32) bad(what, 'a signer is 32 bytes');
    if (!(signature instanceof Uint8Array) || signature.length !== 64) bad(what, 'a signature is 64 bytes');
    return { signer, signature };
  });
  return { next, signatures };
}

/** Decodes a transition from outside; fails only with `E_DECODE` or `E_INVALID`. Checks no signature. */
export function decodeTransition(bytes: Uint8Array): Transition {
  return decoding('federation transition', () =>
    transitionFromCbor(decodeCbor(bytes, 'federation transition')),
  );
}

/** The id a person compares: the committee id in hex. */
export const committeeIdHex = (c: Committee): string => toHex(committeeId(c));

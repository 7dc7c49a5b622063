/**
 * Federated receipts and their inclusion under an attested root.
 *
 * A relay's own receipt (core/src/turns/receipt.ts) is signed by that relay and stamped with its clock,
 * so no two relays would sign the same one. What the whole federation agrees on is the settlement:
 * each turn's place in the final order and its outcome. A *federated receipt* is exactly that, and
 * every member computes the same one for the same height. The receipts, in height order, are the
 * leaves of an RFC 9162 Merkle log (core/src/crypto/merkle-log.ts under the federation's own
 * contexts); an attested root that carries the log's root (`logRoot`, signed like the rest) commits
 * the federation to every receipt below its height.
 *
 * The light client's check (`verifyFederatedReceipt`) is two links: the root is signed by more than
 * 2/3 of the pinned committee (`checkFederationRoot`), and the receipt is leaf `height` of the log
 * of `root.height` receipts under `root.logRoot`.
 *
 * Receipt (deterministic CBOR map): {v, turn, h, blk, i, out, code, spent, first}; `turn` is the
 * turn's hash (null when the bytes were not a turn), `blk` the carrying block's id, `i` the item's
 * index there, `out` accepted | duplicate | refused, `code` the refusal's error code, `spent` the
 * turn that spent the state first (a double spend), `first` the height of the first copy (a duplicate).
 * The refusal's message is not committed: it is prose, and only the code is part of the contract.
 */

import { hashFor } from '../crypto/hash.ts';
import {
  EMPTY_FRONTIER,
  type Frontier,
  type InclusionProof,
  merkleLog,
  type PerfectNode,
} from '../crypto/merkle-log.ts';
import { fromHex, toHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, decoding, type ErrorCode, ErrorCodes, fail } from '../errors.ts';
import {
  checkFederationRoot,
  decodeFederationRoot,
  encodeFederationRoot,
  type FederationRoot,
} from './attest.ts';
import type { Committee } from './committee.ts';
import type { Outcome } from './settle.ts';

export const RECEIPT_VERSION = 1;

export interface FederatedReceipt {
  /** The turn's hash (hex); '' when the item's bytes were not a turn. */
  readonly turn: string;
  /** Its position in the settlement log: the leaf index. */
  readonly height: number;
  /** The id (hex) of the block that carries it, and the item's index in that block. */
  readonly block: string;
  readonly item: number;
  readonly outcome: Outcome['kind'];
  /** Refused: why, as a stable code. */
  readonly code?: ErrorCode;
  /** Refused as a double spend: the turn that spent the state first. */
  readonly spentBy?: string;
  /** Duplicate: the height of the first copy. */
  readonly first?: number;
}

export function receiptOf(o: Outcome): FederatedReceipt {
  const { turn, height, block, item } = o.place;
  const base = { turn, height, block, item, outcome: o.kind };
  if (o.kind === 'duplicate') return { ...base, first: o.first.height };
  if (o.kind === 'refused')
    return { ...base, code: o.code, ...(o.spentBy ? { spentBy: o.spentBy.turn } : {}) };
  return base;
}

function receiptToCbor(r: FederatedReceipt): CborMap {
  return {
    v: RECEIPT_VERSION,
    turn: r.turn === '' ? null : fromHex(r.turn),
    h: r.height,
    blk: fromHex(r.block),
    i: r.item,
    out: r.outcome,
    code: r.code ?? null,
    spent: r.spentBy === undefined ? null : fromHex(r.spentBy),
    first: r.first ?? null,
  };
}

export function federatedReceiptDigest(r: FederatedReceipt): Uint8Array {
  return hashFor('federationReceipt', encodeCbor(receiptToCbor(r)));
}

/** The settlement log's Merkle tree, under the federation's own contexts. */
export const receiptTree = merkleLog({
  leaf: 'federationLogLeaf',
  node: 'federationLogNode',
  root: 'federationLogRoot',
});

export interface ReceiptLog {
  /** Appends the outcomes of one `settle` call; their heights must continue the log. */
  append(outcomes: readonly Outcome[]): void;
  height(): number;
  /** The log root over the first `height` receipts (all of them by default): what a root signs. */
  root(height?: number): Uint8Array;
  receipt(height: number): FederatedReceipt;
  /** The height of the first receipt naming `turn` (hex): the one that took effect or was refused. */
  find(turn: string): number | undefined;
  /** The path of receipt `height` in the log of the first `count` receipts (a root's height). */
  prove(height: number, count?: number): InclusionProof;
}

const nodeKey = (n: PerfectNode): string => `${n.level}/${n.index}`;

/**
 * The log a member keeps beside its settlement. Appends keep the frontier and every perfect subtree
 * root (about two hashes per receipt), so a root at any height and any proof cost O(log² n) lookups,
 * not a rehash of the log: a relay signs a root after every wave and answers proofs on demand.
 */
export function createReceiptLog(): ReceiptLog {
  const receipts: FederatedReceipt[] = [];
  const nodes = new Map<string, Uint8Array>();
  const first = new Map<string, number>();
  let frontier: Frontier = EMPTY_FRONTIER;
  const keep = (n: PerfectNode, h: Uint8Array) => nodes.set(nodeKey(n), h);
  const node = (n: PerfectNode): Uint8Array => nodes.get(nodeKey(n))!;
  const within = (count: number) => {
    if (!Number.isSafeInteger(count) || count < 0 || count > receipts.length)
      fail('E_ARGUMENT', `The log holds ${receipts.length} receipts, not ${count}`);
    return count;
  };
  /** The frontier of the first `count` leaves: one perfect subtree per set bit, largest first. */
  const frontierAt = (count: number): Frontier => {
    const peaks: Uint8Array[] = [];
    let start = 0;
    for (let size = 2 ** Math.floor(Math.log2(Math.max(count, 1))); size >= 1; size /= 2) {
      if (count - start < size) continue;
      peaks.push(node({ level: Math.log2(size), index: start / size }));
      start += size;
    }
    return { count, peaks };
  };
  return {
    append(outcomes) {
      for (const o of outcomes) {
        if (o.place.height !== receipts.length)
          fail('E_ARGUMENT', `Outcome at height ${o.place.height} does not follow ${receipts.length}`);
        const r = receiptOf(o);
        receipts.push(r);
        if (r.turn !== '' && !first.has(r.turn)) first.set(r.turn, r.height);
        frontier = receiptTree.appendDigest(frontier, federatedReceiptDigest(r), keep);
      }
    },
    height: () => receipts.length,
    root(height = receipts.length) {
      return receiptTree.frontierRoot(height === frontier.count ? frontier : frontierAt(within(height)));
    },
    receipt(height) {
      const r = receipts[height];
      if (r === undefined) fail('E_NOT_FOUND', `No receipt at height ${height}`);
      return r;
    },
    find: (turn) => first.get(turn),
    prove(height, count = receipts.length) {
      if (height >= within(count)) fail('E_NOT_FOUND', `No receipt at height ${height} below ${count}`);
      return receiptTree.proofFromNodes(height, count, node);
    },
  };
}

export type ReceiptCheck =
  | { readonly ok: true; readonly signers: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/**
 * Whether `receipt` is settled in the federation as it says, under `root`, signed by more than 2/3
 * of `pinned`. Never throws. The caller still checks that the receipt is about the turn it cares
 * about (`receipt.turn`) and says what it needs (`receipt.outcome`).
 */
export function verifyFederatedReceipt(
  receipt: FederatedReceipt,
  proof: InclusionProof,
  root: FederationRoot,
  pinned: Committee,
): ReceiptCheck {
  const check = checkFederationRoot(root, pinned);
  if (!check.accepted) return { ok: false, reason: check.reason ?? 'the root is not accepted' };
  if (root.logRoot === undefined) return { ok: false, reason: 'the root commits to no settlement log' };
  if (proof.index !== receipt.height || proof.count !== root.height)
    return { ok: false, reason: 'the proof is not for this receipt under this root' };
  try {
    if (receiptTree.verifyInclusion(root.logRoot, federatedReceiptDigest(receipt), proof))
      return { ok: true, signers: check.signers };
  } catch {
    // A receipt whose fields do not encode (not hex, say) is one the log cannot hold.
  }
  return { ok: false, reason: 'the receipt is not in the log under this root' };
}

/** What a relay hands a light client: the receipt, its path, and the root the path leads to. */
export interface ReceiptBundle {
  readonly receipt: FederatedReceipt;
  readonly proof: InclusionProof;
  readonly root: FederationRoot;
}

const MAX_PATH = 64;
const HEX32 = 32;

export function encodeReceiptBundle(b: ReceiptBundle): Uint8Array {
  return encodeCbor({
    v: RECEIPT_VERSION,
    rcpt: receiptToCbor(b.receipt),
    path: [...b.proof.siblings],
    root: encodeFederationRoot(b.root),
  }).slice();
}

function bad(message: string): never {
  throw new DreggError('E_INVALID', `Invalid federated receipt: ${message}`);
}

function exact(v: CborMap, names: readonly string[]): void {
  if (Object.keys(v).length !== names.length || !names.every((k) => Object.hasOwn(v, k)))
    bad(`fields are {${names.join(', ')}}`);
}

function whole(x: CborValue | undefined, name: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) bad(`${name} must be a whole number`);
  return x;
}

function hash(x: CborValue | undefined, name: string): string {
  if (!(x instanceof Uint8Array) || x.length !== HEX32) bad(`${name} must be 32 bytes`);
  return toHex(x);
}

const OUTCOMES: readonly string[] = ['accepted', 'duplicate', 'refused'];

function receiptFromCbor(v: CborValue): FederatedReceipt {
  if (!isCborMap(v)) bad('not a map');
  exact(v, ['blk', 'code', 'first', 'h', 'i', 'out', 'spent', 'turn', 'v']);
  if (v.v !== RECEIPT_VERSION) bad('unknown version');
  if (typeof v.out !== 'string' || !OUTCOMES.includes(v.out)) bad(`out is one of ${OUTCOMES.join(', ')}`);
  const outcome = v.out as Outcome['kind'];
  const r: FederatedReceipt = {
    turn: v.turn === null ? '' : hash(v.turn, 'turn'),
    height: whole(v.h, 'h'),
    block: hash(v.blk, 'blk'),
    item: whole(v.i, 'i'),
    outcome,
  };
  const code = v.code;
  if (outcome === 'refused') {
    if (typeof code !== 'string' || !Object.hasOwn(ErrorCodes, code)) bad('a refusal names an error code');
    const spent = v.spent === null ? {} : { spentBy: hash(v.spent, 'spent') };
    if (v.first !== null) bad('only a duplicate names a first copy');
    return { ...r, code: code as ErrorCode, ...spent };
  }
  if (code !== null || v.spent !== null) bad('only a refusal names a code or a first spend');
  if (outcome === 'duplicate') return { ...r, first: whole(v.first, 'first') };
  if (v.first !== null) bad('only a duplicate names a first copy');
  return r;
}

function bundleFromCbor(v: CborValue): ReceiptBundle {
  if (!isCborMap(v)) bad('not a map');
  exact(v, ['path', 'rcpt', 'root', 'v']);
  if (v.v !== RECEIPT_VERSION) bad('unknown version');
  const receipt = receiptFromCbor(v.rcpt!);
  if (!(v.root instanceof Uint8Array)) bad('root must be an encoded federation root');
  const root = decodeFederationRoot(v.root);
  const path = v.path;
  if (
    !Array.isArray(path) ||
    path.length > MAX_PATH ||
    !path.every((p): p is Uint8Array => p instanceof Uint8Array && p.length === HEX32)
  )
    bad('path is a list of 32-byte hashes');
  if (receipt.height >= root.height) bad('the receipt is beyond the root');
  return { receipt, proof: { index: receipt.height, count: root.height, siblings: path }, root };
}

/** Decodes a bundle from outside; fails only with `E_DECODE` or `E_INVALID`. Checks no signature. */
export function decodeReceiptBundle(bytes: Uint8Array): ReceiptBundle {
  return decoding('federated receipt', () => bundleFromCbor(decodeCbor(bytes, 'federated receipt')));
}

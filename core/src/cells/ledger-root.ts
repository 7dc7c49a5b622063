/**
 * The ledger root: a binary Merkle tree over every cell, leaves in ascending cell-id order. Leaves and
 * inner nodes hash under different registered contexts, so a leaf can never pass for a node or the
 * reverse (PITFALLS 13). A lone node at the end of a level is carried up unchanged; the leaf count is
 * bound into the root so trees of different sizes never share one.
 *
 *   leaf  = H_ledgerLeaf(id (32 bytes) || state commitment)
 *   node  = H_ledgerNode(left || right)
 *   root  = H_ledgerNode(count as 8 bytes big-endian || top)        (count 0: top = 32 zero bytes)
 */
import { hashFor } from '../crypto/hash.ts';
import { bytesEqual, concatBytes, fromHex } from '../encoding/bytes.ts';
import { DreggError } from '../errors.ts';

export interface LedgerLeaf {
  readonly id: string;
  readonly commitment: Uint8Array;
}

/** A path from one leaf to the root: sibling digests from the bottom, and which side each is on. */
export interface InclusionProof {
  readonly index: number;
  readonly count: number;
  readonly siblings: readonly { readonly hash: Uint8Array; readonly left: boolean }[];
}

// A relay recomputes the root after every batch, and most cells have not changed since the last one:
// their commitment is the same (cached, immutable) array, so their leaf is too.
const leaves = new WeakMap<Uint8Array, { readonly id: string; readonly hash: Uint8Array }>();

function leafHash(l: LedgerLeaf): Uint8Array {
  const cached = leaves.get(l.commitment);
  if (cached !== undefined && cached.id === l.id) return cached.hash;
  const hash = hashFor('ledgerLeaf', concatBytes(fromHex(l.id), l.commitment));
  leaves.set(l.commitment, { id: l.id, hash });
  return hash;
}

function node(left: Uint8Array, right: Uint8Array): Uint8Array {
  return hashFor('ledgerNode', concatBytes(left, right));
}

function seal(count: number, top: Uint8Array): Uint8Array {
  const n = new Uint8Array(8);
  new DataView(n.buffer).setBigUint64(0, BigInt(count));
  return node(n, top);
}

function sorted(leaves: Iterable<LedgerLeaf>): LedgerLeaf[] {
  const out = [...leaves].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.id === out[i - 1]!.id) throw new DreggError('E_INVALID', `Cell ${out[i]!.id} appears twice`);
  }
  return out;
}

function levels(leaves: LedgerLeaf[]): Uint8Array[][] {
  const out: Uint8Array[][] = [leaves.map(leafHash)];
  while (out[out.length - 1]!.length > 1) {
    const prev = out[out.length - 1]!;
    const next: Uint8Array[] = [];
    for (let i = 0; i < prev.length; i += 2)
      next.push(i + 1 < prev.length ? node(prev[i]!, prev[i + 1]!) : prev[i]!);
    out.push(next);
  }
  return out;
}

export function ledgerRoot(leaves: Iterable<LedgerLeaf>): Uint8Array {
  const s = sorted(leaves);
  if (s.length === 0) return seal(0, new Uint8Array(32));
  const lv = levels(s);
  return seal(s.length, lv[lv.length - 1]![0]!);
}

/** The inclusion proof of cell `id` in the tree over `leaves`; `E_NOT_FOUND` if it is not there. */
export function inclusionProof(leaves: Iterable<LedgerLeaf>, id: string): InclusionProof {
  const s = sorted(leaves);
  let index = s.findIndex((l) => l.id === id);
  if (index < 0) throw new DreggError('E_NOT_FOUND', `Cell ${id} is not in the ledger`);
  const at = index;
  const siblings: { hash: Uint8Array; left: boolean }[] = [];
  for (const level of levels(s).slice(0, -1)) {
    const sib = index ^ 1;
    if (sib < level.length) siblings.push({ hash: level[sib]!, left: sib < index });
    index >>= 1;
  }
  return { index: at, count: s.length, siblings };
}

/** `true` iff `leaf` is at `proof.index` of a tree of `proof.count` leaves whose root is `root`. */
export function verifyInclusion(root: Uint8Array, leaf: LedgerLeaf, proof: InclusionProof): boolean {
  let h = leafHash(leaf);
  let index = proof.index;
  let width = proof.count;
  let k = 0;
  if (!(index >= 0 && index < width)) return false;
  while (width > 1) {
    const sib = index ^ 1;
    if (sib < width) {
      const s = proof.siblings[k++];
      if (s === undefined || s.left !== sib < index) return false;
      h = s.left ? node(s.hash, h) : node(h, s.hash);
    }
    index >>= 1;
    width = (width + 1) >> 1;
  }
  return k === proof.siblings.length && bytesEqual(seal(proof.count, h), root);
}

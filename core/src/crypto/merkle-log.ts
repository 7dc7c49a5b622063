/**
 * An append-only Merkle log: the tree shape of RFC 9162 §2.1.1 (Certificate Transparency), so its
 * proofs are the well-studied ones of that RFC. Each user (the inbox's MerkleQueue, the notary's turn
 * log) instantiates it with three registered contexts of its own for leaves, inner nodes and the
 * root, so no hash of one can pass for another (PITFALLS 13), nor for a hash of another log; the root
 * binds the leaf count, so logs of different lengths never share a root.
 *
 *   leaf(seq, digest) = H_leaf(seq as 8 bytes big-endian || digest)
 *   node(l, r)        = H_node(l || r)
 *   MTH(D[0:n])       = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n   (n > 1)
 *   MTH(D[i:i+1])     = leaf(i, D[i])
 *   root(n)           = H_root(n as 8 bytes big-endian || MTH(D[0:n]))            (n = 0: 32 zero bytes)
 *
 * A writer keeps only the frontier: the roots of the perfect subtrees that the binary digits of n
 * cut the log into, largest first ("peaks", as in a Merkle mountain range). An append merges
 * equal-sized peaks, O(log n) hashes at worst; the root folds the peaks from the right, which is
 * exactly MTH above. So a writer never rehashes old leaves, and can forget their payloads.
 *
 * Two facts make the frontier double as a proof. The peaks before an append, smallest first, are the
 * RFC 9162 inclusion path of the appended leaf (`appendProof`). And a frontier whose root matches a
 * root one already trusts, extended by a list of digests, reaches a claimed root only if the list is
 * exactly the leaves that followed, in order (`extendsTo`).
 *
 * A writer that must prove old leaves without keeping them all in memory stores the perfect subtree
 * roots as an append creates them (`appendDigest`'s `onNode`): every RFC 9162 path sibling is one such
 * node or a fold of a few of them at the right edge, so a proof costs O(log^2 n) lookups at worst
 * (`proofNodes`, then `proofFromNodes`).
 */
import { bytesEqual, concatBytes } from '../encoding/bytes.ts';
import { fail } from '../errors.ts';
import type { Context } from './contexts.ts';
import { hashFor } from './hash.ts';

/** Bytes of a leaf digest and of every hash in the tree. */
export const DIGEST_BYTES = 32;
/** No log reaches 2^53 leaves; a proof longer than this is refused before any hashing. */
const MAX_PATH = 64;

/** The roots of the perfect subtrees of a log of `count` leaves, largest (leftmost) first. */
export interface Frontier {
  readonly count: number;
  readonly peaks: readonly Uint8Array[];
}

/** An RFC 9162 inclusion path: sibling hashes from the leaf upward. */
export interface InclusionProof {
  readonly index: number;
  readonly count: number;
  readonly siblings: readonly Uint8Array[];
}

/** A perfect subtree: leaves [index * 2^level, (index + 1) * 2^level). Level 0 is one leaf. */
export interface PerfectNode {
  readonly level: number;
  readonly index: number;
}

export const EMPTY_FRONTIER: Frontier = Object.freeze({ count: 0, peaks: Object.freeze([]) });

export interface MerkleLogContexts {
  readonly leaf: Context;
  readonly node: Context;
  readonly root: Context;
}

export interface MerkleLog {
  leafHash(seq: number, digest: Uint8Array): Uint8Array;
  nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array;
  /** The frontier after appending the leaf with `digest` (its sequence number is `f.count`). */
  appendDigest(
    f: Frontier,
    digest: Uint8Array,
    onNode?: (node: PerfectNode, hash: Uint8Array) => void,
  ): Frontier;
  appendDigests(f: Frontier, digests: Iterable<Uint8Array>): Frontier;
  frontierRoot(f: Frontier): Uint8Array;
  merkleRoot(digests: Iterable<Uint8Array>): Uint8Array;
  extendsTo(
    base: Frontier,
    digests: readonly Uint8Array[],
    expected: { readonly count: number; readonly root: Uint8Array },
  ): boolean;
  inclusionProof(digests: readonly Uint8Array[], index: number, count?: number): InclusionProof;
  appendProof(before: Frontier): InclusionProof;
  verifyInclusion(root: Uint8Array, digest: Uint8Array, proof: InclusionProof): boolean;
  /** The perfect subtree roots `proofFromNodes` needs for the path of `index` in a log of `count`. */
  proofNodes(index: number, count: number): PerfectNode[];
  /** The inclusion proof of `index` in a log of `count`, from stored perfect subtree roots. */
  proofFromNodes(index: number, count: number, node: (n: PerfectNode) => Uint8Array): InclusionProof;
}

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function checkDigest(digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array) || digest.length !== DIGEST_BYTES)
    fail('E_ARGUMENT', 'A leaf digest is 32 bytes');
}

/** Numbers of set bits, with arithmetic rather than bit operators (counts may pass 2^31). */
function popcount(n: number): number {
  let bits = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) bits += x % 2;
  return bits;
}

/** Whether a value has the shape of a frontier: a safe count and one 32-byte peak per set bit of it. */
export function isFrontier(f: Frontier): boolean {
  return (
    typeof f === 'object' &&
    f !== null &&
    Number.isSafeInteger(f.count) &&
    f.count >= 0 &&
    Array.isArray(f.peaks) &&
    f.peaks.length === popcount(f.count) &&
    f.peaks.every((p) => p instanceof Uint8Array && p.length === DIGEST_BYTES)
  );
}

/** The largest power of two strictly below n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** log2 of n when n is a power of two, else -1. */
function exactLog2(n: number): number {
  let level = 0;
  let x = n;
  while (x > 1 && x % 2 === 0) {
    x /= 2;
    level++;
  }
  return x === 1 ? level : -1;
}

/**
 * RFC 9162 §2.1.3.1 PATH(index, D[0:count]), over any representation of subtree hashes: `perfect`
 * gives the root of an aligned perfect subtree (every left child in this tree is one, and so is every
 * range the recursion reaches whose size is a power of two), `join` combines two subtrees.
 */
function pathOver<T>(
  index: number,
  count: number,
  perfect: (n: PerfectNode) => T,
  join: (left: T, right: T) => T,
): T[] {
  const mth = (lo: number, hi: number): T => {
    const level = exactLog2(hi - lo);
    if (level >= 0) return perfect({ level, index: lo / (hi - lo) });
    const k = splitPoint(hi - lo);
    return join(mth(lo, lo + k), mth(lo + k, hi));
  };
  const siblings: T[] = [];
  const path = (m: number, lo: number, hi: number): void => {
    if (hi - lo === 1) return;
    const k = splitPoint(hi - lo);
    if (m < k) {
      path(m, lo, lo + k);
      siblings.push(mth(lo + k, hi));
    } else {
      path(m - k, lo + k, hi);
      siblings.push(mth(lo, lo + k));
    }
  };
  path(index, 0, count);
  return siblings;
}

function checkPosition(index: number, count: number): void {
  if (!Number.isSafeInteger(count) || count < 1) fail('E_ARGUMENT', 'count must be a positive integer');
  if (!Number.isSafeInteger(index) || index < 0 || index >= count)
    fail('E_ARGUMENT', 'index must be below count');
}

export function merkleLog(contexts: MerkleLogContexts): MerkleLog {
  const leafHash = (seq: number, digest: Uint8Array): Uint8Array => {
    checkDigest(digest);
    return hashFor(contexts.leaf, concatBytes(u64(seq), digest));
  };
  const nodeHash = (left: Uint8Array, right: Uint8Array): Uint8Array =>
    hashFor(contexts.node, concatBytes(left, right));
  const rootOf = (count: number, top: Uint8Array): Uint8Array =>
    hashFor(contexts.root, concatBytes(u64(count), top));

  const appendDigest: MerkleLog['appendDigest'] = (f, digest, onNode) => {
    const leaf = leafHash(f.count, digest);
    onNode?.({ level: 0, index: f.count }, leaf);
    const peaks = [...f.peaks, leaf];
    // Each trailing 1 bit of the old count is a peak of the new leaf's size: merge them pairwise.
    let level = 0;
    for (let c = f.count; c % 2 === 1; c = (c - 1) / 2) {
      const right = peaks.pop()!;
      const left = peaks.pop()!;
      const merged = nodeHash(left, right);
      peaks.push(merged);
      onNode?.({ level: ++level, index: (c - 1) / 2 }, merged);
    }
    return { count: f.count + 1, peaks };
  };

  const appendDigests = (f: Frontier, digests: Iterable<Uint8Array>): Frontier => {
    let out = f;
    for (const d of digests) out = appendDigest(out, d);
    return out;
  };

  const frontierRoot = (f: Frontier): Uint8Array => {
    const { peaks } = f;
    if (peaks.length === 0) return rootOf(0, new Uint8Array(DIGEST_BYTES));
    let top = peaks[peaks.length - 1]!;
    for (let i = peaks.length - 2; i >= 0; i--) top = nodeHash(peaks[i]!, top);
    return rootOf(f.count, top);
  };

  return {
    leafHash,
    nodeHash,
    appendDigest,
    appendDigests,
    frontierRoot,
    merkleRoot: (digests) => frontierRoot(appendDigests(EMPTY_FRONTIER, digests)),

    extendsTo(base, digests, expected) {
      if (!isFrontier(base) || base.count + digests.length !== expected.count) return false;
      if (!digests.every((d) => d instanceof Uint8Array && d.length === DIGEST_BYTES)) return false;
      return bytesEqual(frontierRoot(appendDigests(base, digests)), expected.root);
    },

    // Linear in `count` (it hashes the whole tree once); for whoever holds all the digests.
    inclusionProof(digests, index, count = digests.length) {
      if (!Number.isSafeInteger(count) || count < 1 || count > digests.length)
        fail('E_ARGUMENT', 'count must be between 1 and the number of digests');
      checkPosition(index, count);
      const leaves = digests.slice(0, count).map((d, i) => leafHash(i, d));
      const perfect = (n: PerfectNode): Uint8Array => {
        const size = 2 ** n.level;
        let level = leaves.slice(n.index * size, (n.index + 1) * size);
        while (level.length > 1)
          level = Array.from({ length: level.length / 2 }, (_, i) =>
            nodeHash(level[2 * i]!, level[2 * i + 1]!),
          );
        return level[0]!;
      };
      return { index, count, siblings: pathOver(index, count, perfect, nodeHash) };
    },

    appendProof: (before) => ({
      index: before.count,
      count: before.count + 1,
      siblings: [...before.peaks].reverse(),
    }),

    // RFC 9162 §2.1.3.2, with our leaf, node and root hashes. Never throws.
    verifyInclusion(root, digest, proof) {
      if (!(root instanceof Uint8Array) || !(digest instanceof Uint8Array) || digest.length !== DIGEST_BYTES)
        return false;
      if (typeof proof !== 'object' || proof === null || !Array.isArray(proof.siblings)) return false;
      const { index, count, siblings } = proof;
      if (!Number.isSafeInteger(index) || !Number.isSafeInteger(count) || index < 0 || index >= count)
        return false;
      if (siblings.length > MAX_PATH) return false;
      let fn = index;
      let sn = count - 1;
      let r = leafHash(index, digest);
      for (const p of siblings) {
        if (sn === 0 || !(p instanceof Uint8Array) || p.length !== DIGEST_BYTES) return false;
        if (fn % 2 === 1 || fn === sn) {
          r = nodeHash(p, r);
          // A right edge with no sibling at these levels: climb until this node is a right child again.
          while (fn % 2 === 0 && fn !== 0) {
            fn /= 2;
            sn = Math.floor(sn / 2);
          }
        } else {
          r = nodeHash(r, p);
        }
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
      return sn === 0 && bytesEqual(rootOf(count, r), root);
    },

    proofNodes(index, count) {
      checkPosition(index, count);
      return pathOver<PerfectNode[]>(
        index,
        count,
        (n) => [n],
        (l, r) => [...l, ...r],
      ).flat();
    },

    proofFromNodes(index, count, node) {
      checkPosition(index, count);
      return { index, count, siblings: pathOver(index, count, node, nodeHash) };
    },
  };
}

/**
 * The MerkleQueue: an append-only Merkle accumulator over one inbox's messages, in arrival order.
 * The tree has the shape of RFC 9162 §2.1.1 (Certificate Transparency), so its proofs are the
 * well-studied ones of that RFC; leaves, inner nodes and the root hash under three registered
 * contexts, so none can pass for another (PITFALLS 13), and the root binds the message count, so
 * queues of different lengths never share a root.
 *
 *   leaf(seq, digest) = H_inboxLeaf(seq as 8 bytes big-endian || message digest)
 *   node(l, r)        = H_inboxNode(l || r)
 *   MTH(D[0:n])       = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two below n   (n > 1)
 *   MTH(D[i:i+1])     = leaf(i, D[i])
 *   root(n)           = H_inboxRoot(n as 8 bytes big-endian || MTH(D[0:n]))       (n = 0: 32 zero bytes)
 *
 * A writer keeps only the frontier: the roots of the perfect subtrees that the binary digits of n
 * cut the queue into, largest first ("peaks", as in a Merkle mountain range). An append merges
 * equal-sized peaks, O(log n) hashes at worst; the root folds the peaks from the right, which is
 * exactly MTH above. So a relay never rehashes old messages, and can forget their payloads.
 *
 * Two facts make the frontier double as a proof. The peaks before an append, smallest first, are the
 * RFC 9162 inclusion path of the appended leaf (`appendProof`). And a frontier whose root matches a
 * root one already trusts, extended by a list of digests, reaches a claimed root only if the list is
 * exactly the messages that followed, in order (`extendsTo`): the recipient's "nothing dropped,
 * nothing reordered" check.
 */
import { hashFor } from '../crypto/hash.ts';
import { bytesEqual, concatBytes } from '../encoding/bytes.ts';
import { fail } from '../errors.ts';

/** Bytes of a message digest and of every hash in the tree. */
export const DIGEST_BYTES = 32;
/** No queue reaches 2^53 messages; a proof longer than this is refused before any hashing. */
const MAX_PATH = 64;

/** The roots of the perfect subtrees of a queue of `count` leaves, largest (leftmost) first. */
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

export const EMPTY_FRONTIER: Frontier = Object.freeze({ count: 0, peaks: Object.freeze([]) });

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function checkDigest(digest: Uint8Array): void {
  if (!(digest instanceof Uint8Array) || digest.length !== DIGEST_BYTES)
    fail('E_ARGUMENT', 'A message digest is 32 bytes');
}

export function leafHash(seq: number, digest: Uint8Array): Uint8Array {
  checkDigest(digest);
  return hashFor('inboxLeaf', concatBytes(u64(seq), digest));
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return hashFor('inboxNode', concatBytes(left, right));
}

function rootOf(count: number, top: Uint8Array): Uint8Array {
  return hashFor('inboxRoot', concatBytes(u64(count), top));
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

/** The frontier after appending the message with `digest` (its sequence number is `f.count`). */
export function appendDigest(f: Frontier, digest: Uint8Array): Frontier {
  const peaks = [...f.peaks, leafHash(f.count, digest)];
  // Each trailing 1 bit of the old count is a peak of the new leaf's size: merge them pairwise.
  for (let c = f.count; c % 2 === 1; c = (c - 1) / 2) {
    const right = peaks.pop()!;
    const left = peaks.pop()!;
    peaks.push(nodeHash(left, right));
  }
  return { count: f.count + 1, peaks };
}

/** The frontier after appending every digest in order. */
export function appendDigests(f: Frontier, digests: Iterable<Uint8Array>): Frontier {
  let out = f;
  for (const d of digests) out = appendDigest(out, d);
  return out;
}

/** The root of the queue the frontier summarizes. */
export function frontierRoot(f: Frontier): Uint8Array {
  const { peaks } = f;
  if (peaks.length === 0) return rootOf(0, new Uint8Array(DIGEST_BYTES));
  let top = peaks[peaks.length - 1]!;
  for (let i = peaks.length - 2; i >= 0; i--) top = nodeHash(peaks[i]!, top);
  return rootOf(f.count, top);
}

/** The root over a whole list of message digests (sequence numbers 0, 1, ...). */
export function merkleRoot(digests: Iterable<Uint8Array>): Uint8Array {
  return frontierRoot(appendDigests(EMPTY_FRONTIER, digests));
}

/**
 * The recipient's check: do `digests`, appended in order to a frontier it trusts, give exactly the
 * queue of `expected.count` messages with root `expected.root`? False whenever a message was left out,
 * added, altered or moved, since any of those changes the leaves (each leaf binds its position).
 */
export function extendsTo(
  base: Frontier,
  digests: readonly Uint8Array[],
  expected: { readonly count: number; readonly root: Uint8Array },
): boolean {
  if (!isFrontier(base) || base.count + digests.length !== expected.count) return false;
  if (!digests.every((d) => d instanceof Uint8Array && d.length === DIGEST_BYTES)) return false;
  return bytesEqual(frontierRoot(appendDigests(base, digests)), expected.root);
}

/** The largest power of two strictly below n (n > 1). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The inclusion proof of message `index` in the queue of the first `count` of `digests`: RFC 9162
 * §2.1.3.1 PATH(m, D[n]). Linear in `count` (it hashes the whole tree once); meant for whoever holds
 * the digests, such as a recipient proving to a third party what it received. A depositor needs no
 * call: the relay hands it `appendProof` of the frontier before its message.
 */
export function inclusionProof(
  digests: readonly Uint8Array[],
  index: number,
  count = digests.length,
): InclusionProof {
  if (!Number.isSafeInteger(count) || count < 1 || count > digests.length)
    fail('E_ARGUMENT', 'count must be between 1 and the number of digests');
  if (!Number.isSafeInteger(index) || index < 0 || index >= count)
    fail('E_ARGUMENT', 'index must be below count');
  const leaves = digests.slice(0, count).map((d, i) => leafHash(i, d));
  const mth = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return leaves[lo]!;
    const k = splitPoint(hi - lo);
    return nodeHash(mth(lo, lo + k), mth(lo + k, hi));
  };
  const siblings: Uint8Array[] = [];
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
  return { index, count, siblings };
}

/**
 * The inclusion proof of the message appended to `before`, under the root after the append: the
 * peaks of `before`, smallest first. Costs nothing, so a relay returns it with every deposit.
 */
export function appendProof(before: Frontier): InclusionProof {
  return { index: before.count, count: before.count + 1, siblings: [...before.peaks].reverse() };
}

/**
 * `true` iff the message with `digest` is number `proof.index` of a queue of `proof.count` messages
 * whose root is `root`: RFC 9162 §2.1.3.2, with our leaf, node and root hashes. Never throws.
 */
export function verifyInclusion(root: Uint8Array, digest: Uint8Array, proof: InclusionProof): boolean {
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
}

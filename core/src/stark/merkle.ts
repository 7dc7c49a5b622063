/**
 * BLAKE3 Merkle trees with caps and deduplicated batch openings.
 *
 * A leaf digest is BLAKE3 keyed by the leaf key over the leaf's words; a node is BLAKE3 keyed by the
 * node key over the two 32-byte children, which is exactly one compression. Leaves and nodes are
 * separated by the key (BLAKE3 keyed mode), not by prefixes. The tree stops at a cap of 2^capHeight
 * digests (or all leaves if fewer), which the proof carries whole: paths get capHeight levels shorter.
 */
import { hashFor } from '../crypto/hash.ts';
import { keyedHashWords, keyWords } from './blake3.ts';
import type { StarkKernels } from './kernels.ts';

export const LEAF_KEY = keyWords(hashFor('starkMerkleLeaf', new Uint8Array(0)));
export const NODE_KEY = keyWords(hashFor('starkMerkleNode', new Uint8Array(0)));

export interface MerkleTree {
  /** layers[0] are the leaf digests; the last layer is the cap. 8 words per digest. */
  readonly layers: readonly Uint32Array[];
  readonly cap: Uint32Array;
}

export function capLog(logLeaves: number, capHeight: number): number {
  return Math.min(capHeight, logLeaves);
}

export async function buildTree(
  leafDigests: Uint32Array,
  capHeight: number,
  kernels: StarkKernels,
): Promise<MerkleTree> {
  const logLeaves = Math.log2(leafDigests.length / 8);
  const stop = capLog(logLeaves, capHeight);
  const layers = [leafDigests, ...(await kernels.merkleLayers(leafDigests, logLeaves - stop, NODE_KEY))];
  return { layers, cap: layers[layers.length - 1]! };
}

/**
 * Siblings needed to recompute the cap from the leaves at `indices` (sorted, unique), in the order
 * the verifier consumes them: level by level, left to right, skipping nodes it can compute itself.
 */
export function openBatch(tree: MerkleTree, indices: readonly number[]): Uint32Array {
  const siblings: number[] = [];
  let known = indices.slice();
  for (let level = 0; level < tree.layers.length - 1; level++) {
    const layer = tree.layers[level]!;
    const parents: number[] = [];
    for (let i = 0; i < known.length; i++) {
      const idx = known[i]!;
      if ((idx & 1) === 0 && known[i + 1] === idx + 1) {
        i++;
      } else {
        const sib = idx ^ 1;
        for (let w = 0; w < 8; w++) siblings.push(layer[8 * sib + w]!);
      }
      parents.push(idx >>> 1);
    }
    known = parents;
  }
  return Uint32Array.from(siblings);
}

/**
 * Recomputes the cap entries above `leafDigests` (8 words each, for the sorted unique `indices`)
 * using `siblings`, and checks them against `cap`. Every sibling must be used exactly once.
 */
export function verifyBatch(
  cap: Uint32Array,
  logLeaves: number,
  capHeight: number,
  indices: readonly number[],
  leafDigests: Uint32Array,
  siblings: Uint32Array,
): boolean {
  const levels = logLeaves - capLog(logLeaves, capHeight);
  let known = indices.slice();
  let digests = leafDigests;
  let s = 0;
  const pair = new Uint32Array(16);
  for (let level = 0; level < levels; level++) {
    const parents: number[] = [];
    const next = new Uint32Array(8 * Math.ceil(known.length));
    let n = 0;
    for (let i = 0; i < known.length; i++) {
      const idx = known[i]!;
      const own = digests.subarray(8 * i, 8 * i + 8);
      if ((idx & 1) === 0 && known[i + 1] === idx + 1) {
        pair.set(own, 0);
        pair.set(digests.subarray(8 * (i + 1), 8 * (i + 2)), 8);
        i++;
      } else {
        if (s + 8 > siblings.length) return false;
        const sib = siblings.subarray(s, s + 8);
        s += 8;
        if ((idx & 1) === 0) {
          pair.set(own, 0);
          pair.set(sib, 8);
        } else {
          pair.set(sib, 0);
          pair.set(own, 8);
        }
      }
      keyedHashWords(NODE_KEY, pair, 0, 16, next, 8 * n);
      n++;
      parents.push(idx >>> 1);
    }
    known = parents;
    digests = next.subarray(0, 8 * n);
  }
  if (s !== siblings.length) return false;
  for (let i = 0; i < known.length; i++) {
    const idx = known[i]!;
    for (let w = 0; w < 8; w++) if (digests[8 * i + w] !== cap[8 * idx + w]) return false;
  }
  return true;
}

/** Leaf digest of one row of words, as the verifier recomputes it. */
export function hashLeaf(words: Uint32Array): Uint32Array {
  const out = new Uint32Array(8);
  keyedHashWords(LEAF_KEY, words, 0, words.length, out, 0);
  return out;
}

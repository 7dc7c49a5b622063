/**
 * The MerkleQueue: an append-only Merkle accumulator over one inbox's messages, in arrival order.
 * It is the generic Merkle log of core/src/crypto/merkle-log.ts (RFC 9162 shape, frontier of peaks,
 * inclusion proofs) under the inbox's own contexts:
 *
 *   leaf(seq, digest) = H_inboxLeaf(seq as 8 bytes big-endian || message digest)
 *   node(l, r)        = H_inboxNode(l || r)
 *   root(n)           = H_inboxRoot(n as 8 bytes big-endian || MTH(D[0:n]))       (n = 0: 32 zero bytes)
 *
 * The relay hands every depositor `appendProof` of the frontier before its message; a recipient
 * checks with `extendsTo` that what it drained is exactly the messages that followed the root it
 * trusts: nothing dropped, nothing reordered.
 */
import { merkleLog } from '../crypto/merkle-log.ts';

export {
  DIGEST_BYTES,
  EMPTY_FRONTIER,
  type Frontier,
  type InclusionProof,
  isFrontier,
} from '../crypto/merkle-log.ts';

const queue = merkleLog({ leaf: 'inboxLeaf', node: 'inboxNode', root: 'inboxRoot' });

export const {
  leafHash,
  appendDigest,
  appendDigests,
  frontierRoot,
  merkleRoot,
  extendsTo,
  inclusionProof,
  appendProof,
  verifyInclusion,
} = queue;

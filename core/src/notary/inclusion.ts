/**
 * A receipt's inclusion in the log: the event that records it, its RFC 9162 path, and the attested
 * root the path leads to. The light client's check (`verifyReceiptInclusion`) chains three links:
 * the receipt hashes to what the event names, the event is leaf `seq` of the log under the root's
 * `logRoot`, and the root's signature is the relay's (checked apart, with `verifyAttestedRoot`,
 * against a relay key the client pinned). The receipt's own signature then needs no check: the
 * event binds its hash, signature included.
 *
 * Wire form (deterministic CBOR map): {v, ev, path, root}. The proof's index and count are not sent:
 * they are the event's seq and the root's height, so they cannot disagree with them.
 */
import type { InclusionProof } from '../crypto/merkle-log.ts';
import { bytesEqual, toHex } from '../encoding/bytes.ts';
import { type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, decoding } from '../errors.ts';
import { type Receipt, receiptHash } from '../turns/receipt.ts';
import {
  checkFields,
  LOG_VERSION,
  type LogEvent,
  logEventDigest,
  logEventFromCbor,
  logEventToCbor,
  logTree,
} from './log.ts';
import { type AttestedRoot, attestedRootFromCbor, attestedRootToCbor } from './root.ts';

export interface Inclusion {
  readonly event: LogEvent;
  /** Path of leaf `event.seq` in the log of `root.height` events. */
  readonly proof: InclusionProof;
  readonly root: AttestedRoot;
}

/** Longer than any path in a log of fewer than 2^64 events: refused before any hashing. */
const MAX_PATH = 64;

export function encodeInclusion(i: Inclusion): Uint8Array {
  return encodeCbor({
    v: LOG_VERSION,
    ev: logEventToCbor(i.event),
    path: [...i.proof.siblings],
    root: attestedRootToCbor(i.root),
  }).slice();
}

function inclusionFromCbor(v: CborValue): Inclusion {
  if (!isCborMap(v)) throw new DreggError('E_INVALID', 'Invalid inclusion: not a map');
  checkFields(v, ['ev', 'path', 'root', 'v'], 'inclusion');
  if (v.v !== LOG_VERSION) throw new DreggError('E_INVALID', 'Invalid inclusion: unknown version');
  const event = logEventFromCbor(v.ev!);
  const root = attestedRootFromCbor(v.root!);
  const path = v.path;
  if (
    !Array.isArray(path) ||
    path.length > MAX_PATH ||
    !path.every((p): p is Uint8Array => p instanceof Uint8Array && p.length === 32)
  )
    throw new DreggError('E_INVALID', 'Invalid inclusion: path is a list of 32-byte hashes');
  if (event.seq >= root.height)
    throw new DreggError('E_INVALID', 'Invalid inclusion: the event is beyond the root');
  return { event, proof: { index: event.seq, count: root.height, siblings: path }, root };
}

/** Decodes an inclusion from outside; fails only with `E_DECODE` or `E_INVALID`. */
export function decodeInclusion(bytes: Uint8Array): Inclusion {
  return decoding('inclusion', () => inclusionFromCbor(decodeCbor(bytes, 'inclusion')));
}

/**
 * Whether `receipt` is recorded in the log under `inclusion.root`: the event is a turn (or proved turn) event naming
 * this receipt (by hash), its turn, agent and cell, the receipt was signed by the root's relay, and
 * the path leads from the event's leaf to the root's log root. Never throws. Check the root's
 * signature with `verifyAttestedRoot` first.
 */
export function verifyReceiptInclusion(receipt: Receipt, inclusion: Inclusion): boolean {
  try {
    const { event, proof, root } = inclusion;
    return (
      (event.kind === 'turn' || event.kind === 'proved') &&
      event.receipt !== null &&
      bytesEqual(event.receipt, receiptHash(receipt)) &&
      toHex(event.key) === receipt.turn &&
      event.agent === receipt.agent &&
      event.cell === receipt.cell &&
      receipt.executor === root.relay &&
      proof.index === event.seq &&
      proof.count === root.height &&
      logTree.verifyInclusion(root.logRoot, logEventDigest(event), proof)
    );
  } catch {
    return false;
  }
}

/**
 * The clients' side of an inbox. A sender checks its deposit receipt: a relay-signed root with its
 * message at the place the receipt names. A recipient signs a drain challenge, checks what the relay
 * returned, and signs the acknowledgement. The recipient keeps one thing between drains: the height
 * and root it last acknowledged (40 bytes). `verifyDrain` accepts a response only if it continues
 * that history exactly, so a relay that drops, adds, alters, reorders or rolls back messages is
 * caught; the one thing it can still do is refuse to answer.
 */

import type { Ed25519 } from '../crypto/ed25519.ts';
import { bytesEqual } from '../encoding/bytes.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import {
  appendDigest,
  EMPTY_FRONTIER,
  type Frontier,
  frontierRoot,
  isFrontier,
  verifyInclusion,
} from './merkle-queue.ts';
import {
  type AckRequest,
  ackDigest,
  challengeDigest,
  ciphertextHash,
  type DepositReceipt,
  type DepositRequest,
  type DrainChallenge,
  type DrainRequest,
  type DrainResponse,
  headDigest,
  type InboxHead,
  type InboxMessage,
  messageDigest,
  receiptHead,
} from './wire.ts';

/** A point of an inbox's history: its height and the root at that height. */
export interface InboxPoint {
  readonly height: number;
  readonly root: Uint8Array;
}

/** The empty inbox, where every recipient's history starts. */
export const INBOX_ORIGIN: InboxPoint = Object.freeze({
  height: 0,
  root: frontierRoot(EMPTY_FRONTIER),
});

/** How far ahead of the recipient's clock a relay's head may be dated (seconds). */
const MAX_CLOCK_SKEW = 300;

export async function signDrainRequest(
  challenge: DrainChallenge,
  seed: Uint8Array,
  ed: Ed25519,
  limit?: number,
): Promise<DrainRequest> {
  return {
    recipient: challenge.recipient,
    nonce: challenge.nonce,
    signature: await ed.sign(seed, challengeDigest(challenge)),
    ...(limit === undefined ? {} : { limit }),
  };
}

/** The acknowledgement of `point` (a head that `verifyDrain` returned), for the relay `relay`. */
export async function signAck(
  relay: string,
  recipient: string,
  point: InboxPoint,
  seed: Uint8Array,
  ed: Ed25519,
): Promise<AckRequest> {
  const body = { recipient, height: point.height, root: point.root };
  return { ...body, signature: await ed.sign(seed, ackDigest(relay, body)) };
}

/** Whether `head` is signed by the relay it names. */
export async function verifyInboxHead(head: InboxHead, ed: Ed25519): Promise<boolean> {
  return ed.verify(ed25519FromDidKey(head.relay), headDigest(head), head.signature);
}

/**
 * The sender's check of a deposit receipt: the relay `relay` signed the root of `request.recipient`'s
 * inbox at height `seq + 1`, and the message this request describes is number `seq` under it (its
 * size, deposit, refund claim and ciphertext, with the times the receipt states). Keep the receipt:
 * a relay that later shows the recipient a history without this message has signed two histories.
 * `E_BAD_SIGNATURE` or `E_INVALID`.
 */
export async function verifyDepositReceipt(
  receipt: DepositReceipt,
  request: DepositRequest,
  relay: string,
  ed: Ed25519,
): Promise<void> {
  const { seq, proof } = receipt;
  if (receipt.size !== request.ciphertext.length || receipt.expires !== receipt.at + request.ttl)
    throw new DreggError('E_INVALID', 'The deposit receipt does not describe this deposit');
  if (proof.index !== seq || proof.count !== seq + 1)
    throw new DreggError('E_INVALID', 'The deposit receipt proves another place');
  if (!(await verifyInboxHead(receiptHead(relay, request.recipient, receipt), ed)))
    throw new DreggError('E_BAD_SIGNATURE', 'The deposit receipt is not signed by the relay');
  const digest = messageDigest({
    seq,
    at: receipt.at,
    expires: receipt.expires,
    size: receipt.size,
    deposit: request.deposit,
    ...(request.refund === undefined ? {} : { refund: request.refund }),
    ciphertextHash: ciphertextHash(request.ciphertext),
  });
  if (!verifyInclusion(receipt.root, digest, proof))
    throw new DreggError('E_INVALID', 'The deposit receipt does not prove the message is in the inbox');
}

export interface VerifyDrainOptions {
  readonly ed: Ed25519;
  /** The relay's did:key, as the recipient knows it (not as the response says). */
  readonly relay: string;
  readonly recipient: string;
  /** What this recipient last acknowledged at this relay; `INBOX_ORIGIN` before its first ack. */
  readonly acked: InboxPoint;
  /** The recipient's clock (Unix seconds): a head dated further ahead is refused. */
  readonly now?: number;
}

export interface VerifiedDrain {
  /** The point to acknowledge (and to keep as `acked` once the acknowledgement is accepted). */
  readonly head: InboxPoint;
  /** Messages with their sealed boxes, in order. */
  readonly delivered: readonly InboxMessage[];
  /** Messages that expired before they were drained: their payloads are gone, their places are not. */
  readonly expired: readonly InboxMessage[];
  /** Whether the inbox holds more messages after this page. */
  readonly more: boolean;
}

function broken(why: string): DreggError {
  return new DreggError('E_INVALID', `The relay's drain response does not hold: ${why}`);
}

/**
 * Checks a drain response against the recipient's own history and returns what it may trust:
 *
 * 1. The head is signed by the expected relay, for this recipient, and not dated in the future.
 * 2. The base (where the page starts) is the recipient's last acknowledged point, or a later point
 *    that the recipient itself acknowledged (another of its devices): the response must carry that
 *    signed acknowledgement. An earlier base means the relay rolled back.
 * 3. Each message is whole (its ciphertext hashes to the committed hash, its size is its length), or
 *    is a payload-less stub that the head's own time shows expired.
 * 4. The base extended by the messages' digests, in order, is exactly the signed head.
 *
 * `E_BAD_SIGNATURE` for a signature that fails, `E_INVALID` for anything else.
 */
export async function verifyDrain(
  response: DrainResponse,
  options: VerifyDrainOptions,
): Promise<VerifiedDrain> {
  const { ed, relay, recipient, acked } = options;
  const { base, baseAck, messages, head } = response;
  if (head.relay !== relay || head.recipient !== recipient) throw broken('the head names another inbox');
  if (!(await verifyInboxHead(head, ed)))
    throw new DreggError('E_BAD_SIGNATURE', 'The inbox head is not signed by the relay');
  if (options.now !== undefined && head.at > options.now + MAX_CLOCK_SKEW)
    throw broken('the head is dated in the future');
  if (!isFrontier(base)) throw broken('the base is not a frontier');
  const baseRoot = frontierRoot(base);
  if (base.count < acked.height) throw broken('it starts before what was already acknowledged (a rollback)');
  if (base.count === acked.height) {
    if (!bytesEqual(baseRoot, acked.root)) throw broken('its base is not the acknowledged history');
  } else {
    if (
      baseAck === undefined ||
      baseAck.recipient !== recipient ||
      baseAck.height !== base.count ||
      !bytesEqual(baseAck.root, baseRoot)
    )
      throw broken('it starts past the acknowledged history without the acknowledgement');
    const ok = await ed.verify(ed25519FromDidKey(recipient), ackDigest(relay, baseAck), baseAck.signature);
    if (!ok)
      throw new DreggError('E_BAD_SIGNATURE', 'The base acknowledgement is not signed by the recipient');
  }
  let frontier: Frontier = base;
  const delivered: InboxMessage[] = [];
  const expired: InboxMessage[] = [];
  for (const m of messages) {
    if (m.seq !== frontier.count) throw broken(`message ${frontier.count} is out of place`);
    if (m.ciphertext !== undefined) {
      if (m.ciphertext.length !== m.size || !bytesEqual(ciphertextHash(m.ciphertext), m.ciphertextHash))
        throw broken(`message ${m.seq} is not the one deposited`);
      delivered.push(m);
    } else {
      if (m.expires > head.at) throw broken(`message ${m.seq} is withheld before its expiry`);
      expired.push(m);
    }
    frontier = appendDigest(frontier, messageDigest(m));
  }
  if (frontier.count !== head.height || !bytesEqual(frontierRoot(frontier), head.root))
    throw broken('the messages do not reach the signed root (one was dropped, added or moved)');
  return {
    head: { height: head.height, root: head.root },
    delivered,
    expired,
    more: response.height > head.height,
  };
}

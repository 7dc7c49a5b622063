/**
 * Gossip topics and the signed envelope every gossip message is: the codec, with no libp2p import, so
 * browser code may use it before any libp2p shim is installed. The node side is core/src/net/gossip.ts.
 *
 * Three topics under one versioned prefix, each message a signed envelope.
 *
 * The envelope is deterministic CBOR `{v: 1, topic, from, at, body, sig}`: `from` is the signer's
 * did:key (our Ed25519 keys, not the libp2p peer key), `at` Unix seconds, `body` the topic's payload
 * (a turn, a revocation record, an attested root; its own format), and `sig` an Ed25519 signature of
 * `hashFor('gossipEnvelope', CBOR{v, topic, from, at, body})`. The topic is inside the signature, so
 * an envelope signed for one topic is refused on another (PITFALLS 10).
 */
import { type Clock, systemClock } from '../clock.ts';
import { type Ed25519, ed25519PublicKey } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { didKeyFromEd25519, ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError, decoding } from '../errors.ts';
import { DEFAULT_NET_LIMITS } from './limits.ts';

export const TOPICS = Object.freeze({
  turns: 'cipherclerk/v1/turns',
  revocations: 'cipherclerk/v1/revocations',
  roots: 'cipherclerk/v1/roots',
} as const);

export type Topic = (typeof TOPICS)[keyof typeof TOPICS];

const TOPIC_SET: ReadonlySet<string> = new Set(Object.values(TOPICS));

export function isTopic(t: unknown): t is Topic {
  return typeof t === 'string' && TOPIC_SET.has(t);
}

export const GOSSIP_ENVELOPE_VERSION = 1;

export interface UnsignedGossipEnvelope {
  readonly v: typeof GOSSIP_ENVELOPE_VERSION;
  readonly topic: Topic;
  /** The signer's did:key. */
  readonly from: string;
  /** Unix seconds on the signer's clock. */
  readonly at: number;
  readonly body: Uint8Array;
}

export interface GossipEnvelope extends UnsignedGossipEnvelope {
  /** Ed25519 signature by `from` of `envelopeDigest(...)`. */
  readonly sig: Uint8Array;
}

const FIELDS = ['at', 'body', 'from', 'sig', 'topic', 'v'];

/** What the signer signs: the digest of every field but the signature, under its own context. */
export function envelopeDigest(e: UnsignedGossipEnvelope): Uint8Array {
  return hashFor(
    'gossipEnvelope',
    encodeCbor({ v: e.v, topic: e.topic, from: e.from, at: e.at, body: e.body }),
  );
}

export function encodeEnvelope(e: GossipEnvelope): Uint8Array {
  return encodeCbor({ v: e.v, topic: e.topic, from: e.from, at: e.at, body: e.body, sig: e.sig });
}

/**
 * Decodes an envelope from outside input. `E_TOO_LARGE` past `maxBytes` (checked before decoding),
 * `E_DECODE` for bytes that are not canonical CBOR or carry a malformed did:key, `E_INVALID` for
 * any other shape: unknown version, extra or missing fields, unknown topic, bad lengths.
 * Checks structure only; `verifyEnvelope` checks the signature.
 */
export function decodeEnvelope(bytes: Uint8Array, o: { maxBytes?: number } = {}): GossipEnvelope {
  if (!(bytes instanceof Uint8Array)) throw new DreggError('E_DECODE', 'A gossip envelope is bytes');
  const maxBytes = o.maxBytes ?? DEFAULT_NET_LIMITS.gossipMaxEnvelopeBytes;
  if (bytes.length > maxBytes) {
    throw new DreggError('E_TOO_LARGE', `Gossip envelope of ${bytes.length} bytes exceeds ${maxBytes}`);
  }
  const value = decoding('gossip envelope', () => decodeCbor(bytes, 'gossip envelope'));
  const invalid = (why: string): never => {
    throw new DreggError('E_INVALID', `Invalid gossip envelope: ${why}`);
  };
  if (!isCborMap(value)) return invalid('not a map');
  const keys = Object.keys(value).sort();
  if (keys.length !== FIELDS.length || keys.some((k, i) => k !== FIELDS[i])) return invalid('wrong fields');
  const { v, topic, from, at, body, sig } = value;
  if (v !== GOSSIP_ENVELOPE_VERSION) return invalid('unknown version');
  if (!isTopic(topic)) return invalid('unknown topic');
  if (typeof from !== 'string') return invalid('from is not text');
  ed25519FromDidKey(from); // E_DECODE unless an Ed25519 did:key
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) return invalid('bad time');
  if (!(body instanceof Uint8Array)) return invalid('body is not bytes');
  if (!(sig instanceof Uint8Array) || sig.length !== 64) return invalid('signature is not 64 bytes');
  return { v, topic, from, at, body, sig };
}

/** Signs `body` for `topic` with a 32-byte Ed25519 seed; `at` is now on `clock`. */
export async function signEnvelope(
  topic: Topic,
  body: Uint8Array,
  seed: Uint8Array,
  ed: Ed25519,
  o: { clock?: Clock } = {},
): Promise<GossipEnvelope> {
  if (!isTopic(topic)) throw new DreggError('E_ARGUMENT', 'Not a cipherclerk gossip topic');
  if (!(body instanceof Uint8Array)) throw new DreggError('E_ARGUMENT', 'A gossip body is bytes');
  const unsigned: UnsignedGossipEnvelope = {
    v: GOSSIP_ENVELOPE_VERSION,
    topic,
    from: didKeyFromEd25519(ed25519PublicKey(seed)),
    at: Math.floor((o.clock ?? systemClock).now() / 1000),
    body,
  };
  return { ...unsigned, sig: await ed.sign(seed, envelopeDigest(unsigned)) };
}

/** `E_BAD_SIGNATURE` unless `sig` is `from`'s strict Ed25519 signature of the envelope's digest. */
export async function verifyEnvelope(e: GossipEnvelope, ed: Ed25519): Promise<void> {
  const publicKey = ed25519FromDidKey(e.from);
  if (!(await ed.verify(publicKey, envelopeDigest(e), e.sig))) {
    throw new DreggError('E_BAD_SIGNATURE', 'Gossip envelope signature does not verify');
  }
}

/**
 * Gossip on a libp2p node: subscribe with a validating envelope check, publish signed envelopes.
 * The topics and the envelope format are in core/src/net/envelope.ts (re-exported here).
 *
 * Each subscribed topic gets a gossipsub validator that decodes and verifies before anything is
 * delivered or forwarded, and answers REJECT for anything malformed, unsigned, too large, for another
 * topic or badly signed, so gossipsub scores the sender down (core/src/net/node.ts) and stops
 * forwarding its messages. The envelope's signature is the only one: libp2p's own message signing is
 * off (StrictNoSign, decision 61).
 */
import { type GossipSub, type Message, TopicValidatorResult } from '@libp2p/gossipsub';
import type { Libp2p, PeerId } from '@libp2p/interface';
import { type Clock, systemClock } from '../clock.ts';
import { defaultEd25519, type Ed25519 } from '../crypto/ed25519.ts';
import { DreggError } from '../errors.ts';
import {
  decodeEnvelope,
  encodeEnvelope,
  type GossipEnvelope,
  isTopic,
  signEnvelope,
  type Topic,
  verifyEnvelope,
} from './envelope.ts';
import { type NetLimits, netLimits } from './limits.ts';

export {
  decodeEnvelope,
  encodeEnvelope,
  envelopeDigest,
  GOSSIP_ENVELOPE_VERSION,
  type GossipEnvelope,
  isTopic,
  signEnvelope,
  TOPICS,
  type Topic,
  type UnsignedGossipEnvelope,
  verifyEnvelope,
} from './envelope.ts';

export type GossipNode = Libp2p<{ pubsub: GossipSub }>;

/** Why the validator dropped a message (also the gossipsub verdict: all REJECT but `future`, `body-ignored`). */
export type GossipDropReason =
  | 'wrong-topic'
  | 'too-large'
  | 'malformed'
  | 'bad-signature'
  | 'future'
  | 'body-rejected'
  | 'body-ignored';

export interface GossipObserver {
  dropped?(topic: string, reason: GossipDropReason): void;
  delivered?(topic: string): void;
}

/** A caller's check of the body: 'accept', 'ignore' (drop quietly) or 'reject' (drop and score down). */
export type BodyValidator = (
  body: Uint8Array,
  envelope: GossipEnvelope,
) => 'accept' | 'ignore' | 'reject' | Promise<'accept' | 'ignore' | 'reject'>;

export interface SubscribeOptions {
  /** Defaults to `defaultEd25519()` (WebCrypto where present). */
  readonly ed?: Ed25519;
  readonly observer?: GossipObserver;
  readonly validateBody?: BodyValidator;
  /** Largest envelope on this topic; at most `limits.gossipMaxEnvelopeBytes`. */
  readonly maxBytes?: number;
  readonly limits?: Partial<NetLimits>;
  readonly clock?: Clock;
}

export interface GossipSource {
  /** The peer that forwarded the message to us (not necessarily its publisher). */
  readonly peerId: string;
}

export type SignedHandler = (envelope: GossipEnvelope, source: GossipSource) => void | Promise<void>;

const VERDICT = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject,
} as const;
type Verdict = keyof typeof VERDICT;

/**
 * Envelopes the validator accepted, by message bytes, with the peer that forwarded them, so a handler
 * does not decode them again.
 */
const accepted = new WeakMap<Uint8Array, { envelope: GossipEnvelope; source: GossipSource }>();

/** The gossipsub validator of one topic (exported for tests and for relays that forward unsubscribed). */
export function envelopeValidator(
  topic: Topic,
  o: SubscribeOptions = {},
): (peer: PeerId, message: Message) => Promise<TopicValidatorResult> {
  const limits = netLimits(o.limits);
  const maxBytes = Math.min(o.maxBytes ?? limits.gossipMaxEnvelopeBytes, limits.gossipMaxEnvelopeBytes);
  const clock = o.clock ?? systemClock;
  let ed: Promise<Ed25519> | undefined = o.ed === undefined ? undefined : Promise.resolve(o.ed);
  const drop = (reason: GossipDropReason, verdict: Verdict): TopicValidatorResult => {
    try {
      o.observer?.dropped?.(topic, reason);
    } catch {
      // An observer's failure must not change the verdict.
    }
    return VERDICT[verdict];
  };
  return async (peer, message) => {
    if (message.topic !== topic) return drop('wrong-topic', 'reject');
    if (message.data.length > maxBytes) return drop('too-large', 'reject');
    let envelope: GossipEnvelope;
    try {
      envelope = decodeEnvelope(message.data, { maxBytes });
    } catch {
      return drop('malformed', 'reject');
    }
    if (envelope.topic !== topic) return drop('wrong-topic', 'reject');
    if (envelope.at > Math.floor(clock.now() / 1000) + limits.gossipMaxFutureSkewSeconds) {
      return drop('future', 'ignore');
    }
    try {
      ed ??= defaultEd25519();
      await verifyEnvelope(envelope, await ed);
    } catch {
      return drop('bad-signature', 'reject');
    }
    if (o.validateBody !== undefined) {
      let verdict: Verdict;
      try {
        verdict = await o.validateBody(envelope.body, envelope);
      } catch {
        verdict = 'reject';
      }
      if (verdict === 'reject') return drop('body-rejected', 'reject');
      if (verdict !== 'accept') return drop('body-ignored', 'ignore');
    }
    accepted.set(message.data, { envelope, source: { peerId: peer.toString() } });
    return VERDICT.accept;
  };
}

/** How many `subscribeSigned` subscriptions each node holds per topic. */
const subscriptions = new WeakMap<GossipSub, Map<Topic, number>>();

/**
 * Subscribes to `topic`, installs its validator (replacing any earlier one for the topic on this
 * node: one set of options per topic), and calls `handler` with each verified envelope. A handler that
 * throws or rejects is ignored (the message was valid; the handler's failure is its own).
 * Returns the unsubscribe function.
 */
export function subscribeSigned(
  node: GossipNode,
  topic: Topic,
  handler: SignedHandler,
  o: SubscribeOptions = {},
): () => void {
  if (!isTopic(topic)) throw new DreggError('E_ARGUMENT', 'Not a cipherclerk gossip topic');
  const pubsub = node.services.pubsub;
  let counts = subscriptions.get(pubsub);
  if (counts === undefined) {
    counts = new Map();
    subscriptions.set(pubsub, counts);
  }
  counts.set(topic, (counts.get(topic) ?? 0) + 1);
  pubsub.topicValidators.set(topic, envelopeValidator(topic, o));
  const listener = (event: CustomEvent<Message>): void => {
    const message = event.detail;
    if (message.topic !== topic) return;
    // Gossipsub delivers only what a validator accepted, and every validator on our topics is an
    // `envelopeValidator`, which records what it accepted; anything else is not handed out.
    const valid = accepted.get(message.data);
    if (valid === undefined) return;
    try {
      o.observer?.delivered?.(topic);
    } catch {
      // Observers never affect delivery.
    }
    Promise.resolve()
      .then(() => handler(valid.envelope, valid.source))
      .catch(() => {});
  };
  pubsub.addEventListener('message', listener);
  pubsub.subscribe(topic);
  let open = true;
  return () => {
    if (!open) return;
    open = false;
    pubsub.removeEventListener('message', listener);
    const left = (counts.get(topic) ?? 1) - 1;
    counts.set(topic, left);
    // The topic stays subscribed (and validated) while another subscriber on this node wants it.
    if (left === 0) {
      pubsub.unsubscribe(topic);
      pubsub.topicValidators.delete(topic);
    }
  };
}

/** Signs `body` for `topic` and publishes it; returns the envelope and how many peers it went to. */
export async function publishSigned(
  node: GossipNode,
  topic: Topic,
  body: Uint8Array,
  seed: Uint8Array,
  ed: Ed25519,
  o: { clock?: Clock } = {},
): Promise<{ envelope: GossipEnvelope; recipients: number }> {
  const envelope = await signEnvelope(topic, body, seed, ed, o);
  try {
    const result = await node.services.pubsub.publish(topic, encodeEnvelope(envelope));
    return { envelope, recipients: result.recipients.length };
  } catch (e) {
    throw new DreggError('E_UNREACHABLE', 'Could not publish the gossip message', { cause: e });
  }
}

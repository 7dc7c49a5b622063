/**
 * Signed gossip between real relay nodes on loopback: envelopes are delivered once verified; a peer
 * that publishes bad ones (bad signature, not CBOR, signed for another topic, too large) sees them
 * dropped by the validator, counted by the observer, never handed to a subscriber, and the relay
 * carries on.
 */
import type { Libp2p } from '@libp2p/interface';
import { describe, expect, it } from 'vitest';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { utf8 } from '../../src/encoding/bytes.ts';
import {
  encodeEnvelope,
  type GossipDropReason,
  type GossipEnvelope,
  type GossipNode,
  publishSigned,
  signEnvelope,
  subscribeSigned,
  TOPICS,
  type Topic,
} from '../../src/net/gossip.ts';
import { dialRelay } from '../../src/net/node.ts';
import { addressesOf, light, relay, until, watchUnhandledRejections } from './helpers.ts';

watchUnhandledRejections();

const ed = nobleEd25519;
const alice = new Uint8Array(32).fill(1);

/** Waits until `from` knows that `to` subscribes to `topic` (so a publish reaches it). */
async function subscribed(from: GossipNode, to: Libp2p, topic: Topic): Promise<void> {
  await until(
    () => from.services.pubsub.getSubscribers(topic).some((p) => p.equals(to.peerId)),
    10_000,
    'subscription',
  );
}

describe('signed gossip between relays', () => {
  it('delivers a signed envelope, and drops bad ones without delivering them', async () => {
    const limits = { gossipMaxEnvelopeBytes: 4096 };
    const a = await relay(limits);
    const b = await relay(limits);
    await dialRelay(b, addressesOf(a, 'ws'));
    const dropped: GossipDropReason[] = [];
    const received: GossipEnvelope[] = [];
    subscribeSigned(
      a,
      TOPICS.roots,
      (e) => {
        received.push(e);
      },
      { ed, limits, observer: { dropped: (_t, reason) => dropped.push(reason) } },
    );
    subscribeSigned(b, TOPICS.roots, () => {}, { ed, limits });
    await subscribed(b, a, TOPICS.roots);

    const { envelope } = await publishSigned(b, TOPICS.roots, utf8.encode('root 1'), alice, ed);
    await until(() => received.length === 1, 10_000, 'first delivery');
    expect(received[0]).toEqual(envelope);

    // Each bad message from its own peer: gossipsub graylists a peer after a couple of REJECTs.
    const good = await signEnvelope(TOPICS.roots, utf8.encode('root x'), alice, ed);
    const badSignature = encodeEnvelope({ ...good, sig: good.sig.map((x, i) => (i === 0 ? x ^ 1 : x)) });
    const forRevocations = encodeEnvelope(
      await signEnvelope(TOPICS.revocations, utf8.encode('r'), alice, ed),
    );
    const tooLarge = encodeEnvelope(await signEnvelope(TOPICS.roots, new Uint8Array(6000), alice, ed));
    const bad: [Uint8Array, GossipDropReason][] = [
      [badSignature, 'bad-signature'],
      [Uint8Array.of(0xff, 0x01, 0x02), 'malformed'],
      [forRevocations, 'wrong-topic'],
      [tooLarge, 'too-large'],
    ];
    for (const [bytes] of bad) {
      const mallory = await light();
      await dialRelay(mallory, addressesOf(a, 'ws'));
      await subscribed(mallory, a, TOPICS.roots);
      await mallory.services.pubsub.publish(TOPICS.roots, bytes);
    }
    await until(() => dropped.length === bad.length, 10_000, 'drops');
    expect(dropped.sort()).toEqual(bad.map(([, reason]) => reason).sort());

    // The relay keeps running and honest gossip still flows.
    await publishSigned(b, TOPICS.roots, utf8.encode('root 2'), alice, ed);
    await until(() => received.length === 2, 10_000, 'second delivery');
    expect(received.map((e) => utf8.decode(e.body))).toEqual(['root 1', 'root 2']);
    expect(a.status).toBe('started');
  });

  it("applies the caller's body validator: reject and ignore are dropped, accept is delivered", async () => {
    const a = await relay();
    const b = await relay();
    await dialRelay(b, addressesOf(a, 'ws'));
    const dropped: GossipDropReason[] = [];
    const received: string[] = [];
    subscribeSigned(
      a,
      TOPICS.revocations,
      (e) => {
        received.push(utf8.decode(e.body));
      },
      {
        ed,
        observer: { dropped: (_t, reason) => dropped.push(reason) },
        validateBody: (body) => {
          const text = utf8.decode(body);
          if (text === 'throw') throw new Error('boom');
          return text === 'ok' ? 'accept' : text === 'meh' ? 'ignore' : 'reject';
        },
      },
    );
    await subscribed(b, a, TOPICS.revocations);
    for (const text of ['meh', 'ok'])
      await publishSigned(b, TOPICS.revocations, utf8.encode(text), alice, ed);
    await until(() => received.length === 1 && dropped.length === 1, 10_000, 'ignore and accept');
    const mallory = await relay();
    await dialRelay(mallory, addressesOf(a, 'ws'));
    await subscribed(mallory, a, TOPICS.revocations);
    await publishSigned(mallory, TOPICS.revocations, utf8.encode('throw'), alice, ed);
    await until(() => dropped.length === 2, 10_000, 'reject');
    expect(received).toEqual(['ok']);
    expect(dropped).toEqual(['body-ignored', 'body-rejected']);
  });

  it('ignores envelopes dated too far in the future', async () => {
    const a = await relay();
    const b = await relay();
    await dialRelay(b, addressesOf(a, 'ws'));
    const dropped: GossipDropReason[] = [];
    const received: GossipEnvelope[] = [];
    subscribeSigned(
      a,
      TOPICS.turns,
      (e) => {
        received.push(e);
      },
      { ed, observer: { dropped: (_t, reason) => dropped.push(reason) } },
    );
    await subscribed(b, a, TOPICS.turns);
    const future = { now: () => Date.now() + 3_600_000 };
    await publishSigned(b, TOPICS.turns, utf8.encode('later'), alice, ed, { clock: future });
    await until(() => dropped.length === 1, 10_000, 'future drop');
    expect(dropped).toEqual(['future']);
    expect(received).toEqual([]);
  });
});

describe('subscribeSigned', () => {
  it('keeps a topic subscribed until its last subscriber on the node leaves', async () => {
    const a = await relay();
    const first = subscribeSigned(a, TOPICS.roots, () => {}, { ed });
    const second = subscribeSigned(a, TOPICS.roots, () => {}, { ed });
    first();
    first();
    expect(a.services.pubsub.getTopics()).toContain(TOPICS.roots);
    second();
    expect(a.services.pubsub.getTopics()).not.toContain(TOPICS.roots);
    expect(a.services.pubsub.topicValidators.has(TOPICS.roots)).toBe(false);
  });
});

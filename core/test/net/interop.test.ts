/**
 * Interoperability: a stock js-libp2p node, built here only from libp2p packages (none of our code),
 * dials our relay over WebSockets, subscribes to `cipherclerk/v1/roots` and receives what the relay
 * publishes. Only the final check, that the raw bytes are our signed envelope, uses our decoder.
 */
import { gossipsub } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { noise } from '@libp2p/noise';
import { webSockets } from '@libp2p/websockets';
import { yamux } from '@libp2p/yamux';
import { multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { describe, expect, it } from 'vitest';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { utf8 } from '../../src/encoding/bytes.ts';
import { decodeEnvelope, publishSigned, TOPICS, verifyEnvelope } from '../../src/net/gossip.ts';
import { addressesOf, relay, track, until, watchUnhandledRejections } from './helpers.ts';

watchUnhandledRejections();

describe('interop with a stock js-libp2p node', () => {
  it('receives a root the relay publishes, as our signed envelope', async () => {
    const r = await relay();
    const stock = await createLibp2p({
      transports: [webSockets()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      // The one setting a stock node needs: our messages carry no libp2p-level signature (decision 61).
      services: { identify: identify(), pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign' }) },
    });
    track(stock);
    const topic = 'cipherclerk/v1/roots';
    const received: Uint8Array[] = [];
    stock.services.pubsub.addEventListener('message', (event) => {
      if (event.detail.topic === topic) received.push(event.detail.data);
    });
    stock.services.pubsub.subscribe(topic);
    await stock.dial(multiaddr(addressesOf(r, 'ws')[0]!));
    await until(
      () => r.services.pubsub.getSubscribers(TOPICS.roots).some((p) => p.equals(stock.peerId)),
      10_000,
      'the stock node subscribed',
    );

    const seed = new Uint8Array(32).fill(3);
    const { envelope } = await publishSigned(r, TOPICS.roots, utf8.encode('root 42'), seed, nobleEd25519);
    await until(() => received.length === 1, 10_000, 'delivery to the stock node');

    const decoded = decodeEnvelope(received[0]!);
    expect(decoded).toEqual(envelope);
    await verifyEnvelope(decoded, nobleEd25519);
    expect(utf8.decode(decoded.body)).toBe('root 42');
  });
});

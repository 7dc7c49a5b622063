/** CapTP across a real relay: two light nodes on loopback, the session over a circuit-relay-v2 circuit. */
import '../../src/node/libp2p-shims.ts';
import { multiaddr } from '@multiformats/multiaddr';
import { describe, expect, it } from 'vitest';
import { call, dialCaptp, enliven, type Session, serveCaptp } from '../../src/captp/index.ts';
import { dialRelay } from '../../src/net/node.ts';
import { addressesOf, light, relay, until, watchUnhandledRejections } from '../net/helpers.ts';
import { connect, counter, logOf, makeVat } from './helpers.ts';

watchUnhandledRejections();

describe('CapTP over a relay circuit', () => {
  it('enlivens, calls in order, pipelines and hands off between light nodes through a relay', async () => {
    const relayNode = await relay();
    const carolNode = await light();
    const bobNode = await light();
    const carol = await makeVat('carol');
    const bob = await makeVat('bob');
    const alice = await makeVat('alice');
    const box = counter('box');
    carol.register('box', box);
    const accepted: Session[] = [];
    await serveCaptp(carolNode, carol, (s) => accepted.push(s));

    const relayAddresses = addressesOf(relayNode, 'ws');
    await dialRelay(carolNode, relayAddresses);
    await until(
      () => carolNode.getMultiaddrs().some((m) => m.toString().includes('/p2p-circuit')),
      10_000,
      'a reservation',
    );
    const circuit = multiaddr(`${relayAddresses[0]}/p2p-circuit/p2p/${carolNode.peerId.toString()}`);
    await dialRelay(bobNode, relayAddresses);

    const session = await dialCaptp(bobNode, circuit, bob, carol.did);
    expect(session.peer).toBe(carol.did);
    const uri = await carol.mintSturdyRef({ object: 'box', holder: bob.did });
    const ref = enliven(session, uri);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => call(ref, 'inc', [i]).promise));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(logOf(box)).toEqual(Array.from({ length: 20 }, (_, i) => i));

    // Alice, who holds a reference of her own, introduces Bob offline; Bob redeems it over the circuit.
    const aliceRef = await carol.mintSturdyRef({ object: 'box', holder: alice.did });
    await connect(alice, carol); // Alice need not be on libp2p at all
    const text = await alice.introduce(aliceRef, bob.did, {
      caveats: [{ t: 'actions', actions: ['get'] }],
      expiry: Math.floor(Date.now() / 1000) + 600,
    });
    const gift = await bob.redeemHandoff(session, text);
    expect(await call(gift, 'get').promise).toHaveLength(20);

    session.close();
    await until(() => accepted.every((s) => !s.isOpen), 5000, 'the far side to close');
  });
});

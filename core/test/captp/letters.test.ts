/**
 * Store-and-forward: letters to an offline vat through its inbox on a real relay (SQLite, libp2p on
 * loopback), and the receiver's ordering, replay and authority checks on the letters themselves.
 */
import '../../src/node/libp2p-shims.ts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  drainLetters,
  type Letter,
  type LetterOutcome,
  letterFromText,
  letterToText,
  postLetter,
} from '../../src/captp/index.ts';
import { seal, x25519FromEd25519Public } from '../../src/crypto/sealed-box.ts';
import { utf8 } from '../../src/encoding/bytes.ts';
import { ed25519FromDidKey } from '../../src/encoding/did-key.ts';
import { DreggError } from '../../src/errors.ts';
import { INBOX_ORIGIN } from '../../src/inbox/client.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import type { Relay } from '../../src/node/relay/relay.ts';
import { tempHome, testRelay } from '../relay/fixtures.ts';
import { counter, logOf, makeVat } from './helpers.ts';

const codes = (outcomes: LetterOutcome[]) =>
  outcomes.map((o) => (o.status === 'refused' ? `${o.seq}:${o.error.code}` : `${o.seq}:${o.status}`));

describe('letters across a real relay', () => {
  const home = tempHome();
  let relay: Relay;
  let client: RelayClient;
  beforeAll(async () => {
    relay = await testRelay(home.dir);
    client = await connectRelay(relay.multiaddrs, { relay: relay.did });
  });
  afterAll(async () => {
    await client?.close();
    await relay?.stop();
    home.remove();
  });

  it('queues calls for an offline vat in its inbox and delivers them in order when it drains', async () => {
    const bob = await makeVat('bob');
    const box = counter('box');
    bob.register('box', box);
    const uri = await bob.mintSturdyRef({ object: 'box', holder: (await makeVat('x')).did });
    const alice = await makeVat('alice');
    const aliceRef = await bob.mintSturdyRef({ object: 'box', holder: alice.did });

    // Bob is offline: nothing of his is connected. Alice posts three letters to his inbox.
    for (const n of [10, 20, 30]) {
      await postLetter(
        client,
        await alice.writeLetter({ to: bob.did, ref: aliceRef, method: 'inc', args: [n] }),
      );
    }
    // One letter on a reference bound to someone else: refused, and it does not stall the others.
    await postLetter(client, await alice.writeLetter({ to: bob.did, ref: uri, method: 'inc', args: [99] }));
    await postLetter(
      client,
      await alice.writeLetter({ to: bob.did, ref: aliceRef, method: 'inc', args: [40] }),
    );
    // Something that is not a letter shares the inbox and is handed back.
    await client.deposit({
      recipient: bob.did,
      ciphertext: seal(
        x25519FromEd25519Public(ed25519FromDidKey(bob.did)),
        utf8.encode('ccdel_not-a-letter'),
      ),
      ttl: 600,
      deposit: 0n,
      idempotencyKey: new Uint8Array(16).fill(5),
    });

    // Bob comes online and drains.
    const drained = await drainLetters(bob, client, { did: bob.did, seed: bob.seed, acked: INBOX_ORIGIN });
    expect(codes(drained.outcomes)).toEqual([
      '0:delivered',
      '1:delivered',
      '2:delivered',
      '3:E_AUDIENCE',
      '4:delivered',
    ]);
    expect(logOf(box)).toEqual([10, 20, 30, 40]);
    expect(drained.others.map((m) => utf8.decode(m.plaintext))).toEqual(['ccdel_not-a-letter']);
    expect(drained.unreadable).toEqual([]);

    // Drained and acknowledged: the next drain from the new head finds nothing.
    const next = await drainLetters(bob, client, { did: bob.did, seed: bob.seed, acked: drained.head });
    expect(next.outcomes).toEqual([]);
    expect(next.others).toEqual([]);
  });
});

describe('receiving letters', () => {
  it('holds a letter that arrives early and delivers it after the one before it', async () => {
    const bob = await makeVat('bob');
    const box = counter('box');
    bob.register('box', box);
    const alice = await makeVat('alice');
    const ref = await bob.mintSturdyRef({ object: 'box', holder: alice.did });
    const letters: Letter[] = [];
    for (let i = 0; i < 4; i++)
      letters.push(await alice.writeLetter({ to: bob.did, ref, method: 'inc', args: [i] }));
    const text = letters.map(letterToText);

    expect(codes(await bob.receiveLetter(text[2]!))).toEqual(['2:held']);
    expect(codes(await bob.receiveLetter(text[1]!))).toEqual(['1:held']);
    expect(logOf(box)).toEqual([]);
    expect(codes(await bob.receiveLetter(text[0]!))).toEqual(['0:delivered', '1:delivered', '2:delivered']);
    expect(codes(await bob.receiveLetter(text[1]!))).toEqual(['1:E_REPLAYED']);
    expect(codes(await bob.receiveLetter(text[3]!))).toEqual(['3:delivered']);
    expect(logOf(box)).toEqual([0, 1, 2, 3]);
  });

  it('keeps the order and the held letters across a restart of the receiver', async () => {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const bob1 = await makeVat('bob', { seed });
    bob1.register('box', counter('box'));
    const alice = await makeVat('alice');
    const ref = await bob1.mintSturdyRef({ object: 'box', holder: alice.did });
    const bySeq: Letter[] = [];
    for (let i = 0; i < 3; i++)
      bySeq.push(await alice.writeLetter({ to: bob1.did, ref, method: 'inc', args: [7] }));
    expect(bySeq.map((l) => l.seq)).toEqual([0, 1, 2]);
    await bob1.receiveLetter(letterToText(bySeq[0]!));
    await bob1.receiveLetter(letterToText(bySeq[2]!)); // held

    const bob2 = await makeVat('bob', { seed, store: bob1.store });
    const box = counter('box');
    bob2.register('box', box);
    expect(codes(await bob2.receiveLetter(letterToText(bySeq[0]!)))).toEqual(['0:E_REPLAYED']);
    expect(codes(await bob2.receiveLetter(letterToText(bySeq[1]!)))).toEqual(['1:delivered', '2:delivered']);
    expect(logOf(box)).toEqual([7, 7]);
  });

  it('refuses a forged, tampered or misaddressed letter without using up a number', async () => {
    const bob = await makeVat('bob');
    const box = counter('box');
    bob.register('box', box);
    const alice = await makeVat('alice');
    const mallory = await makeVat('mallory');
    const ref = await bob.mintSturdyRef({ object: 'box', holder: alice.did });
    const letter = await alice.writeLetter({ to: bob.did, ref, method: 'inc', args: [1] });

    const tampered = letterToText({ ...letter, args: [2] });
    await expect(bob.receiveLetter(tampered)).rejects.toMatchObject({ code: 'E_BAD_SIGNATURE' });
    const forged = letterToText({
      ...(await mallory.writeLetter({ to: bob.did, ref, method: 'inc', args: [3] })),
      from: alice.did,
    });
    await expect(bob.receiveLetter(forged)).rejects.toMatchObject({ code: 'E_BAD_SIGNATURE' });
    const elsewhere = await alice.writeLetter({ to: mallory.did, ref, method: 'inc', args: [4] });
    await expect(bob.receiveLetter(letterToText(elsewhere))).rejects.toMatchObject({ code: 'E_AUDIENCE' });
    // Eve's own letter is signed by her, but the reference is bound to Alice.
    const eve = await makeVat('eve');
    const own = await eve.writeLetter({ to: bob.did, ref, method: 'inc', args: [5] });
    expect(codes(await bob.receiveLetter(letterToText(own)))).toEqual(['0:E_AUDIENCE']);

    expect(codes(await bob.receiveLetter(letterToText(letter)))).toEqual(['0:delivered']);
    expect(logOf(box)).toEqual([1]);
  });

  it('applies the reference: a method it does not allow, an expired one, a use limit', async () => {
    let now = 1_000_000;
    const clock = { now: () => now * 1000 };
    const bob = await makeVat('bob', { clock });
    const box = counter('box', clock);
    bob.register('box', box);
    const alice = await makeVat('alice', { clock });
    const readOnly = await bob.mintSturdyRef({
      object: 'box',
      holder: alice.did,
      caveats: [{ t: 'actions', actions: ['get'] }],
    });
    const once = await bob.mintSturdyRef({ object: 'box', holder: alice.did, uses: 1, expiry: now + 60 });
    const send = async (ref: string, args: number[]) =>
      codes(
        await bob.receiveLetter(
          letterToText(await alice.writeLetter({ to: bob.did, ref, method: 'inc', args })),
        ),
      );

    expect(await send(readOnly, [1])).toEqual(['0:E_DENIED']);
    expect(await send(once, [2])).toEqual(['1:delivered']);
    expect(await send(once, [3])).toEqual(['2:E_EXHAUSTED']);
    const later = await bob.mintSturdyRef({ object: 'box', holder: alice.did, expiry: now + 60 });
    now += 61;
    expect(await send(later, [4])).toEqual(['3:E_EXPIRED']);
    expect(logOf(box)).toEqual([2]);
  });

  it('decodes any text only to a letter or a typed error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (tail) => {
        try {
          letterFromText(`ccletter_${tail}`);
        } catch (e) {
          expect(e).toBeInstanceOf(DreggError);
        }
      }),
    );
  });

  it('refuses a letter that is too large to write', async () => {
    const bob = await makeVat('bob');
    const alice = await makeVat('alice');
    const ref = await bob.mintSturdyRef({ object: 'box', holder: alice.did });
    await expect(
      alice.writeLetter({ to: bob.did, ref, method: 'inc', args: ['x'.repeat(40_000)] }),
    ).rejects.toMatchObject({ code: 'E_TOO_LARGE' });
    // No number was used up: the next letter is still the first.
    expect((await alice.writeLetter({ to: bob.did, ref, method: 'inc' })).seq).toBe(0);
  });
});

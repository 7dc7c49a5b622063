/** Three-party handoff: Alice introduces Bob to Carol's object; every forged or replayed element fails. */
import { base64urlnopad } from '@scure/base';
import { describe, expect, it } from 'vitest';
import {
  call,
  enliven,
  HANDOFF_PREFIX,
  handoffFromText,
  handoffToText,
  introduce,
  parseSturdyRef,
  presentHandoff,
} from '../../src/captp/index.ts';
import { manualClock } from '../../src/clock.ts';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { decodeCbor, encodeCbor, isCborMap } from '../../src/encoding/cbor.ts';
import { isDreggError } from '../../src/errors.ts';
import { connect, counter, logOf, makeVat, rejection } from './helpers.ts';

const T0 = 1_800_000_000;

async function cast() {
  const clock = manualClock(T0 * 1000);
  const alice = await makeVat('alice', { clock });
  const bob = await makeVat('bob', { clock });
  const carol = await makeVat('carol', { clock });
  const mallory = await makeVat('mallory', { clock });
  const box = counter('box', clock);
  carol.register('box', box);
  // Alice holds a reference to Carol's box, bound to her key, for reading and writing.
  const aliceRef = await carol.mintSturdyRef({
    object: 'box',
    holder: alice.did,
    caveats: [{ t: 'actions', actions: ['get', 'inc'] }],
    expiry: T0 + 3600,
  });
  const [bobToCarol] = await connect(bob, carol);
  return { clock, alice, bob, carol, mallory, box, aliceRef, bobToCarol };
}

/** Rewrites one field of a certificate's CBOR (keeping its signature) and returns the text. */
function tamper(text: string, field: string, value: Parameters<typeof encodeCbor>[0]): string {
  const map = decodeCbor(base64urlnopad.decode(text.slice(HANDOFF_PREFIX.length)));
  if (!isCborMap(map)) throw new Error('not a map');
  return HANDOFF_PREFIX + base64urlnopad.encode(encodeCbor({ ...map, [field]: value }));
}

describe('three-party handoff', () => {
  it('gives Bob a narrowed reference that talks to Carol directly, Alice offline', async () => {
    const { alice, bob, box, aliceRef, bobToCarol } = await cast();
    const text = await alice.introduce(aliceRef, bob.did, {
      caveats: [{ t: 'actions', actions: ['inc'] }],
      expiry: T0 + 600,
    });
    expect(text.length).toBeLessThan(800); // compact enough for a QR code
    expect(handoffToText(handoffFromText(text))).toBe(text);
    alice.close();
    const granted = await bob.redeemHandoff(bobToCarol, text);
    expect(await call(granted, 'inc', ['from bob']).promise).toBe(1);
    expect((await rejection(call(granted, 'get').promise)).code).toBe('E_DENIED');
    expect(logOf(box)).toEqual(['from bob']);
  });

  it('refuses a replayed certificate, also after the exporter restarts (durable nonce)', async () => {
    const { alice, bob, carol, aliceRef, bobToCarol } = await cast();
    const text = await alice.introduce(aliceRef, bob.did, { expiry: T0 + 600 });
    await (await bob.redeemHandoff(bobToCarol, text)).promise;
    expect((await rejection((await bob.redeemHandoff(bobToCarol, text)).promise)).code).toBe('E_REPLAYED');
    // The same store, a new vat (a restart): the nonce is still known.
    const carol2 = await makeVat('carol', { store: carol.store, seed: carol.seed, clock: carol.clock });
    carol2.register('box', counter());
    const [again] = await connect(bob, carol2);
    expect((await rejection((await bob.redeemHandoff(again, text)).promise)).code).toBe('E_REPLAYED');
  });

  it('refuses each forged element', async () => {
    const { clock, alice, bob, carol, mallory, aliceRef, bobToCarol } = await cast();
    const text = await alice.introduce(aliceRef, bob.did, {
      caveats: [{ t: 'actions', actions: ['get'] }],
      expiry: T0 + 600,
    });
    const redeem = async (t: string, session = bobToCarol, by = bob) =>
      (await rejection((await by.redeemHandoff(session, t)).promise)).code;

    // The introducer's signature no longer covers an altered field.
    expect(await redeem(tamper(text, 'expiry', T0 + 900))).toBe('E_BAD_SIGNATURE');
    expect(await redeem(tamper(text, 'caveats', []))).toBe('E_BAD_SIGNATURE');
    expect(await redeem(tamper(text, 'introducer', mallory.did))).toBe('E_BAD_SIGNATURE');
    // Presented by someone else than the recipient (Mallory cannot countersign as Bob).
    const [malloryToCarol] = await connect(mallory, carol);
    await expect(mallory.redeemHandoff(malloryToCarol, text)).rejects.toMatchObject({ code: 'E_AUDIENCE' });
    const fromBob = handoffFromText(text);
    const countersigned = await presentHandoff(fromBob, bobToCarol.id, {
      did: bob.did,
      seed: bob.seed,
      ed: nobleEd25519,
    });
    // Bob's countersignature for one session, replayed by Mallory in hers.
    const stolen = await rejection(
      call(malloryToCarol.bootstrap(), 'handoff', [text, countersigned]).promise,
    );
    expect(stolen.code).toBe('E_AUDIENCE');
    // A countersignature for another session does not verify in this one.
    const [otherSession] = await connect(bob, carol);
    expect(
      (await rejection(call(otherSession.bootstrap(), 'handoff', [text, countersigned]).promise)).code,
    ).toBe('E_BAD_SIGNATURE');
    // Mallory, who holds nothing, signs a certificate for Alice's target: she is not its holder.
    const malloryText = handoffToText(
      await introduce(
        { did: mallory.did, seed: mallory.seed, ed: nobleEd25519 },
        {
          ref: { ...parseSturdyRef(aliceRef), holder: mallory.did },
          recipient: bob.did,
          expiry: T0 + 600,
          random: (n) => crypto.getRandomValues(new Uint8Array(n)),
        },
      ),
    );
    expect(await redeem(malloryText)).toBe('E_AUDIENCE');
    // Amplification: Alice appends an action her reference does not have, or outlives it.
    const wider = await alice.introduce(aliceRef, bob.did, {
      caveats: [{ t: 'actions', actions: ['delete', 'get'] }],
      expiry: T0 + 600,
    });
    expect(await redeem(wider)).toBe('E_WIDENING');
    await expect(alice.introduce(aliceRef, bob.did, { expiry: T0 + 7200 })).rejects.toMatchObject({
      code: 'E_WIDENING',
    });
    // Expired certificate; revoked target.
    const soon = await alice.introduce(aliceRef, bob.did, { expiry: T0 + 10 });
    clock.advance(10_000);
    expect(await redeem(soon)).toBe('E_EXPIRED');
    const fresh = await alice.introduce(aliceRef, bob.did, { expiry: T0 + 600 });
    await carol.revokeSturdyRef(aliceRef);
    expect(await redeem(fresh)).toBe('E_REVOKED');
    // The untouched certificate was never consumed by the failures, but its target is now revoked.
    expect(await redeem(text)).toBe('E_REVOKED');
  });

  it('refuses a handoff of a bearer reference (it names no holder to check)', async () => {
    const { alice, bob, carol, bobToCarol } = await cast();
    const bearer = await carol.mintSturdyRef({ object: 'box', expiry: T0 + 60 });
    await expect(alice.introduce(bearer, bob.did, { expiry: T0 + 30 })).rejects.toMatchObject({
      code: 'E_AUDIENCE',
    });
    expect(bobToCarol.isOpen).toBe(true);
  });

  it('decodes certificate text strictly (E_DECODE / E_INVALID only)', async () => {
    const { alice, bob, aliceRef } = await cast();
    const text = await alice.introduce(aliceRef, bob.did, { expiry: T0 + 600 });
    for (const bad of [
      'hello',
      `${HANDOFF_PREFIX}!!!`,
      text.slice(0, -4),
      tamper(text, 'extra', 1),
      tamper(text, 'nonce', new Uint8Array(3)),
      tamper(text, 'v', 2),
    ]) {
      try {
        handoffFromText(bad);
        expect.unreachable(bad);
      } catch (e) {
        expect(isDreggError(e, 'E_DECODE') || isDreggError(e, 'E_INVALID')).toBe(true);
      }
    }
  });

  it('works with a live session as the introducer’s ref too: Alice enlivens hers, Bob his gift', async () => {
    const { alice, bob, carol, aliceRef, bobToCarol } = await cast();
    const [aliceToCarol] = await connect(alice, carol);
    const mine = await enliven(aliceToCarol, aliceRef).promise;
    expect(await call(mine as never, 'inc', ['alice']).promise).toBe(1);
    const text = await alice.introduce(aliceRef, bob.did, { expiry: T0 + 600 });
    expect(await call(await bob.redeemHandoff(bobToCarol, text), 'get').promise).toEqual(['alice']);
  });
});

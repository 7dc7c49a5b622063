import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Agent } from '../../src/agent/agent.ts';
import { delegate } from '../../src/agent/delegate.ts';
import { mintToken } from '../../src/agent/mint.ts';
import { receiveSignedDelegation } from '../../src/agent/receive.ts';
import { verifyRequest } from '../../src/agent/verify.ts';
import { actionsCaveat, type Caveat } from '../../src/caps/caveats.ts';
import {
  type Chain,
  chainFromText,
  chainToText,
  decodeChain,
  type EnvelopeBody,
  encodeChain,
  envelopeHash,
  signEnvelope,
} from '../../src/caps/envelope.ts';
import { rightsOf } from '../../src/caps/rights.ts';
import { attenuate, tokenToText } from '../../src/caps/token.ts';
import { ChainsFromParent, TrustedKey, TrustedKeys } from '../../src/caps/trust.ts';
import { openSealed, seal } from '../../src/crypto/sealed-box.ts';
import { DreggError } from '../../src/errors.ts';
import { cast, codeOf, expectEveryFlipRefused, T0 } from './fixtures.ts';

/** Signs a step by hand, the way an attacker (or a buggy client) could. */
async function handStep(
  from: Agent,
  chain: Chain,
  to: string,
  restrict: Caveat[],
  over: Partial<EnvelopeBody> = {},
) {
  const last = chain[chain.length - 1]!;
  const token = over.token ?? attenuate(last.token, restrict);
  const body: EnvelopeBody = {
    v: 1,
    token,
    parent: envelopeHash(last),
    from: from.did,
    to,
    restrict,
    issuedAt: T0,
    expiry: rightsOf(token.caveats).expiry!,
    epoch: from.state.epoch,
    ...over,
  };
  return [...chain, await signEnvelope(body, from.identity.seed, from.ed)];
}

const bind = (from: Agent, to: string): Caveat[] => [
  { t: 'aud', did: to },
  { t: 'epoch', by: from.did, epoch: from.state.epoch },
];

describe('delegation envelopes', () => {
  it('carries a capability from Alice to Bob to Carol, each step narrower, and the service honours it', async () => {
    const { alice, bob, carol } = await cast();
    const root = mintToken(alice, { service: 'storage', actions: ['read', 'write'], budget: 5000 });
    const d1 = await delegate(alice, root.id, bob.did, { actions: ['read'], maxBudget: 1000, maxTtl: 3600 });
    const held = await receiveSignedDelegation(bob, d1.text, TrustedKey(alice.did));
    const d2 = await delegate(bob, held.id, carol.did, { maxBudget: 100, maxTtl: 600 });
    const got = await receiveSignedDelegation(carol, d2.text, TrustedKey(bob.did));
    expect(got.chain).toHaveLength(2);
    expect(await verifyRequest(alice, d2.text, { service: 'storage', action: 'read', cost: 100 })).toEqual({
      allowed: true,
    });
    const over = await verifyRequest(alice, d2.text, { service: 'storage', action: 'read', cost: 1 });
    expect(over).toMatchObject({ allowed: false, code: 'E_BUDGET' });
    expect(await verifyRequest(alice, d2.text, { service: 'storage', action: 'write' })).toMatchObject({
      code: 'E_DENIED',
    });
    expect(await verifyRequest(alice, d2.text, { service: 'mail', action: 'read' })).toMatchObject({
      code: 'E_DENIED',
    });
  });

  it('refuses at delegate any restriction wider than what is held', async () => {
    const { alice, bob } = await cast();
    const root = mintToken(alice, { service: 'storage', actions: ['read'], budget: 1000, ttl: 3600 });
    expect(await codeOf(delegate(alice, root.id, bob.did, { actions: ['read', 'write'] }))).toBe(
      'E_WIDENING',
    );
    expect(await codeOf(delegate(alice, root.id, bob.did, { maxBudget: 5000 }))).toBe('E_WIDENING');
    expect(await codeOf(delegate(alice, root.id, bob.did, { maxTtl: 7200 }))).toBe('E_WIDENING');
    expect(await codeOf(delegate(alice, root.id, bob.did, { services: ['mail'] }))).toBe('E_WIDENING');
  });

  it('refuses a hand-built widening at accept and at verify with E_WIDENING', async () => {
    const { alice, bob, carol } = await cast();
    const root = mintToken(alice, { service: 'storage', actions: ['read', 'write'] });
    const d1 = await delegate(alice, root.id, bob.did, { actions: ['read'] });
    await receiveSignedDelegation(bob, d1.text, TrustedKey(alice.did));
    const wide = await handStep(bob, d1.chain, carol.did, [
      actionsCaveat(['read', 'write']),
      ...bind(bob, carol.did),
    ]);
    expect(await codeOf(receiveSignedDelegation(carol, wide, TrustedKey(bob.did)))).toBe('E_WIDENING');
    expect(
      await verifyRequest(alice, chainToText(wide), { service: 'storage', action: 'read' }),
    ).toMatchObject({
      code: 'E_WIDENING',
    });
  });

  it('refuses a chain whose declared restrictions differ from the caveats appended (PITFALLS 3)', async () => {
    const { alice, bob, carol } = await cast();
    const root = mintToken(alice, { service: 'storage', actions: ['read', 'write'] });
    const d1 = await delegate(alice, root.id, bob.did, {});
    // Bob declares "read only" but appends nothing of the kind to the token.
    const declared = [actionsCaveat(['read']), ...bind(bob, carol.did)];
    const lying = await handStep(bob, d1.chain, carol.did, declared, {
      token: attenuate(d1.chain[0]!.token, bind(bob, carol.did)),
    });
    expect(await codeOf(receiveSignedDelegation(carol, lying, TrustedKey(bob.did)))).toBe(
      'E_RESTRICTION_MISMATCH',
    );
  });

  it('refuses a chain that drops a caveat of its parent', async () => {
    const { alice, bob, carol } = await cast();
    const root = mintToken(alice, { service: 'storage', actions: ['read'] });
    const d1 = await delegate(alice, root.id, bob.did, {});
    const parent = d1.chain[0]!.token;
    const dropped = { ...parent, caveats: parent.caveats.filter((c) => c.t !== 'actions') };
    const bad = await handStep(bob, d1.chain, carol.did, bind(bob, carol.did), {
      token: attenuate(dropped, bind(bob, carol.did)),
    });
    expect(await codeOf(receiveSignedDelegation(carol, bad, TrustedKey(bob.did)))).toBe('E_WIDENING');
  });

  it('binds each step to its recipient: Mallory cannot accept or use what was given to Bob', async () => {
    const { alice, bob, mallory } = await cast();
    const root = mintToken(alice, { service: 'storage' });
    const d = await delegate(alice, root.id, bob.did, {});
    expect(await codeOf(receiveSignedDelegation(mallory, d.text, TrustedKey(alice.did)))).toBe('E_AUDIENCE');
    const asMallory = await verifyRequest(alice, d.text, {
      service: 'storage',
      action: 'read',
      holder: mallory.did,
    });
    expect(asMallory).toMatchObject({ code: 'E_AUDIENCE' });
    // The bare token taken out of its envelope is still bound to Bob (no bearer secret, PITFALLS 4, 20).
    const stripped = tokenToText(d.chain[0]!.token);
    expect(
      await verifyRequest(alice, stripped, { service: 'storage', action: 'read', holder: mallory.did }),
    ).toMatchObject({
      code: 'E_AUDIENCE',
    });
    expect(await verifyRequest(alice, stripped, { service: 'storage', action: 'read' })).toMatchObject({
      code: 'E_AUDIENCE',
    });
  });

  it('checks the action of a bearer root token, not only its MAC (PITFALLS 4)', async () => {
    const { alice } = await cast();
    const root = mintToken(alice, { service: 'storage', actions: ['read'] });
    expect(await verifyRequest(alice, root.text, { service: 'storage', action: 'read' })).toEqual({
      allowed: true,
    });
    expect(await verifyRequest(alice, root.text, { service: 'storage', action: 'delete' })).toMatchObject({
      code: 'E_DENIED',
    });
  });

  it('accepts only chains someone trusted signed: TrustedKey, TrustedKeys, ChainsFromParent', async () => {
    const { alice, bob, carol, mallory } = await cast();
    const root = mintToken(alice, { service: 'storage' });
    const d1 = await delegate(alice, root.id, bob.did, {});
    expect(await codeOf(receiveSignedDelegation(bob, d1.text, TrustedKey(mallory.did)))).toBe('E_UNTRUSTED');
    await receiveSignedDelegation(bob, d1.text, TrustedKeys([mallory.did, alice.did]));
    const d2 = await delegate(bob, d1.hash, carol.did, {});
    await receiveSignedDelegation(carol, d2.text, ChainsFromParent(envelopeHash(d1.chain[0]!)));
    expect(await codeOf(receiveSignedDelegation(carol, d2.text, ChainsFromParent(new Uint8Array(32))))).toBe(
      'E_UNTRUSTED',
    );
  });

  it('gives no authority to a sealed capability forged by a stranger (PITFALLS 5)', async () => {
    const { alice, bob, mallory } = await cast();
    // Mallory mints her own "storage" token and seals a delegation of it to Bob, pretending to be Alice's service.
    const fake = mintToken(mallory, { service: 'storage' });
    const d = await delegate(mallory, fake.id, bob.did, {});
    const box = seal(bob.identity.x25519.publicKey, new TextEncoder().encode(d.text));
    const opened = new TextDecoder().decode(openSealed(bob.identity.x25519.secretKey, box));
    expect(await codeOf(receiveSignedDelegation(bob, opened, TrustedKey(alice.did)))).toBe('E_UNTRUSTED');
    expect(await verifyRequest(alice, opened, { service: 'storage', action: 'read' })).toMatchObject({
      allowed: false,
    });
  });

  it('keeps every limit of the parent when re-delegated: expiry and budget survive (PITFALLS 6)', async () => {
    const { alice, bob, carol, clock } = await cast();
    const root = mintToken(alice, { service: 'storage' });
    const d1 = await delegate(alice, root.id, bob.did, { maxBudget: 10, maxTtl: 60 });
    await receiveSignedDelegation(bob, d1.text, TrustedKey(alice.did));
    const d2 = await delegate(bob, d1.hash, carol.did, { maxTtl: 30 });
    expect(await verifyRequest(alice, d2.text, { service: 'storage', action: 'x', cost: 11 })).toMatchObject({
      code: 'E_BUDGET',
    });
    clock.advance(31_000);
    expect(await verifyRequest(alice, d2.text, { service: 'storage', action: 'x' })).toMatchObject({
      code: 'E_EXPIRED',
    });
    expect(await codeOf(receiveSignedDelegation(carol, d2.text, TrustedKey(bob.did)))).toBe('E_EXPIRED');
  });

  it('signs every field: changing any field after signing breaks the signature (PITFALLS 10)', async () => {
    const { alice, bob, carol } = await cast();
    const root = mintToken(alice, { service: 'storage', actions: ['read', 'write'] });
    const d = await delegate(alice, root.id, bob.did, { actions: ['read'], maxTtl: 60 });
    const env = d.chain[0]!;
    const variants: Chain[] = [
      [{ ...env, to: carol.did }],
      [{ ...env, issuedAt: env.issuedAt - 1 }],
      [{ ...env, epoch: env.epoch + 1 }],
      [{ ...env, expiry: env.expiry + 1 }],
    ];
    for (const v of variants) {
      const code = await codeOf(receiveSignedDelegation(bob, v, TrustedKey(alice.did)));
      expect(['E_BAD_SIGNATURE', 'E_INVALID', 'E_RESTRICTION_MISMATCH', 'E_AUDIENCE']).toContain(code);
    }
    // A change that keeps the structure consistent is caught by the signature alone.
    expect(
      await codeOf(
        receiveSignedDelegation(bob, [{ ...env, issuedAt: env.issuedAt - 1 }], TrustedKey(alice.did)),
      ),
    ).toBe('E_BAD_SIGNATURE');
  });

  it('rejects the delegation when any byte of its text is flipped', async () => {
    const { alice, bob } = await cast();
    const root = mintToken(alice, { service: 'storage' });
    const d = await delegate(alice, root.id, bob.did, { actions: ['read'] });
    const bytes = encodeChain(d.chain);
    await expectEveryFlipRefused(bytes, async (b) => {
      await receiveSignedDelegation(bob, decodeChain(b), TrustedKey(alice.did));
      return true;
    });
  });

  it('gives only typed errors for random delegation text', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(() => chainFromText(`ccdel_${s}`)).toThrow(DreggError);
      }),
    );
  });
});

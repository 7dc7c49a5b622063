import { describe, expect, it } from 'vitest';
import { delegate } from '../../src/agent/delegate.ts';
import { mintToken } from '../../src/agent/mint.ts';
import { receiveSignedDelegation } from '../../src/agent/receive.ts';
import { bumpEpoch, importRevocation, revoke, tripChannel } from '../../src/agent/revoke.ts';
import { verifyRequest } from '../../src/agent/verify.ts';
import {
  checkRevocation,
  decodeRevocation,
  emptyRevocationState,
  encodeRevocation,
  revocationFromText,
  verifyRevocation,
} from '../../src/caps/revocation.ts';
import { TrustedKey } from '../../src/caps/trust.ts';
import { cast, codeOf, expectEveryFlipRefused } from './fixtures.ts';

const read = { service: 'storage', action: 'read' };

describe('revocation', () => {
  it('revokes a delegation and its whole subtree by hash, for every verifier that learns the record', async () => {
    const { alice, bob, carol } = await cast();
    const root = mintToken(alice, { service: 'storage' });
    const d1 = await delegate(alice, root.id, bob.did, {});
    await receiveSignedDelegation(bob, d1.text, TrustedKey(alice.did));
    const d2 = await delegate(bob, d1.hash, carol.did, {});
    expect(await verifyRequest(alice, d2.text, read)).toEqual({ allowed: true });
    const rec = await revoke(alice, { token: root.id, delegation: d1.hash });
    expect(await verifyRequest(alice, d1.text, read)).toMatchObject({ code: 'E_REVOKED' });
    expect(await verifyRequest(alice, d2.text, read)).toMatchObject({ code: 'E_REVOKED' });
    // Carol has not heard of it yet; once she imports the signed record she refuses it too.
    await receiveSignedDelegation(carol, d2.text, TrustedKey(bob.did));
    await importRevocation(carol, rec.text);
    expect(await codeOf(receiveSignedDelegation(carol, d2.text, TrustedKey(bob.did)))).toBe('E_REVOKED');
  });

  it('ignores a revocation signed by someone outside the chain', async () => {
    const { alice, bob, mallory } = await cast();
    const root = mintToken(alice, { service: 'storage' });
    const d = await delegate(alice, root.id, bob.did, {});
    const rec = await revoke(mallory, { token: root.id, delegation: d.hash });
    await importRevocation(alice, rec.text);
    expect(await verifyRequest(alice, d.text, read)).toEqual({ allowed: true });
  });

  it("a downstream delegator can revoke its own step but not its parent's", async () => {
    const { alice, bob, carol } = await cast();
    const root = mintToken(alice, { service: 'storage' });
    const d1 = await delegate(alice, root.id, bob.did, {});
    await receiveSignedDelegation(bob, d1.text, TrustedKey(alice.did));
    const d2 = await delegate(bob, d1.hash, carol.did, {});
    await importRevocation(alice, (await revoke(bob, { token: root.id, delegation: d1.hash })).text);
    expect(await verifyRequest(alice, d1.text, read)).toEqual({ allowed: true });
    await importRevocation(alice, (await revoke(bob, { token: root.id, delegation: d2.hash })).text);
    expect(await verifyRequest(alice, d2.text, read)).toMatchObject({ code: 'E_REVOKED' });
    expect(await verifyRequest(alice, d1.text, read)).toEqual({ allowed: true });
  });

  it('trips a channel instantly for every verifier that learns of the trip', async () => {
    const { alice, bob } = await cast();
    const root = mintToken(alice, { service: 'storage', channel: true });
    const d = await delegate(alice, root.id, bob.did, { channel: true });
    await receiveSignedDelegation(bob, d.text, TrustedKey(alice.did));
    expect(await verifyRequest(alice, d.text, read)).toEqual({ allowed: true });
    const trip = await tripChannel(alice, d.channel!);
    expect(await verifyRequest(alice, d.text, read)).toMatchObject({ code: 'E_REVOKED' });
    await importRevocation(bob, trip.text);
    expect(await codeOf(receiveSignedDelegation(bob, d.text, TrustedKey(alice.did)))).toBe('E_REVOKED');
  });

  it('counts a channel no one enrolled as revoked (PITFALLS 9)', async () => {
    const { alice } = await cast();
    const root = mintToken(alice, { service: 'storage', channel: true });
    // Alice enrolled the channel when she minted; a verifier that never saw it enrolled refuses it.
    expect(() => checkRevocation(alice.revocation, root.token, [], { maxStaleness: 0 })).not.toThrow();
    expect(() => checkRevocation(emptyRevocationState(), root.token, [], { maxStaleness: 0 })).toThrow(
      expect.objectContaining({ code: 'E_REVOKED' }),
    );
  });

  it('refuses a channel trip by anyone but the channel owner', async () => {
    const { alice, mallory } = await cast();
    const root = mintToken(alice, { service: 'storage', channel: true });
    expect(await codeOf(tripChannel(mallory, root.channel!))).toBe('E_NOT_FOUND');
  });

  it('makes delegations stale after an epoch bump, within max staleness', async () => {
    const { alice, bob } = await cast({ maxStaleness: 1 });
    const root = mintToken(alice, { service: 'storage' });
    const d = await delegate(alice, root.id, bob.did, {});
    await bumpEpoch(alice);
    expect(await verifyRequest(alice, d.text, read)).toEqual({ allowed: true });
    const rec = await bumpEpoch(alice);
    expect(await verifyRequest(alice, d.text, read)).toMatchObject({ code: 'E_STALE_EPOCH' });
    await importRevocation(bob, rec.text);
    expect(await codeOf(receiveSignedDelegation(bob, d.text, TrustedKey(alice.did)))).toBe('E_STALE_EPOCH');
    const fresh = await delegate(alice, root.id, bob.did, {});
    expect(await verifyRequest(alice, fresh.text, read)).toEqual({ allowed: true });
  });

  it('records are signed data: they round-trip, and a tampered one is refused', async () => {
    const { alice, bob } = await cast();
    const rec = await bumpEpoch(alice);
    expect(revocationFromText(rec.text)).toEqual(rec.record);
    const bytes = encodeRevocation(rec.record);
    await expectEveryFlipRefused(bytes, async (b) => {
      await verifyRevocation(decodeRevocation(b), bob.ed);
      return true;
    });
  });
});

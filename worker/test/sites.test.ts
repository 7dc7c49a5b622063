import { createAgent, DreggError, delegate, manualClock, mintToken, type Store } from '@cipherclerk/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../core/test/caps/fixtures.ts';
import type { LightNodeApi } from '../src/node/api.ts';
import { checkInvocation, invocationFromJson } from '../src/node/invocation.ts';
import { checkOrigin } from '../src/node/sites.ts';
import { CHEAP_KDF, freshStore, lightNode, newWallet, PASS } from './wallets.ts';

const START = Date.UTC(2030, 0, 1);
const A = 'https://a.example';
const B = 'http://localhost:8080';

async function unlocked(store: Store, clock = manualClock(START)) {
  const { node: n, did, mnemonic } = await newWallet({ store, clock });
  return { n, did, mnemonic };
}

/** A service that mints `storage` and delegates it to the person, who accepts and grants `site`. */
async function granted(n: LightNodeApi, person: string, site: string, clock = manualClock(START)) {
  const service = await createAgent({ clock, kdf: CHEAP_KDF });
  const root = mintToken(service, { service: 'storage', actions: ['read', 'write'], budget: 100 });
  const toPerson = await delegate(service, root.id, person);
  const held = await n.accept(toPerson.text, service.did);
  const toSite = await n.delegate({ from: held.hash, recipient: site, actions: ['read'], budget: 10 });
  return { service, text: toSite.text };
}

describe('site sessions', () => {
  it('gives each origin its own stable DID, unlike the person’s, and a new one after forgetSite', async () => {
    const store = await freshStore();
    const { n, did } = await unlocked(store);
    const a = (await n.siteSession(A)).did;
    const b = (await n.siteSession(B)).did;
    expect(new Set([did, a, b]).size).toBe(3);
    expect((await n.siteSession(A)).did).toBe(a);
    // Across a restart of the worker (new node on the same store), after unlocking again.
    const again = await lightNode(store, { clock: manualClock(START) });
    expect(await codeOf(again.siteSession(A))).toBe('E_LOCKED');
    await again.unlock(PASS);
    expect((await again.siteSession(A)).did).toBe(a);
    await again.forgetSite(A);
    const fresh = (await again.siteSession(A)).did;
    expect(fresh).not.toBe(a);
    expect((await again.siteSession(B)).did).toBe(b);
  });

  it('refuses anything that is not a serialized web origin', () => {
    for (const bad of [
      '',
      'a.example',
      'https://a.example/',
      'https://a.example/path',
      'chrome-extension://x',
      'ftp://a.b',
      7,
    ])
      expect(() => checkOrigin(bad)).toThrow(DreggError);
    expect(checkOrigin('http://127.0.0.1:5173')).toBe('http://127.0.0.1:5173');
  });
});

describe('site invocations', () => {
  it('are signed in the worker with the site key and checked by the service, budget metered', async () => {
    const store = await freshStore();
    const clock = manualClock(START);
    const { n, did } = await unlocked(store, clock);
    const site = (await n.siteSession(A)).did;
    const { service, text } = await granted(n, did, site, clock);
    const seen = new Set<string>();

    const first = await n.invokeForSite(A, text, { service: 'storage', action: 'read', cost: 6 });
    expect(first.holder).toBe(site);
    expect(await checkInvocation(service, first, seen)).toEqual({ allowed: true });
    // The same invocation again: a replay.
    expect(await checkInvocation(service, first, seen)).toMatchObject({ allowed: false, code: 'E_REPLAYED' });
    // 6 + 6 > 10: the narrowed budget holds at the service.
    const second = await n.invokeForSite(A, text, { service: 'storage', action: 'read', cost: 6 });
    expect(await checkInvocation(service, second, seen)).toMatchObject({ allowed: false, code: 'E_BUDGET' });
    const write = await n.invokeForSite(A, text, { service: 'storage', action: 'write', cost: 0 });
    expect(await checkInvocation(service, write, seen)).toMatchObject({ allowed: false, code: 'E_DENIED' });
  });

  it('refuse a tampered request, another site’s key, and a stale signature', async () => {
    const store = await freshStore();
    const clock = manualClock(START);
    const { n, did } = await unlocked(store, clock);
    const site = (await n.siteSession(A)).did;
    const { service, text } = await granted(n, did, site, clock);
    const seen = new Set<string>();
    const inv = await n.invokeForSite(A, text, { service: 'storage', action: 'read', cost: 1 });
    expect(await checkInvocation(service, { ...inv, cost: 0 }, seen)).toMatchObject({
      code: 'E_BAD_SIGNATURE',
    });
    // Site B cannot use A's grant: the worker refuses to sign it with B's key.
    expect(await codeOf(n.invokeForSite(B, text, { service: 'storage', action: 'read', cost: 1 }))).toBe(
      'E_AUDIENCE',
    );
    // Nor can anyone claim to be A's session with another key.
    const otherSite = (await n.siteSession(B)).did;
    const forged = { ...inv, holder: otherSite };
    expect(await checkInvocation(service, forged, seen)).toMatchObject({ code: 'E_BAD_SIGNATURE' });
    clock.advance(10 * 60_000);
    expect(await checkInvocation(service, inv, seen)).toMatchObject({ code: 'E_EXPIRED' });
  });

  it('are refused while locked', async () => {
    const store = await freshStore();
    const { n, did } = await unlocked(store);
    const site = (await n.siteSession(A)).did;
    const { text } = await granted(n, did, site);
    await n.lock();
    expect(await codeOf(n.invokeForSite(A, text, { service: 'storage', action: 'read', cost: 1 }))).toBe(
      'E_LOCKED',
    );
  });

  it('decode outside input only into DreggErrors', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          invocationFromJson(v);
        } catch (e) {
          expect(e).toBeInstanceOf(DreggError);
        }
      }),
    );
    const shaped = fc.record({
      v: fc.constantFrom(1, 2),
      capability: fc.string(),
      service: fc.string(),
      action: fc.string(),
      cost: fc.oneof(fc.integer(), fc.double()),
      holder: fc.string(),
      at: fc.integer(),
      nonce: fc.string(),
      signature: fc.string(),
    });
    fc.assert(
      fc.property(shaped, (v) => {
        expect(() => invocationFromJson(v)).toThrow(DreggError);
      }),
    );
  });
});

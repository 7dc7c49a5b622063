import { isDreggError, manualClock, type Store } from '@cipherclerk/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../core/test/caps/fixtures.ts';
import type { LightNodeApi, NodeEvent } from '../src/node/api.ts';
import { errorFromWire, errorToWire, guarded } from '../src/node/errors.ts';
import { createLightNode, type LightNodeOptions } from '../src/node/light-node.ts';
import { CHEAP_KDF, freshStore, PASS } from './wallets.ts';

const START = Date.UTC(2030, 0, 1);

/** A manual auto-lock timer: `fire()` runs what is due, as if the delay had passed. */
function manualTimer() {
  let due: (() => void) | undefined;
  return {
    schedule: (_ms: number, run: () => void) => {
      due = run;
      return () => {
        if (due === run) due = undefined;
      };
    },
    armed: () => due !== undefined,
    fire: () => due?.(),
  };
}

async function node(store: Store, extra: Partial<LightNodeOptions> = {}): Promise<LightNodeApi> {
  return createLightNode({ store, kdf: CHEAP_KDF, clock: manualClock(START), ...extra });
}

async function created(n: LightNodeApi): Promise<string> {
  const c = await n.create(PASS);
  const words = c.mnemonic.split(' ');
  await n.confirm(c.confirm.map((i) => words[i]!));
  return c.mnemonic;
}

describe('onboarding', () => {
  it('stores nothing until the asked-for words come back right', async () => {
    const store = await freshStore();
    const n = await node(store);
    const c = await n.create(PASS);
    expect([12, 24]).toContain(c.mnemonic.split(' ').length);
    expect(c.confirm).toHaveLength(3);
    expect(new Set(c.confirm).size).toBe(3);
    expect((await n.overview()).status).toBe('empty');
    expect(await (await node(store)).overview()).toMatchObject({ status: 'empty', did: null });

    const words = c.mnemonic.split(' ');
    const wrong = c.confirm.map((i) => words[i]!);
    wrong[1] = wrong[1] === 'zoo' ? 'abandon' : 'zoo';
    expect(await codeOf(n.confirm(wrong))).toBe('E_ARGUMENT');
    expect((await n.overview()).status).toBe('empty');

    const ok = await n.confirm(c.confirm.map((i) => ` ${words[i]!.toUpperCase()} `));
    expect(ok).toMatchObject({ status: 'unlocked', did: c.did });
  });

  it('refuses a short unlock passphrase', async () => {
    const n = await node(await freshStore());
    expect(await codeOf(n.create('short'))).toBe('E_ARGUMENT');
  });

  it('never overwrites a stored identity', async () => {
    const n = await node(await freshStore());
    const words = await created(n);
    expect(await codeOf(n.create(PASS))).toBe('E_EXISTS');
    expect(await codeOf(n.restore(words, PASS))).toBe('E_EXISTS');
  });

  it('restoring the same words finds the same DID, whatever the unlock passphrase', async () => {
    const a = await node(await freshStore());
    const words = await created(a);
    const b = await node(await freshStore());
    const restored = await b.restore(words, 'another passphrase');
    expect(restored.did).toBe((await a.overview()).did);
    const c = await node(await freshStore());
    expect(await codeOf(c.restore('not a mnemonic at all', PASS))).toMatch(/^E_(DECODE|INVALID|ARGUMENT)$/);
  });
});

describe('lock and unlock', () => {
  it('a new node on the same store (a reload) starts locked and needs the passphrase', async () => {
    const store = await freshStore();
    const first = await node(store);
    await created(first);
    const did = (await first.overview()).did;

    const reloaded = await node(store);
    expect(await reloaded.overview()).toMatchObject({ status: 'locked', did });
    expect(await codeOf(reloaded.identity())).toBe('E_LOCKED');
    expect(await codeOf(reloaded.unlock('wrong passphrase'))).toBe('E_LOCKED');
    expect(await reloaded.unlock(PASS)).toMatchObject({ status: 'unlocked', did });
    expect((await reloaded.identity()).did).toBe(did);

    await reloaded.lock();
    expect(await codeOf(reloaded.capabilities())).toBe('E_LOCKED');
  });

  it('locks itself after the configured inactivity, and activity postpones it', async () => {
    const timer = manualTimer();
    const n = await node(await freshStore(), { schedule: timer.schedule });
    const events: NodeEvent[] = [];
    await n.subscribe((e) => events.push(e));
    await created(n);
    expect(timer.armed()).toBe(true);

    await n.setAutoLock(0);
    expect(timer.armed()).toBe(false);
    await n.setAutoLock(2);
    await n.touch();
    expect(timer.armed()).toBe(true);
    timer.fire();
    expect((await n.overview()).status).toBe('locked');
    expect(events).toContainEqual({ type: 'status', status: 'locked', reason: 'idle' });
    expect(await codeOf(n.setAutoLock(-1))).toBe('E_ARGUMENT');
  });

  it('keeps the auto-lock setting across reloads', async () => {
    const store = await freshStore();
    await (await node(store)).setAutoLock(15);
    expect((await (await node(store)).overview()).autoLockMinutes).toBe(15);
  });
});

describe('capabilities between two nodes', () => {
  async function pair() {
    const clock = manualClock(START);
    const alice = await node(await freshStore(), { clock });
    const bob = await node(await freshStore(), { clock });
    const aliceWords = await created(alice);
    const bobWords = await created(bob);
    const aliceDid = (await alice.overview()).did!;
    const bobDid = (await bob.overview()).did!;
    return { clock, alice, bob, aliceDid, bobDid, aliceWords, bobWords };
  }

  it('delegates read with a budget and TTL, is inspected and accepted, and is enforced by the service', async () => {
    const { alice, bob, aliceDid, bobDid } = await pair();
    const token = await alice.mint({ service: 'storage', actions: ['read', 'write'] });
    expect(token.inspection.effective.actions).toEqual(['read', 'write']);

    const d = await alice.delegate({
      from: token.id,
      recipient: bobDid,
      actions: ['read'],
      budget: 2,
      ttl: 3600,
    });
    expect(d).toMatchObject({ from: aliceDid, to: bobDid, tokenId: token.id, status: { state: 'valid' } });
    expect(d.text.startsWith('ccdel_')).toBe(true);

    const seen = await bob.inspect(d.text);
    expect(seen.issuer).toBe(aliceDid);
    expect(seen.holder).toBe(bobDid);
    expect(seen.effective).toMatchObject({ actions: ['read'], services: ['storage'], budget: 2 });
    expect(seen.effective.expiry).toBe(START / 1000 + 3600);
    expect(seen.caveats.map((c) => c.words).join('\n')).toContain('only these actions: read');

    expect(await codeOf(bob.accept(d.text, bobDid))).toBe('E_UNTRUSTED');
    const held = await bob.accept(d.text, aliceDid);
    expect(held.hash).toBe(d.hash);
    const caps = await bob.capabilities();
    expect(caps.held.map((h) => h.hash)).toEqual([d.hash]);

    expect(await alice.verify(held.text, { service: 'storage', action: 'read', cost: 1 })).toEqual({
      allowed: true,
    });
    expect(await alice.verify(held.text, { service: 'storage', action: 'write' })).toMatchObject({
      allowed: false,
      code: 'E_DENIED',
    });
    expect(await alice.verify(held.text, { service: 'storage', action: 'read', cost: 2 })).toMatchObject({
      allowed: false,
      code: 'E_BUDGET',
    });
  });

  it('draws the delegation graph from the minted token down to the holder', async () => {
    const { alice, bob, bobDid, aliceDid } = await pair();
    const token = await alice.mint({ service: 'storage', actions: ['read'] });
    const d = await alice.delegate({ from: token.id, recipient: bobDid });
    await bob.accept(d.text, aliceDid);
    expect((await alice.capabilities()).tree).toEqual([
      expect.objectContaining({ id: token.id, parent: null, kind: 'token', mine: 'minted' }),
      expect.objectContaining({
        id: d.hash,
        parent: token.id,
        kind: 'delegation',
        mine: 'issued',
        to: bobDid,
      }),
    ]);
    expect((await bob.capabilities()).tree).toEqual([
      expect.objectContaining({ id: token.id, parent: null, mine: 'upstream', from: aliceDid }),
      expect.objectContaining({ id: d.hash, parent: token.id, mine: 'held', state: 'valid' }),
    ]);
  });

  it('refuses a delegation wider than what is held', async () => {
    const { alice, bobDid } = await pair();
    const token = await alice.mint({ service: 'storage', actions: ['read'] });
    expect(await codeOf(alice.delegate({ from: token.id, recipient: bobDid, actions: ['write'] }))).toBe(
      'E_WIDENING',
    );
  });

  it('a revoked delegation is refused by the service and shown revoked, across a reload', async () => {
    const store = await freshStore();
    const alice = await node(store);
    await created(alice);
    const { bobDid } = await pair();
    const token = await alice.mint({ service: 'storage', actions: ['read'] });
    const d = await alice.delegate({ from: token.id, recipient: bobDid, ttl: 600 });
    const revoked = await alice.revoke(d.hash);
    expect(revoked.status).toMatchObject({ state: 'revoked', code: 'E_REVOKED' });
    expect(await alice.verify(d.text, { service: 'storage', action: 'read' })).toMatchObject({
      allowed: false,
      code: 'E_REVOKED',
    });
    const reloaded = await node(store);
    await reloaded.unlock(PASS);
    expect((await reloaded.capabilities()).issued[0]!.status.state).toBe('revoked');
    expect((await reloaded.capabilities()).minted.map((m) => m.id)).toEqual([token.id]);
    expect(await codeOf(alice.revoke('00'.repeat(32)))).toBe('E_NOT_FOUND');
  });

  it('shows a delegation as expired once its TTL has passed', async () => {
    const { clock, alice, bob, aliceDid, bobDid } = await pair();
    const token = await alice.mint({ service: 'storage' });
    const d = await alice.delegate({ from: token.id, recipient: bobDid, ttl: 60 });
    await bob.accept(d.text, aliceDid);
    clock.advance(61_000);
    expect((await bob.capabilities()).held[0]!.status).toMatchObject({ state: 'expired', code: 'E_EXPIRED' });
  });

  it('never hands out a seed, a root key or the words after creation', async () => {
    const { alice, bob, aliceDid, bobDid, aliceWords } = await pair();
    const token = await alice.mint({ service: 'storage', actions: ['read'] });
    const d = await alice.delegate({ from: token.id, recipient: bobDid });
    const out = JSON.stringify([
      await alice.overview(),
      await alice.identity(),
      token,
      d,
      await bob.accept(d.text, aliceDid),
      await alice.capabilities(),
    ]);
    // The words, in order, and any four consecutive of them, appear nowhere.
    const words = aliceWords.split(' ');
    for (let i = 0; i + 4 <= words.length; i++) expect(out).not.toContain(words.slice(i, i + 4).join(' '));
    // Nor does any token text (which carries the HMAC tag derived from the root key).
    expect(out).not.toContain('cctok_');
  });
});

describe('outside input', () => {
  it('a pasted or scanned text fails only with a DreggError', async () => {
    const n = await node(await freshStore());
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.string().map((s) => `ccdel_${s}`),
          fc.string().map((s) => `cctok_${s}`),
        ),
        async (text) => {
          try {
            await n.inspect(text);
          } catch (e) {
            expect(isDreggError(e)).toBe(true);
          }
        },
      ),
      { numRuns: 200 },
    );
    expect(await codeOf(n.inspect('x'.repeat(70_000)))).toBe('E_TOO_LARGE');
  });

  it('errors cross the worker boundary with their code, and foreign errors leak nothing', async () => {
    const ready = node(await freshStore());
    const exposed = guarded(ready);
    let thrown: unknown;
    try {
      await exposed.unlock(PASS);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toEqual({ code: 'E_NOT_FOUND', message: expect.any(String) });
    expect(errorFromWire(thrown).code).toBe('E_NOT_FOUND');
    expect(errorToWire(new Error('seed 1234 leaked'))).toEqual({
      code: 'E_INTERNAL',
      message: expect.not.stringContaining('1234'),
    });
    expect(errorFromWire({ code: 'E_NOPE', message: 'x' }).code).toBe('E_INTERNAL');
  });

  it('without a network, connecting is refused with a code', async () => {
    const n = await node(await freshStore());
    expect(await codeOf(n.connect(['/ip4/127.0.0.1/tcp/1/ws']))).toBe('E_UNSUPPORTED');
  });
});

import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import {
  createAgent,
  delegate,
  identityFromMnemonic,
  receiveSignedDelegation,
  TrustedKey,
} from '../../core/src/index.ts';
import { type Served, serveBundle } from './serve.ts';

// BIP39 reference vector (trezor/python-mnemonic, english, 24 words).
const WORDS =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art';

type Core = typeof import('../../core/src/index.ts');
declare global {
  interface Window {
    core: Core;
  }
}

let served: Served;
test.beforeAll(async () => {
  served = await serveBundle(join(import.meta.dirname, '..', 'fixtures', 'core-entry.ts'));
});
test.afterAll(async () => served.close());

test.beforeEach(async ({ page }) => {
  await page.goto(served.url);
  await page.evaluate(async () => {
    window.core = await import('/bundle.js' as string);
  });
});

test('the same words give the same identity in Chromium and in Node', async ({ page }) => {
  for (const bip39Passphrase of ['', 'TREZOR']) {
    const inBrowser = await page.evaluate(
      ([w, p]) => window.core.identityFromMnemonic(w, { bip39Passphrase: p }).did,
      [WORDS, bip39Passphrase] as const,
    );
    expect(inBrowser).toBe(identityFromMnemonic(WORDS, { bip39Passphrase }).did);
  }
});

test('a delegation signed in Chromium is accepted in Node, and one signed in Node is honoured in Chromium', async ({
  page,
}) => {
  const bob = await createAgent();
  const carol = await createAgent();
  // Alice lives in the browser: she mints and delegates to Bob with the browser's Ed25519.
  const fromBrowser = await page.evaluate(
    async ([words, bobDid]) => {
      const c = window.core;
      const alice = await c.createAgent({ mnemonic: words });
      const root = c.mintToken(alice, { service: 'storage', actions: ['read', 'write'] });
      const d = await c.delegate(alice, root.id, bobDid, { actions: ['read'], maxBudget: 100 });
      (window as unknown as { alice: unknown }).alice = alice;
      return { did: alice.did, text: d.text, hash: d.hash, ed: alice.ed.name };
    },
    [WORDS, bob.did] as const,
  );
  expect(fromBrowser.did).toBe(identityFromMnemonic(WORDS).did);
  const held = await receiveSignedDelegation(bob, fromBrowser.text, TrustedKey(fromBrowser.did));
  expect(held.id).toBe(fromBrowser.hash);

  // Bob (Node) re-delegates to Carol; Alice's service (in the browser) honours Carol's request.
  const d2 = await delegate(bob, held.id, carol.did, { maxBudget: 10 });
  const decision = await page.evaluate(
    async ([text]) => {
      const alice = (window as unknown as { alice: Parameters<Core['verifyRequest']>[0] }).alice;
      const ok = await window.core.verifyRequest(alice, text, {
        service: 'storage',
        action: 'read',
        cost: 10,
      });
      const wide = await window.core.verifyRequest(alice, text, { service: 'storage', action: 'write' });
      return { ok, wide };
    },
    [d2.text] as const,
  );
  expect(decision.ok).toEqual({ allowed: true });
  expect(decision.wide).toMatchObject({ allowed: false, code: 'E_DENIED' });
});

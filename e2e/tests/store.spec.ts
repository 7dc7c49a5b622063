/**
 * The Store conformance suite (core/test/store/conformance-cases.ts, the very cases the unit tests run
 * on fake-indexeddb and SQLite) against Chromium's real IndexedDB, one case per step, each reported by
 * name; plus what only a real browser can show: committed data outlives the page that wrote it.
 */
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { conformanceCases } from '../../core/test/store/conformance-cases.ts';
import type { CaseResult } from '../fixtures/store-entry.ts';
import { type Served, serveBundle } from './serve.ts';

type StoreEntry = typeof import('../fixtures/store-entry.ts');
declare global {
  interface Window {
    storeEntry: StoreEntry;
  }
}

let served: Served;
test.beforeAll(async () => {
  served = await serveBundle(join(import.meta.dirname, '..', 'fixtures', 'store-entry.ts'));
});
test.afterAll(async () => served.close());

async function load(page: import('@playwright/test').Page): Promise<void> {
  await page.goto(served.url);
  await page.evaluate(async () => {
    window.storeEntry = await import('/bundle.js' as string);
  });
}

test.beforeEach(async ({ page }) => load(page));

test('every Store conformance case passes against the real IndexedDB in Chromium', async ({ page }) => {
  const defined = conformanceCases.map((c) => c.name);
  test.setTimeout(60_000 + conformanceCases.reduce((t, c) => t + (c.timeoutMs ?? 10_000), 0));
  expect(defined.length, 'the conformance suite defines cases').toBeGreaterThan(0);
  // The bundle holds exactly the cases Node sees (a stale or empty bundle fails here).
  expect(await page.evaluate(() => window.storeEntry.caseNames)).toEqual(defined);

  const results: CaseResult[] = [];
  for (const name of defined) {
    await test.step(name, async () => {
      const r = await page.evaluate((n) => window.storeEntry.runCase(n), name);
      results.push(r);
      const line = `${r.ok ? 'pass' : 'FAIL'} ${r.name} (${Math.round(r.ms)} ms)${r.error ? `: ${r.error}` : ''}`;
      test.info().annotations.push({ type: 'store conformance (Chromium IndexedDB)', description: line });
      console.log(`store conformance (Chromium IndexedDB): ${line}`);
      expect.soft(r, name).toEqual({ name, ok: true, ms: r.ms });
    });
  }
  expect(
    results.map((r) => r.name),
    'every defined case ran, once, in order',
  ).toEqual(defined);
  expect(results.filter((r) => !r.ok)).toEqual([]);
});

test('committed writes outlive the page; a batch with an invalid write leaves nothing, also after reload', async ({
  page,
}) => {
  const db = `reload-${Date.now()}`;
  const code = await page.evaluate(async (name) => {
    const store = await window.storeEntry.openIndexedDbStore(name, { collections: ['cells', 'receipts'] });
    await store.transact([
      { op: 'put', collection: 'cells', key: 'a', value: new Uint8Array([1, 2, 3]) },
      { op: 'put', collection: 'receipts', key: 'r', value: new Uint8Array([4]) },
    ]);
    // Not closed: a resolved transact must already be committed when the page goes away.
    return store
      .transact([
        { op: 'put', collection: 'cells', key: 'b', value: new Uint8Array([5]) },
        { op: 'delete', collection: 'cells', key: 'a' },
        { op: 'put', collection: 'cells', key: 'c', value: 'not bytes' as unknown as Uint8Array },
      ])
      .then(
        () => 'committed',
        (e: { code?: string }) => e.code,
      );
  }, db);
  expect(code).toBe('E_INVALID');

  await page.reload();
  await load(page);
  const after = await page.evaluate(async (name) => {
    const store = await window.storeEntry.openIndexedDbStore(name, { collections: ['cells', 'receipts'] });
    const dump = async (c: string) => (await store.list(c)).map((e) => [e.key, [...e.value]]);
    const out = { cells: await dump('cells'), receipts: await dump('receipts') };
    await store.close();
    return out;
  }, db);
  expect(after).toEqual({ cells: [['a', [1, 2, 3]]], receipts: [['r', [4]]] });
});

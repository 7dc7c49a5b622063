/**
 * One conformance suite for every `Store` backend. `makeLocation` returns a fresh, empty location
 * (an IndexedDB name, a SQLite file) whose `open` may be called again after `close` to reopen it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '../../src/encoding/cbor.ts';
import { DreggError } from '../../src/errors.ts';
import type { Store, Write } from '../../src/store/store.ts';

export interface StoreLocation {
  open(collections: readonly string[]): Promise<Store>;
}

const COLLECTIONS = ['cells', 'receipts'] as const;
const bytes = (n: number) => encodeCbor(n);

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DreggError);
  expect((e as DreggError).code).toBe(code);
}

async function contents(store: Store): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const c of COLLECTIONS) {
    out[c] = {};
    for (const { key, value } of await store.list(c)) out[c][key] = Buffer.from(value).toString('hex');
  }
  return out;
}

export function storeConformance(name: string, makeLocation: () => Promise<StoreLocation>): void {
  describe(`Store conformance: ${name}`, () => {
    async function fresh(): Promise<{ store: Store; location: StoreLocation }> {
      const location = await makeLocation();
      return { store: await location.open(COLLECTIONS), location };
    }

    it('get, put, overwrite, delete', async () => {
      const { store } = await fresh();
      expect(await store.get('cells', 'a')).toBeUndefined();
      await store.transact([{ op: 'put', collection: 'cells', key: 'a', value: bytes(1) }]);
      expect(await store.get('cells', 'a')).toEqual(bytes(1));
      expect(await store.get('receipts', 'a')).toBeUndefined(); // collections are separate
      await store.transact([{ op: 'put', collection: 'cells', key: 'a', value: bytes(2) }]);
      expect(await store.get('cells', 'a')).toEqual(bytes(2));
      await store.transact([{ op: 'delete', collection: 'cells', key: 'a' }]);
      expect(await store.get('cells', 'a')).toBeUndefined();
      await store.transact([{ op: 'delete', collection: 'cells', key: 'never' }]); // deleting nothing is fine
      await store.transact([{ op: 'put', collection: 'cells', key: '', value: new Uint8Array() }]);
      expect(await store.get('cells', '')).toEqual(new Uint8Array());
      await store.close();
    });

    it('later writes of one batch win, in order', async () => {
      const { store } = await fresh();
      await store.transact([
        { op: 'put', collection: 'cells', key: 'k', value: bytes(1) },
        { op: 'delete', collection: 'cells', key: 'k' },
        { op: 'put', collection: 'cells', key: 'j', value: bytes(1) },
        { op: 'put', collection: 'cells', key: 'j', value: bytes(3) },
      ]);
      expect(await store.get('cells', 'k')).toBeUndefined();
      expect(await store.get('cells', 'j')).toEqual(bytes(3));
      await store.close();
    });

    it('list: key order (UTF-16 code units), prefix, limit', async () => {
      const { store } = await fresh();
      const keys = [
        'b',
        'a/2',
        'a/10',
        'a',
        'ab',
        'a/1',
        '\uffff',
        '\u{1f600}',
        '\ue000',
        'a\uffff',
        'b\u0000',
      ];
      await store.transact(keys.map((key, i) => ({ op: 'put', collection: 'cells', key, value: bytes(i) })));
      await store.transact([{ op: 'put', collection: 'receipts', key: 'a/0', value: bytes(99) }]);
      const sorted = [...keys].sort(); // JS sort = UTF-16 code unit order
      expect((await store.list('cells')).map((e) => e.key)).toEqual(sorted);
      expect((await store.list('cells', { prefix: 'a/' })).map((e) => e.key)).toEqual(['a/1', 'a/10', 'a/2']);
      expect((await store.list('cells', { prefix: 'a' })).map((e) => e.key)).toEqual(
        sorted.filter((k) => k.startsWith('a')),
      );
      expect((await store.list('cells', { prefix: '\uffff' })).map((e) => e.key)).toEqual(['\uffff']);
      expect((await store.list('cells', { prefix: 'zz' })).map((e) => e.key)).toEqual([]);
      expect((await store.list('cells', { prefix: 'a/', limit: 2 })).map((e) => e.key)).toEqual([
        'a/1',
        'a/10',
      ]);
      expect(await store.list('cells', { limit: 0 })).toEqual([]);
      const all = await store.list('cells');
      expect(all.find((e) => e.key === 'ab')?.value).toEqual(bytes(keys.indexOf('ab')));
      await expectCode(store.list('cells', { limit: -1 }), 'E_INVALID');
      await expectCode(store.list('cells', { limit: 1.5 }), 'E_INVALID');
      await store.close();
    });

    it('a failing write in the middle of a batch leaves nothing of it', async () => {
      const { store } = await fresh();
      await store.transact([{ op: 'put', collection: 'cells', key: 'keep', value: bytes(1) }]);
      const batch: Write[] = [
        { op: 'put', collection: 'cells', key: 'new', value: bytes(2) },
        { op: 'delete', collection: 'cells', key: 'keep' },
        { op: 'put', collection: 'receipts', key: 'r', value: bytes(3) },
        { op: 'put', collection: 'nope', key: 'x', value: bytes(4) },
        { op: 'put', collection: 'cells', key: 'after', value: bytes(5) },
      ];
      await expectCode(store.transact(batch), 'E_INVALID');
      const bad: Write[] = [
        { op: 'put', collection: 'cells', key: 'new', value: bytes(2) },
        { op: 'put', collection: 'cells', key: 'x', value: 'not bytes' as unknown as Uint8Array },
      ];
      await expectCode(store.transact(bad), 'E_INVALID');
      expect(await contents(store)).toEqual({
        cells: { keep: Buffer.from(bytes(1)).toString('hex') },
        receipts: {},
      });
      // The store still works after a failed batch.
      await store.transact([{ op: 'put', collection: 'cells', key: 'new', value: bytes(2) }]);
      expect(await store.get('cells', 'new')).toEqual(bytes(2));
      await store.close();
    });

    it('unknown collections and bad keys are E_INVALID; a closed store is E_IO', async () => {
      const { store } = await fresh();
      await expectCode(store.get('nope', 'a'), 'E_INVALID');
      await expectCode(store.list('nope'), 'E_INVALID');
      await expectCode(store.get('cells', 1 as unknown as string), 'E_INVALID');
      await store.close();
      await store.close();
      await expectCode(store.get('cells', 'a'), 'E_IO');
      await expectCode(store.list('cells'), 'E_IO');
      await expectCode(store.transact([{ op: 'delete', collection: 'cells', key: 'a' }]), 'E_IO');
    });

    it('data survives close and reopen', async () => {
      const { store, location } = await fresh();
      await store.transact([
        { op: 'put', collection: 'cells', key: 'a', value: bytes(1) },
        { op: 'put', collection: 'receipts', key: 'b', value: bytes(2) },
        { op: 'put', collection: 'cells', key: 'gone', value: bytes(3) },
      ]);
      await store.transact([{ op: 'delete', collection: 'cells', key: 'gone' }]);
      const before = await contents(store);
      await store.close();
      const again = await location.open(COLLECTIONS);
      expect(await contents(again)).toEqual(before);
      expect(await again.get('cells', 'a')).toEqual(bytes(1));
      await again.close();
      // Reopening with one more collection keeps the data and adds the collection.
      const wider = await location.open([...COLLECTIONS, 'inbox']);
      expect(await wider.get('receipts', 'b')).toEqual(bytes(2));
      await wider.transact([{ op: 'put', collection: 'inbox', key: 'm', value: bytes(4) }]);
      expect(await wider.get('inbox', 'm')).toEqual(bytes(4));
      await wider.close();
    });

    it('values are independent copies, in and out, of exactly their bytes', async () => {
      const { store } = await fresh();
      const backing = new Uint8Array([9, 1, 2, 3, 9]);
      const value = backing.subarray(1, 4);
      await store.transact([{ op: 'put', collection: 'cells', key: 'a', value }]);
      value[0] = 42;
      const got = await store.get('cells', 'a');
      expect(got).toEqual(new Uint8Array([1, 2, 3]));
      expect(got?.byteLength).toBe(3);
      got![1] = 42;
      expect(await store.get('cells', 'a')).toEqual(new Uint8Array([1, 2, 3]));
      const [listed] = await store.list('cells');
      listed!.value[2] = 42;
      expect(await store.get('cells', 'a')).toEqual(new Uint8Array([1, 2, 3]));
      await store.close();
    });

    it('property: random transactions give the same contents as an in-memory model', async () => {
      const keyArb = fc.oneof(
        fc.constantFrom('a', 'ab', 'b', 'a/1', 'a/2', ''),
        fc.string({ unit: 'binary', maxLength: 4 }),
      );
      const writeArb: fc.Arbitrary<Write> = fc.oneof(
        fc.record({
          op: fc.constant('put' as const),
          collection: fc.constantFrom(...COLLECTIONS),
          key: keyArb,
          value: fc.uint8Array({ maxLength: 8 }),
        }),
        fc.record({
          op: fc.constant('delete' as const),
          collection: fc.constantFrom(...COLLECTIONS),
          key: keyArb,
        }),
      );
      // A batch may end up invalid (an unknown collection somewhere): then the model is unchanged.
      const batchArb = fc.record({
        writes: fc.array(writeArb, { maxLength: 6 }),
        poison: fc.option(fc.nat(6), { nil: undefined }),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(batchArb, { maxLength: 8 }), keyArb, async (batches, prefix) => {
          const { store } = await fresh();
          const model: Record<string, Map<string, Uint8Array>> = { cells: new Map(), receipts: new Map() };
          try {
            for (const { writes, poison } of batches) {
              const batch = [...writes];
              if (poison !== undefined) {
                batch.splice(Math.min(poison, batch.length), 0, {
                  op: 'delete',
                  collection: 'nope',
                  key: 'x',
                });
                await expectCode(store.transact(batch), 'E_INVALID');
                continue;
              }
              await store.transact(batch);
              for (const w of batch) {
                if (w.op === 'put') model[w.collection]!.set(w.key, w.value);
                else model[w.collection]!.delete(w.key);
              }
            }
            for (const c of COLLECTIONS) {
              const expected = [...model[c]!.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
              const got = await store.list(c);
              expect(got.map((e) => [e.key, [...e.value]])).toEqual(expected.map(([k, v]) => [k, [...v]]));
              const withPrefix = await store.list(c, { prefix });
              expect(withPrefix.map((e) => e.key)).toEqual(
                expected.map(([k]) => k).filter((k) => k.startsWith(prefix)),
              );
              for (const [k, v] of expected) expect(await store.get(c, k)).toEqual(v);
            }
          } finally {
            await store.close();
          }
        }),
        { numRuns: 40 },
      );
    }, 60_000);
  });
}

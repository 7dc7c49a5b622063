/**
 * The `Store` conformance checks, free of any test framework and of Node built-ins, so that the same
 * cases run in Vitest (`./conformance.ts`: IndexedDB via fake-indexeddb, SQLite) and in a real browser
 * page (`e2e/tests/store.spec.ts`: Chromium's own IndexedDB). A case throws on the first failed check.
 *
 * `fresh()` returns a newly opened store over a fresh, empty location (an IndexedDB name, a SQLite
 * file) together with that location, whose `open` may be called again after `close` to reopen it.
 */
import fc from 'fast-check';
import { encodeCbor } from '../../src/encoding/cbor.ts';
import { DreggError } from '../../src/errors.ts';
import type { Store, Write } from '../../src/store/store.ts';

export interface StoreLocation {
  open(collections: readonly string[]): Promise<Store>;
}

export interface Fresh {
  store: Store;
  location: StoreLocation;
}

export interface ConformanceCase {
  readonly name: string;
  /** How long the case may take, when longer than a test runner's default. */
  readonly timeoutMs?: number;
  run(fresh: () => Promise<Fresh>): Promise<void>;
}

export const COLLECTIONS = ['cells', 'receipts'] as const;

/** Opens a fresh store over a location made by `makeLocation` with the collections the cases use. */
export function freshStore(makeLocation: () => Promise<StoreLocation>): () => Promise<Fresh> {
  return async () => {
    const location = await makeLocation();
    return { store: await location.open(COLLECTIONS), location };
  };
}

// ---- A tiny assert helper (no framework) ----

export class ConformanceFailure extends Error {
  override name = 'ConformanceFailure';
}

function show(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.constructor.name}[${hex(v)}]`;
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(show).join(', ')}]`;
  if (typeof v === 'object' && v !== null)
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}: ${show(x)}`)
      .join(', ')}}`;
  return String(v);
}

/**
 * Deep equality as strict as Vitest's `toEqual` for the values the cases compare: byte arrays must have
 * the same constructor and exactly the same bytes; arrays the same length and elements; plain objects
 * the same own keys and values; anything else `Object.is`.
 */
function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array)) return false;
    if (a.constructor !== b.constructor || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every(
    (k) =>
      Object.hasOwn(b, k) && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  );
}

export function assertEqual(actual: unknown, expected: unknown, what: string): void {
  if (!deepEqual(actual, expected))
    throw new ConformanceFailure(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

function assert(condition: boolean, what: string): asserts condition {
  if (!condition) throw new ConformanceFailure(what);
}

/** The promise must reject with a `DreggError` of exactly this code. */
async function assertCode(p: Promise<unknown>, code: string, what: string): Promise<void> {
  const outcome = await p.then(
    (value: unknown) => ({ rejected: false as const, value }),
    (err: unknown) => ({ rejected: true as const, err }),
  );
  if (!outcome.rejected) throw new ConformanceFailure(`${what}: expected ${code}, but it succeeded`);
  const e = outcome.err;
  if (!(e instanceof DreggError))
    throw new ConformanceFailure(`${what}: expected a DreggError ${code}, got ${String(e)}`);
  assertEqual(e.code, code, `${what}: error code`);
}

// ---- Helpers ----

const bytes = (n: number) => encodeCbor(n);

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

async function contents(store: Store): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const c of COLLECTIONS) {
    out[c] = {};
    for (const { key, value } of await store.list(c)) out[c][key] = hex(value);
  }
  return out;
}

const keysOf = async (p: Promise<{ key: string }[]>) => (await p).map((e) => e.key);

// ---- The cases, in order ----

export const conformanceCases: readonly ConformanceCase[] = Object.freeze([
  {
    name: 'get, put, overwrite, delete',
    async run(fresh) {
      const { store } = await fresh();
      assertEqual(await store.get('cells', 'a'), undefined, 'get before any put');
      await store.transact([{ op: 'put', collection: 'cells', key: 'a', value: bytes(1) }]);
      assertEqual(await store.get('cells', 'a'), bytes(1), 'get after put');
      assertEqual(await store.get('receipts', 'a'), undefined, 'collections are separate');
      await store.transact([{ op: 'put', collection: 'cells', key: 'a', value: bytes(2) }]);
      assertEqual(await store.get('cells', 'a'), bytes(2), 'get after overwrite');
      await store.transact([{ op: 'delete', collection: 'cells', key: 'a' }]);
      assertEqual(await store.get('cells', 'a'), undefined, 'get after delete');
      await store.transact([{ op: 'delete', collection: 'cells', key: 'never' }]); // deleting nothing is fine
      await store.transact([{ op: 'put', collection: 'cells', key: '', value: new Uint8Array() }]);
      assertEqual(await store.get('cells', ''), new Uint8Array(), 'empty key, empty value');
      await store.close();
    },
  },
  {
    name: 'later writes of one batch win, in order',
    async run(fresh) {
      const { store } = await fresh();
      await store.transact([
        { op: 'put', collection: 'cells', key: 'k', value: bytes(1) },
        { op: 'delete', collection: 'cells', key: 'k' },
        { op: 'put', collection: 'cells', key: 'j', value: bytes(1) },
        { op: 'put', collection: 'cells', key: 'j', value: bytes(3) },
      ]);
      assertEqual(await store.get('cells', 'k'), undefined, 'put then delete');
      assertEqual(await store.get('cells', 'j'), bytes(3), 'put then put');
      await store.close();
    },
  },
  {
    name: 'list: key order (UTF-16 code units), prefix, limit',
    async run(fresh) {
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
      assertEqual(await keysOf(store.list('cells')), sorted, 'list order');
      assertEqual(
        await keysOf(store.list('cells', { prefix: 'a/' })),
        ['a/1', 'a/10', 'a/2'],
        "list prefix 'a/'",
      );
      assertEqual(
        await keysOf(store.list('cells', { prefix: 'a' })),
        sorted.filter((k) => k.startsWith('a')),
        "list prefix 'a'",
      );
      assertEqual(await keysOf(store.list('cells', { prefix: '\uffff' })), ['\uffff'], 'list prefix U+FFFF');
      assertEqual(await keysOf(store.list('cells', { prefix: 'zz' })), [], "list prefix 'zz'");
      assertEqual(
        await keysOf(store.list('cells', { prefix: 'a/', limit: 2 })),
        ['a/1', 'a/10'],
        'list prefix and limit',
      );
      assertEqual(await store.list('cells', { limit: 0 }), [], 'list limit 0');
      const all = await store.list('cells');
      assertEqual(all.find((e) => e.key === 'ab')?.value, bytes(keys.indexOf('ab')), 'listed value');
      await assertCode(store.list('cells', { limit: -1 }), 'E_INVALID', 'list limit -1');
      await assertCode(store.list('cells', { limit: 1.5 }), 'E_INVALID', 'list limit 1.5');
      await store.close();
    },
  },
  {
    name: 'a failing write in the middle of a batch leaves nothing of it',
    async run(fresh) {
      const { store } = await fresh();
      await store.transact([{ op: 'put', collection: 'cells', key: 'keep', value: bytes(1) }]);
      const batch: Write[] = [
        { op: 'put', collection: 'cells', key: 'new', value: bytes(2) },
        { op: 'delete', collection: 'cells', key: 'keep' },
        { op: 'put', collection: 'receipts', key: 'r', value: bytes(3) },
        { op: 'put', collection: 'nope', key: 'x', value: bytes(4) },
        { op: 'put', collection: 'cells', key: 'after', value: bytes(5) },
      ];
      await assertCode(store.transact(batch), 'E_INVALID', 'batch with an unknown collection');
      const bad: Write[] = [
        { op: 'put', collection: 'cells', key: 'new', value: bytes(2) },
        { op: 'put', collection: 'cells', key: 'x', value: 'not bytes' as unknown as Uint8Array },
      ];
      await assertCode(store.transact(bad), 'E_INVALID', 'batch with a value that is not bytes');
      assertEqual(
        await contents(store),
        { cells: { keep: hex(bytes(1)) }, receipts: {} },
        'contents after failed batches',
      );
      // The store still works after a failed batch.
      await store.transact([{ op: 'put', collection: 'cells', key: 'new', value: bytes(2) }]);
      assertEqual(await store.get('cells', 'new'), bytes(2), 'put after a failed batch');
      await store.close();
    },
  },
  {
    name: 'unknown collections and bad keys are E_INVALID; a closed store is E_IO',
    async run(fresh) {
      const { store } = await fresh();
      await assertCode(store.get('nope', 'a'), 'E_INVALID', 'get from an unknown collection');
      await assertCode(store.list('nope'), 'E_INVALID', 'list an unknown collection');
      await assertCode(store.get('cells', 1 as unknown as string), 'E_INVALID', 'get with a number key');
      await store.close();
      await store.close();
      await assertCode(store.get('cells', 'a'), 'E_IO', 'get on a closed store');
      await assertCode(store.list('cells'), 'E_IO', 'list on a closed store');
      await assertCode(
        store.transact([{ op: 'delete', collection: 'cells', key: 'a' }]),
        'E_IO',
        'transact on a closed store',
      );
    },
  },
  {
    name: 'data survives close and reopen',
    async run(fresh) {
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
      assertEqual(await contents(again), before, 'contents after reopen');
      assertEqual(await again.get('cells', 'a'), bytes(1), 'get after reopen');
      await again.close();
      // Reopening with one more collection keeps the data and adds the collection.
      const wider = await location.open([...COLLECTIONS, 'inbox']);
      assertEqual(await wider.get('receipts', 'b'), bytes(2), 'get after reopening with a new collection');
      await wider.transact([{ op: 'put', collection: 'inbox', key: 'm', value: bytes(4) }]);
      assertEqual(await wider.get('inbox', 'm'), bytes(4), 'get from the new collection');
      await wider.close();
    },
  },
  {
    name: 'values are independent copies, in and out, of exactly their bytes',
    async run(fresh) {
      const { store } = await fresh();
      const backing = new Uint8Array([9, 1, 2, 3, 9]);
      const value = backing.subarray(1, 4);
      await store.transact([{ op: 'put', collection: 'cells', key: 'a', value }]);
      value[0] = 42;
      const got = await store.get('cells', 'a');
      assertEqual(got, new Uint8Array([1, 2, 3]), 'mutating the value put changes nothing');
      assertEqual(got?.byteLength, 3, 'byteLength of the value got');
      got![1] = 42;
      assertEqual(await store.get('cells', 'a'), new Uint8Array([1, 2, 3]), 'mutating a got value');
      const [listed] = await store.list('cells');
      assert(listed !== undefined, 'list returns the entry');
      listed.value[2] = 42;
      assertEqual(await store.get('cells', 'a'), new Uint8Array([1, 2, 3]), 'mutating a listed value');
      await store.close();
    },
  },
  {
    name: 'property: random transactions give the same contents as an in-memory model',
    timeoutMs: 60_000,
    async run(fresh) {
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
                await assertCode(store.transact(batch), 'E_INVALID', 'poisoned batch');
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
              assertEqual(
                got.map((e) => [e.key, [...e.value]]),
                expected.map(([k, v]) => [k, [...v]]),
                `list ${c}`,
              );
              assertEqual(
                await keysOf(store.list(c, { prefix })),
                expected.map(([k]) => k).filter((k) => k.startsWith(prefix)),
                `list ${c} with prefix ${JSON.stringify(prefix)}`,
              );
              for (const [k, v] of expected)
                assertEqual(await store.get(c, k), v, `get ${c} ${JSON.stringify(k)}`);
            }
          } finally {
            await store.close();
          }
        }),
        { numRuns: 40 },
      );
    },
  },
]);

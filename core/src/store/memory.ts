/**
 * A `Store` held in memory, for data that is rebuilt on every start: a federation relay's ledger is a
 * projection of the final order, replayed from the stored blocks (decision 118), so writing it to
 * SQLite (even an in-memory one) only cost key encoding and statement calls on every settled turn.
 *
 * Same contract as the other backends (test/store/conformance.ts): values are copied in and out,
 * `transact` checks every write before applying any (all or nothing), keys list in UTF-16 code unit
 * order (JavaScript's string order). A `MemoryData` outlives its store, so a test can reopen it.
 */
import { fail } from '../errors.ts';
import {
  checkCollection,
  checkCollections,
  checkKey,
  checkListOptions,
  checkWrite,
  copyValue,
  type Entry,
  type ListOptions,
  type Store,
  type StoreOptions,
  type Write,
} from './store.ts';

/** Collection -> key -> value: the contents, which a closed store leaves to the next one opened on it. */
export type MemoryData = Map<string, Map<string, Uint8Array>>;

export function openMemoryStore(options: StoreOptions, data: MemoryData = new Map()): Store {
  const collections = checkCollections(options.collections);
  let open = true;
  const table = (collection: string): Map<string, Uint8Array> => {
    if (!open) fail('E_IO', 'store is closed');
    let t = data.get(collection);
    if (t === undefined) {
      t = new Map();
      data.set(collection, t);
    }
    return t;
  };

  return {
    collections,
    async get(collection, key) {
      checkCollection(collections, collection);
      checkKey(key);
      const value = table(collection).get(key);
      return value === undefined ? undefined : value.slice();
    },
    async list(collection: string, options?: ListOptions): Promise<Entry[]> {
      checkCollection(collections, collection);
      const { prefix, limit } = checkListOptions(options);
      const keys = [...table(collection).keys()].filter((k) => k.startsWith(prefix)).sort();
      const t = table(collection);
      return keys.slice(0, limit).map((key) => ({ key, value: t.get(key)!.slice() }));
    },
    async transact(writes: readonly Write[]) {
      if (!Array.isArray(writes)) fail('E_INVALID', 'writes must be an array');
      if (!open) fail('E_IO', 'store is closed');
      for (const w of writes) checkWrite(collections, w);
      for (const w of writes) {
        if (w.op === 'put') table(w.collection).set(w.key, copyValue(w.value));
        else table(w.collection).delete(w.key);
      }
    },
    async close() {
      open = false;
    },
  };
}

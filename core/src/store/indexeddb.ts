/**
 * IndexedDB backend of `Store` (browsers; fake-indexeddb in Node tests), through `idb`.
 * One object store per declared collection, out-of-line string keys, `Uint8Array` values.
 * Each `transact` is one readwrite IndexedDB transaction over every collection; a failing write
 * aborts it, so nothing of the batch lands.
 */
import { type IDBPDatabase, openDB } from 'idb';
import { fail } from '../errors.ts';
import {
  checkCollection,
  checkCollections,
  checkKey,
  checkListOptions,
  checkWrite,
  copyValue,
  type Entry,
  ioError,
  type ListOptions,
  prefixUpperBound,
  type Store,
  type StoreOptions,
  type Write,
} from './store.ts';

/** Opens (creating or upgrading as needed) the IndexedDB database `name` with the declared collections. */
export async function openIndexedDbStore(name: string, options: StoreOptions): Promise<Store> {
  if (typeof name !== 'string' || name.length === 0) fail('E_INVALID', 'database name must be non-empty');
  const collections = checkCollections(options.collections);
  let db: IDBPDatabase;
  try {
    db = await openDB(name);
    const missing = collections.filter((c) => !db.objectStoreNames.contains(c));
    if (missing.length > 0) {
      // A newly declared collection needs a version change: object stores exist only up front.
      const version = db.version + 1;
      db.close();
      db = await openDB(name, version, {
        upgrade(upgrading) {
          for (const c of missing)
            if (!upgrading.objectStoreNames.contains(c)) upgrading.createObjectStore(c);
        },
      });
    }
  } catch (e) {
    throw ioError('opening IndexedDB', e);
  }
  return new IndexedDbStore(db, collections);
}

class IndexedDbStore implements Store {
  #db: IDBPDatabase | undefined;

  constructor(
    db: IDBPDatabase,
    readonly collections: readonly string[],
  ) {
    this.#db = db;
  }

  #open(): IDBPDatabase {
    return this.#db ?? fail('E_IO', 'store is closed');
  }

  async get(collection: string, key: string): Promise<Uint8Array | undefined> {
    checkCollection(this.collections, collection);
    checkKey(key);
    const db = this.#open();
    let value: unknown;
    try {
      value = await db.get(collection, key);
    } catch (e) {
      throw ioError('get', e);
    }
    if (value === undefined) return undefined;
    if (!(value instanceof Uint8Array)) fail('E_IO', 'stored value is not bytes');
    return value;
  }

  async list(collection: string, options?: ListOptions): Promise<Entry[]> {
    checkCollection(this.collections, collection);
    const { prefix, limit } = checkListOptions(options);
    const db = this.#open();
    if (limit === 0) return [];
    const upper = prefixUpperBound(prefix);
    const range =
      upper === undefined ? IDBKeyRange.lowerBound(prefix) : IDBKeyRange.bound(prefix, upper, false, true);
    try {
      const tx = db.transaction(collection, 'readonly');
      const [keys, values] = await Promise.all([
        tx.store.getAllKeys(range, limit),
        tx.store.getAll(range, limit),
        tx.done,
      ]);
      const out: Entry[] = [];
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i];
        const value = values[i];
        if (typeof key !== 'string' || !(value instanceof Uint8Array))
          fail('E_IO', 'stored entry is malformed');
        out.push({ key, value });
      }
      return out;
    } catch (e) {
      throw ioError('list', e);
    }
  }

  async transact(writes: readonly Write[]): Promise<void> {
    if (!Array.isArray(writes)) fail('E_INVALID', 'writes must be an array');
    const db = this.#open();
    if (writes.length === 0) return;
    const tx = db.transaction([...this.collections], 'readwrite');
    const pending: Promise<unknown>[] = [];
    try {
      for (const w of writes) {
        // Checked one by one inside the transaction: a bad write aborts what came before it.
        checkWrite(this.collections, w);
        const store = tx.objectStore(w.collection);
        const p = w.op === 'put' ? store.put(copyValue(w.value), w.key) : store.delete(w.key);
        p.catch(() => {}); // the failure surfaces through tx.done
        pending.push(p);
      }
    } catch (e) {
      tx.abort();
      await tx.done.catch(() => {});
      throw ioError('transact', e);
    }
    try {
      await Promise.all([...pending, tx.done]);
    } catch (e) {
      throw ioError('transact', e);
    }
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }
}

/**
 * SQLite backend of `Store` for Node, through `better-sqlite3`.
 *
 * One table `kv(collection, key, value)`, primary key (collection, key), WITHOUT ROWID. Keys are stored
 * as BLOBs holding their UTF-16BE code units, so SQLite's byte order equals the UTF-16 code unit order
 * that IndexedDB uses (TEXT would sort by code point and disagree for astral characters).
 *
 * Durability: WAL journal with `synchronous=FULL`. In WAL mode NORMAL already keeps the file consistent
 * after a process or OS crash, but may lose the last committed transactions on power loss; FULL syncs
 * the WAL at every commit, so a transaction whose `transact` resolved (a receipt, a spent note) is never
 * lost. Each `transact` is one SQLite transaction (`BEGIN IMMEDIATE` ... `COMMIT`).
 */
import Database from 'better-sqlite3';
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
  type Store,
  type StoreOptions,
  type Write,
} from '../store/store.ts';

/** Opens (creating if needed) the SQLite store at `path`. */
export async function openSqliteStore(path: string, options: StoreOptions): Promise<Store> {
  if (typeof path !== 'string' || path.length === 0) fail('E_INVALID', 'path must be non-empty');
  const collections = checkCollections(options.collections);
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (e) {
    throw ioError('opening SQLite', e);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(
      'CREATE TABLE IF NOT EXISTS kv (collection TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, ' +
        'PRIMARY KEY (collection, key)) WITHOUT ROWID',
    );
  } catch (e) {
    db.close();
    throw ioError('opening SQLite', e);
  }
  return new SqliteStore(db, collections);
}

function encodeKey(key: string): Buffer {
  const out = Buffer.allocUnsafe(key.length * 2);
  for (let i = 0; i < key.length; i++) out.writeUInt16BE(key.charCodeAt(i), i * 2);
  return out;
}

function decodeKey(bytes: Uint8Array): string {
  if (bytes.length % 2 !== 0) fail('E_IO', 'stored key is malformed');
  const units: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) units.push((bytes[i]! << 8) | bytes[i + 1]!);
  let s = '';
  for (let i = 0; i < units.length; i += 4096) s += String.fromCharCode(...units.slice(i, i + 4096));
  return s;
}

/** Exclusive upper bound of all byte strings starting with `prefix`; undefined when unbounded. */
function bytesUpperBound(prefix: Buffer): Buffer | undefined {
  let end = prefix.length;
  while (end > 0 && prefix[end - 1] === 0xff) end--;
  if (end === 0) return undefined;
  const out = Buffer.from(prefix.subarray(0, end));
  out[end - 1]! += 1;
  return out;
}

function toBytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) fail('E_IO', 'stored value is not bytes');
  return new Uint8Array(value); // a plain, independent Uint8Array (not a Buffer)
}

class SqliteStore implements Store {
  #db: Database.Database | undefined;
  readonly #get: Database.Statement;
  readonly #put: Database.Statement;
  readonly #delete: Database.Statement;
  readonly #listFrom: Database.Statement;
  readonly #listRange: Database.Statement;
  readonly #transact: (writes: readonly Write[]) => void;

  constructor(
    db: Database.Database,
    readonly collections: readonly string[],
  ) {
    this.#db = db;
    this.#get = db.prepare('SELECT value FROM kv WHERE collection = ? AND key = ?').pluck();
    this.#put = db.prepare('INSERT OR REPLACE INTO kv (collection, key, value) VALUES (?, ?, ?)');
    this.#delete = db.prepare('DELETE FROM kv WHERE collection = ? AND key = ?');
    this.#listFrom = db.prepare(
      'SELECT key, value FROM kv WHERE collection = ? AND key >= ? ORDER BY key LIMIT ?',
    );
    this.#listRange = db.prepare(
      'SELECT key, value FROM kv WHERE collection = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?',
    );
    const apply = db.transaction((writes: readonly Write[]) => {
      for (const w of writes) {
        // Checked one by one inside the transaction: a bad write rolls back what came before it.
        checkWrite(this.collections, w);
        const key = encodeKey(w.key);
        if (w.op === 'put') this.#put.run(w.collection, key, copyValue(w.value));
        else this.#delete.run(w.collection, key);
      }
    });
    this.#transact = (writes) => apply.immediate(writes);
  }

  #open(): Database.Database {
    return this.#db ?? fail('E_IO', 'store is closed');
  }

  async get(collection: string, key: string): Promise<Uint8Array | undefined> {
    checkCollection(this.collections, collection);
    checkKey(key);
    this.#open();
    let value: unknown;
    try {
      value = this.#get.get(collection, encodeKey(key));
    } catch (e) {
      throw ioError('get', e);
    }
    return value === undefined ? undefined : toBytes(value);
  }

  async list(collection: string, options?: ListOptions): Promise<Entry[]> {
    checkCollection(this.collections, collection);
    const { prefix, limit } = checkListOptions(options);
    this.#open();
    const low = encodeKey(prefix);
    const high = bytesUpperBound(low);
    const max = limit ?? -1; // SQLite: a negative LIMIT means no limit
    let rows: unknown[];
    try {
      rows =
        high === undefined
          ? this.#listFrom.all(collection, low, max)
          : this.#listRange.all(collection, low, high, max);
    } catch (e) {
      throw ioError('list', e);
    }
    return rows.map((row) => {
      const { key, value } = row as { key: unknown; value: unknown };
      if (!(key instanceof Uint8Array)) fail('E_IO', 'stored key is malformed');
      return { key: decodeKey(key), value: toBytes(value) };
    });
  }

  async transact(writes: readonly Write[]): Promise<void> {
    if (!Array.isArray(writes)) fail('E_INVALID', 'writes must be an array');
    this.#open();
    if (writes.length === 0) return;
    try {
      this.#transact(writes);
    } catch (e) {
      throw ioError('transact', e);
    }
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = undefined;
  }
}

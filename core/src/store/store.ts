/**
 * The `Store`: a small transactional key-value store over a fixed, declared list of named collections.
 * Keys are strings, values are bytes (callers put canonical CBOR in them). Two backends implement it:
 * IndexedDB in browsers (`./indexeddb.ts`) and SQLite in Node (`../node/sqlite-store.ts`); one
 * conformance suite (core/test/store/conformance.ts) runs against both.
 *
 * Contract, identical in both backends:
 * - Collections are declared when the store is opened; naming any other collection is `E_INVALID`.
 * - Keys order by UTF-16 code unit (JavaScript's `<` on strings), the native IndexedDB order.
 * - Values are copied in and out: mutating a value after `put`, or a value returned by `get`/`list`,
 *   never changes what is stored.
 * - `transact` is all-or-nothing: every write of the batch lands, or none does (also across a crash).
 * - Failures are `DreggError`s: `E_INVALID` for bad arguments, `E_IO` for the backend failing or a
 *   closed store.
 */
import { DreggError, fail } from '../errors.ts';

export type Write =
  | { op: 'put'; collection: string; key: string; value: Uint8Array }
  | { op: 'delete'; collection: string; key: string };

export interface ListOptions {
  /** Only keys starting with this prefix. */
  prefix?: string;
  /** At most this many entries (a non-negative integer). */
  limit?: number;
}

export interface Entry {
  key: string;
  value: Uint8Array;
}

export interface Store {
  /** The collections declared when the store was opened. */
  readonly collections: readonly string[];
  get(collection: string, key: string): Promise<Uint8Array | undefined>;
  /** Entries in key order, optionally only those with a prefix, optionally at most `limit`. */
  list(collection: string, options?: ListOptions): Promise<Entry[]>;
  /** All-or-nothing: every put/delete in `writes`, in order, lands, or none does. */
  transact(writes: readonly Write[]): Promise<void>;
  /** Releases the backend; later calls fail with `E_IO`. Idempotent. */
  close(): Promise<void>;
}

export interface StoreOptions {
  /** The collections this store holds; fixed for the lifetime of the open store. */
  collections: readonly string[];
}

/** Validates a declared collection list (non-empty names, no duplicates) and returns a copy. */
export function checkCollections(collections: readonly string[]): readonly string[] {
  if (!Array.isArray(collections)) fail('E_INVALID', 'collections must be an array of names');
  const seen = new Set<string>();
  for (const c of collections) {
    if (typeof c !== 'string' || c.length === 0)
      fail('E_INVALID', 'a collection name must be a non-empty string');
    if (seen.has(c)) fail('E_INVALID', `collection declared twice: ${c}`);
    seen.add(c);
  }
  return Object.freeze([...collections]);
}

export function checkCollection(declared: readonly string[], collection: unknown): string {
  if (typeof collection !== 'string' || !declared.includes(collection))
    fail('E_INVALID', `unknown collection: ${String(collection)}`);
  return collection;
}

export function checkKey(key: unknown): string {
  if (typeof key !== 'string') fail('E_INVALID', 'a key must be a string');
  return key;
}

/** Returns an independent copy of exactly the value's bytes (never the rest of a shared buffer). */
export function copyValue(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) fail('E_INVALID', 'a value must be a Uint8Array');
  return new Uint8Array(value);
}

export function checkWrite(declared: readonly string[], write: Write): void {
  if (typeof write !== 'object' || write === null) fail('E_INVALID', 'a write must be an object');
  checkCollection(declared, write.collection);
  checkKey(write.key);
  if (write.op === 'put') {
    if (!(write.value instanceof Uint8Array)) fail('E_INVALID', 'a value must be a Uint8Array');
  } else if (write.op !== 'delete') {
    fail('E_INVALID', `unknown write op: ${String((write as { op: unknown }).op)}`);
  }
}

export function checkListOptions(options: ListOptions | undefined): {
  prefix: string;
  limit: number | undefined;
} {
  const prefix = options?.prefix ?? '';
  if (typeof prefix !== 'string') fail('E_INVALID', 'prefix must be a string');
  const limit = options?.limit;
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0))
    fail('E_INVALID', 'limit must be a non-negative integer');
  return { prefix, limit };
}

/**
 * The smallest string greater than every string that starts with `prefix`, in UTF-16 code unit order;
 * `undefined` when there is none (empty prefix, or only U+FFFF units). Used as an exclusive upper bound.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  let end = prefix.length;
  while (end > 0 && prefix.charCodeAt(end - 1) === 0xffff) end--;
  if (end === 0) return undefined;
  return prefix.slice(0, end - 1) + String.fromCharCode(prefix.charCodeAt(end - 1) + 1);
}

/** Wraps a backend failure as `E_IO`, keeping our own typed errors as they are. */
export function ioError(what: string, e: unknown): DreggError {
  if (e instanceof DreggError) return e;
  return new DreggError('E_IO', `${what} failed`, { cause: e });
}

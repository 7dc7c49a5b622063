/**
 * The swiss table: the exporter's durable record of the sturdy references it has issued, kept in the
 * `Store` so that they survive a restart. An entry is keyed by the hash of its swiss number (a copy of
 * the database alone enlivens nothing) and says which registered object it designates, with which
 * caveats, until when, how many more times, for which holder, and whether it was revoked (a revoked
 * entry stays, so that using it says "revoked" rather than "unknown").
 *
 * Checks and the consumption of a use happen in one transaction, one claim at a time (a promise
 * chain), so two concurrent claims of a one-use reference cannot both succeed. The same transaction
 * records a handoff's nonce, so a certificate replayed after a crash is still refused.
 */
import { type Caveat, caveatFromCbor, caveatToCbor, DID_SHAPE, isName } from '../caps/caveats.ts';
import { toHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, decoding } from '../errors.ts';
import type { Store, Write } from '../store/store.ts';
import { SWISS_BYTES, swissId } from './sturdy.ts';

const SWISS = 'captp-swiss';
const NONCES = 'captp-handoff-nonces';
/** Letters (./letters.ts): sequence counters both ways, and letters held until a gap is filled. */
export const LETTERS = 'captp-letters';
/** The last session epoch with each peer, so that epochs keep increasing across restarts. */
export const EPOCHS = 'captp-epochs';
/** The collections a vat's store must declare. */
export const CAPTP_COLLECTIONS = [SWISS, NONCES, LETTERS, EPOCHS] as const;

export interface SwissEntry {
  /** The name under which the exporting vat registers the object (again after each restart). */
  readonly object: string;
  /** The caveats of the reference, on top of the object's own rights. */
  readonly caveats: readonly Caveat[];
  /** Unix seconds; null for no expiry (only for a reference bound to a holder). */
  readonly expiry: number | null;
  /** Uses left; null for no limit. */
  readonly uses: number | null;
  /** The only DID that may enliven it; null for a bearer reference. */
  readonly holder: string | null;
  readonly revoked: boolean;
  /** When it was minted (Unix seconds). */
  readonly created: number;
}

export interface MintOptions {
  readonly object: string;
  readonly caveats?: readonly Caveat[];
  readonly expiry?: number;
  readonly uses?: number;
  readonly holder?: string;
}

/** A successful claim: the entry as it was before the use was consumed. */
export interface Claim {
  readonly id: Uint8Array;
  readonly entry: SwissEntry;
}

export interface SwissTable {
  /** Records a new entry under a fresh swiss number, which is returned (and kept nowhere). */
  mint(o: MintOptions, now: number): Promise<{ swiss: Uint8Array; entry: SwissEntry }>;
  /** Marks the entry revoked; `E_NOT_FOUND` if there is none. */
  revoke(id: Uint8Array): Promise<void>;
  entry(id: Uint8Array): Promise<SwissEntry | undefined>;
  /**
   * Checks the entry for `claimant` at `now` (unknown, revoked, expired, exhausted, another holder),
   * runs `check` on it (which may refuse by throwing), and consumes one use; if `nonce` is given,
   * refuses it when already seen (`E_REPLAYED`) and records it until `nonce.until`. `also` is
   * written in the same transaction as the use.
   */
  claim(
    id: Uint8Array,
    claimant: string,
    now: number,
    o?: {
      check?: (entry: SwissEntry) => void;
      nonce?: { key: string; until: number };
      also?: readonly Write[];
    },
  ): Promise<Claim>;
  /** Forgets nonces whose certificates have expired (they are refused as expired anyway). */
  sweepNonces(now: number): Promise<number>;
}

function bad(why: string): never {
  throw new DreggError('E_INVALID', `Corrupt swiss table entry: ${why}`);
}

function encodeEntry(e: SwissEntry): Uint8Array {
  return encodeCbor({
    v: 1,
    object: e.object,
    caveats: e.caveats.map(caveatToCbor),
    expiry: e.expiry,
    uses: e.uses,
    holder: e.holder,
    revoked: e.revoked,
    created: e.created,
  });
}

function nullableUint(v: CborValue | undefined, what: string): number | null {
  if (v === null) return null;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(what);
  return v;
}

function decodeEntry(bytes: Uint8Array): SwissEntry {
  return decoding('swiss table entry', () => {
    const m = decodeCbor(bytes, 'swiss table entry');
    if (!isCborMap(m) || m.v !== 1) bad('version');
    const { object, caveats, holder, revoked, created } = m as CborMap;
    if (typeof object !== 'string' || !Array.isArray(caveats) || typeof revoked !== 'boolean') bad('shape');
    if (holder !== null && (typeof holder !== 'string' || !DID_SHAPE.test(holder))) bad('holder');
    return {
      object,
      caveats: caveats.map(caveatFromCbor),
      expiry: nullableUint(m.expiry, 'expiry'),
      uses: nullableUint(m.uses, 'uses'),
      holder,
      revoked,
      created: nullableUint(created, 'created') ?? bad('created'),
    };
  });
}

/** Why `entry` cannot be used by `claimant` at `now`, as the error to throw; undefined if it can. */
export function refusal(
  entry: SwissEntry | undefined,
  claimant: string,
  now: number,
): DreggError | undefined {
  if (entry === undefined) return new DreggError('E_NOT_FOUND', 'No such sturdy reference');
  if (entry.revoked) return new DreggError('E_REVOKED', 'This sturdy reference has been revoked');
  if (entry.expiry !== null && now >= entry.expiry)
    return new DreggError('E_EXPIRED', `This sturdy reference expired at ${entry.expiry}`);
  if (entry.uses === 0) return new DreggError('E_EXHAUSTED', 'This sturdy reference has no uses left');
  if (entry.holder !== null && entry.holder !== claimant)
    return new DreggError('E_AUDIENCE', 'This sturdy reference is bound to another holder');
  return undefined;
}

export function openSwissTable(store: Store, random: (n: number) => Uint8Array): SwissTable {
  for (const c of CAPTP_COLLECTIONS)
    if (!store.collections.includes(c))
      throw new DreggError('E_ARGUMENT', `The store must declare the ${c} collection (CAPTP_COLLECTIONS)`);
  // One claim, mint or revocation at a time: a check and the write that follows it are not interleaved.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const run = tail.then(f, f);
    tail = run.catch(() => undefined);
    return run;
  };
  const read = async (id: Uint8Array): Promise<SwissEntry | undefined> => {
    const bytes = await store.get(SWISS, toHex(id));
    return bytes === undefined ? undefined : decodeEntry(bytes);
  };
  const put = (id: Uint8Array, e: SwissEntry): Write => ({
    op: 'put',
    collection: SWISS,
    key: toHex(id),
    value: encodeEntry(e),
  });

  return {
    mint(o, now) {
      if (!isName(o.object)) throw new DreggError('E_ARGUMENT', 'An object name is a lowercase name');
      if (o.holder === undefined && o.expiry === undefined)
        throw new DreggError(
          'E_ARGUMENT',
          'A bearer sturdy ref must carry an expiry (bind it to a holder, or set one)',
        );
      if (o.holder !== undefined && !DID_SHAPE.test(o.holder))
        throw new DreggError('E_ARGUMENT', 'A holder is a did:key');
      if (o.expiry !== undefined && (!Number.isSafeInteger(o.expiry) || o.expiry <= now))
        throw new DreggError('E_ARGUMENT', 'The expiry must be in the future');
      if (o.uses !== undefined && (!Number.isSafeInteger(o.uses) || o.uses < 1))
        throw new DreggError('E_ARGUMENT', 'A use limit is a positive whole number');
      const swiss = random(SWISS_BYTES);
      const entry: SwissEntry = {
        object: o.object,
        caveats: [...(o.caveats ?? [])],
        expiry: o.expiry ?? null,
        uses: o.uses ?? null,
        holder: o.holder ?? null,
        revoked: false,
        created: now,
      };
      return serial(async () => {
        await store.transact([put(swissId(swiss), entry)]);
        return { swiss, entry };
      });
    },
    revoke(id) {
      return serial(async () => {
        const e = await read(id);
        if (e === undefined) throw new DreggError('E_NOT_FOUND', 'No such sturdy reference');
        await store.transact([put(id, { ...e, revoked: true })]);
      });
    },
    entry: read,
    claim(id, claimant, now, o = {}) {
      return serial(async () => {
        const entry = await read(id);
        const why = refusal(entry, claimant, now);
        if (why !== undefined) throw why;
        o.check?.(entry!);
        const writes: Write[] = [];
        if (o.nonce !== undefined) {
          if ((await store.get(NONCES, o.nonce.key)) !== undefined)
            throw new DreggError('E_REPLAYED', 'This handoff certificate has already been used');
          writes.push({ op: 'put', collection: NONCES, key: o.nonce.key, value: encodeCbor(o.nonce.until) });
        }
        if (entry!.uses !== null) writes.push(put(id, { ...entry!, uses: entry!.uses - 1 }));
        writes.push(...(o.also ?? []));
        if (writes.length > 0) await store.transact(writes);
        return { id, entry: entry! };
      });
    },
    sweepNonces(now) {
      return serial(async () => {
        const stale = (await store.list(NONCES)).filter((e) => {
          const until = decodeCbor(e.value, 'handoff nonce');
          return typeof until !== 'number' || until <= now;
        });
        if (stale.length > 0)
          await store.transact(stale.map((e) => ({ op: 'delete', collection: NONCES, key: e.key }) as const));
        return stale.length;
      });
    },
  };
}

/** Checks the shape of a swiss number given by a peer (`E_INVALID`). */
export function checkSwiss(v: unknown): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== SWISS_BYTES)
    throw new DreggError('E_INVALID', 'A swiss number is 32 bytes');
  return v;
}

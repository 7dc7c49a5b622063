/**
 * The relay's revocation log: every signed revocation it has verified (handed to it with
 * `revocation/publish` or heard on gossip), in the order it first saw them, so a light node that was
 * offline can ask for what it missed (`revocation/since`) instead of hearing only what is gossiped
 * while it is connected. Records are facts anyone may carry: the log stores their bytes as signed,
 * once each (keyed by their signature: Ed25519 signs deterministically, so one record has one), and the client checks every signature again.
 *
 * Keys: `n` the count; `s/<seq, 12 digits>` the record bytes; `h/<signature>` its place.
 */
import type { RevocationRecord } from '../../caps/revocation.ts';
import { toHex } from '../../encoding/bytes.ts';
import type { Store } from '../../store/store.ts';

export const REVOCATION_COLLECTIONS = ['revocations'] as const;
const C = 'revocations';

const seqKey = (seq: number) => `s/${String(seq).padStart(12, '0')}`;

export interface RevocationLog {
  /** Appends `bytes`, the encoding of `record` (already verified), unless it is there; returns its place. */
  record(record: RevocationRecord, bytes: Uint8Array): Promise<number>;
  /** Up to `limit` records from place `from`, and how many the log holds. */
  since(from: number, limit: number): Promise<{ records: Uint8Array[]; total: number }>;
  count(): number;
}

export async function openRevocationLog(store: Store): Promise<RevocationLog> {
  const stored = await store.get(C, 'n');
  let count = stored === undefined ? 0 : Number(new TextDecoder().decode(stored));
  // Appends are serialised: each one reads the count it extends.
  let tail: Promise<unknown> = Promise.resolve();

  const append = async (record: RevocationRecord, bytes: Uint8Array): Promise<number> => {
    const hashKey = `h/${toHex(record.signature)}`;
    const known = await store.get(C, hashKey);
    if (known !== undefined) return Number(new TextDecoder().decode(known));
    const seq = count;
    const digits = new TextEncoder().encode(String(seq));
    await store.transact([
      { op: 'put', collection: C, key: seqKey(seq), value: bytes },
      { op: 'put', collection: C, key: hashKey, value: digits },
      { op: 'put', collection: C, key: 'n', value: new TextEncoder().encode(String(seq + 1)) },
    ]);
    count = seq + 1;
    return seq;
  };

  return {
    record(record, bytes) {
      const done = tail.then(() => append(record, bytes));
      tail = done.catch(() => undefined);
      return done;
    },
    async since(from, limit) {
      const total = count;
      const records: Uint8Array[] = [];
      for (let seq = from; seq < total && records.length < limit; seq++) {
        const bytes = await store.get(C, seqKey(seq));
        if (bytes !== undefined) records.push(bytes);
      }
      return { records, total };
    },
    count: () => count,
  };
}

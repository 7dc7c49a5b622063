/**
 * The intent desk's durable state, in the relay's SQLite file (collection `intents`), so that a
 * relay killed and restarted carries on where it stopped (core/docs/intents.md, "Persistence").
 *
 * Keys:
 * - `p/<intent id>` — an open intent (its signed encoding).
 * - `x/<intent id>` — an intent that was matched or withdrawn (its expiry, decimal): never pooled
 *   again. Kept until the intent expires, when admission refuses it anyway.
 * - `r/<ring id>` — a ring the desk opened: its legs, its intents, cutoff, deadline and an order.
 * - `i/<ring id>/<n>` — the ring's n-th input, in the order the settlement took them: a signed
 *   commitment, a reveal (written before the settlement sees it), the cutoff's expiry.
 * - `s/<ring id>/<n>` — the ring's n-th ledger submission: the signed turn, written before it is
 *   submitted, then with its receipt once answered.
 *
 * A settlement is a function of its inputs and of what the ledger answered, so replaying the inputs
 * into `openSettlement` with a ledger that answers from the journal (`journaledLedger`) rebuilds it
 * exactly. A submission written but not answered before the crash is sent again as it was: the notary
 * answers a turn already in its log as a duplicate (the deposits' refunds rely on the same), so
 * nothing is applied twice. Only a turn the ledger refuses outright (never applied) is replaced by
 * the one the settlement builds now.
 *
 * Stored records are our own writing; one that does not decode is `E_IO`, like a torn store.
 */
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../../encoding/cbor.ts';
import { DreggError, fail, isDreggError } from '../../errors.ts';
import { decodeIntent, encodeIntent, type Intent, intentId, type OpenIntent } from '../../intents/intent.ts';
import type { SettlementLedger, SignedCommitment } from '../../intents/settle.ts';
import type { Ring } from '../../intents/solver.ts';
import { decodeCommitment, encodeCommitment } from '../../intents/wire.ts';
import type { Store, Write } from '../../store/store.ts';
import { decodeReceipt, encodeReceipt, type Receipt } from '../../turns/receipt.ts';
import { decodeTurn, encodeTurn, type Turn } from '../../turns/turn.ts';

export const INTENT_COLLECTIONS = ['intents'] as const;
const C = 'intents';

/** What a settlement was given, in order. */
export type RingInput =
  | { readonly kind: 'commit'; readonly commitment: SignedCommitment }
  | { readonly kind: 'reveal'; readonly intent: string; readonly turn: Turn; readonly salt: Uint8Array }
  | { readonly kind: 'expire' };

/** A turn the settlement submitted, and the ledger's answer once it came. */
export interface Submission {
  readonly turn: Turn;
  readonly receipt?: Receipt;
}

/** A ring as stored: enough to open its settlement again and replay it. */
export interface StoredRing {
  readonly id: string;
  /** Opening order (rings are listed and kept newest first). */
  readonly seq: number;
  readonly ring: Ring;
  readonly intents: ReadonlyMap<string, Intent>;
  readonly cutoff: number;
  readonly deadline: number;
  readonly inputs: readonly RingInput[];
  readonly submissions: readonly Submission[];
}

export interface DeskState {
  readonly pool: OpenIntent[];
  /** Matched or withdrawn intent ids, with their expiry. */
  readonly closed: Map<string, number>;
  /** Oldest first. */
  readonly rings: StoredRing[];
}

export interface DeskStore {
  /** Everything stored; intents expired by `now` are dropped (and deleted). */
  load(now: number): Promise<DeskState>;
  pooled(open: OpenIntent): Promise<void>;
  /** An open intent withdrawn: out of the pool, closed until it expires. */
  withdrawn(id: string, expires: number): Promise<void>;
  /** Expired intents, pooled or closed, forgotten. */
  expired(ids: readonly string[]): Promise<void>;
  /** A ring's intents leave the pool and the ring is recorded, in one transaction. */
  claimed(ring: Omit<StoredRing, 'inputs' | 'submissions'>): Promise<void>;
  /** The ring could not open: its intents go back to the pool, the ring is forgotten. */
  unclaimed(ring: Omit<StoredRing, 'inputs' | 'submissions'>): Promise<void>;
  input(ring: string, n: number, input: RingInput): Promise<void>;
  submission(ring: string, n: number, s: Submission): Promise<void>;
  /** A finished ring no longer kept: its records go. */
  forget(ring: string): Promise<void>;
}

const place = (n: number) => String(n).padStart(6, '0');
const utf8 = new TextEncoder();
const text = new TextDecoder();

function stored<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new DreggError('E_IO', `A stored ${what} of the intent desk does not decode`, { cause: e });
  }
}

function map(v: CborValue): CborMap {
  if (!isCborMap(v)) fail('E_IO', 'expected a map');
  return v;
}

const num = (v: CborValue | undefined): number =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail('E_IO', 'expected a count');
const str = (v: CborValue | undefined): string => (typeof v === 'string' ? v : fail('E_IO', 'expected text'));
const bin = (v: CborValue | undefined): Uint8Array =>
  v instanceof Uint8Array ? v : fail('E_IO', 'expected bytes');
const arr = (v: CborValue | undefined): CborValue[] =>
  Array.isArray(v) ? v : fail('E_IO', 'expected a list');

function ringToCbor(r: Omit<StoredRing, 'inputs' | 'submissions'>): Uint8Array {
  return encodeCbor({
    seq: r.seq,
    legs: r.ring.legs.map((l) => [l.from, l.to, l.gives.map((g) => [g.offer, g.want])]),
    wants: r.ring.wants,
    intents: [...r.intents.values()].map(encodeIntent),
    cutoff: r.cutoff,
    deadline: r.deadline,
  });
}

function ringFromCbor(id: string, bytes: Uint8Array): Omit<StoredRing, 'inputs' | 'submissions'> {
  return stored('ring', () => {
    const m = map(decodeCbor(bytes));
    const legs = arr(m.legs).map((l) => {
      const [from, to, gives] = arr(l);
      return {
        from: str(from),
        to: str(to),
        gives: arr(gives).map((g) => ({ offer: num(arr(g)[0]), want: num(arr(g)[1]) })),
      };
    });
    const intents = new Map<string, Intent>();
    for (const b of arr(m.intents)) {
      const intent = decodeIntent(bin(b));
      intents.set(intentId(intent), intent);
    }
    return {
      id,
      seq: num(m.seq),
      ring: { legs, wants: num(m.wants) },
      intents,
      cutoff: num(m.cutoff),
      deadline: num(m.deadline),
    };
  });
}

function inputToCbor(x: RingInput): Uint8Array {
  switch (x.kind) {
    case 'commit':
      return encodeCbor({ k: 'commit', c: encodeCommitment(x.commitment) });
    case 'reveal':
      return encodeCbor({ k: 'reveal', intent: x.intent, turn: encodeTurn(x.turn), salt: x.salt });
    case 'expire':
      return encodeCbor({ k: 'expire' });
  }
}

function inputFromCbor(bytes: Uint8Array): RingInput {
  return stored('ring input', () => {
    const m = map(decodeCbor(bytes));
    switch (m.k) {
      case 'commit':
        return { kind: 'commit', commitment: decodeCommitment(bin(m.c)) };
      case 'reveal':
        return { kind: 'reveal', intent: str(m.intent), turn: decodeTurn(bin(m.turn)), salt: bin(m.salt) };
      case 'expire':
        return { kind: 'expire' };
      default:
        return fail('E_IO', 'unknown input');
    }
  });
}

const submissionToCbor = (s: Submission): Uint8Array =>
  encodeCbor({
    turn: encodeTurn(s.turn),
    ...(s.receipt === undefined ? {} : { receipt: encodeReceipt(s.receipt) }),
  });

function submissionFromCbor(bytes: Uint8Array): Submission {
  return stored('submission', () => {
    const m = map(decodeCbor(bytes));
    const turn = decodeTurn(bin(m.turn));
    return m.receipt === undefined ? { turn } : { turn, receipt: decodeReceipt(bin(m.receipt)) };
  });
}

export function openDeskStore(store: Store): DeskStore {
  const put = (key: string, value: Uint8Array): Write => ({ op: 'put', collection: C, key, value });
  const del = (key: string): Write => ({ op: 'delete', collection: C, key });
  const closedEntry = (id: string, expires: number) => put(`x/${id}`, utf8.encode(String(expires)));
  const under = async (prefix: string) => (await store.list(C, { prefix })).map((e) => e.value);

  return {
    async load(now) {
      const gone: Write[] = [];
      const pool: OpenIntent[] = [];
      for (const { key, value } of await store.list(C, { prefix: 'p/' })) {
        const intent = stored('intent', () => decodeIntent(value));
        if (intent.expires <= now) gone.push(del(key));
        else pool.push({ id: key.slice(2), intent });
      }
      const closed = new Map<string, number>();
      for (const { key, value } of await store.list(C, { prefix: 'x/' })) {
        const expires = stored('closed intent', () => num(Number(text.decode(value))));
        if (expires <= now) gone.push(del(key));
        else closed.set(key.slice(2), expires);
      }
      const rings: StoredRing[] = [];
      for (const { key, value } of await store.list(C, { prefix: 'r/' })) {
        const id = key.slice(2);
        rings.push({
          ...ringFromCbor(id, value),
          inputs: (await under(`i/${id}/`)).map(inputFromCbor),
          submissions: (await under(`s/${id}/`)).map(submissionFromCbor),
        });
      }
      rings.sort((a, b) => a.seq - b.seq);
      await store.transact(gone);
      return { pool, closed, rings };
    },
    pooled: (open) => store.transact([put(`p/${open.id}`, encodeIntent(open.intent))]),
    withdrawn: (id, expires) => store.transact([del(`p/${id}`), closedEntry(id, expires)]),
    expired: (ids) => store.transact(ids.flatMap((id) => [del(`p/${id}`), del(`x/${id}`)])),
    claimed: (r) =>
      store.transact([
        ...[...r.intents].flatMap(([id, i]) => [del(`p/${id}`), closedEntry(id, i.expires)]),
        put(`r/${r.id}`, ringToCbor(r)),
      ]),
    unclaimed: async (r) => {
      const journal = [
        ...(await store.list(C, { prefix: `i/${r.id}/` })),
        ...(await store.list(C, { prefix: `s/${r.id}/` })),
      ];
      await store.transact([
        ...[...r.intents].flatMap(([id, i]) => [del(`x/${id}`), put(`p/${id}`, encodeIntent(i))]),
        del(`r/${r.id}`),
        ...journal.map((e) => del(e.key)),
      ]);
    },
    input: (ring, n, x) => store.transact([put(`i/${ring}/${place(n)}`, inputToCbor(x))]),
    submission: (ring, n, s) => store.transact([put(`s/${ring}/${place(n)}`, submissionToCbor(s))]),
    async forget(ring) {
      const journal = [
        ...(await store.list(C, { prefix: `i/${ring}/` })),
        ...(await store.list(C, { prefix: `s/${ring}/` })),
      ];
      await store.transact([del(`r/${ring}`), ...journal.map((e) => del(e.key))]);
    },
  };
}

/**
 * `ledger` as one ring's settlement sees it, every submission journaled: the n-th submission is
 * answered from `journal[n]` when it holds a receipt; a turn written there without one (the relay
 * stopped before the answer) is submitted again as it was — applied already, the ledger answers a
 * duplicate with its receipt — and only if the ledger refuses it (never applied) is the turn built
 * now submitted instead. A new submission is written before it is submitted and again with its
 * receipt. A journaled turn must be of the same agent and cell as the one it stands for (`E_IO`
 * otherwise: the journal does not belong to this settlement).
 */
export function journaledLedger(
  ledger: SettlementLedger,
  journal: readonly Submission[],
  record: (n: number, s: Submission) => Promise<void>,
): SettlementLedger {
  let next = 0;
  const fresh = async (n: number, turn: Turn): Promise<Receipt> => {
    await record(n, { turn });
    const receipt = await ledger.submit(turn);
    await record(n, { turn, receipt });
    return receipt;
  };
  return {
    ledger: ledger.ledger,
    cell: (id) => ledger.cell(id),
    head: (agent) => ledger.head(agent),
    revoked: (h) => ledger.revoked(h),
    async submit(turn) {
      const n = next++;
      const earlier = journal[n];
      if (earlier === undefined) return fresh(n, turn);
      if (earlier.turn.agent !== turn.agent || earlier.turn.cell !== turn.cell)
        fail('E_IO', `The intent desk's journal diverges from its settlement at submission ${n}`);
      if (earlier.receipt !== undefined) return earlier.receipt;
      let receipt: Receipt;
      try {
        receipt = await ledger.submit(earlier.turn);
      } catch (e) {
        if (!isDreggError(e)) throw e;
        return fresh(n, turn);
      }
      await record(n, { turn: earlier.turn, receipt });
      return receipt;
    },
  };
}

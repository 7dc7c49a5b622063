/**
 * The relay's store-and-forward inboxes, transport-agnostic: a state machine over a `Store` that a
 * networked relay (issue 5) puts behind its protocol handlers.
 *
 * - `deposit` appends a sealed box to a recipient's MerkleQueue, under per-recipient and total
 *   quotas, and returns the message's place, the new root (signed) and its inclusion proof. An idempotency
 *   key makes a retried deposit one deposit.
 * - `challenge` / `drain`: the recipient signs a single-use, expiring challenge with its did:key and
 *   receives the unacknowledged messages in order with a relay-signed head.
 * - `ack`: the recipient's signed acknowledgement of a height and root it checked; the relay deletes
 *   those messages and records the refund each delivered one has earned.
 * - Expiry: a message past its TTL loses its payload; its place in the queue (metadata and leaf)
 *   stays until acknowledged, so the recipient can still check the whole history.
 *
 * Every operation's writes are one `store.transact`, so a crash (SIGKILL included) leaves each one
 * wholly done or not done; operations run one at a time, because reads and the transaction that
 * follows them must see the same state. The relay stores, per message, only the recipient, the
 * ciphertext, its size, times, and the deposit (amount and refund claim), plus digests derived from
 * them; never a sender.
 */
import { type Clock, nowSeconds } from '../clock.ts';
import { type Ed25519, ed25519PublicKey } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { bytesEqual, fromHex, toHex } from '../encoding/bytes.ts';
import { type CborMap, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { didKeyFromEd25519, ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import type { Store, Write } from '../store/store.ts';
import { appendDigest, appendProof, type Frontier, frontierRoot } from './merkle-queue.ts';
import {
  type AckRequest,
  ackDigest,
  challengeDigest,
  checkAckRequest,
  checkDepositRequest,
  checkDrainRequest,
  ciphertextHash,
  type DepositReceipt,
  type DepositRequest,
  type DrainChallenge,
  type DrainRequest,
  type DrainResponse,
  decodeDepositReceipt,
  encodeDepositReceipt,
  headDigest,
  INBOX_VERSION,
  type InboxHead,
  type InboxMessage,
  messageDigest,
  messageFromCbor,
  messageToCbor,
} from './wire.ts';

/** Deposits written by one group commit at most. */
const MAX_DEPOSIT_GROUP = 256;

/** The store collections an inbox keeps (open the store with at least these). */
export const INBOX_COLLECTIONS = [
  'inbox_meta',
  'inbox_messages',
  'inbox_expiry',
  'inbox_idempotency',
  'inbox_challenges',
  'inbox_refunds',
  'inbox_payments',
] as const;

export interface Quota {
  /** Messages held (delivered or not, until acknowledged). */
  readonly maxCount: number;
  /** Ciphertext bytes held. */
  readonly maxBytes: number;
}

export interface InboxLimits {
  readonly maxMessageBytes: number;
  readonly maxTtlSeconds: number;
  /** The smallest deposit this relay accepts, in computrons. */
  readonly minDeposit: bigint;
  readonly perRecipient: Quota;
  readonly total: Quota;
  readonly challengeTtlSeconds: number;
  /** Outstanding challenges per recipient; issuing one more drops the oldest. */
  readonly maxChallenges: number;
  /** At most this many messages, and (after the first) this many ciphertext bytes, per drain. */
  readonly maxDrainCount: number;
  readonly maxDrainBytes: number;
  /** Expired entries a deposit purges before it checks quotas (`purgeExpired` does more). */
  readonly sweepLimit: number;
}

export const DEFAULT_INBOX_LIMITS: InboxLimits = Object.freeze({
  maxMessageBytes: 64 * 1024,
  maxTtlSeconds: 30 * 24 * 3600,
  minDeposit: 0n,
  perRecipient: Object.freeze({ maxCount: 1024, maxBytes: 16 * 1024 * 1024 }),
  total: Object.freeze({ maxCount: 1_000_000, maxBytes: 4 * 1024 * 1024 * 1024 }),
  challengeTtlSeconds: 120,
  maxChallenges: 8,
  maxDrainCount: 256,
  maxDrainBytes: 4 * 1024 * 1024,
  sweepLimit: 64,
});

export interface InboxOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly ed: Ed25519;
  /** The relay's Ed25519 key (32-byte seed): it signs inbox heads; its did:key is the relay's id. */
  readonly seed: Uint8Array;
  readonly limits?: Partial<InboxLimits>;
  /** Randomness for challenge nonces; `crypto.getRandomValues` when omitted. */
  readonly random?: (length: number) => Uint8Array;
}

/**
 * How a deposit is paid, from the relay's side: `charge` moves the computrons (the relay submits the
 * sender's payment turn to its notary) and runs only for a deposit that is new and fits the quotas.
 * `id` names the payment (the turn's hash): one payment pays for one deposit. The inbox remembers it
 * until `until` (Unix seconds; the relay refuses payments that could be replayed later than that).
 */
export interface Payment {
  readonly id: Uint8Array;
  readonly until: number;
  charge(): Promise<void>;
}

/** A refund the relay owes: the executor pays it to whoever reveals the claim's secret. */
export interface Refund {
  /** The record's id, for `settleRefunds`. */
  readonly id: string;
  readonly recipient: string;
  readonly seq: number;
  readonly amount: bigint;
  /** `refundClaim(secret)` from the deposit. */
  readonly claim: Uint8Array;
  /** When the recipient acknowledged the message (Unix seconds). */
  readonly at: number;
  /** What the executor recorded before paying it (`notePayout`): opaque to the inbox. */
  readonly payout?: Uint8Array;
}

export interface AckResult {
  /** The acknowledged height after this call. */
  readonly height: number;
  /** Refunds recorded by this call, and their total. */
  readonly refunds: number;
  readonly refunded: bigint;
}

export interface InboxStatus {
  readonly height: number;
  readonly acked: number;
  readonly count: number;
  readonly bytes: number;
}

export interface InboxTotals {
  readonly count: number;
  readonly bytes: number;
  /** Deposits of messages that expired undrained: kept by the relay, never refunded. */
  readonly forfeited: bigint;
}

export interface Inbox {
  /** The relay's did:key. */
  readonly relay: string;
  /** The limits it enforces (the defaults with the options' overrides). */
  readonly limits: InboxLimits;
  /** Stores a sealed box; with `payment`, charges it first (only for a new deposit that fits). */
  deposit(request: DepositRequest, payment?: Payment): Promise<DepositReceipt>;
  challenge(recipient: string): Promise<DrainChallenge>;
  drain(request: DrainRequest): Promise<DrainResponse>;
  ack(request: AckRequest): Promise<AckResult>;
  /** Purges up to `limit` expired payloads and idempotency records; returns how many entries it handled. */
  purgeExpired(limit?: number): Promise<number>;
  /** Refunds owed, oldest recipient first, at most `limit`. */
  refunds(limit?: number): Promise<Refund[]>;
  /** The refund owed for `recipient`'s message `seq`, if one is. */
  refund(recipient: string, seq: number): Promise<Refund | undefined>;
  /** Records, before paying, how the executor is paying a refund (a write-ahead note). */
  notePayout(id: string, payout: Uint8Array): Promise<void>;
  /** Forgets refunds the executor has paid. Idempotent. */
  settleRefunds(ids: readonly string[]): Promise<void>;
  status(recipient: string): Promise<InboxStatus | undefined>;
  totals(): Promise<InboxTotals>;
}

// ---- stored records ---------------------------------------------------------------------------

/** One recipient's inbox: the frontier at its height and at its acknowledged height. */
interface Meta {
  readonly height: number;
  readonly peaks: readonly Uint8Array[];
  readonly acked: number;
  readonly ackedPeaks: readonly Uint8Array[];
  /** The recipient's signed acknowledgement of `acked` (root and signature), once there is one. */
  readonly lastAck?: { readonly root: Uint8Array; readonly signature: Uint8Array };
  readonly count: number;
  readonly bytes: number;
}

const EMPTY_META: Meta = { height: 0, peaks: [], acked: 0, ackedPeaks: [], count: 0, bytes: 0 };
const EMPTY_TOTALS: InboxTotals = { count: 0, bytes: 0, forfeited: 0n };
/** The key of the totals record in `inbox_meta` (DIDs start with "did:", so it cannot clash). */
const TOTALS_KEY = '#totals';

/** Reads a record this module wrote; anything else there is corruption of the store (`E_IO`). */
class Stored {
  readonly m: CborMap;

  constructor(
    value: Uint8Array,
    readonly what: string,
  ) {
    let v: unknown;
    try {
      v = decodeCbor(value, what);
    } catch (e) {
      throw new DreggError('E_IO', `Stored ${what} is malformed`, { cause: e });
    }
    if (!isCborMap(v)) throw this.#bad();
    this.m = v;
  }

  #bad(): DreggError {
    return new DreggError('E_IO', `Stored ${this.what} is malformed`);
  }

  count(k: string): number {
    const v = this.m[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw this.#bad();
    return v;
  }

  amount(k: string): bigint {
    const v = this.m[k];
    if (typeof v === 'bigint') return v;
    return BigInt(this.count(k));
  }

  bytes(k: string, from: CborMap = this.m): Uint8Array {
    const v = from[k];
    if (!(v instanceof Uint8Array)) throw this.#bad();
    return v;
  }

  optionalBytes(k: string): Uint8Array | undefined {
    return this.m[k] === undefined ? undefined : this.bytes(k);
  }

  peaks(k: string): Uint8Array[] {
    const v = this.m[k];
    if (!Array.isArray(v) || !v.every((p): p is Uint8Array => p instanceof Uint8Array)) throw this.#bad();
    return v;
  }

  optionalMap(k: string): CborMap | undefined {
    const v = this.m[k];
    if (v === undefined) return undefined;
    if (!isCborMap(v)) throw this.#bad();
    return v;
  }
}

function encodeMeta(m: Meta): Uint8Array {
  const out: CborMap = {
    v: INBOX_VERSION,
    n: m.height,
    peaks: [...m.peaks],
    a: m.acked,
    apeaks: [...m.ackedPeaks],
    cnt: m.count,
    len: m.bytes,
  };
  if (m.lastAck !== undefined) out.ack = { root: m.lastAck.root, sig: m.lastAck.signature };
  return encodeCbor(out);
}

function decodeMeta(value: Uint8Array): Meta {
  const m = new Stored(value, 'inbox record');
  const ack = m.optionalMap('ack');
  return {
    height: m.count('n'),
    peaks: m.peaks('peaks'),
    acked: m.count('a'),
    ackedPeaks: m.peaks('apeaks'),
    count: m.count('cnt'),
    bytes: m.count('len'),
    ...(ack !== undefined ? { lastAck: { root: m.bytes('root', ack), signature: m.bytes('sig', ack) } } : {}),
  };
}

function encodeTotals(t: InboxTotals): Uint8Array {
  return encodeCbor({ v: INBOX_VERSION, cnt: t.count, len: t.bytes, lost: t.forfeited });
}

function decodeTotals(value: Uint8Array): InboxTotals {
  const m = new Stored(value, 'inbox totals');
  return { count: m.count('cnt'), bytes: m.count('len'), forfeited: m.amount('lost') };
}

function decodeMessage(value: Uint8Array): InboxMessage {
  try {
    return messageFromCbor(new Stored(value, 'inbox message').m);
  } catch (e) {
    throw new DreggError('E_IO', 'Stored inbox message is malformed', { cause: e });
  }
}

function decodeRefund(key: string, value: Uint8Array): Refund {
  const m = new Stored(value, 'refund');
  const cut = key.lastIndexOf('/');
  const payout = m.optionalBytes('pay');
  return {
    id: key,
    recipient: key.slice(0, cut),
    seq: Number(key.slice(cut + 1)),
    amount: m.amount('dep'),
    claim: m.bytes('ref'),
    at: m.count('at'),
    ...(payout === undefined ? {} : { payout }),
  };
}

/** A message's place without its payload: what stays of it once it expired. */
function withoutPayload(m: InboxMessage): InboxMessage {
  const { ciphertext: _, ...stub } = m;
  return stub;
}

/** What an idempotency record remembers: when it lapses, the request it answered, and the answer. */
interface Remembered {
  readonly expires: number;
  readonly ciphertextHash: Uint8Array;
  readonly ttl: number;
  readonly deposit: bigint;
  readonly refund?: Uint8Array;
  readonly receipt: Uint8Array;
}

function encodeRemembered(r: Remembered): Uint8Array {
  const out: CborMap = {
    v: INBOX_VERSION,
    exp: r.expires,
    cth: r.ciphertextHash,
    ttl: r.ttl,
    dep: r.deposit,
    res: r.receipt,
  };
  if (r.refund !== undefined) out.ref = r.refund;
  return encodeCbor(out);
}

function decodeRemembered(value: Uint8Array): Remembered {
  const m = new Stored(value, 'idempotency record');
  const refund = m.optionalBytes('ref');
  return {
    expires: m.count('exp'),
    ciphertextHash: m.bytes('cth'),
    ttl: m.count('ttl'),
    deposit: m.amount('dep'),
    ...(refund === undefined ? {} : { refund }),
    receipt: m.bytes('res'),
  };
}

function sameRequest(r: Remembered, req: DepositRequest, cth: Uint8Array): boolean {
  const refundsMatch =
    r.refund === undefined || req.refund === undefined
      ? r.refund === req.refund
      : bytesEqual(r.refund, req.refund);
  return bytesEqual(r.ciphertextHash, cth) && r.ttl === req.ttl && r.deposit === req.deposit && refundsMatch;
}

// ---- keys -------------------------------------------------------------------------------------

const pad = (n: number, width: number): string => n.toString().padStart(width, '0');
/** Sequence numbers and times are decimal, zero-padded, so key order is numeric order. */
const seqText = (seq: number): string => pad(seq, 16);
const messageKey = (recipient: string, seq: number): string => `${recipient}/${seqText(seq)}`;
const messageExpiryKey = (exp: number, recipient: string, seq: number): string =>
  `${pad(exp, 12)}/m/${recipient}/${seqText(seq)}`;
const idempotencyExpiryKey = (exp: number, id: string): string => `${pad(exp, 12)}/i/${id}`;
const paymentExpiryKey = (exp: number, id: string): string => `${pad(exp, 12)}/p/${id}`;

function idempotencyId(recipient: string, key: Uint8Array): string {
  return toHex(hashFor('inboxIdempotency', encodeCbor({ to: recipient, key })));
}

// ---- one operation's writes -------------------------------------------------------------------

/**
 * Collects the writes of one operation (or of a group of deposits), with the inbox and totals records
 * they changed, for one transact; reads through `get` see the writes collected so far.
 */
class Batch {
  readonly writes: Write[] = [];
  readonly #metas = new Map<string, Meta>();
  readonly #written = new Map<string, Uint8Array | undefined>();
  #totals: InboxTotals | undefined;

  constructor(readonly store: Store) {}

  async get(collection: string, key: string): Promise<Uint8Array | undefined> {
    const id = `${collection}\u0000${key}`;
    return this.#written.has(id) ? this.#written.get(id) : this.store.get(collection, key);
  }

  async meta(recipient: string): Promise<Meta | undefined> {
    const held = this.#metas.get(recipient);
    if (held !== undefined) return held;
    const value = await this.store.get('inbox_meta', recipient);
    return value === undefined ? undefined : decodeMeta(value);
  }

  setMeta(recipient: string, m: Meta): void {
    this.#metas.set(recipient, m);
  }

  async totals(): Promise<InboxTotals> {
    if (this.#totals !== undefined) return this.#totals;
    const value = await this.store.get('inbox_meta', TOTALS_KEY);
    return value === undefined ? EMPTY_TOTALS : decodeTotals(value);
  }

  setTotals(t: InboxTotals): void {
    this.#totals = t;
  }

  put(collection: string, key: string, value: Uint8Array): void {
    this.writes.push({ op: 'put', collection, key, value });
    this.#written.set(`${collection}\u0000${key}`, value);
  }

  delete(collection: string, key: string): void {
    this.writes.push({ op: 'delete', collection, key });
    this.#written.set(`${collection}\u0000${key}`, undefined);
  }

  get empty(): boolean {
    return this.writes.length === 0 && this.#metas.size === 0 && this.#totals === undefined;
  }

  async commit(): Promise<void> {
    const writes = [...this.writes];
    for (const [recipient, m] of this.#metas)
      writes.push({ op: 'put', collection: 'inbox_meta', key: recipient, value: encodeMeta(m) });
    if (this.#totals !== undefined)
      writes.push({
        op: 'put',
        collection: 'inbox_meta',
        key: TOTALS_KEY,
        value: encodeTotals(this.#totals),
      });
    await this.store.transact(writes);
  }
}

function checkLimits(l: InboxLimits): InboxLimits {
  const positive = (n: number) => Number.isSafeInteger(n) && n > 0;
  const ok =
    positive(l.maxMessageBytes) &&
    positive(l.maxTtlSeconds) &&
    typeof l.minDeposit === 'bigint' &&
    l.minDeposit >= 0n &&
    [l.perRecipient, l.total].every((q) => positive(q.maxCount) && positive(q.maxBytes)) &&
    positive(l.challengeTtlSeconds) &&
    positive(l.maxChallenges) &&
    positive(l.maxDrainCount) &&
    positive(l.maxDrainBytes) &&
    positive(l.sweepLimit);
  if (!ok) throw new DreggError('E_ARGUMENT', 'Inbox limits must be positive integers');
  return l;
}

// ---- the inbox --------------------------------------------------------------------------------

export async function openInbox(options: InboxOptions): Promise<Inbox> {
  const { store, clock, ed, seed } = options;
  const limits = Object.freeze(checkLimits({ ...DEFAULT_INBOX_LIMITS, ...options.limits }));
  for (const c of INBOX_COLLECTIONS)
    if (!store.collections.includes(c))
      throw new DreggError(
        'E_ARGUMENT',
        `The store lacks the collection ${c} (open it with INBOX_COLLECTIONS)`,
      );
  const relay = didKeyFromEd25519(ed25519PublicKey(seed));
  const random = options.random ?? ((n: number) => crypto.getRandomValues(new Uint8Array(n)));

  // One operation at a time: each starts when the one before has committed (or failed).
  let queue: Promise<unknown> = Promise.resolve();
  function serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  }

  /** Adds to `b` the purge of up to `limit` entries that expired by `now`; returns how many. */
  async function sweep(b: Batch, now: number, limit: number): Promise<number> {
    let handled = 0;
    // Most calls find nothing due: peek at the oldest entry before reading a batch.
    const [oldest] = await store.list('inbox_expiry', { limit: 1 });
    if (oldest === undefined || Number(oldest.key.split('/')[0]) > now) return 0;
    for (const { key } of await store.list('inbox_expiry', { limit })) {
      const [expText, kind, id, seq] = key.split('/');
      const exp = Number(expText);
      if (exp > now) break;
      b.delete('inbox_expiry', key);
      handled++;
      if (kind === 'p') {
        b.delete('inbox_payments', id!);
        continue;
      }
      if (kind === 'i') {
        // Only the record this entry was written for: a later deposit may have reused the key.
        const value = await store.get('inbox_idempotency', id!);
        if (value !== undefined && decodeRemembered(value).expires === exp)
          b.delete('inbox_idempotency', id!);
        continue;
      }
      const recipient = id!;
      const value = await store.get('inbox_messages', `${recipient}/${seq}`);
      if (value === undefined) continue; // acknowledged meanwhile
      const m = decodeMessage(value);
      if (m.ciphertext === undefined) continue;
      b.put('inbox_messages', `${recipient}/${seq}`, encodeCbor(messageToCbor(withoutPayload(m))));
      const meta = (await b.meta(recipient))!;
      b.setMeta(recipient, { ...meta, bytes: meta.bytes - m.size });
      const t = await b.totals();
      b.setTotals({ ...t, bytes: t.bytes - m.size, forfeited: t.forfeited + m.deposit });
    }
    return handled;
  }

  /** Adds one deposit to the group `b` (checks, charge, records); its receipt holds once `b` commits. */
  async function depositInto(
    b: Batch,
    request: DepositRequest,
    payment: Payment | undefined,
    now: number,
  ): Promise<DepositReceipt> {
    const req = checkDepositRequest(request);
    const size = req.ciphertext.length;
    if (size > limits.maxMessageBytes)
      throw new DreggError('E_INVALID', `A message is at most ${limits.maxMessageBytes} bytes here`);
    if (req.ttl > limits.maxTtlSeconds)
      throw new DreggError('E_INVALID', `A TTL is at most ${limits.maxTtlSeconds} seconds here`);
    if (req.deposit < limits.minDeposit)
      throw new DreggError('E_INVALID', `The deposit is below this relay's minimum of ${limits.minDeposit}`);
    const cth = ciphertextHash(req.ciphertext);
    const idem = idempotencyId(req.recipient, req.idempotencyKey);
    const known = await b.get('inbox_idempotency', idem);
    if (known !== undefined) {
      const r = decodeRemembered(known);
      if (r.expires > now) {
        if (!sameRequest(r, req, cth))
          throw new DreggError('E_EXISTS', 'This idempotency key was used for another deposit');
        return decodeDepositReceipt(r.receipt);
      }
    }
    const meta = (await b.meta(req.recipient)) ?? EMPTY_META;
    const totals = await b.totals();
    const over =
      meta.count + 1 > limits.perRecipient.maxCount
        ? 'this inbox holds its most messages'
        : meta.bytes + size > limits.perRecipient.maxBytes
          ? 'this inbox holds its most bytes'
          : totals.count + 1 > limits.total.maxCount
            ? 'the relay holds its most messages'
            : totals.bytes + size > limits.total.maxBytes
              ? 'the relay holds its most bytes'
              : undefined;
    if (over !== undefined) throw new DreggError('E_QUOTA', `Quota exceeded: ${over}`);
    if (payment !== undefined) {
      const paymentId = toHex(payment.id);
      const paid = await b.get('inbox_payments', paymentId);
      if (paid !== undefined && toHex(paid) !== idem)
        throw new DreggError('E_EXISTS', 'This payment already paid for another deposit');
      // A crash after the charge and before this deposit commits leaves the payment applied and
      // unused: the sender's retry (same key, same payment) finds it already applied and lands.
      await payment.charge();
      b.put('inbox_payments', paymentId, fromHex(idem));
      b.put('inbox_expiry', paymentExpiryKey(payment.until, paymentId), new Uint8Array(0));
    }
    const seq = meta.height;
    const expires = now + req.ttl;
    const message: InboxMessage = {
      seq,
      at: now,
      expires,
      size,
      deposit: req.deposit,
      ...(req.refund === undefined ? {} : { refund: req.refund }),
      ciphertextHash: cth,
      ciphertext: req.ciphertext,
    };
    const before: Frontier = { count: seq, peaks: meta.peaks };
    const after = appendDigest(before, messageDigest(message));
    const root = frontierRoot(after);
    const head = await signHead({ relay, recipient: req.recipient, height: after.count, root, at: now });
    const receipt: DepositReceipt = {
      seq,
      at: now,
      expires,
      size,
      root,
      proof: appendProof(before),
      signature: head.signature,
    };
    b.put('inbox_messages', messageKey(req.recipient, seq), encodeCbor(messageToCbor(message)));
    b.put('inbox_expiry', messageExpiryKey(expires, req.recipient, seq), new Uint8Array(0));
    b.put(
      'inbox_idempotency',
      idem,
      encodeRemembered({
        expires,
        ciphertextHash: cth,
        ttl: req.ttl,
        deposit: req.deposit,
        ...(req.refund === undefined ? {} : { refund: req.refund }),
        receipt: encodeDepositReceipt(receipt),
      }),
    );
    b.put('inbox_expiry', idempotencyExpiryKey(expires, idem), new Uint8Array(0));
    b.setMeta(req.recipient, {
      ...meta,
      height: after.count,
      peaks: after.peaks,
      count: meta.count + 1,
      bytes: meta.bytes + size,
    });
    b.setTotals({ ...totals, count: totals.count + 1, bytes: totals.bytes + size });
    return receipt;
  }

  // Group commit of deposits: those that arrive while a group commits wait for the next one, which
  // writes them all in ONE transaction (one fsync), each checked against the ones before it.
  const waiting: {
    readonly request: DepositRequest;
    readonly payment: Payment | undefined;
    resolve(r: DepositReceipt): void;
    reject(e: unknown): void;
  }[] = [];
  let grouping = false;
  function commitDeposits(): void {
    if (grouping) return;
    grouping = true;
    void serialized(async () => {
      const group = waiting.splice(0, MAX_DEPOSIT_GROUP);
      const b = new Batch(store);
      const now = nowSeconds(clock);
      const accepted: (() => void)[] = [];
      try {
        await sweep(b, now, limits.sweepLimit);
      } catch (e) {
        for (const job of group) job.reject(e);
        return;
      }
      for (const job of group) {
        try {
          const receipt = await depositInto(b, job.request, job.payment, now);
          accepted.push(() => job.resolve(receipt));
        } catch (e) {
          job.reject(e); // refused alone: it wrote nothing into the group
        }
      }
      try {
        if (!b.empty) await b.commit();
      } catch (e) {
        for (const job of group) job.reject(e);
        return;
      }
      for (const done of accepted) done();
    }).finally(() => {
      grouping = false;
      if (waiting.length > 0) commitDeposits();
    });
  }

  async function signHead(body: Omit<InboxHead, 'signature'>): Promise<InboxHead> {
    return { ...body, signature: await ed.sign(seed, headDigest(body)) };
  }

  return {
    relay,
    limits,

    deposit(request, payment) {
      return new Promise<DepositReceipt>((resolve, reject) => {
        waiting.push({ request, payment, resolve, reject });
        commitDeposits();
      });
    },

    async challenge(recipient) {
      ed25519FromDidKey(recipient);
      return serialized(async () => {
        const meta = await store.get('inbox_meta', recipient);
        if (meta === undefined) throw new DreggError('E_NOT_FOUND', 'No inbox for this recipient');
        const now = nowSeconds(clock);
        const writes: Write[] = [];
        const live: { key: string; expires: number }[] = [];
        for (const { key, value } of await store.list('inbox_challenges', { prefix: `${recipient}/` })) {
          const expires = new Stored(value, 'drain challenge').count('exp');
          if (expires <= now) writes.push({ op: 'delete', collection: 'inbox_challenges', key });
          else live.push({ key, expires });
        }
        live.sort((x, y) => x.expires - y.expires || (x.key < y.key ? -1 : 1));
        for (const { key } of live.slice(0, Math.max(0, live.length - limits.maxChallenges + 1)))
          writes.push({ op: 'delete', collection: 'inbox_challenges', key });
        const challenge: DrainChallenge = {
          relay,
          recipient,
          nonce: random(32),
          height: decodeMeta(meta).height,
          expires: now + limits.challengeTtlSeconds,
        };
        writes.push({
          op: 'put',
          collection: 'inbox_challenges',
          key: `${recipient}/${toHex(challenge.nonce)}`,
          value: encodeCbor({ v: INBOX_VERSION, h: challenge.height, exp: challenge.expires }),
        });
        await store.transact(writes);
        return challenge;
      });
    },

    async drain(request) {
      const req = checkDrainRequest(request);
      const publicKey = ed25519FromDidKey(req.recipient);
      return serialized(async () => {
        const key = `${req.recipient}/${toHex(req.nonce)}`;
        const held = await store.get('inbox_challenges', key);
        if (held === undefined)
          throw new DreggError('E_STALE', 'This drain challenge is unknown or was already used');
        const record = new Stored(held, 'drain challenge');
        const challenge: DrainChallenge = {
          relay,
          recipient: req.recipient,
          nonce: req.nonce,
          height: record.count('h'),
          expires: record.count('exp'),
        };
        const now = nowSeconds(clock);
        const expired = challenge.expires <= now;
        const signed = !expired && (await ed.verify(publicKey, challengeDigest(challenge), req.signature));
        // Single use: any attempt consumes the challenge, whether it succeeds or not.
        await store.transact([{ op: 'delete', collection: 'inbox_challenges', key }]);
        if (expired) throw new DreggError('E_EXPIRED', 'This drain challenge has expired');
        if (!signed)
          throw new DreggError('E_BAD_SIGNATURE', 'The drain challenge is not signed by the recipient');
        const metaValue = await store.get('inbox_meta', req.recipient);
        if (metaValue === undefined) throw new DreggError('E_INTERNAL', 'A challenged inbox has no record');
        const meta = decodeMeta(metaValue);
        const limit = Math.min(req.limit ?? limits.maxDrainCount, limits.maxDrainCount);
        const rows = await store.list('inbox_messages', { prefix: `${req.recipient}/`, limit });
        const base: Frontier = { count: meta.acked, peaks: meta.ackedPeaks };
        let frontier = base;
        let bytes = 0;
        const messages: InboxMessage[] = [];
        for (const row of rows) {
          const stored = decodeMessage(row.value);
          // Past its expiry a message is not delivered, swept or not: its place is.
          const m = stored.expires <= now ? withoutPayload(stored) : stored;
          const size = m.ciphertext?.length ?? 0;
          if (messages.length > 0 && bytes + size > limits.maxDrainBytes) break;
          if (m.seq !== frontier.count) throw new DreggError('E_INTERNAL', 'An inbox has a gap');
          bytes += size;
          messages.push(m);
          frontier = appendDigest(frontier, messageDigest(m));
        }
        const head = await signHead({
          relay,
          recipient: req.recipient,
          height: frontier.count,
          root: frontierRoot(frontier),
          at: now,
        });
        const baseAck =
          meta.lastAck === undefined
            ? undefined
            : {
                recipient: req.recipient,
                height: meta.acked,
                root: meta.lastAck.root,
                signature: meta.lastAck.signature,
              };
        return { base, ...(baseAck === undefined ? {} : { baseAck }), messages, head, height: meta.height };
      });
    },

    async ack(request) {
      const req = checkAckRequest(request);
      const publicKey = ed25519FromDidKey(req.recipient);
      return serialized(async () => {
        const metaValue = await store.get('inbox_meta', req.recipient);
        if (metaValue === undefined) throw new DreggError('E_NOT_FOUND', 'No inbox for this recipient');
        const meta = decodeMeta(metaValue);
        // Acknowledgements only move forward; an old one again changes nothing.
        if (req.height <= meta.acked) return { height: meta.acked, refunds: 0, refunded: 0n };
        if (req.height > meta.height)
          throw new DreggError('E_INVALID', 'The acknowledgement is past the end of the inbox');
        if (!(await ed.verify(publicKey, ackDigest(relay, req), req.signature)))
          throw new DreggError('E_BAD_SIGNATURE', 'The acknowledgement is not signed by the recipient');
        const rows = await store.list('inbox_messages', {
          prefix: `${req.recipient}/`,
          limit: req.height - meta.acked,
        });
        const now = nowSeconds(clock);
        const b = new Batch(store);
        let frontier: Frontier = { count: meta.acked, peaks: meta.ackedPeaks };
        let bytes = 0;
        let refunds = 0;
        let refunded = 0n;
        let forfeited = 0n;
        for (const row of rows) {
          const m = decodeMessage(row.value);
          if (m.seq !== frontier.count) throw new DreggError('E_INTERNAL', 'An inbox has a gap');
          frontier = appendDigest(frontier, messageDigest(m));
          b.delete('inbox_messages', row.key);
          if (m.ciphertext === undefined) continue; // purged at expiry: its deposit is already forfeited
          bytes += m.size;
          b.delete('inbox_expiry', messageExpiryKey(m.expires, req.recipient, m.seq));
          // Expired but not yet purged: forfeited all the same (a drain showed it as expired).
          if (m.expires <= now) forfeited += m.deposit;
          else if (m.deposit > 0n && m.refund !== undefined) {
            b.put(
              'inbox_refunds',
              messageKey(req.recipient, m.seq),
              encodeCbor({ v: INBOX_VERSION, dep: m.deposit, ref: m.refund, at: now }),
            );
            refunds++;
            refunded += m.deposit;
          }
        }
        if (frontier.count !== req.height) throw new DreggError('E_INTERNAL', 'An inbox has a gap');
        if (!bytesEqual(frontierRoot(frontier), req.root))
          throw new DreggError('E_INVALID', 'The acknowledgement names a root this inbox never had');
        const acked = req.height - meta.acked;
        b.setMeta(req.recipient, {
          ...meta,
          acked: req.height,
          ackedPeaks: frontier.peaks,
          lastAck: { root: req.root, signature: req.signature },
          count: meta.count - acked,
          bytes: meta.bytes - bytes,
        });
        const totals = await b.totals();
        b.setTotals({
          count: totals.count - acked,
          bytes: totals.bytes - bytes,
          forfeited: totals.forfeited + forfeited,
        });
        await b.commit();
        return { height: req.height, refunds, refunded };
      });
    },

    async purgeExpired(limit = limits.sweepLimit) {
      if (!Number.isSafeInteger(limit) || limit < 1)
        throw new DreggError('E_ARGUMENT', 'limit must be a positive integer');
      return serialized(async () => {
        const b = new Batch(store);
        const handled = await sweep(b, nowSeconds(clock), limit);
        if (!b.empty) await b.commit();
        return handled;
      });
    },

    async refunds(limit) {
      const rows = await store.list('inbox_refunds', limit === undefined ? {} : { limit });
      return rows.map(({ key, value }) => decodeRefund(key, value));
    },

    async refund(recipient, seq) {
      const key = messageKey(recipient, seq);
      const value = await store.get('inbox_refunds', key);
      return value === undefined ? undefined : decodeRefund(key, value);
    },

    async notePayout(id, payout) {
      return serialized(async () => {
        const value = await store.get('inbox_refunds', id);
        if (value === undefined) throw new DreggError('E_NOT_FOUND', 'No such refund is owed');
        const m = new Stored(value, 'refund').m;
        await store.transact([
          { op: 'put', collection: 'inbox_refunds', key: id, value: encodeCbor({ ...m, pay: payout }) },
        ]);
      });
    },

    async settleRefunds(ids) {
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
        throw new DreggError('E_ARGUMENT', 'Refund ids are strings');
      return serialized(() =>
        store.transact(ids.map((key) => ({ op: 'delete' as const, collection: 'inbox_refunds', key }))),
      );
    },

    async status(recipient) {
      const value = await store.get('inbox_meta', recipient);
      if (value === undefined) return undefined;
      const m = decodeMeta(value);
      return { height: m.height, acked: m.acked, count: m.count, bytes: m.bytes };
    },

    async totals() {
      const value = await store.get('inbox_meta', TOTALS_KEY);
      return value === undefined ? EMPTY_TOTALS : decodeTotals(value);
    },
  };
}

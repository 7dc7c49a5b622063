/**
 * The relay's turn notary. It accepts signed turns, checks what it can before ordering them (the
 * agent's signature, delegation chains) concurrently, then orders them: one relay, one sequence.
 * Ordering runs through the executor's group commit (core/src/turns/batch.ts): each queued turn is
 * applied in memory in turn, a refused one (a second spend of a cell's state or a replayed nonce is
 * `E_STALE`, like every other refusal, from the executor) is rolled back and rejected alone, and the
 * accepted ones become consecutive log events; then ONE store transaction writes the batch's ledger
 * records, receipts, log events, idempotency keys, log tree nodes and the newly signed attested root.
 * A submission is acknowledged only after that transaction, so a receipt once returned survives a
 * crash, and every event is written together with the ledger change it records, so none is applied
 * twice or lost. See core/docs/notary.md.
 *
 * Idempotency: a turn's key is its hash (signing digest and signature). The same turn submitted again
 * — concurrently, later, or after a restart — gets the first submission's seq and receipt with
 * `duplicate: true`; the log holds it once. An issue's key is the new cell's id.
 *
 * Proved cells (./proved.ts, core/docs/notary.md §"Proved cells"): `registerProved` makes a cell
 * proved, `submitProved` orders a proved turn — signature and proof checked before ordering, the head
 * and nullifier checked in order, through the same batches, log and idempotency keys as plain turns.
 * A plain turn that would change a proved cell is refused.
 *
 * Reads (`cell`, `head`, `provedHead`) see the state as applied, which during a batch's commit may include turns
 * not yet durable (they are rolled back if the commit fails); `latestRoot`, `events`, `receipts`,
 * `inclusion` and `audit` see committed data only.
 */
import type { Handle } from '../caps/handle.ts';
import { type Cell, cellId } from '../cells/cell.ts';
import { type Clock, nowSeconds } from '../clock.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { EMPTY_FRONTIER, type Frontier, isFrontier, type PerfectNode } from '../crypto/merkle-log.ts';
import { bytesEqual, fromHex, toHex } from '../encoding/bytes.ts';
import { decodeCbor, encodeCbor } from '../encoding/cbor.ts';
import { didKeyFromEd25519 } from '../encoding/did-key.ts';
import { DreggError, fail } from '../errors.ts';
import type { Digest } from '../proofs/state.ts';
import {
  checkProof,
  elementsFromBytes,
  elementsToBytes,
  type ProvedRegistration,
  type ProvedSubmission,
  verifyProvedRegistration,
  verifySubmissionSignature,
} from '../proofs/submission.ts';
import type { Store, Write } from '../store/store.ts';
import { holdingsOfCell } from '../turns/assets.ts';
import { handleRevoked } from '../turns/authority.ts';
import { createBatcher, type Sealed, type Step } from '../turns/batch.ts';
import {
  assetAudit,
  checkTurn,
  EXECUTOR_COLLECTIONS,
  genesisStep,
  headOf,
  holdingsOf,
  type LedgerContext,
  ledgerRootOf,
  loadState,
  receiptKey,
  turnStep,
} from '../turns/executor.ts';
import { decodeReceipt, type Receipt, receiptHash } from '../turns/receipt.ts';
import { cellKey, decodeValue, getCell, isCell, type Supply, supplyOf } from '../turns/state.ts';
import { type Turn, turnHash } from '../turns/turn.ts';
import type { Inclusion } from './inclusion.ts';
import {
  decodeLogEvent,
  digestOfEncodedEvent,
  encodeLogEvent,
  type LogEvent,
  type LogEventKind,
  logEventDigest,
  logTree,
} from './log.ts';
import {
  collectionOf,
  NULLIFIERS,
  PROVED_CELLS,
  provedAmong,
  provedBalance,
  provedCell,
  provedOwner,
  provedStep,
  registered,
  registerStep,
} from './proved.ts';
import { type AttestedRoot, decodeAttestedRoot, encodeAttestedRoot, signAttestedRoot } from './root.ts';

/** The notary's store: the executor's ledger and receipts, and the log with its indexes. */
export const NOTARY_COLLECTIONS: readonly string[] = Object.freeze([
  ...EXECUTOR_COLLECTIONS,
  /** seq (16 digits) -> encoded LogEvent */
  'notary-log',
  /** idempotency key (hex) -> CBOR [seq, the agent's receipt seq | null] */
  'notary-keys',
  /** "<level>/<index>" (2 and 16 digits) -> 32-byte root of that perfect subtree of the log tree */
  'notary-tree',
  /** "root" -> the latest AttestedRoot; "frontier" -> CBOR {n, peaks} of the log tree */
  'notary-meta',
  /** "proved:<cell id>" -> CBOR {owner, head, genesis}: the proved cells (./proved.ts) */
  PROVED_CELLS,
  /** "spent:<nullifier hex>" -> CBOR {seq, turn}: the spent states of proved cells */
  NULLIFIERS,
]);

export interface NotaryOptions {
  readonly store: Store;
  readonly ed: Ed25519;
  readonly clock: Clock;
  /** The relay's signing key (32-byte Ed25519 seed): it signs receipts and attested roots. */
  readonly seed: Uint8Array;
  /** The ledger (federation) name every turn must carry. */
  readonly ledger: string;
  readonly federations?: ReadonlyMap<string, Uint8Array>;
  /** Bridged federations whose mints credit a wrapped asset here (ExecEnv.wrapped). */
  readonly wrapped?: ReadonlyMap<string, string>;
  readonly feeCell?: string;
  /** Group commit: turns per batch at most (default 256), and how long a batch waits to fill (default 0). */
  readonly batch?: { readonly maxTurns?: number; readonly maxDelayMs?: number };
  /** What a turn's `prev` names after a receipt (LedgerContext.chainHash); the receipt's hash by default. */
  readonly chainHash?: (receipt: Receipt) => string;
  /** Told of each proof checked: 'verified' or the refusal's code, and the check's milliseconds. */
  readonly onProof?: (outcome: string, ms: number) => void;
}

export interface Notarized {
  /** The turn's position in the log. */
  readonly seq: number;
  readonly receipt: Receipt;
  /** True when this turn was already in the log (or being ordered) before this submission. */
  readonly duplicate: boolean;
}

/**
 * The supply audit, by replaying the log: `issued` and `destroyed` are summed over its events,
 * `circulating` (cell balances) and `transit` (escrows, bridge locks, shielded pool) are counted in
 * the ledger state; `delta` = issued - destroyed - transit - circulating is 0 when they agree.
 */
export interface SupplyAudit {
  readonly issued: bigint;
  readonly destroyed: bigint;
  readonly transit: bigint;
  readonly circulating: bigint;
  readonly delta: bigint;
  /**
   * Of `transit`: what proved cells held when they were registered. The relay cannot see a proved
   * cell's balance move (a proved transfer out is credited nowhere it knows), so that value is
   * counted as shielded, out of circulation, for good.
   */
  readonly shielded: bigint;
  readonly height: number;
  /** Whether the ledger state still has the ledger root the latest attested root signed. */
  readonly ledgerRootMatches: boolean;
  /**
   * Per wrapped asset, from the state (the log's events count computrons): its holdings and escrows,
   * and its supply record's mints less burns. Conserved when the two are equal.
   */
  readonly assets: ReadonlyMap<string, { readonly held: bigint; readonly expected: bigint }>;
}

export interface Notary {
  /** The relay's did:key: the signer of receipts and attested roots. */
  readonly relay: string;
  readonly ledger: string;
  /** Orders a signed turn; idempotent by turn hash, also across restarts. */
  submit(turn: Turn): Promise<Notarized>;
  /**
   * Orders turns in exactly the given sequence (a federation's final order): signatures are checked
   * concurrently, then the turns are queued together, so they share batches (one store transaction
   * and one attested root per batch, not per turn). One result per turn, in order: its notarization,
   * or the error that refused it. A turn already in the log answers as in `submit`.
   */
  submitInOrder(turns: readonly Turn[]): Promise<(Notarized | DreggError)[]>;
  /** Makes a cell proved; returns its head commitment. Idempotent for the same registration. */
  registerProved(reg: ProvedRegistration): Promise<Digest>;
  /** Verifies and orders a proved turn; idempotent by turn hash. A double spend is E_STALE. */
  submitProved(sub: ProvedSubmission): Promise<Notarized>;
  /** A proved cell's current head commitment; undefined if the cell is not proved. */
  provedHead(cell: string): Digest | undefined;
  /** A new cell holding `balance` computrons from nothing, recorded as an 'issue' event. */
  genesis(owner: string, salt: string, balance: bigint): Promise<Cell>;
  /** Events in the log (committed). */
  height(): number;
  latestRoot(): AttestedRoot;
  /** Up to `limit` events from `from`, in order. */
  events(from: number, limit: number): Promise<LogEvent[]>;
  /** The event of a turn (by its hash, hex) and its path under `latestRoot()`; `E_NOT_FOUND` if absent. */
  inclusion(turnHash: string): Promise<Inclusion>;
  /** The agent's receipts with seq >= `fromSeq`, at most `limit` of them. */
  receipts(agent: string, fromSeq?: number, limit?: number): Promise<Receipt[]>;
  cell(id: string): Cell | undefined;
  /** Every wrapped asset a cell holds, by asset id (none: empty). */
  holdings(cell: string): Map<string, bigint>;
  /** Whether a revocation channel of `h` is tripped or unknown, as of the last applied turn. */
  revoked(h: Handle): boolean;
  head(agent: string): { prev: string | null; seq: number };
  audit(): Promise<SupplyAudit>;
  /** Orders what is queued, then refuses new work. Does not close the store. */
  close(): Promise<void>;
}

/** What one accepted job leaves for the log; `seq` is given when the batch is sealed. */
interface Entry {
  readonly kind: LogEventKind;
  readonly key: Uint8Array;
  readonly agent: string;
  readonly cell: string;
  readonly receipt: Receipt | null;
  readonly created: Cell | null;
  readonly issued: bigint;
  readonly destroyed: bigint;
  readonly at: number;
  seq: number;
}

const LEDGER = /^[a-z0-9][a-z0-9.-]{0,62}$/;
const HEX64 = /^[0-9a-f]{64}$/;

const seqKey = (seq: number): string => seq.toString().padStart(16, '0');
/** Log events per page of the audit: all keys sharing their first 12 of 16 digits. */
const AUDIT_PAGE = 10_000;
const nodeKey = (n: PerfectNode): string =>
  `${n.level.toString().padStart(2, '0')}/${n.index.toString().padStart(16, '0')}`;

function movement(before: Supply, after: Supply): { issued: bigint; destroyed: bigint } {
  return {
    issued: after.genesis + after.bridgedIn - before.genesis - before.bridgedIn,
    destroyed: after.burned + after.bridgedOut - before.burned - before.bridgedOut,
  };
}

/** A record the notary itself wrote, read back; damage is a storage failure, not bad input. */
function stored<T>(what: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new DreggError('E_IO', `The stored ${what} is damaged`, { cause: e });
  }
}

function decodeKeyRecord(bytes: Uint8Array): { seq: number; receiptSeq: number | null } {
  return stored('idempotency record', () => {
    const v = decodeCbor(bytes, 'idempotency record');
    if (!Array.isArray(v) || v.length !== 2 || !Number.isSafeInteger(v[0]))
      throw new DreggError('E_INVALID', 'not [seq, receipt seq]');
    if (v[1] !== null && !Number.isSafeInteger(v[1])) throw new DreggError('E_INVALID', 'bad receipt seq');
    return { seq: v[0] as number, receiptSeq: v[1] as number | null };
  });
}

function decodeFrontier(bytes: Uint8Array): Frontier {
  return stored('log frontier', () => {
    const v = decodeCbor(bytes, 'log frontier') as { n?: unknown; peaks?: unknown };
    const f = { count: v.n, peaks: v.peaks } as Frontier;
    if (!isFrontier(f)) throw new DreggError('E_INVALID', 'not a frontier');
    return f;
  });
}

export async function openNotary(options: NotaryOptions): Promise<Notary> {
  const { store, ed, clock, seed } = options;
  if (typeof options.ledger !== 'string' || !LEDGER.test(options.ledger))
    fail('E_ARGUMENT', 'ledger must be a ledger name');
  for (const c of NOTARY_COLLECTIONS)
    if (!store.collections.includes(c)) fail('E_ARGUMENT', `The store must hold collection ${c}`);
  const state = await loadState(store);
  for (const collection of [PROVED_CELLS, NULLIFIERS])
    for (const { key, value } of await store.list(collection))
      state.set(
        key,
        stored(`${collection} record`, () => decodeValue(key, value)),
      );
  const relay = didKeyFromEd25519(ed25519PublicKey(seed));
  const ctx: LedgerContext = {
    state,
    ed,
    clock,
    seed,
    did: relay,
    ledger: options.ledger,
    federations: options.federations ?? new Map(),
    wrapped: options.wrapped,
    feeCell: options.feeCell,
    chainHash: options.chainHash,
  };

  const rootBytes = await store.get('notary-meta', 'root');
  const frontierBytes = await store.get('notary-meta', 'frontier');
  let frontier: Frontier = frontierBytes === undefined ? EMPTY_FRONTIER : decodeFrontier(frontierBytes);
  let latest: AttestedRoot;
  if (rootBytes === undefined) {
    if (frontier.count !== 0) fail('E_IO', 'The log has a tree but no attested root');
    latest = await signAttestedRoot(
      {
        v: 1,
        relay,
        ledger: ctx.ledger,
        height: 0,
        ledgerRoot: ledgerRootOf(state),
        logRoot: logTree.frontierRoot(frontier),
        supply: { issued: 0n, destroyed: 0n },
        at: nowSeconds(clock),
      },
      seed,
      ed,
    );
  } else {
    latest = stored('attested root', () => decodeAttestedRoot(rootBytes));
    if (latest.relay !== relay) fail('E_INVALID', `This log was signed by ${latest.relay}, not by this key`);
    if (latest.ledger !== ctx.ledger) fail('E_INVALID', `This log orders ledger ${latest.ledger}`);
    if (latest.height !== frontier.count || !bytesEqual(logTree.frontierRoot(frontier), latest.logRoot))
      fail('E_IO', 'The stored log tree does not match the attested root');
  }

  async function seal(steps: readonly Step<unknown>[]): Promise<Sealed> {
    const writes: Write[] = [];
    let f = frontier;
    let { issued, destroyed } = latest.supply;
    for (const step of steps) {
      const e = step.value as Entry;
      e.seq = f.count;
      const event: LogEvent = {
        seq: e.seq,
        kind: e.kind,
        key: e.key,
        agent: e.agent,
        cell: e.cell,
        receipt: e.receipt === null ? null : receiptHash(e.receipt),
        issued: e.issued,
        destroyed: e.destroyed,
        at: e.at,
      };
      const bytes = encodeLogEvent(event);
      writes.push({ op: 'put', collection: 'notary-log', key: seqKey(e.seq), value: bytes });
      writes.push({
        op: 'put',
        collection: 'notary-keys',
        key: toHex(e.key),
        value: encodeCbor([e.seq, e.receipt?.seq ?? null]),
      });
      f = logTree.appendDigest(f, digestOfEncodedEvent(bytes), (node, hash) =>
        writes.push({ op: 'put', collection: 'notary-tree', key: nodeKey(node), value: hash }),
      );
      issued += e.issued;
      destroyed += e.destroyed;
    }
    const root = await signAttestedRoot(
      {
        v: 1,
        relay,
        ledger: ctx.ledger,
        height: f.count,
        ledgerRoot: ledgerRootOf(state),
        logRoot: logTree.frontierRoot(f),
        supply: { issued, destroyed },
        at: nowSeconds(clock),
      },
      seed,
      ed,
    );
    writes.push({ op: 'put', collection: 'notary-meta', key: 'root', value: encodeAttestedRoot(root) });
    writes.push({
      op: 'put',
      collection: 'notary-meta',
      key: 'frontier',
      value: encodeCbor({ n: f.count, peaks: [...f.peaks] }),
    });
    return {
      writes,
      committed() {
        frontier = f;
        latest = root;
      },
    };
  }

  const batcher = createBatcher({ state, store, seal, collectionOf, ...options.batch });
  // Submissions being ordered, by idempotency key: a second one waits for the first.
  const inFlight = new Map<string, Promise<unknown>>();
  let closed = false;

  function once<T>(key: string, work: () => Promise<T>, again: (first: T) => T): Promise<T> {
    const first = inFlight.get(key) as Promise<T> | undefined;
    if (first !== undefined) return first.then(again);
    const p = work();
    inFlight.set(key, p);
    const done = () => inFlight.delete(key);
    p.then(done, done);
    return p;
  }

  async function known(key: string): Promise<{ seq: number; receiptSeq: number | null } | undefined> {
    const bytes = await store.get('notary-keys', key);
    return bytes === undefined ? undefined : decodeKeyRecord(bytes);
  }

  /** The receipt of a turn already in the log (a duplicate submission's answer). */
  async function firstReceipt(agent: string, seen: { seq: number; receiptSeq: number | null }) {
    const bytes =
      seen.receiptSeq === null ? undefined : await store.get('receipts', receiptKey(agent, seen.receiptSeq));
    if (bytes === undefined) fail('E_IO', `The receipt of log event ${seen.seq} is missing`);
    return { seq: seen.seq, receipt: stored('receipt', () => decodeReceipt(bytes)), duplicate: true };
  }

  async function readEvent(seq: number): Promise<LogEvent> {
    const bytes = await store.get('notary-log', seqKey(seq));
    if (bytes === undefined) fail('E_IO', `Log event ${seq} is missing`);
    return stored('log event', () => decodeLogEvent(bytes));
  }

  /** Queues a checked turn for ordering (synchronously: turns queued together keep their order). */
  async function orderTurn(turn: Turn, chains: Awaited<ReturnType<typeof checkTurn>>): Promise<Notarized> {
    const entry = await batcher.run<Entry>(async () => {
      const before = supplyOf(state);
      const step = await turnStep(ctx, turn, chains);
      const proved = provedAmong(state, step.tx.before().keys());
      if (proved !== undefined) {
        step.tx.rollback();
        fail('E_DENIED', `Cell ${proved} is proved: the relay changes it only by proved turns`);
      }
      const receipt = step.value;
      return {
        ...step,
        value: {
          kind: 'turn',
          key: turnHash(turn),
          agent: turn.agent,
          cell: turn.cell,
          receipt,
          created: null,
          ...movement(before, supplyOf(state)),
          at: receipt.at,
          seq: -1,
        },
      };
    });
    return { seq: entry.seq, receipt: entry.receipt!, duplicate: false };
  }

  function open(): void {
    if (closed) fail('E_IO', 'The notary is closed');
  }

  return {
    relay,
    ledger: ctx.ledger,

    submit(turn) {
      open();
      const key = toHex(turnHash(turn));
      return once<Notarized>(
        key,
        async () => {
          const seen = await known(key);
          if (seen !== undefined) return firstReceipt(turn.agent, seen);
          const chains = await checkTurn(ctx, turn);
          return orderTurn(turn, chains);
        },
        (first) => ({ ...first, duplicate: true }),
      );
    },

    async submitInOrder(turns) {
      open();
      type Ready = { done: Notarized | DreggError } | { chains: Awaited<ReturnType<typeof checkTurn>> };
      const ready = await Promise.all(
        turns.map(async (turn): Promise<Ready> => {
          try {
            const seen = await known(toHex(turnHash(turn)));
            if (seen !== undefined) return { done: await firstReceipt(turn.agent, seen) };
            return { chains: await checkTurn(ctx, turn) };
          } catch (e) {
            if (!(e instanceof DreggError)) throw e;
            return { done: e };
          }
        }),
      );
      // Queued in one synchronous loop: the batcher takes them in this order, and they share batches.
      const ordered = turns.map((turn, i) => {
        const r = ready[i]!;
        return 'done' in r ? Promise.resolve(r.done) : orderTurn(turn, r.chains);
      });
      return Promise.all(
        ordered.map((p) =>
          p.catch((e: unknown): DreggError => {
            if (e instanceof DreggError) return e;
            throw e;
          }),
        ),
      );
    },

    registerProved(reg) {
      open();
      const key = `register:${reg.cell}:${toHex(elementsToBytes(reg.salt))}`;
      return once<Digest>(
        key,
        async () => {
          if (reg.ledger !== ctx.ledger) fail('E_INVALID', `The registration is for ledger ${reg.ledger}`);
          await verifyProvedRegistration(reg, ed);
          const again = registered(state, reg);
          if (again !== undefined) return again;
          const entry = await batcher.run<Entry & { head: Digest }>(() => {
            const step = registerStep(state, reg);
            return {
              ...step,
              value: {
                kind: 'register',
                key: step.value,
                agent: reg.agent,
                cell: reg.cell,
                receipt: null,
                created: null,
                issued: 0n,
                destroyed: 0n,
                at: nowSeconds(clock),
                seq: -1,
                head: elementsFromBytes(step.value, 8, 'head commitment'),
              },
            };
          });
          return entry.head;
        },
        (first) => first,
      );
    },

    submitProved(sub) {
      open();
      const key = toHex(sub.statement.turnHash);
      return once<Notarized>(
        key,
        async () => {
          const seen = await known(key);
          if (seen !== undefined) return firstReceipt(sub.agent, seen);
          const started = performance.now();
          try {
            if (sub.ledger !== ctx.ledger) fail('E_INVALID', `The submission is for ledger ${sub.ledger}`);
            provedOwner(state, sub);
            await verifySubmissionSignature(sub, ed);
            checkProof(sub.statement, sub.proof);
            options.onProof?.('verified', performance.now() - started);
          } catch (e) {
            options.onProof?.(e instanceof DreggError ? e.code : 'E_INTERNAL', performance.now() - started);
            throw e;
          }
          const entry = await batcher.run<Entry>(async (position) => {
            const step = await provedStep(ctx, sub, frontier.count + position);
            const receipt = step.value;
            return {
              ...step,
              value: {
                kind: 'proved',
                key: sub.statement.turnHash,
                agent: sub.agent,
                cell: sub.cell,
                receipt,
                created: null,
                issued: 0n,
                destroyed: 0n,
                at: receipt.at,
                seq: -1,
              },
            };
          });
          return { seq: entry.seq, receipt: entry.receipt!, duplicate: false };
        },
        (first) => ({ ...first, duplicate: true }),
      );
    },

    provedHead(cell) {
      const rec = provedCell(state, cell);
      return rec === undefined ? undefined : elementsFromBytes(rec.head, 8, 'head commitment');
    },

    genesis(owner, salt, balance) {
      open();
      const id = cellId(owner, salt);
      return once<Cell>(
        id,
        async () => {
          const seen = await known(id);
          if (seen !== undefined) {
            const event = await readEvent(seen.seq);
            // Keyed by cell id, so this is the cell's issue event: the same request, or a clash.
            if (event.issued !== balance) fail('E_EXISTS', `Cell ${id} was issued with another balance`);
            // The id was derived from its first owner; the cell may have changed hands since.
            const cell = getCell(state, id);
            if (cell.owner !== owner)
              fail('E_EXISTS', `Cell ${id} was opened for ${owner} and has changed hands`);
            return cell;
          }
          const entry = await batcher.run<Entry>(() => {
            const step = genesisStep(ctx, owner, salt, balance);
            const cell = step.value;
            return {
              ...step,
              value: {
                kind: 'issue',
                key: fromHex(cell.id),
                agent: owner,
                cell: cell.id,
                receipt: null,
                created: cell,
                issued: balance,
                destroyed: 0n,
                at: nowSeconds(clock),
                seq: -1,
              },
            };
          });
          return entry.created!;
        },
        (first) => first,
      );
    },

    height: () => latest.height,
    latestRoot: () => latest,

    async events(from, limit) {
      if (!Number.isSafeInteger(from) || from < 0 || !Number.isSafeInteger(limit) || limit < 0)
        fail('E_ARGUMENT', 'from and limit are whole numbers');
      const end = Math.min(latest.height, from + limit);
      const out: LogEvent[] = [];
      for (let seq = from; seq < end; seq++) out.push(await readEvent(seq));
      return out;
    },

    async inclusion(hash) {
      if (typeof hash !== 'string' || !HEX64.test(hash)) fail('E_INVALID', 'A turn hash is 64 hex digits');
      const root = latest;
      const seen = await known(hash);
      if (seen === undefined || seen.seq >= root.height)
        fail('E_NOT_FOUND', `Turn ${hash} is not in the log`);
      const event = await readEvent(seen.seq);
      if (event.kind !== 'turn' && event.kind !== 'proved')
        fail('E_NOT_FOUND', `Turn ${hash} is not in the log`);
      const nodes = new Map<string, Uint8Array>();
      for (const n of logTree.proofNodes(seen.seq, root.height)) {
        const bytes = await store.get('notary-tree', nodeKey(n));
        if (bytes === undefined) fail('E_IO', `Log tree node ${nodeKey(n)} is missing`);
        nodes.set(nodeKey(n), bytes);
      }
      const proof = logTree.proofFromNodes(seen.seq, root.height, (n) => nodes.get(nodeKey(n))!);
      return { event, proof, root };
    },

    async receipts(agent, fromSeq = 0, limit = Number.MAX_SAFE_INTEGER) {
      if (!Number.isSafeInteger(fromSeq) || fromSeq < 0 || !Number.isSafeInteger(limit) || limit < 0)
        fail('E_ARGUMENT', 'fromSeq and limit are whole numbers');
      const end = Math.min(
        headOf(state, agent).seq,
        fromSeq + Math.min(limit, Number.MAX_SAFE_INTEGER - fromSeq),
      );
      const out: Receipt[] = [];
      for (let seq = fromSeq; seq < end; seq++) {
        const bytes = await store.get('receipts', receiptKey(agent, seq));
        // A receipt of a batch still being committed is not there yet: stop at the committed ones.
        if (bytes === undefined) break;
        out.push(stored('receipt', () => decodeReceipt(bytes)));
      }
      return out;
    },

    cell(id) {
      const v = state.get(cellKey(id));
      return isCell(v) ? v : undefined;
    },

    head(agent) {
      const h = headOf(state, agent);
      return { prev: h.hash, seq: h.seq };
    },

    holdings: (cell) => holdingsOfCell(state, cell),
    revoked: (h) => handleRevoked(state, h),

    async audit() {
      const at = await batcher.atRest(() => ({
        root: latest,
        holdings: holdingsOf(state),
        assets: assetAudit(state),
        shielded: provedBalance(state),
        ledgerRoot: ledgerRootOf(state),
      }));
      const { root, holdings } = at;
      let f = EMPTY_FRONTIER;
      let issued = 0n;
      let destroyed = 0n;
      // Page by key prefix (a 12-digit prefix of the 16-digit seq holds AUDIT_PAGE events), so the
      // audit holds one page in memory however long the log is.
      for (let first = 0; first < root.height; first += AUDIT_PAGE) {
        const page = await store.list('notary-log', { prefix: seqKey(first).slice(0, 12) });
        for (const { value } of page) {
          const event = stored('log event', () => decodeLogEvent(value));
          if (event.seq >= root.height) break; // ordered after the root being audited
          if (event.seq !== f.count) fail('E_INVALID', `The log has a gap or a duplicate at ${f.count}`);
          f = logTree.appendDigest(f, logEventDigest(event));
          issued += event.issued;
          destroyed += event.destroyed;
        }
      }
      if (f.count !== root.height || !bytesEqual(logTree.frontierRoot(f), root.logRoot))
        fail('E_INVALID', 'The stored log does not reproduce its attested root');
      if (issued !== root.supply.issued || destroyed !== root.supply.destroyed)
        fail('E_INVALID', 'The log and its attested root disagree on the supply');
      return {
        issued,
        destroyed,
        transit: holdings.transit + at.shielded,
        circulating: holdings.circulating - at.shielded,
        shielded: at.shielded,
        delta: issued - destroyed - holdings.transit - holdings.circulating,
        height: root.height,
        ledgerRootMatches: bytesEqual(at.ledgerRoot, root.ledgerRoot),
        assets: at.assets,
      };
    },

    async close() {
      closed = true;
      await batcher.flush();
    },
  };
}

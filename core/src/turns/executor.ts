/**
 * The local executor. `applyTurn` is the pure heart: given the ledger state and a turn it applies every
 * effect, or — on the first refusal — rolls the journal back and throws, leaving every record as it
 * was (the same objects, so byte-identical). `createExecutor` wraps it with what a node needs: turn
 * signatures, delegation chains verified before the turn, one turn at a time, signed receipts, and a
 * durable store written in one transaction per turn (a crash never leaves half a turn).
 */

import { verifyChain } from '../caps/chain.ts';
import { chainFromText } from '../caps/envelope.ts';
import type { Handle } from '../caps/handle.ts';
import { emptyRevocationState } from '../caps/revocation.ts';
import { TrustedKey } from '../caps/trust.ts';
import { actsAsOwner, type Cell, newCell, stateCommitment } from '../cells/cell.ts';
import { ledgerRoot } from '../cells/ledger-root.ts';
import { type Clock, nowSeconds } from '../clock.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { toHex } from '../encoding/bytes.ts';
import { type CborValue, encodeCbor } from '../encoding/cbor.ts';
import { didKeyFromEd25519 } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import type { Store, Write } from '../store/store.ts';
import { credit, debit, exists } from './apply/common.ts';
import { HANDLERS } from './apply/index.ts';
import { checkNoteBalance } from './apply/privacy.ts';
import { assetSupplyOf, holdingsOfCell } from './assets.ts';
import { handleRevoked } from './authority.ts';
import { createBatcher, type Step } from './batch.ts';
import { type ExecEnv, type PreparedChain, TurnContext } from './context.ts';
import { checkEffects, type Effect, MAX_AMOUNT, viaTarget } from './effects.ts';
import {
  decodeReceipt,
  effectsHash,
  encodeReceipt,
  type Receipt,
  type ReceiptBody,
  receiptHashHex,
  signReceipt,
} from './receipt.ts';
import {
  cellKey,
  decodeValue,
  getCell,
  isCell,
  record,
  type State,
  SUPPLY_KEY,
  type Supply,
  supplyOf,
  Tx,
  type Value,
  valueToCbor,
} from './state.ts';
import { type Turn, type TurnBody, turnHashHex, turnSigningDigest, verifyTurnSignature } from './turn.ts';

/** The store collections an executor keeps: ledger records and receipts. */
export const EXECUTOR_COLLECTIONS = ['ledger', 'receipts'] as const;

export function headOf(
  state: { get(k: string): Value | undefined },
  agent: string,
): { hash: string | null; seq: number } {
  const h = record(state, `head:${agent}`);
  return h === undefined ? { hash: null, seq: 0 } : { hash: h.hash as string, seq: (h.seq as number) + 1 };
}

/**
 * The slice of a ledger's state a turn by `agent` over `cells` reads, rebuilt from what a remote
 * ledger reports (its cells and the agent's head, as `LedgerView` gives them): for running a turn
 * locally before submitting it. `applyTurn` on it computes the same receipt commitments as the ledger
 * would, as long as every record the turn touches is among `cells`.
 */
export function ledgerSlice(
  cells: readonly Cell[],
  agent: string,
  head: { readonly prev: string | null; readonly seq: number },
): State {
  const state: State = new Map(cells.map((c) => [cellKey(c.id), c]));
  if (head.prev !== null) state.set(`head:${agent}`, { hash: head.prev, seq: head.seq - 1 });
  return state;
}

/** Commitment to the given records: H_turnState(CBOR [[key, commitment | record | null], ...] by key). */
function touchedCommitment(keys: readonly string[], value: (k: string) => Value | undefined): Uint8Array {
  const items: CborValue[] = keys.map((k) => {
    const v = value(k);
    return [k, v === undefined ? null : isCell(v) ? stateCommitment(v) : valueToCbor(v)];
  });
  return hashFor('turnState', encodeCbor(items));
}

export interface Applied {
  /** The receipt, unsigned. */
  readonly body: ReceiptBody;
  /** The transaction, still open: commit by dropping it, or `rollback()` if persisting fails. */
  readonly tx: Tx;
}

export interface ApplyOptions extends ExecEnv {
  readonly executor: string;
  /** The cell that receives fees; without one, fees are burned (and recorded as such). */
  readonly feeCell?: string;
  readonly chains?: ReadonlyMap<number, PreparedChain>;
  /** The turn's hash, when it is signed; unsigned turns (benchmarks of the core) use the signing digest. */
  readonly turnHash?: string;
}

/**
 * Applies a turn to `state` atomically. Checks, in order: the deadline, that the agent acts for the
 * acting cell, the nonce, the previous receipt; then every effect; then the fee and the note balance.
 */
export function applyTurn(state: State, turn: TurnBody, options: ApplyOptions): Applied {
  const tx = new Tx(state);
  const digest = turnSigningDigest(turn);
  const ctx = new TurnContext(tx, turn, digest, options, options.chains ?? new Map());
  try {
    if (turn.ledger !== options.federation)
      throw new DreggError(
        'E_INVALID',
        `The turn is for ledger ${turn.ledger}, this is ${options.federation}`,
      );
    if (options.now > turn.validUntil)
      throw new DreggError('E_STALE', `The turn was valid until ${turn.validUntil}`);
    const acting = state.get(cellKey(turn.cell));
    if (!isCell(acting)) throw new DreggError('E_NOT_FOUND', `No cell ${turn.cell}`);
    if (!actsAsOwner(acting, turn.agent))
      throw new DreggError('E_DENIED', 'Only the owner of a cell (or its verification key) acts as it');
    if (turn.nonce !== acting.nonce)
      throw new DreggError('E_STALE', `Cell nonce is ${acting.nonce}, the turn carries ${turn.nonce}`);
    const head = headOf(state, turn.agent);
    if (turn.prev !== head.hash)
      throw new DreggError('E_STALE', "The turn does not follow the agent's latest receipt");

    let burned = supplyOf(tx).burned;
    for (const [i, e] of checkEffects(turn.effects).entries()) {
      ctx.index = i;
      ctx.results.push((HANDLERS[e.type] as (c: TurnContext, e: Effect) => CborValue)(ctx, e));
    }
    checkNoteBalance(ctx);
    if (turn.fee > 0n) {
      debit(ctx, turn.cell, turn.fee);
      if (options.feeCell !== undefined && exists(ctx, options.feeCell))
        credit(ctx, options.feeCell, turn.fee);
      else
        ctx.updateSupply((s) => {
          s.burned += turn.fee;
        });
    }
    const cell = getCell(tx, turn.cell);
    tx.put(cellKey(turn.cell), { ...cell, nonce: cell.nonce + 1 });
    burned = supplyOf(tx).burned - burned;

    const touched = [...tx.before().keys()].sort();
    const body: ReceiptBody = {
      turn: options.turnHash ?? toHex(digest),
      agent: turn.agent,
      cell: turn.cell,
      seq: head.seq,
      prev: head.hash,
      oldState: touchedCommitment(touched, (k) => tx.before().get(k)),
      newState: touchedCommitment(touched, (k) => state.get(k)),
      effects: effectsHash(turn.effects),
      events: ctx.events,
      results: ctx.results,
      fee: turn.fee,
      burned,
      at: options.now,
      executor: options.executor,
    };
    return { body, tx };
  } catch (e) {
    tx.rollback();
    throw e;
  }
}

export interface ExecutorOptions {
  readonly ed: Ed25519;
  readonly clock: Clock;
  /** The executor's signing key (32-byte Ed25519 seed): it signs every receipt. */
  readonly seed: Uint8Array;
  /** Where the ledger lives; omitted: memory only. Opened with `EXECUTOR_COLLECTIONS`. */
  readonly store?: Store;
  readonly federation?: string;
  readonly federations?: ReadonlyMap<string, Uint8Array>;
  /** Bridged federations whose mints credit a wrapped asset here (ExecEnv.wrapped). */
  readonly wrapped?: ReadonlyMap<string, string>;
  readonly feeCell?: string;
}

export interface Executor {
  /** The executor's did:key (receipts are signed by it). */
  readonly did: string;
  /** The ledger's name: every turn submitted here must carry it. */
  readonly ledger: string;
  /** Verifies, applies, signs and persists one turn; returns its receipt. */
  submit(turn: Turn): Promise<Receipt>;
  /** A cell as of the last applied turn. */
  cell(id: string): Cell | undefined;
  cells(): Cell[];
  /** The agent's receipt chain head: the hash and seq the agent's next turn follows. */
  head(agent: string): { prev: string | null; seq: number };
  receipts(agent: string): Promise<Receipt[]>;
  ledgerRoot(): Uint8Array;
  supply(): Supply;
  /** Local demo genesis: a new cell with `balance` computrons created from nothing (recorded). */
  genesis(owner: string, salt: string, balance: bigint): Promise<Cell>;
  /**
   * Value held in cells, escrows, locks and the shielded pool, and what the supply ledger says it must
   * be; the same per wrapped asset (holdings and escrows against its mints and burns).
   */
  audit(): SupplyCheck;
  /** Every wrapped asset a cell holds, by asset id (none: empty). */
  holdings(cell: string): Map<string, bigint>;
  /** Whether a revocation channel of `h` is tripped or unknown, as of the last applied turn. */
  revoked(h: Handle): boolean;
}

/**
 * What turns are run against: the in-memory ledger state and what every turn on it sees. Shared by
 * the local executor and the relay's notary, which differ only in what they record around a batch.
 */
export interface LedgerContext {
  readonly state: State;
  readonly ed: Ed25519;
  readonly clock: Clock;
  /** The signing key of receipts, and its did:key. */
  readonly seed: Uint8Array;
  readonly did: string;
  readonly ledger: string;
  readonly federations: ReadonlyMap<string, Uint8Array>;
  readonly wrapped?: ReadonlyMap<string, string>;
  readonly feeCell?: string;
  /**
   * What an agent's next turn must name as `prev` after this receipt; the receipt's hash by default.
   * A federation's relays each sign their own receipt of one settled turn, so there the chain runs
   * over what they agree on (core/src/node/federation/ledger.ts).
   */
  readonly chainHash?: (receipt: Receipt) => string;
}

/** The store key of an agent's receipt number `seq` (zero-padded so keys sort by seq). */
export function receiptKey(agent: string, seq: number): string {
  return `${agent}/${seq.toString().padStart(12, '0')}`;
}

export function receiptWrite(receipt: Receipt): Write {
  return {
    op: 'put',
    collection: 'receipts',
    key: receiptKey(receipt.agent, receipt.seq),
    value: encodeReceipt(receipt),
  };
}

/** The ledger records of a store (collection 'ledger'), as the state they describe. */
export async function loadState(store: Store | undefined): Promise<State> {
  const state: State = new Map();
  if (store !== undefined)
    for (const { key, value } of await store.list('ledger')) state.set(key, decodeValue(key, value));
  return state;
}

function envOf(ctx: LedgerContext): ExecEnv {
  return {
    now: nowSeconds(ctx.clock),
    federation: ctx.ledger,
    federations: ctx.federations,
    wrapped: ctx.wrapped,
  };
}

/**
 * What can be checked before a turn is ordered, concurrently with other turns: the agent's signature
 * and every delegation chain it presents. Returns the prepared chains.
 */
export async function checkTurn(ctx: LedgerContext, turn: Turn): Promise<Map<number, PreparedChain>> {
  if (!(await verifyTurnSignature(turn, ctx.ed)))
    throw new DreggError('E_BAD_SIGNATURE', 'The turn is not signed by its agent');
  const now = envOf(ctx).now;
  const out = new Map<number, PreparedChain>();
  for (const [i, e] of turn.effects.entries()) {
    const via = 'via' in e ? e.via : undefined;
    if (via === undefined || !('chain' in via)) continue;
    const target = viaTarget(e);
    const cell = target === undefined || target.startsWith('$') ? undefined : ctx.state.get(cellKey(target));
    if (!isCell(cell))
      throw new DreggError('E_INVALID', `effects[${i}]: a delegation chain must name an existing cell`);
    const chain = chainFromText(via.chain);
    const token = await verifyChain(chain, {
      ed: ctx.ed,
      now,
      revocation: emptyRevocationState(),
      maxStaleness: 0,
      trust: TrustedKey(cell.owner),
    });
    const custody = [token.issuer, ...chain.map((env) => env.to)];
    if (custody[custody.length - 1] !== turn.agent)
      throw new DreggError('E_AUDIENCE', `effects[${i}]: the chain was delegated to someone else`);
    out.set(i, { handle: { target: { kind: 'cell', id: cell.id }, caveats: token.caveats }, custody });
  }
  return out;
}

/**
 * Applies a checked turn in its batch: the core, the signed receipt, the agent's new chain head.
 * On failure the state is as before and the error is the turn's own.
 */
export async function turnStep(
  ctx: LedgerContext,
  turn: Turn,
  chains: ReadonlyMap<number, PreparedChain>,
): Promise<Step<Receipt>> {
  const { body, tx } = applyTurn(ctx.state, turn, {
    ...envOf(ctx),
    executor: ctx.did,
    feeCell: ctx.feeCell,
    chains,
    turnHash: turnHashHex(turn),
  });
  let receipt: Receipt;
  try {
    receipt = await signReceipt(body, ctx.seed, ctx.ed);
  } catch (e) {
    tx.rollback();
    throw e;
  }
  tx.put(`head:${turn.agent}`, {
    hash: ctx.chainHash?.(receipt) ?? receiptHashHex(receipt),
    seq: receipt.seq,
  });
  return { tx, writes: [receiptWrite(receipt)], value: receipt };
}

/** Local demo genesis in a batch: a new cell holding `balance` computrons created from nothing. */
export function genesisStep(ctx: LedgerContext, owner: string, salt: string, balance: bigint): Step<Cell> {
  const { state } = ctx;
  const cell = newCell(owner, salt, balance);
  if (state.has(cellKey(cell.id))) throw new DreggError('E_EXISTS', `Cell ${cell.id} already exists`);
  if (typeof balance !== 'bigint' || balance < 0n)
    throw new DreggError('E_ARGUMENT', 'A genesis balance is a non-negative bigint');
  const s = supplyOf(state);
  if (s.genesis + balance > MAX_AMOUNT)
    throw new DreggError('E_INVALID', 'Genesis would create more than 2^64 - 1 computrons in all');
  const tx = new Tx(state);
  tx.put(cellKey(cell.id), cell);
  tx.put(SUPPLY_KEY, { ...s, genesis: s.genesis + balance });
  return { tx, writes: [], value: cell };
}

export function cellsOf(state: State): Cell[] {
  return [...state.values()].filter(isCell);
}

export function ledgerRootOf(state: State): Uint8Array {
  return ledgerRoot(cellsOf(state).map((c) => ({ id: c.id, commitment: stateCommitment(c) })));
}

export async function createExecutor(options: ExecutorOptions): Promise<Executor> {
  const { store } = options;
  const state = await loadState(store);
  const ctx: LedgerContext = {
    state,
    ed: options.ed,
    clock: options.clock,
    seed: options.seed,
    did: didKeyFromEd25519(ed25519PublicKey(options.seed)),
    ledger: options.federation ?? 'local',
    federations: options.federations ?? new Map(),
    wrapped: options.wrapped,
    feeCell: options.feeCell,
  };
  // Without a store, receipts are kept here, added once their batch has been applied.
  const memoryReceipts = new Map<string, Receipt[]>();
  const batcher = createBatcher({
    state,
    store,
    seal: (steps) => ({
      writes: [],
      committed() {
        if (store !== undefined) return;
        for (const { value } of steps) {
          if (!isReceipt(value)) continue;
          const list = memoryReceipts.get(value.agent) ?? [];
          list.push(value);
          memoryReceipts.set(value.agent, list);
        }
      },
    }),
  });

  return {
    did: ctx.did,
    ledger: ctx.ledger,
    async submit(turn) {
      const chains = await checkTurn(ctx, turn);
      return batcher.run(() => turnStep(ctx, turn, chains));
    },
    cell(id) {
      const v = state.get(cellKey(id));
      return isCell(v) ? v : undefined;
    },
    cells: () => cellsOf(state),
    head(agent) {
      const h = headOf(state, agent);
      return { prev: h.hash, seq: h.seq };
    },
    async receipts(agent) {
      if (store === undefined) return [...(memoryReceipts.get(agent) ?? [])];
      return (await store.list('receipts', { prefix: `${agent}/` })).map((e) => decodeReceipt(e.value));
    },
    ledgerRoot: () => ledgerRootOf(state),
    supply() {
      return supplyOf(state);
    },
    genesis(owner, salt, balance) {
      return batcher.run(() => genesisStep(ctx, owner, salt, balance));
    },
    audit() {
      return auditState(state);
    },
    holdings: (cell) => holdingsOfCell(state, cell),
    revoked: (h) => handleRevoked(state, h),
  };
}

function isReceipt(v: unknown): v is Receipt {
  return typeof v === 'object' && v !== null && 'executor' in v && 'signature' in v;
}

/**
 * Where the computrons of a ledger are: `circulating` in cell balances, `transit` held outside any
 * cell (obligations in escrow, bridge locks not yet finalized or cancelled, the shielded pool).
 */
export function holdingsOf(state: State): { circulating: bigint; transit: bigint } {
  let circulating = 0n;
  let transit = supplyOf(state).shielded;
  for (const [key, v] of state) {
    if (isCell(v)) circulating += v.balance;
    else if (key.startsWith('obl:') && v.asset === undefined) transit += BigInt(v.amount as bigint | number);
    else if (key.startsWith('lock:') && v.state === 'locked') transit += BigInt(v.amount as bigint | number);
  }
  return { circulating, transit };
}

/** What the conservation invariant compares: value held against what the supply says there is. */
export interface SupplyCheck {
  readonly held: bigint;
  readonly expected: bigint;
  /** Per wrapped asset: its holdings and escrows against its mints and burns. */
  readonly assets: ReadonlyMap<string, { readonly held: bigint; readonly expected: bigint }>;
}

/** Every wrapped asset's holdings (in cells and in obligations) and supply, by asset id. */
export function assetAudit(state: State): Map<string, { held: bigint; expected: bigint }> {
  const out = new Map<string, { held: bigint; expected: bigint }>();
  const of = (asset: string) => {
    const a = out.get(asset) ?? { held: 0n, expected: 0n };
    out.set(asset, a);
    return a;
  };
  for (const [key, v] of state) {
    if (isCell(v)) continue;
    const amount = () => BigInt(v.amount as bigint | number);
    if (key.startsWith('hold:')) of(key.slice(key.indexOf('/') + 1)).held += amount();
    else if (key.startsWith('obl:') && typeof v.asset === 'string') of(v.asset).held += amount();
    else if (key.startsWith('supply:')) {
      const s = assetSupplyOf(state, key.slice('supply:'.length));
      of(key.slice('supply:'.length)).expected += s.bridgedIn - s.burned;
    }
  }
  return out;
}

/** Sums every holder of value and compares with the supply ledger: the conservation invariant. */
export function auditState(state: State): SupplyCheck {
  const { circulating, transit } = holdingsOf(state);
  const s = supplyOf(state);
  return {
    held: circulating + transit,
    expected: s.genesis + s.bridgedIn - s.bridgedOut - s.burned,
    assets: assetAudit(state),
  };
}

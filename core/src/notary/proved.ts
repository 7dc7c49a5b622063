/**
 * The notary's proved cells (issue 7, the private path): the relay orders turns it cannot read. A cell
 * made proved is frozen in the ledger as registered; from then on the relay keeps only its head
 * commitment, and each proved turn moves the head after the relay has verified its proof, spending
 * the old state's nullifier. Records, in the same state map as the ledger (so a refused step rolls
 * back with its `Tx`) but persisted in the notary's own collections (`collectionOf`):
 *
 *   proved:<cell id>    {owner, head, genesis}   in 'notary-proved': the owner (did:key), the current
 *                        head commitment and the genesis one (32 bytes each, 8 little-endian words)
 *   spent:<nullifier>   {seq, turn}              in 'notary-nullifiers': the log seq and turn hash of
 *                        the turn that spent that state (the evidence a double spend is refused with)
 *
 * No field, balance or proof is stored: receipts carry the commitments and the proof's hash.
 */
import type { Cell } from '../cells/cell.ts';
import { nowSeconds } from '../clock.ts';
import { bytesEqual, toHex } from '../encoding/bytes.ts';
import type { CborMap } from '../encoding/cbor.ts';
import { fail } from '../errors.ts';
import { type Digest, provedState, provedStateCommitment } from '../proofs/state.ts';
import {
  digestBytes,
  elementsFromBytes,
  type ProvedRegistration,
  type ProvedSubmission,
  proofHash,
} from '../proofs/submission.ts';
import type { Step } from '../turns/batch.ts';
import { headOf, type LedgerContext, receiptWrite } from '../turns/executor.ts';
import { type Receipt, receiptHashHex, signReceipt } from '../turns/receipt.ts';
import { cellKey, getCell, isCell, record, type State, Tx } from '../turns/state.ts';

export const PROVED_CELLS = 'notary-proved';
export const NULLIFIERS = 'notary-nullifiers';

const provedKey = (cell: string): string => `proved:${cell}`;
const spentKey = (nullifier: Digest): string => `spent:${toHex(digestBytes(nullifier))}`;

/** Where a state key is stored: the proved tables in their own collections, the rest in the ledger. */
export function collectionOf(key: string): string {
  if (key.startsWith('proved:')) return PROVED_CELLS;
  if (key.startsWith('spent:')) return NULLIFIERS;
  return 'ledger';
}

export interface ProvedCell {
  readonly owner: string;
  /** The current head commitment, 32 bytes. */
  readonly head: Uint8Array;
  readonly genesis: Uint8Array;
}

export function provedCell(state: { get(k: string): unknown }, cell: string): ProvedCell | undefined {
  const r = record(state as State, provedKey(cell));
  if (r === undefined) return undefined;
  if (typeof r.owner !== 'string' || !(r.head instanceof Uint8Array) || !(r.genesis instanceof Uint8Array))
    fail('E_IO', `The stored proved-cell record of ${cell} is damaged`);
  return { owner: r.owner, head: r.head, genesis: r.genesis };
}

/** The first proved cell among the keys a plaintext turn touched, if any. */
export function provedAmong(state: State, keys: Iterable<string>): string | undefined {
  for (const k of keys) if (k.startsWith('cell:') && state.has(provedKey(k.slice(5)))) return k.slice(5);
  return undefined;
}

/** The balances proved cells held when they were registered (their frozen ledger records). */
export function provedBalance(state: State): bigint {
  let sum = 0n;
  for (const [key] of state) {
    if (!key.startsWith('proved:')) continue;
    const cell = state.get(cellKey(key.slice(7)));
    if (isCell(cell)) sum += cell.balance;
  }
  return sum;
}

/** The genesis commitment the relay computes itself from the cell it holds and the given salt. */
export function genesisCommitment(cell: Cell, salt: Uint32Array): Uint8Array {
  return digestBytes(provedStateCommitment(provedState(cell, salt)));
}

/**
 * An already registered cell: its head if `reg` is that same registration (idempotent), E_EXISTS if
 * it was made proved otherwise; undefined if the cell is not proved yet.
 */
export function registered(state: State, reg: ProvedRegistration): Digest | undefined {
  const rec = provedCell(state, reg.cell);
  if (rec === undefined) return undefined;
  const same =
    rec.owner === reg.agent && bytesEqual(rec.genesis, genesisCommitment(getCell(state, reg.cell), reg.salt));
  if (!same) fail('E_EXISTS', `Cell ${reg.cell} is already proved, under another registration`);
  return elementsFromBytes(rec.head, 8, 'head commitment');
}

/** Makes a cell proved: it exists at nonce 0, owned by the registering agent. */
export function registerStep(state: State, reg: ProvedRegistration): Step<Uint8Array> {
  const cell = state.get(cellKey(reg.cell));
  if (!isCell(cell)) fail('E_NOT_FOUND', `No cell ${reg.cell}`);
  if (cell.owner !== reg.agent) fail('E_DENIED', `Only the owner of cell ${reg.cell} makes it proved`);
  if (cell.nonce !== 0)
    fail('E_STALE', `A cell is made proved at nonce 0; cell ${reg.cell} is at ${cell.nonce}`);
  if (state.has(provedKey(reg.cell))) fail('E_EXISTS', `Cell ${reg.cell} is already proved`);
  const genesis = genesisCommitment(cell, reg.salt);
  const tx = new Tx(state);
  tx.put(provedKey(reg.cell), { owner: reg.agent, head: genesis, genesis });
  return { tx, writes: [], value: genesis };
}

/**
 * What is checked before ordering: the cell is proved and `sub` is its owner's. (The signature and
 * the proof are checked by the caller, concurrently with other submissions.)
 */
export function provedOwner(state: State, sub: ProvedSubmission): ProvedCell {
  const rec = provedCell(state, sub.cell);
  if (rec === undefined)
    fail('E_NOT_FOUND', `Cell ${sub.cell} is not proved here: register it first (proved/register)`);
  if (rec.owner !== sub.agent)
    fail('E_DENIED', `Only the owner of cell ${sub.cell} submits its proved turns`);
  return rec;
}

/**
 * Orders a verified proved turn as log event `seq`: its nullifier is unseen (else a double spend,
 * refused with the seq of the first spend) and it spends the cell's current head; then head := new
 * commitment, the nullifier is recorded, and the relay signs a receipt in the agent's chain.
 */
export async function provedStep(
  ctx: LedgerContext,
  sub: ProvedSubmission,
  seq: number,
): Promise<Step<Receipt>> {
  const { state } = ctx;
  const rec = provedOwner(state, sub);
  const { statement } = sub;
  const old = digestBytes(statement.oldCommitment);
  const spent = record(state, spentKey(statement.nullifier));
  if (spent !== undefined)
    fail(
      'E_STALE',
      `Double spend: state ${toHex(old)} of cell ${sub.cell} was already spent at seq ${String(spent.seq)}` +
        ` (turn ${toHex(spent.turn as Uint8Array)})`,
    );
  if (!bytesEqual(old, rec.head))
    fail(
      'E_STALE',
      `The proof spends ${toHex(old)}, not the current state ${toHex(rec.head)} of cell ${sub.cell}`,
    );
  const head = headOf(state, sub.agent);
  const tx = new Tx(state);
  try {
    tx.put(provedKey(sub.cell), { ...rec, head: digestBytes(statement.newCommitment) } as CborMap);
    tx.put(spentKey(statement.nullifier), { seq, turn: statement.turnHash });
    const receipt = await signReceipt(
      {
        turn: toHex(statement.turnHash),
        agent: sub.agent,
        cell: sub.cell,
        seq: head.seq,
        prev: head.hash,
        oldState: old,
        newState: digestBytes(statement.newCommitment),
        effects: proofHash(sub.proof),
        events: [],
        results: [],
        fee: 0n,
        burned: 0n,
        at: nowSeconds(ctx.clock),
        executor: ctx.did,
      },
      ctx.seed,
      ctx.ed,
    );
    tx.put(`head:${sub.agent}`, { hash: receiptHashHex(receipt), seq: receipt.seq });
    return { tx, writes: [receiptWrite(receipt)], value: receipt };
  } catch (e) {
    tx.rollback();
    throw e;
  }
}

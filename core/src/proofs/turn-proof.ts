/**
 * Proving and verifying one turn's effect on its acting cell (issue 7): the witness from the cell and
 * the turn, the trace, the STARK proof, and the verifier's side, which sees only the public inputs.
 *
 * Proved effects (on the acting cell): SetField (at most one key per turn; several writes to that key
 * keep the last), IncrementNonce (at most one), Transfer out of the cell and Burn (their sum with the
 * fee is the debited amount). Any other effect, these on another cell, or these moving a wrapped
 * asset (the proved state has one balance, of computrons) is refused with E_INVALID: the turn cannot
 * be proved by this AIR (the executor still checks it).
 *
 * Proof bytes: one byte log2(rows), then the STARK proof of `turnAir(log2 rows)`.
 */

import type { Cell } from '../cells/cell.ts';
import { fail } from '../errors.ts';
import type { StarkKernels } from '../stark/kernels.ts';
import { type ProgressListener, prove, proveUnchecked } from '../stark/prover.ts';
import type { RandomElements } from '../stark/random.ts';
import { verify } from '../stark/verifier.ts';
import type { FieldValue } from '../turns/effects.ts';
import type { Turn, TurnBody } from '../turns/turn.ts';
import { turnHash } from '../turns/turn.ts';
import {
  type Digest,
  keyDigest,
  nullifierOf,
  provedState,
  provedStateCommitment,
  stateSalt,
  valueDigest,
} from './state.ts';
import {
  fillTurnTrace,
  logRowsFor,
  MAX_LOG_ROWS,
  MIN_LOG_ROWS,
  TURN_PUBLIC_INPUTS,
  type TurnWitness,
  turnAir,
} from './turn-air.ts';

/** What the relay sees of a proved turn. */
export interface TurnStatement {
  readonly oldCommitment: Digest;
  readonly newCommitment: Digest;
  /** The 32-byte hash of the signed turn (turns/turn.ts `turnHash`). */
  readonly turnHash: Uint8Array;
  readonly nullifier: Digest;
}

/** The turn hash as 16 little-endian 16-bit limbs (injective, each a canonical field element). */
export function turnHashElements(hash: Uint8Array): number[] {
  if (hash.length !== 32) fail('E_ARGUMENT', 'a turn hash is 32 bytes');
  return Array.from({ length: 16 }, (_, i) => hash[2 * i]! | (hash[2 * i + 1]! << 8));
}

export function statementInputs(s: TurnStatement): number[] {
  const out = [...s.oldCommitment, ...s.newCommitment, ...turnHashElements(s.turnHash), ...s.nullifier];
  if (out.length !== TURN_PUBLIC_INPUTS) fail('E_ARGUMENT', 'malformed turn statement');
  return out;
}

/** The state after the turn's proved effects, and those effects; refuses what the AIR does not cover. */
export function turnWitness(
  cell: Cell,
  turn: TurnBody,
  secret: Uint8Array,
): { witness: TurnWitness; next: Cell } {
  if (turn.cell !== cell.id) fail('E_INVALID', 'the turn acts as another cell');
  if (turn.nonce !== cell.nonce)
    fail('E_INVALID', `the turn carries nonce ${turn.nonce}, the cell is at ${cell.nonce}`);
  const fields: Record<string, FieldValue> = { ...cell.fields };
  let written: string | undefined;
  let amount = turn.fee;
  let inc: 0 | 1 = 0;
  const mine = (ref: string | undefined) => {
    if (ref !== cell.id) fail('E_INVALID', 'a proved turn changes only its acting cell');
  };
  for (const e of turn.effects) {
    // The proved state has no owner: it is the registration's, which the relay keeps and checks.
    if (e.type === 'set-permissions' && e.owner !== undefined)
      fail('E_UNSUPPORTED', "a proved turn cannot move a cell's owner (a proved cell's owner is fixed)");
    switch (e.type) {
      case 'set-field':
        mine(e.cell);
        if (written !== undefined && written !== e.key)
          fail('E_INVALID', 'a proved turn writes at most one field');
        written = e.key;
        if (e.value === null) delete fields[e.key];
        else fields[e.key] = e.value;
        break;
      case 'increment-nonce':
        mine(e.cell);
        if (inc === 1) fail('E_INVALID', 'a proved turn increments the nonce at most once');
        inc = 1;
        break;
      case 'transfer':
        if (e.obligation !== undefined) fail('E_INVALID', 'collecting an obligation is not proved');
        if (e.asset !== undefined) fail('E_INVALID', 'a proved cell holds computrons only: no asset moves');
        mine(e.from);
        if (e.to === cell.id) fail('E_INVALID', 'a proved transfer leaves the cell');
        amount += e.amount;
        break;
      case 'burn':
        if (e.asset !== undefined) fail('E_INVALID', 'a proved cell holds computrons only: no asset burns');
        mine(e.cell);
        amount += e.amount;
        break;
      default:
        fail('E_INVALID', `${e.type} is not a proved effect`);
    }
  }
  if (amount > cell.balance)
    fail('E_INSUFFICIENT', `the cell holds ${cell.balance}, the turn debits ${amount}`);
  const next: Cell = { ...cell, fields, nonce: cell.nonce + 1 + inc, balance: cell.balance - amount };
  const old = provedState(cell, stateSalt(secret, cell.id, cell.nonce));
  const newState = provedState(next, stateSalt(secret, next.id, next.nonce));
  const write =
    written === undefined
      ? null
      : { key: keyDigest(written), value: written in fields ? valueDigest(fields[written]!) : null };
  return { witness: { old, next: newState, write, amount, inc }, next };
}

/** The statement an honest witness claims. */
export function witnessStatement(w: TurnWitness, hash: Uint8Array): TurnStatement {
  const oldCommitment = provedStateCommitment(w.old);
  return {
    oldCommitment,
    newCommitment: provedStateCommitment(w.next),
    turnHash: hash,
    nullifier: nullifierOf(oldCommitment, w.old.salt),
  };
}

export interface TurnProofOptions {
  /** The owner's proof secret (32 bytes or more): the salts of the old and new commitments come from it. */
  readonly secret: Uint8Array;
  readonly kernels?: StarkKernels;
  readonly onProgress?: ProgressListener;
  /** Randomness of the blinding rows and the prover's masks (default: the CSPRNG); tests seed it. */
  readonly random?: RandomElements;
}

export interface ProvedTurn {
  readonly statement: TurnStatement;
  readonly proof: Uint8Array;
  /** The cell after the turn's proved effects. */
  readonly next: Cell;
}

/** The trace and public inputs of a turn (for tests and the benchmark; `proveTurn` uses it). */
export function turnTrace(
  cell: Cell,
  turn: Turn,
  secret: Uint8Array,
  random?: RandomElements,
): { logRows: number; trace: Uint32Array[]; publicInputs: number[]; statement: TurnStatement; next: Cell } {
  const { witness, next } = turnWitness(cell, turn, secret);
  const statement = witnessStatement(witness, turnHash(turn));
  const logRows = logRowsFor(witness);
  return {
    logRows,
    trace: fillTurnTrace(witness, logRows, random),
    publicInputs: statementInputs(statement),
    statement,
    next,
  };
}

/** Proves a turn's effect on its acting cell; the prover refuses (E_INVALID) a trace that breaks a constraint. */
export async function proveTurn(cell: Cell, turn: Turn, options: TurnProofOptions): Promise<ProvedTurn> {
  const { logRows, trace, publicInputs, statement, next } = turnTrace(
    cell,
    turn,
    options.secret,
    options.random,
  );
  const proof = await proveTurnTrace(logRows, trace, publicInputs, options, true);
  return { statement, proof, next };
}

/**
 * Proves a filled trace. `checked` false skips the up-front constraint check: only the soundness tests
 * use that, to show the verifier rejects what an honest prover refuses.
 */
export async function proveTurnTrace(
  logRows: number,
  trace: readonly Uint32Array[],
  publicInputs: readonly number[],
  options: Omit<TurnProofOptions, 'secret'> = {},
  checked = true,
): Promise<Uint8Array> {
  const air = turnAir(logRows);
  const stark = { kernels: options.kernels, onProgress: options.onProgress, random: options.random };
  const body = await (checked ? prove : proveUnchecked)(air, trace, publicInputs, stark);
  const out = new Uint8Array(1 + body.length);
  out[0] = logRows;
  out.set(body, 1);
  return out;
}

/** Verifies a turn proof against its statement; returns normally or throws a DreggError. */
export function verifyTurnProof(statement: TurnStatement, proof: Uint8Array): void {
  if (proof.length < 1) fail('E_DECODE', 'an empty turn proof');
  const logRows = proof[0]!;
  if (logRows < MIN_LOG_ROWS || logRows > MAX_LOG_ROWS) fail('E_DECODE', `a turn proof of 2^${logRows} rows`);
  verify(turnAir(logRows), statementInputs(statement), proof.subarray(1));
}

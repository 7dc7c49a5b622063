/**
 * Shielded notes: NoteCreate and NoteSpend. A note is a Pedersen commitment to a value (ristretto255,
 * core/src/crypto/pedersen.ts) owned by an agent. Creating one proves its value is in [0, 2^64); a
 * turn that creates or spends notes carries a binding signature proving that the notes it spends,
 * plus what it deposits from cells, equal the notes it creates plus what it withdraws to cells —
 * without revealing any note's value (checked once per turn by the executor, `checkNoteBalance`).
 *
 * What stays visible: which note is spent (its id), by whom, and the public deposits and withdrawals.
 * Unlinkable spends need a proof of membership; that is the turn-proof issue's work.
 */
import { hashFor } from '../../crypto/hash.ts';
import { balancePoint, bindingVerify, verifyRange } from '../../crypto/pedersen.ts';
import { concatBytes, toHex, utf8 } from '../../encoding/bytes.ts';
import type { CborMap } from '../../encoding/cbor.ts';
import { DreggError } from '../../errors.ts';
import { authorizeCell } from '../authority.ts';
import type { TurnContext } from '../context.ts';
import { type EffectOf, MAX_AMOUNT } from '../effects.ts';
import { bindingMessage } from '../turn.ts';
import { credit, debit, exists } from './common.ts';

export function noteId(commitment: Uint8Array, owner: string): string {
  return toHex(hashFor('noteId', concatBytes(commitment, utf8.encode(owner))));
}

export function nullifier(id: string): string {
  return toHex(hashFor('noteNullifier', utf8.encode(id)));
}

/** The context a note's range proof is bound to: its owner (a proof cannot be moved to another note). */
export function rangeContext(owner: string): Uint8Array {
  return utf8.encode(owner);
}

export function noteCreate(ctx: TurnContext, e: EffectOf<'note-create'>): string {
  ctx.notes.used = true;
  if (!verifyRange(e.commitment, e.proof, rangeContext(e.owner))) {
    throw new DreggError(
      'E_INVALID',
      `effects[${ctx.index}]: the range proof does not verify for this commitment`,
    );
  }
  const id = noteId(e.commitment, e.owner);
  if (ctx.tx.get(`note:${id}`) !== undefined || ctx.tx.get(`nf:${nullifier(id)}`) !== undefined) {
    throw new DreggError('E_EXISTS', `Note ${id} exists or existed`);
  }
  if (e.from !== undefined && e.amount !== undefined) {
    const from = ctx.cellId(e.from);
    authorizeCell(ctx, from, 'note-create');
    debit(ctx, from, e.amount);
    ctx.notes.publicIn += e.amount;
    ctx.updateSupply((s) => {
      s.shielded += e.amount!;
    });
  }
  ctx.tx.put(`note:${id}`, { c: e.commitment, owner: e.owner });
  ctx.notes.outputs.push(e.commitment);
  return id;
}

export function noteSpend(ctx: TurnContext, e: EffectOf<'note-spend'>): string {
  ctx.notes.used = true;
  const nf = nullifier(e.note);
  if (ctx.tx.get(`nf:${nf}`) !== undefined)
    throw new DreggError('E_EXISTS', `Note ${e.note} is already spent`);
  const note = ctx.tx.get(`note:${e.note}`) as CborMap | undefined;
  if (note === undefined) throw new DreggError('E_NOT_FOUND', `No note ${e.note}`);
  if (note.owner !== ctx.agent) throw new DreggError('E_DENIED', 'Only the owner of a note may spend it');
  ctx.tx.delete(`note:${e.note}`);
  ctx.tx.put(`nf:${nf}`, { note: e.note });
  ctx.notes.inputs.push(note.c as Uint8Array);
  if (e.to !== undefined && e.amount !== undefined) {
    const to = ctx.cellId(e.to);
    if (!exists(ctx, to)) throw new DreggError('E_NOT_FOUND', `No cell ${to}`);
    ctx.updateSupply((s) => {
      if (s.shielded < e.amount!)
        throw new DreggError('E_INSUFFICIENT', 'The shielded pool holds less than that');
      s.shielded -= e.amount!;
    });
    ctx.notes.publicOut += e.amount;
    credit(ctx, to, e.amount);
  }
  return nf;
}

/** After all effects: notes balance (or the turn has no note effects and no binding signature). */
export function checkNoteBalance(ctx: TurnContext): void {
  const { used, inputs, outputs, publicIn, publicOut } = ctx.notes;
  const binding = ctx.turn.binding;
  if (!used) {
    if (binding !== undefined) throw new DreggError('E_INVALID', 'A binding signature without note effects');
    return;
  }
  if (binding === undefined)
    throw new DreggError('E_INVALID', 'A turn with note effects needs a binding signature');
  // Each amount is below 2^64, but several in one turn may add up past what a balance point takes.
  if (publicIn > MAX_AMOUNT || publicOut > MAX_AMOUNT)
    throw new DreggError('E_INVALID', 'The deposits or withdrawals of one turn total more than 2^64 - 1');
  const point = balancePoint(inputs, outputs, publicIn, publicOut);
  if (!bindingVerify(point, bindingMessage(ctx.turn), binding)) {
    throw new DreggError('E_BAD_SIGNATURE', 'The notes of this turn do not balance (binding signature)');
  }
}

import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Cell } from '../../src/cells/cell.ts';
import { isDreggError } from '../../src/errors.ts';
import {
  keyDigest,
  nullifierOf,
  type ProvedState,
  provedState,
  provedStateCommitment,
  stateSalt,
  valueDigest,
} from '../../src/proofs/state.ts';
import {
  claimedDigests,
  fillTurnTrace,
  TURN_COLUMNS,
  type TurnWitness,
  turnAir,
} from '../../src/proofs/turn-air.ts';
import {
  proveTurn,
  proveTurnTrace,
  statementInputs,
  type TurnStatement,
  turnTrace,
  turnWitness,
  verifyTurnProof,
  witnessStatement,
} from '../../src/proofs/turn-proof.ts';
import { checkTrace } from '../../src/stark/prover.ts';
import type { Effect } from '../../src/turns/effects.ts';
import { type Turn, turnHash } from '../../src/turns/turn.ts';
import { type World, world } from '../turns/fixtures.ts';

const SECRET = new Uint8Array(32).fill(7);

function rejects(f: () => unknown, code = 'E_INVALID', message?: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isDreggError(caught, code as 'E_INVALID'), String(caught)).toBe(true);
  if (message !== undefined) expect((caught as Error).message).toMatch(message);
}

async function rejectsAsync(f: () => Promise<unknown>, code = 'E_INVALID', message?: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await f();
  } catch (e) {
    caught = e;
  }
  expect(isDreggError(caught, code as 'E_INVALID'), String(caught)).toBe(true);
  if (message !== undefined) expect((caught as Error).message).toMatch(message);
}

/**
 * A false claim: the tampered witness's trace, whose public digests are what its own sponges computed,
 * so the only broken rule is the one the tampering breaks. The honest prover refuses it (naming a
 * transition constraint); a proof forced without the check is rejected by the verifier.
 */
async function refusedAndForgedRejected(w: TurnWitness, hash: Uint8Array): Promise<void> {
  await traceRefusedAndForgedRejected(fillTurnTrace(w), hash);
}

async function traceRefusedAndForgedRejected(trace: Uint32Array[], hash: Uint8Array): Promise<void> {
  const logRows = Math.log2(trace[0]!.length);
  const d = claimedDigests(trace, logRows);
  const statement: TurnStatement = {
    oldCommitment: Uint32Array.from(d.slice(0, 8)),
    newCommitment: Uint32Array.from(d.slice(8, 16)),
    turnHash: hash,
    nullifier: Uint32Array.from(d.slice(16, 24)),
  };
  const inputs = statementInputs(statement);
  rejects(() => checkTrace(turnAir(logRows), trace, inputs), 'E_INVALID', /transition constraint/);
  await rejectsAsync(() => proveTurnTrace(logRows, trace, inputs), 'E_INVALID', /transition constraint/);
  const forged = await proveTurnTrace(logRows, trace, inputs, {}, false);
  rejects(() => verifyTurnProof(statement, forged), 'E_INVALID', /AIR constraints/);
}

describe('turn proofs', () => {
  let w: World;
  let cell: Cell;
  let turn: Turn;
  let honest: { statement: TurnStatement; proof: Uint8Array; next: Cell };

  beforeAll(async () => {
    w = await world();
    // Give the cell fields first, through the executor, so the proved turn walks old fields too.
    await w.act(w.alice, [
      { type: 'set-field', cell: w.alice.cell, key: 'name', value: 'alice' },
      { type: 'set-field', cell: w.alice.cell, key: 'age', value: 30 },
    ]);
    await w.act(w.alice, [{ type: 'set-field', cell: w.alice.cell, key: 'city', value: 'Lyon' }]);
    cell = w.executor.cell(w.alice.cell)!;
    turn = await w.turn(w.alice, [
      { type: 'set-field', cell: cell.id, key: 'age', value: 31 },
      { type: 'transfer', from: cell.id, to: w.bob.cell, amount: 250n },
    ]);
    honest = await proveTurn(cell, turn, { secret: SECRET });
  });

  it('a valid turn (SetField + Transfer) proves and verifies; its new commitment is the executor’s new state', async () => {
    verifyTurnProof(honest.statement, honest.proof);
    const salt = (c: Cell) => stateSalt(SECRET, c.id, c.nonce);
    expect(Array.from(honest.statement.oldCommitment)).toEqual(
      Array.from(provedStateCommitment(provedState(cell, salt(cell)))),
    );
    expect(Array.from(honest.statement.nullifier)).toEqual(
      Array.from(nullifierOf(honest.statement.oldCommitment, salt(cell))),
    );
    await w.executor.submit(turn);
    const after = w.executor.cell(cell.id)!;
    expect(after.nonce).toBe(cell.nonce + 1);
    expect(after.balance).toBe(750n);
    expect(Array.from(honest.statement.newCommitment)).toEqual(
      Array.from(provedStateCommitment(provedState(after, salt(after)))),
    );
  });

  it('each proof is freshly randomized (blinding rows): two proofs of one turn differ, both verify', async () => {
    const again = await proveTurn(cell, turn, { secret: SECRET });
    expect(Array.from(again.statement.newCommitment)).toEqual(Array.from(honest.statement.newCommitment));
    expect(Buffer.from(again.proof).equals(Buffer.from(honest.proof))).toBe(false);
    verifyTurnProof(again.statement, again.proof);
  });

  it('rejects a wrong new commitment', () => {
    const bad = Uint32Array.from(honest.statement.newCommitment);
    bad[3] = (bad[3]! + 1) % 2013265921;
    rejects(() => verifyTurnProof({ ...honest.statement, newCommitment: bad }, honest.proof));
  });

  it('rejects a wrong old commitment and a wrong nullifier', () => {
    const bump = (d: Uint32Array) => Uint32Array.from(d, (x, i) => (i === 0 ? (x + 1) % 2013265921 : x));
    rejects(() =>
      verifyTurnProof(
        { ...honest.statement, oldCommitment: bump(honest.statement.oldCommitment) },
        honest.proof,
      ),
    );
    rejects(() =>
      verifyTurnProof({ ...honest.statement, nullifier: bump(honest.statement.nullifier) }, honest.proof),
    );
  });

  it('a wrong nullifier: the prover refuses the trace, and a forced proof is rejected', async () => {
    const { trace, logRows, statement } = turnTrace(cell, turn, SECRET);
    const wrong = { ...statement, nullifier: nullifierOf(statement.oldCommitment, Uint32Array.of(1, 2, 3)) };
    rejects(() => checkTrace(turnAir(logRows), trace, statementInputs(wrong)), 'E_INVALID', /boundary/);
    const forged = await proveTurnTrace(logRows, trace, statementInputs(wrong), {}, false);
    rejects(() => verifyTurnProof(wrong, forged));
  });

  it('rejects a proof for one turn presented with another turn’s hash', async () => {
    const other = await w.turn(w.alice, [{ type: 'set-field', cell: cell.id, key: 'age', value: 31 }], {
      nonce: cell.nonce,
      prev: turn.prev,
    });
    expect(Buffer.from(turnHash(other)).equals(Buffer.from(turnHash(turn)))).toBe(false);
    rejects(() => verifyTurnProof({ ...honest.statement, turnHash: turnHash(other) }, honest.proof));
  });

  it('rejects malformed proof bytes with typed errors', () => {
    rejects(() => verifyTurnProof(honest.statement, new Uint8Array(0)), 'E_DECODE');
    const resized = honest.proof.slice();
    resized[0] = 12;
    rejects(() => verifyTurnProof(honest.statement, resized), 'E_DECODE');
    resized[0] = 8;
    rejects(() => verifyTurnProof(honest.statement, resized));
    const flipped = honest.proof.slice();
    flipped[200] ^= 1;
    rejects(() => verifyTurnProof(honest.statement, flipped));
  });

  describe('false transitions: refused by the prover, forged proofs rejected', () => {
    let base: TurnWitness;
    let hash: Uint8Array;
    beforeAll(() => {
      base = turnWitness(cell, turn, SECRET).witness;
      hash = turnHash(turn);
    });
    const withNext = (next: Partial<ProvedState>): TurnWitness => ({
      ...base,
      next: { ...base.next, ...next },
    });
    const ageKey = () => keyDigest('age');
    const isAge = (k: Uint32Array) => k.join() === ageKey().join();

    it('the nonce not incremented', async () => {
      await refusedAndForgedRejected(withNext({ nonce: base.old.nonce }), hash);
    });

    it('a field write that does not land (the old value stays)', async () => {
      const fields = base.next.fields.map((f) => (isAge(f.key) ? { key: f.key, value: valueDigest(30) } : f));
      await refusedAndForgedRejected(withNext({ fields }), hash);
    });

    it('an untouched field changed', async () => {
      const fields = base.next.fields.map((f) =>
        f.key.join() === keyDigest('city').join() ? { key: f.key, value: valueDigest('Paris') } : f,
      );
      await refusedAndForgedRejected(withNext({ fields }), hash);
    });

    it('an untouched field dropped', async () => {
      const fields = base.next.fields.filter((f) => f.key.join() !== keyDigest('name').join());
      await refusedAndForgedRejected(withNext({ fields }), hash);
    });

    it('the rest of the state changed (another owner)', async () => {
      const rest = Uint32Array.from(base.next.rest, (x, i) => (i === 0 ? (x + 1) % 2013265921 : x));
      await refusedAndForgedRejected(withNext({ rest }), hash);
    });

    it('a transfer that overdraws (the new balance would be negative)', async () => {
      // What a cheating prover would claim: the difference wrapped to an unsigned 64-bit number.
      const amount = base.old.balance + 1n;
      const wrapped = (base.old.balance - amount) & ((1n << 64n) - 1n);
      await refusedAndForgedRejected({ ...withNext({ balance: wrapped }), amount }, hash);
    });

    it('balances that do not conserve (credited 1 more than debited)', async () => {
      await refusedAndForgedRejected(withNext({ balance: base.next.balance + 1n }), hash);
    });

    it('a selector cannot be switched off: a row excused from the permutation, a phase moved', async () => {
      const gadgetOff = fillTurnTrace(base);
      gadgetOff[TURN_COLUMNS.step + 8]![5] = 0; // act, on an active row
      gadgetOff[TURN_COLUMNS.gadget + 7]![5]! ^= 1;
      await traceRefusedAndForgedRejected(gadgetOff, hash);
      const phaseMoved = fillTurnTrace(base);
      phaseMoved[TURN_COLUMNS.phase]![8] = 0;
      phaseMoved[TURN_COLUMNS.phase + 1]![8] = 1;
      await traceRefusedAndForgedRejected(phaseMoved, hash);
    });

    it('the honest witness itself passes the same path (the helper can succeed)', async () => {
      const trace = fillTurnTrace(base);
      const logRows = Math.log2(trace[0]!.length);
      const statement = witnessStatement(base, hash);
      expect(claimedDigests(trace, logRows)).toEqual([
        ...statement.oldCommitment,
        ...statement.newCommitment,
        ...statement.nullifier,
      ]);
      checkTrace(turnAir(logRows), trace, statementInputs(statement));
    });
  });

  it('the honest prover refuses an overdraft and effects it does not prove', async () => {
    const over = await w.turn(w.alice, [{ type: 'transfer', from: cell.id, to: w.bob.cell, amount: 5000n }], {
      nonce: cell.nonce,
      prev: turn.prev,
    });
    await rejectsAsync(() => proveTurn(cell, over, { secret: SECRET }), 'E_INSUFFICIENT');
    const two = await w.turn(
      w.alice,
      [
        { type: 'set-field', cell: cell.id, key: 'a', value: 1 },
        { type: 'set-field', cell: cell.id, key: 'b', value: 1 },
      ],
      { nonce: cell.nonce, prev: turn.prev },
    );
    await rejectsAsync(() => proveTurn(cell, two, { secret: SECRET }), 'E_INVALID', /at most one field/);
    const other = await w.turn(w.alice, [{ type: 'set-field', cell: w.bob.cell, key: 'a', value: 1 }], {
      nonce: cell.nonce,
      prev: turn.prev,
    });
    await rejectsAsync(() => proveTurn(cell, other, { secret: SECRET }), 'E_INVALID', /acting cell/);
    const grant = await w.turn(w.alice, [{ type: 'emit-event', topic: 't', data: null }], {
      nonce: cell.nonce,
      prev: turn.prev,
    });
    await rejectsAsync(() => proveTurn(cell, grant, { secret: SECRET }), 'E_INVALID', /not a proved effect/);
  });
});

describe('turn traces against the executor (property)', () => {
  it('for random proved turns the trace satisfies the AIR and its new commitment is the executor’s', async () => {
    const effect = fc.oneof(
      fc.record({
        type: fc.constant('set-field' as const),
        key: fc.constantFrom('a', 'b', 'c', 'd'),
        value: fc.oneof(fc.constant(null), fc.string({ maxLength: 4 }), fc.integer({ min: 0, max: 9 })),
      }),
      fc.record({ type: fc.constant('transfer' as const), amount: fc.bigInt({ min: 1n, max: 200n }) }),
      fc.record({ type: fc.constant('burn' as const), amount: fc.bigInt({ min: 1n, max: 10n }) }),
      fc.constant({ type: 'increment-nonce' as const }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'e'), fc.integer({ min: 0, max: 5 })), {
          maxLength: 4,
        }),
        fc.array(effect, { maxLength: 4 }),
        fc.bigInt({ min: 0n, max: 50n }),
        async (prior, fx, fee) => {
          const w = await world();
          const id = w.alice.cell;
          if (prior.length > 0)
            await w.act(
              w.alice,
              prior.map(([key, value]) => ({ type: 'set-field', cell: id, key, value })),
            );
          // One written key per proved turn; at most one IncrementNonce.
          const key = fx.find((e) => e.type === 'set-field')?.key;
          let incs = 0;
          const effects: Effect[] = fx.flatMap((e): Effect[] => {
            if (e.type === 'set-field') return e.key === key ? [{ ...e, cell: id }] : [];
            if (e.type === 'transfer')
              return [{ type: 'transfer', from: id, to: w.bob.cell, amount: e.amount }];
            if (e.type === 'burn') return [{ type: 'burn', cell: id, amount: e.amount }];
            return incs++ === 0 ? [{ type: 'increment-nonce', cell: id }] : [];
          });
          if (effects.length === 0) effects.push({ type: 'increment-nonce', cell: id });
          const before = w.executor.cell(id)!;
          const t = await w.turn(w.alice, effects, { fee });
          const { trace, logRows, statement } = turnTrace(before, t, SECRET);
          checkTrace(turnAir(logRows), trace, statementInputs(statement));
          await w.executor.submit(t);
          const after = w.executor.cell(id)!;
          const expected = provedStateCommitment(provedState(after, stateSalt(SECRET, id, after.nonce)));
          expect(Array.from(statement.newCommitment)).toEqual(Array.from(expected));
        },
      ),
      { numRuns: 25, seed: 3 },
    );
  });
});

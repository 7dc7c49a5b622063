/**
 * Shielded notes through the executor: deposits (note-create from a cell), withdrawals (note-spend to
 * a cell), private note-to-note transfers balanced by a binding signature, and every refusal the
 * executor owes — each leaving the ledger exactly as it was and value conserved.
 */
import { describe, expect, it } from 'vitest';
import {
  addScalars,
  bindingSign,
  commit,
  proveRange,
  randomBlinding,
  subScalars,
} from '../../src/crypto/pedersen.ts';
import { signAttestation } from '../../src/turns/apply/bridge.ts';
import { noteId, nullifier, rangeContext } from '../../src/turns/apply/privacy.ts';
import type { Effect } from '../../src/turns/effects.ts';
import { bindingMessage, type Turn, type TurnBody } from '../../src/turns/turn.ts';
import { expectConserved, expectRefused } from './effect-helpers.ts';
import { FEDERATION_SEED, type Person, T0, type World, world } from './fixtures.ts';

interface Note {
  readonly value: bigint;
  readonly blinding: Uint8Array;
  readonly commitment: Uint8Array;
  readonly proof: Uint8Array;
  readonly owner: string;
  readonly id: string;
}

const made = new Map<string, Note>();

/**
 * A note of `value` for `owner`, with a fresh blinding and a range proof bound to the owner. Proving
 * is slow, so notes are made once per `label` and reused across tests (each test has its own world,
 * and the people of every world have the same keys); a test that needs two notes of one value and
 * owner gives them two labels.
 */
function note(value: bigint, owner: Person, label = ''): Note {
  const key = `${value}/${owner.did}/${label}`;
  let n = made.get(key);
  if (n === undefined) {
    const blinding = randomBlinding();
    const commitment = commit(value, blinding);
    const proof = proveRange(value, blinding, rangeContext(owner.did));
    n = { value, blinding, commitment, proof, owner: owner.did, id: noteId(commitment, owner.did) };
    made.set(key, n);
  }
  return n;
}

const ZERO = new Uint8Array(32);

/** The excess a binding signature is made with: sum(r_in) - sum(r_out). */
function excess(inputs: readonly Note[], outputs: readonly Note[]): Uint8Array {
  let x: Uint8Array = ZERO;
  for (const n of inputs) x = addScalars(x, n.blinding);
  for (const n of outputs) x = subScalars(x, n.blinding);
  return x;
}

function create(n: Note, deposit?: { from: string; amount: bigint }): Effect {
  return { type: 'note-create', commitment: n.commitment, owner: n.owner, proof: n.proof, ...deposit };
}

function spend(n: Note, withdraw?: { to: string; amount: bigint }): Effect {
  return { type: 'note-spend', note: n.id, ...withdraw };
}

/**
 * A signed turn carrying a binding signature by `x`: the body is built first without it, the binding
 * signs `bindingMessage(body)`, then the turn is signed with the binding set.
 */
async function noteTurn(
  w: World,
  who: Person,
  effects: Effect[],
  x: Uint8Array,
  options: Partial<TurnBody> = {},
): Promise<Turn> {
  const draft = await w.turn(who, effects, options);
  const binding = bindingSign(x, bindingMessage(draft));
  return w.turn(who, effects, { ...options, binding });
}

async function actNotes(w: World, who: Person, effects: Effect[], x: Uint8Array) {
  return w.executor.submit(await noteTurn(w, who, effects, x));
}

const balance = (w: World, p: Person) => w.executor.cell(p.cell)!.balance;

/** A world where alice has deposited a note of `value` (blinding r) into the pool from her cell. */
async function withNote(value: bigint, owner?: (w: World) => Person) {
  const w = await world();
  const n = note(value, owner === undefined ? w.alice : owner(w));
  await actNotes(w, w.alice, [create(n, { from: w.alice.cell, amount: value })], excess([], [n]));
  return { w, n };
}

describe('note-create: deposits into the shielded pool', () => {
  it('moves public value from a cell into a note; the pool holds it and value is conserved', async () => {
    const w = await world();
    const n = note(100n, w.alice);
    const r = await actNotes(w, w.alice, [create(n, { from: w.alice.cell, amount: 100n })], excess([], [n]));
    expect(r.results).toEqual([n.id]);
    expect(balance(w, w.alice)).toBe(900n);
    expect(w.executor.supply().shielded).toBe(100n);
    expect(w.executor.supply().genesis).toBe(3000n);
    expectConserved(w);
  });

  it('deposits for another owner, and two deposits from two cells in one turn', async () => {
    const w = await world();
    const a = note(30n, w.bob);
    const b = note(40n, w.carol);
    await actNotes(
      w,
      w.alice,
      [create(a, { from: w.alice.cell, amount: 30n }), create(b, { from: w.alice.cell, amount: 40n })],
      excess([], [a, b]),
    );
    expect(balance(w, w.alice)).toBe(930n);
    expect(w.executor.supply().shielded).toBe(70n);
    expectConserved(w);
    // bob, the owner, can withdraw his note; alice, the depositor, cannot.
    await expectRefused(
      w,
      noteTurn(w, w.alice, [spend(a, { to: w.alice.cell, amount: 30n })], excess([a], [])),
      'E_DENIED',
    );
    await actNotes(w, w.bob, [spend(a, { to: w.bob.cell, amount: 30n })], excess([a], []));
    expect(balance(w, w.bob)).toBe(1030n);
    expect(w.executor.supply().shielded).toBe(40n);
    expectConserved(w);
  });

  it('refuses a deposit from a cell the agent does not own (E_DENIED)', async () => {
    const w = await world();
    const n = note(10n, w.bob);
    await expectRefused(
      w,
      noteTurn(w, w.bob, [create(n, { from: w.alice.cell, amount: 10n })], excess([], [n])),
      'E_DENIED',
    );
  });

  it('refuses a deposit larger than the cell holds (E_INSUFFICIENT)', async () => {
    const w = await world();
    const n = note(1001n, w.alice);
    await expectRefused(
      w,
      noteTurn(w, w.alice, [create(n, { from: w.alice.cell, amount: 1001n })], excess([], [n])),
      'E_INSUFFICIENT',
    );
  });

  it('refuses a deposit whose public amount differs from the note value (E_BAD_SIGNATURE)', async () => {
    const w = await world();
    const n = note(100n, w.alice);
    // Deposit 10 but claim a note worth 100: the balance point is no multiple of H.
    await expectRefused(
      w,
      noteTurn(w, w.alice, [create(n, { from: w.alice.cell, amount: 10n })], excess([], [n])),
      'E_BAD_SIGNATURE',
    );
  });

  it('refuses a note created out of nothing (no deposit, no input) even with a signature by -r', async () => {
    const w = await world();
    const n = note(5n, w.alice);
    await expectRefused(w, noteTurn(w, w.alice, [create(n)], excess([], [n])), 'E_BAD_SIGNATURE');
  });

  it('a zero-value note needs no deposit, and cannot be created twice (E_EXISTS)', async () => {
    const w = await world();
    const n = note(0n, w.alice);
    await actNotes(w, w.alice, [create(n)], excess([], [n]));
    expect(w.executor.supply().shielded).toBe(0n);
    expectConserved(w);
    await expectRefused(w, noteTurn(w, w.alice, [create(n)], excess([], [n])), 'E_EXISTS');
  });
});

describe('note-spend: withdrawals to a cell', () => {
  it('moves a note back out of the pool into any cell', async () => {
    const { w, n } = await withNote(100n);
    const r = await actNotes(w, w.alice, [spend(n, { to: w.bob.cell, amount: 100n })], excess([n], []));
    expect(r.results).toEqual([nullifier(n.id)]);
    expect(balance(w, w.alice)).toBe(900n);
    expect(balance(w, w.bob)).toBe(1100n);
    expect(w.executor.supply().shielded).toBe(0n);
    expectConserved(w);
  });

  it('refuses withdrawing more than the note holds, even when the pool has it (E_BAD_SIGNATURE)', async () => {
    const { w, n } = await withNote(70n);
    const other = note(500n, w.bob);
    await actNotes(w, w.bob, [create(other, { from: w.bob.cell, amount: 500n })], excess([], [other]));
    expect(w.executor.supply().shielded).toBe(570n);
    await expectRefused(
      w,
      noteTurn(w, w.alice, [spend(n, { to: w.alice.cell, amount: 100n })], excess([n], [])),
      'E_BAD_SIGNATURE',
    );
  });

  it('refuses withdrawing more than the whole pool holds (E_INSUFFICIENT)', async () => {
    const { w, n } = await withNote(70n);
    await expectRefused(
      w,
      noteTurn(w, w.alice, [spend(n, { to: w.alice.cell, amount: 71n })], excess([n], [])),
      'E_INSUFFICIENT',
    );
  });

  it('refuses a withdrawal to a cell that does not exist (E_NOT_FOUND), and an unknown note', async () => {
    const { w, n } = await withNote(70n);
    await expectRefused(
      w,
      noteTurn(w, w.alice, [spend(n, { to: 'ab'.repeat(32), amount: 70n })], excess([n], [])),
      'E_NOT_FOUND',
    );
    const ghost = note(70n, w.alice, 'ghost');
    await expectRefused(
      w,
      noteTurn(w, w.alice, [spend(ghost, { to: w.alice.cell, amount: 70n })], excess([ghost], [])),
      'E_NOT_FOUND',
    );
  });
});

describe('private note-to-note transfers', () => {
  it('spends a note of 70 into notes of 50 for bob and 20 for alice; the pool is unchanged', async () => {
    const { w, n } = await withNote(70n);
    const toBob = note(50n, w.bob);
    const change = note(20n, w.alice);
    const r = await actNotes(
      w,
      w.alice,
      [spend(n), create(toBob), create(change)],
      excess([n], [toBob, change]),
    );
    expect(r.results).toEqual([nullifier(n.id), toBob.id, change.id]);
    expect(w.executor.supply().shielded).toBe(70n);
    expect(balance(w, w.alice)).toBe(930n);
    expectConserved(w);

    // Each new owner can spend their own note: bob withdraws 50, alice 20, and the pool is empty.
    await actNotes(w, w.bob, [spend(toBob, { to: w.bob.cell, amount: 50n })], excess([toBob], []));
    await actNotes(w, w.alice, [spend(change, { to: w.alice.cell, amount: 20n })], excess([change], []));
    expect(balance(w, w.bob)).toBe(1050n);
    expect(balance(w, w.alice)).toBe(1000n - 70n + 20n);
    expect(w.executor.supply().shielded).toBe(0n);
    expectConserved(w);
  });

  it('refuses an unbalanced transfer whose outputs are worth more than its input (E_BAD_SIGNATURE)', async () => {
    const { w, n } = await withNote(70n);
    const toBob = note(50n, w.bob);
    const change = note(30n, w.alice);
    await expectRefused(
      w,
      noteTurn(w, w.alice, [spend(n), create(toBob), create(change)], excess([n], [toBob, change])),
      'E_BAD_SIGNATURE',
    );
    // The input note was not consumed by the refused turn: a balanced transfer still works.
    const ok = note(20n, w.alice);
    await actNotes(w, w.alice, [spend(n), create(toBob), create(ok)], excess([n], [toBob, ok]));
    expectConserved(w);
  });

  it('refuses a note with a bad range proof (E_INVALID)', async () => {
    const { w, n } = await withNote(70n);
    const toBob = note(50n, w.bob);
    const change = note(20n, w.alice);
    const broken = toBob.proof.slice();
    broken[100]! ^= 1;
    await expectRefused(
      w,
      noteTurn(
        w,
        w.alice,
        [spend(n), { ...create(toBob), proof: broken } as Effect, create(change)],
        excess([n], [toBob, change]),
      ),
      'E_INVALID',
    );
    // A proof made for another owner does not transfer to this one.
    await expectRefused(
      w,
      noteTurn(
        w,
        w.alice,
        [spend(n), { ...create(toBob), owner: w.carol.did } as Effect, create(change)],
        excess([n], [toBob, change]),
      ),
      'E_INVALID',
    );
    // Nor does a proof made for another commitment.
    await expectRefused(
      w,
      noteTurn(
        w,
        w.alice,
        [spend(n), { ...create(toBob), proof: change.proof } as Effect, create(change)],
        excess([n], [toBob, change]),
      ),
      'E_INVALID',
    );
  });

  it('refuses spending a note twice: in a later turn and within one turn (E_EXISTS)', async () => {
    const { w, n } = await withNote(70n);
    const a = note(70n, w.bob);
    await actNotes(w, w.alice, [spend(n), create(a)], excess([n], [a]));
    const b = note(70n, w.carol);
    await expectRefused(w, noteTurn(w, w.alice, [spend(n), create(b)], excess([n], [b])), 'E_EXISTS');
    await expectRefused(
      w,
      noteTurn(w, w.alice, [spend(n, { to: w.alice.cell, amount: 70n })], excess([n], [])),
      'E_EXISTS',
    );
    // Within one turn: bob spends his note twice, trying to create two notes worth 70 each.
    const c = note(70n, w.bob, 'c');
    const d = note(70n, w.bob, 'd');
    await expectRefused(
      w,
      noteTurn(w, w.bob, [spend(a), spend(a), create(c), create(d)], excess([a, a], [c, d])),
      'E_EXISTS',
    );
    // And a note that was spent cannot be re-created under its old id.
    await expectRefused(w, noteTurn(w, w.bob, [create(n)], excess([], [n])), 'E_EXISTS');
  });

  it("refuses spending someone else's note (E_DENIED)", async () => {
    const { w, n } = await withNote(70n);
    const stolen = note(70n, w.bob);
    await expectRefused(w, noteTurn(w, w.bob, [spend(n), create(stolen)], excess([n], [stolen])), 'E_DENIED');
    await expectRefused(
      w,
      noteTurn(w, w.bob, [spend(n, { to: w.bob.cell, amount: 70n })], excess([n], [])),
      'E_DENIED',
    );
  });

  it('refuses a binding signature on a turn without note effects (E_INVALID)', async () => {
    const w = await world();
    await expectRefused(
      w,
      noteTurn(w, w.alice, [{ type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 1n }], ZERO),
      'E_INVALID',
    );
  });

  it('refuses note effects without a binding signature (E_INVALID)', async () => {
    const { w, n } = await withNote(70n);
    const a = note(70n, w.bob);
    await expectRefused(w, w.turn(w.alice, [spend(n), create(a)]), 'E_INVALID');
    const b = note(10n, w.alice);
    await expectRefused(w, w.turn(w.alice, [create(b, { from: w.alice.cell, amount: 10n })]), 'E_INVALID');
  });

  it('refuses a binding signature made for another turn (E_BAD_SIGNATURE)', async () => {
    const { w, n } = await withNote(70n);
    const a = note(70n, w.bob);
    const x = excess([n], [a]);
    // A binding signed over a different body (another deadline) does not bind this one.
    const other = await w.turn(w.alice, [spend(n), create(a)], { validUntil: w.clock.now() / 1000 + 60 });
    const binding = bindingSign(x, bindingMessage(other));
    await expectRefused(w, w.turn(w.alice, [spend(n), create(a)], { binding }), 'E_BAD_SIGNATURE');
    // A binding by the wrong excess does not verify either.
    await expectRefused(
      w,
      noteTurn(w, w.alice, [spend(n), create(a)], subScalars(x, addScalars(ZERO, randomBlinding()))),
      'E_BAD_SIGNATURE',
    );
  });

  it('keeps value conserved and the pool consistent through a chain of transfers', async () => {
    const { w, n } = await withNote(90n);
    const b1 = note(60n, w.bob);
    const a1 = note(30n, w.alice);
    await actNotes(w, w.alice, [spend(n), create(b1), create(a1)], excess([n], [b1, a1]));
    expectConserved(w);
    // bob splits his note: 25 to carol, 35 withdrawn publicly to his own cell.
    const c1 = note(25n, w.carol);
    await actNotes(w, w.bob, [spend(b1, { to: w.bob.cell, amount: 35n }), create(c1)], excess([b1], [c1]));
    expect(w.executor.supply().shielded).toBe(55n);
    expect(balance(w, w.bob)).toBe(1035n);
    expectConserved(w);
    // carol tops her note up with a public deposit: 25 + 15 -> 40.
    const c2 = note(40n, w.carol);
    await actNotes(
      w,
      w.carol,
      [spend(c1), create(c2, { from: w.carol.cell, amount: 15n })],
      excess([c1], [c2]),
    );
    expect(w.executor.supply().shielded).toBe(70n);
    expect(balance(w, w.carol)).toBe(985n);
    expectConserved(w);
  });
});

describe('limits', () => {
  it('refuses deposits that total more than 2^64 - 1 in one turn with E_INVALID, not an argument error', async () => {
    const MAX = (1n << 64n) - 1n;
    const w = await world({ balance: MAX / 3n });
    // Value bridged in from 'away' brings alice's cell to 2^64 - 1 (genesis alone cannot: it is capped).
    const lock = 'ab'.repeat(16);
    const amount = MAX - MAX / 3n;
    const attestation = await signAttestation(
      { kind: 'locked', from: 'away', to: 'home', lock, amount, recipient: w.alice.did, expires: T0 + 7200 },
      FEDERATION_SEED,
      w.ed,
    );
    await w.act(w.alice, [
      {
        type: 'bridge-mint',
        federation: 'away',
        lock,
        amount,
        to: w.alice.cell,
        expires: T0 + 7200,
        attestation,
      },
    ]);
    expect(balance(w, w.alice)).toBe(MAX);
    // bob lets anyone deposit from his cell, so alice can deposit from two cells in one turn.
    await w.act(w.bob, [
      { type: 'set-permissions', cell: w.bob.cell, permissions: { 'note-create': 'anyone' } },
    ]);
    const big = note(MAX, w.alice, 'max');
    const one = note(1n, w.alice, 'one');
    await expectRefused(
      w,
      noteTurn(
        w,
        w.alice,
        [create(big, { from: w.alice.cell, amount: MAX }), create(one, { from: w.bob.cell, amount: 1n })],
        excess([], [big, one]),
      ),
      'E_INVALID',
    );
  });
});

/**
 * The notary's private path on a real SQLite store: a cell made proved, proved turns verified before
 * they are ordered, the head moving, double spends refused with the first spend's seq, plain turns on
 * a proved cell refused, idempotent resubmission, persistence across a reopen, and a store that holds
 * no field value or balance of the proved state.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cell } from '../../src/cells/cell.ts';
import { cellId } from '../../src/cells/cell.ts';
import { bytesEqual, toHex, utf8 } from '../../src/encoding/bytes.ts';
import { encodeCbor } from '../../src/encoding/cbor.ts';
import { verifyReceiptInclusion } from '../../src/notary/index.ts';
import {
  digestBytes,
  type ProvedRegistration,
  type ProvedSubmission,
  type ProvedTurn,
  proofHash,
  proofSecret,
  provedState,
  provedStateCommitment,
  proveTurn,
  signProvedRegistration,
  signProvedSubmission,
  stateSalt,
} from '../../src/proofs/index.ts';
import { receiptHashHex, verifyReceiptChain } from '../../src/turns/receipt.ts';
import type { Turn } from '../../src/turns/turn.ts';
import { type Bench, bench, LEDGER, openStore, type Person, tempDir } from './fixtures.ts';

/** Balances whose encodings are distinctive: found in the store's bytes only if leaked. */
const BALANCE = 5_000_000_000_017n;
const PAID = 1_234_567n;
const AFTER = BALANCE - PAID;
const SECRET_VALUE = 'zanzibar-quokka-7731';

const dir = tempDir();
afterAll(() => dir.remove());

async function refused(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  expect((caught as { code?: string } | undefined)?.code, String(caught)).toBe(code);
  if (message !== undefined) expect(String((caught as Error).message)).toMatch(message);
}

describe('proved cells at the notary', () => {
  let b: Bench;
  let alice: Person;
  let bob: Person;
  let secret: Uint8Array;
  let genesis: Cell;
  let reg: ProvedRegistration;
  let turn1: Turn;
  let proved1: ProvedTurn;
  let sub1: ProvedSubmission;
  let spend: Turn;
  let provedSpend: ProvedTurn;
  let firstSeq: number;

  const sign = (p: Person, proved: Pick<ProvedTurn, 'statement' | 'proof'>, cell = alice.cell) =>
    signProvedSubmission(LEDGER, p, cell, proved, b.ed);

  beforeAll(async () => {
    b = await bench(await openStore(dir.path('notary.sqlite')), { balance: BALANCE });
    [alice, bob] = b.people;
    secret = proofSecret(alice.seed);
    genesis = b.notary.cell(alice.cell)!;
    reg = await signProvedRegistration(LEDGER, alice, alice.cell, stateSalt(secret, alice.cell, 0), b.ed);
    turn1 = await b.turn(alice, [
      { type: 'set-field', cell: alice.cell, key: 'motto', value: SECRET_VALUE },
      { type: 'transfer', from: alice.cell, to: bob.cell, amount: PAID },
    ]);
    // Another turn from the same state: a double spend once turn1 is in.
    spend = await b.turn(alice, [{ type: 'transfer', from: alice.cell, to: bob.cell, amount: 5n }]);
    [proved1, provedSpend] = await Promise.all([
      proveTurn(genesis, turn1, { secret }),
      proveTurn(genesis, spend, { secret }),
    ]);
    sub1 = await sign(alice, proved1);
  }, 60_000);

  afterAll(async () => {
    await b.notary.close();
    await b.store.close();
  });

  it('refuses a proved turn on a cell not registered', async () => {
    await refused(b.notary.submitProved(sub1), 'E_NOT_FOUND', /register it first/);
  });

  it('registers a cell: the relay computes the genesis commitment itself; idempotent; owner only', async () => {
    const expected = provedStateCommitment(provedState(genesis, stateSalt(secret, alice.cell, 0)));
    const head = await b.notary.registerProved(reg);
    expect(Array.from(head)).toEqual(Array.from(expected));
    expect(Array.from(await b.notary.registerProved(reg))).toEqual(Array.from(expected));
    expect(Array.from(b.notary.provedHead(alice.cell)!)).toEqual(Array.from(expected));
    expect(b.notary.provedHead(bob.cell)).toBeUndefined();
    const height = b.notary.height();

    // Bob signing for Alice's cell, a forged signature, another salt, a cell gone past nonce 0.
    const byBob = await signProvedRegistration(LEDGER, bob, alice.cell, reg.salt, b.ed);
    await refused(b.notary.registerProved(byBob), 'E_EXISTS');
    const carols = await signProvedRegistration(LEDGER, bob, b.people[2].cell, reg.salt, b.ed);
    await refused(b.notary.registerProved(carols), 'E_DENIED', /owner/);
    await refused(b.notary.registerProved({ ...reg, signature: byBob.signature }), 'E_BAD_SIGNATURE');
    const otherSalt = await signProvedRegistration(LEDGER, alice, alice.cell, Uint32Array.of(1, 2, 3), b.ed);
    await refused(b.notary.registerProved(otherSalt), 'E_EXISTS');
    await b.notary.submit(await b.transfer(bob, b.people[2], 1n));
    const late = await signProvedRegistration(LEDGER, bob, bob.cell, Uint32Array.of(1, 2, 3), b.ed);
    await refused(b.notary.registerProved(late), 'E_STALE', /nonce 0/);
    expect(b.notary.height()).toBe(height + 1);
  });

  it('refuses plain turns acting on or paying into a proved cell', async () => {
    await refused(b.notary.submit(await b.transfer(alice, bob, 1n)), 'E_DENIED', /is proved/);
    await refused(b.notary.submit(await b.transfer(bob, alice, 1n)), 'E_DENIED', /is proved/);
  });

  it('refuses unproved and mis-proved submissions', async () => {
    const bump = (d: Uint32Array) => Uint32Array.from(d, (x, i) => (i === 0 ? (x + 1) % 2013265921 : x));
    const wrongStatement = {
      ...proved1,
      statement: { ...proved1.statement, newCommitment: bump(proved1.statement.newCommitment) },
    };
    await refused(b.notary.submitProved(await sign(alice, wrongStatement)), 'E_INVALID', /does not verify/);
    const otherProof = { statement: proved1.statement, proof: provedSpend.proof };
    await refused(b.notary.submitProved(await sign(alice, otherProof)), 'E_INVALID', /does not verify/);
    const flipped = proved1.proof.slice();
    flipped[flipped.length >> 1]! ^= 0x10;
    await refused(
      b.notary.submitProved(await sign(alice, { ...proved1, proof: flipped })),
      'E_INVALID',
      /does not verify/,
    );
    // The same flip under the original signature: the signature covers the proof.
    await refused(b.notary.submitProved({ ...sub1, proof: flipped }), 'E_BAD_SIGNATURE');
    await refused(b.notary.submitProved(await sign(bob, proved1)), 'E_DENIED');
    const bobs = await sign(bob, proved1);
    await refused(b.notary.submitProved({ ...sub1, signature: bobs.signature }), 'E_BAD_SIGNATURE');
    expect(Array.from(b.notary.provedHead(alice.cell)!)).toEqual(Array.from(proved1.statement.oldCommitment));
  });

  it('orders a proved SetField + Transfer: the head moves, the receipt carries commitments and the proof hash', async () => {
    const n = await b.notary.submitProved(sub1);
    firstSeq = n.seq;
    expect(n.duplicate).toBe(false);
    expect(n.receipt.turn).toBe(toHex(proved1.statement.turnHash));
    expect(bytesEqual(n.receipt.oldState, digestBytes(proved1.statement.oldCommitment))).toBe(true);
    expect(bytesEqual(n.receipt.newState, digestBytes(proved1.statement.newCommitment))).toBe(true);
    expect(bytesEqual(n.receipt.effects, proofHash(proved1.proof))).toBe(true);
    expect([n.receipt.fee, n.receipt.burned, n.receipt.results.length]).toEqual([0n, 0n, 0]);
    expect(Array.from(b.notary.provedHead(alice.cell)!)).toEqual(Array.from(proved1.statement.newCommitment));
    // The relay's copy of the cell is frozen as registered.
    expect(b.notary.cell(alice.cell)!.balance).toBe(BALANCE);
    const inclusion = await b.notary.inclusion(n.receipt.turn);
    expect(inclusion.event.kind).toBe('proved');
    expect(verifyReceiptInclusion(n.receipt, inclusion)).toBe(true);

    const again = await b.notary.submitProved(sub1);
    expect(again).toMatchObject({ seq: n.seq, duplicate: true });
    expect(receiptHashHex(again.receipt)).toBe(receiptHashHex(n.receipt));
  });

  it('refuses a double spend with E_STALE naming the first spend, also when two race', async () => {
    const second = await sign(alice, provedSpend);
    await refused(
      b.notary.submitProved(second),
      'E_STALE',
      new RegExp(`[Dd]ouble spend.*seq ${firstSeq}\\b`),
    );

    // Two turns from the new head at once: one is ordered, the other is the double spend.
    const next = proved1.next;
    const t2 = await b.turn(alice, [{ type: 'burn', cell: alice.cell, amount: 3n }], { nonce: next.nonce });
    const t3 = await b.turn(alice, [{ type: 'increment-nonce', cell: alice.cell }], { nonce: next.nonce });
    const [p2, p3] = await Promise.all([proveTurn(next, t2, { secret }), proveTurn(next, t3, { secret })]);
    const results = await Promise.allSettled([
      b.notary.submitProved(await sign(alice, p2)),
      b.notary.submitProved(await sign(alice, p3)),
    ]);
    const ok = results.filter((r) => r.status === 'fulfilled');
    const no = results.filter((r) => r.status === 'rejected');
    expect([ok.length, no.length]).toEqual([1, 1]);
    const winner = (ok[0] as PromiseFulfilledResult<{ seq: number }>).value.seq;
    const reason = (no[0] as PromiseRejectedResult).reason as { code: string; message: string };
    expect(reason.code).toBe('E_STALE');
    expect(reason.message).toMatch(new RegExp(`[Dd]ouble spend.*seq ${winner}\\b`));
  }, 30_000);

  it("chains an agent's plain and proved receipts in one verifiable chain", async () => {
    // Alice's second cell stays plain: her receipts mix both kinds.
    const salt = toHex(new Uint8Array(32).fill(42));
    const plain = await b.notary.genesis(alice.did, salt, 10n);
    expect(plain.id).toBe(cellId(alice.did, salt));
    await b.notary.submit(
      await b.turn(alice, [{ type: 'transfer', from: plain.id, to: bob.cell, amount: 1n }], {
        cell: plain.id,
      }),
    );
    const receipts = await b.notary.receipts(alice.did);
    expect(receipts.map((r) => r.cell)).toEqual([alice.cell, alice.cell, plain.id]);
    await verifyReceiptChain(receipts, { ed: b.ed, executors: [b.notary.relay], after: null });
  });

  it('audits honestly: the proved cell counts as shielded transit, the supply balances', async () => {
    const a = await b.notary.audit();
    expect(a.shielded).toBe(BALANCE);
    expect(a.delta).toBe(0n);
    expect(a.ledgerRootMatches).toBe(true);
  });

  it('keeps the head and the nullifiers across a reopen; the store holds no field value or balance', async () => {
    const head = b.notary.provedHead(alice.cell)!;
    await b.notary.close();
    await b.store.close();
    b = await bench(await openStore(dir.path('notary.sqlite')), { balance: BALANCE });
    expect(Array.from(b.notary.provedHead(alice.cell)!)).toEqual(Array.from(head));
    await refused(
      b.notary.submitProved(await sign(alice, provedSpend)),
      'E_STALE',
      new RegExp(`seq ${firstSeq}\\b`),
    );
    expect((await b.notary.submitProved(sub1)).duplicate).toBe(true);
    await b.notary.close();
    await b.store.close();

    const files = ['notary.sqlite', 'notary.sqlite-wal'].map(dir.path).filter(existsSync);
    const bytes = Buffer.concat(files.map((f) => readFileSync(f)));
    const be = Buffer.alloc(8);
    be.writeBigUInt64BE(AFTER);
    const le = Buffer.alloc(8);
    le.writeBigUInt64LE(AFTER);
    for (const needle of [
      utf8.encode(SECRET_VALUE),
      encodeCbor(AFTER),
      be,
      le,
      utf8.encode(AFTER.toString()),
    ])
      expect(bytes.indexOf(Buffer.from(needle)), `found ${Buffer.from(needle).toString('hex')}`).toBe(-1);
    // The scan can find what is there: the registered balance is in the frozen cell record.
    expect(bytes.indexOf(Buffer.from(encodeCbor(BALANCE)))).toBeGreaterThan(-1);
    b = await bench(await openStore(dir.path('notary.sqlite')), { balance: BALANCE });
  });
});

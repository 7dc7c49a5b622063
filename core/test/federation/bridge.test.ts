/**
 * A bridge between two simulated federations (4 members each, real blocks, ordering, settlement,
 * receipt logs and signatures): a lock settled on A is minted on B against A's attested root; a
 * lock B voids after its deadline is released on A against B's signed statement.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultEd25519 } from '../../src/crypto/ed25519.ts';
import { isDreggError } from '../../src/errors.ts';
import { decodeBlock, encodeBlock, signBlock } from '../../src/federation/block.ts';
import {
  type Claim,
  createLockBook,
  createMintBook,
  decodeClaim,
  encodeClaim,
  type LockClaim,
  lockOf,
  signVoid,
  type VoidStatement,
} from '../../src/federation/bridge.ts';
import type { Apply } from '../../src/federation/settle.ts';
import { encodeTurn, signTurn, type Turn } from '../../src/turns/turn.ts';
import { person, T0 } from '../notary/fixtures.ts';
import { attest, catchUp, type Settled, settleEach } from './attested.ts';
import { createSim, type Sim } from './sim.ts';

function code(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    if (isDreggError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a DreggError');
}

const alice = person(1);
const bob = person(2);

describe('a bridge from federation A to federation B', () => {
  let a: Sim;
  let b: Sim;
  let aSettled: Settled[];
  let bSettled: Settled[];
  /** Member 0 of A's lock book and of A's ledger (the balances its Apply keeps). */
  let books: ReturnType<typeof createLockBook>[];
  let balances: Map<string, bigint>[];
  let toMint: Turn;
  let toVoid: Turn;
  let claim: (turn: Turn, signers?: number[]) => Promise<LockClaim>;
  /** B's settled clock (Unix seconds), where deadlines are read. */
  const bTime = T0 + 100;

  beforeAll(async () => {
    a = createSim(4, { federation: 'fed-a' });
    b = createSim(4, { federation: 'fed-b', keyOffset: 50 });
    bSettled = settleEach(b);
    await b.settle(8);
    await catchUp(b, bSettled);

    books = a.members.map(() => createLockBook('fed-a', new Map([['fed-b', b.committee]])));
    balances = a.members.map(() => new Map([[alice.cell, 1000n]]));
    const apply =
      (i: number): Apply =>
      (turn) => {
        const lock = books[i]!.lock(turn);
        balances[i]!.set(lock.cell, balances[i]!.get(lock.cell)! - lock.amount);
      };
    aSettled = settleEach(a, apply);
    const ed = await defaultEd25519();
    const lockTurn = (nonce: number, amount: bigint, deadline: number) =>
      signTurn(
        {
          ledger: 'fed-a',
          agent: alice.did,
          cell: alice.cell,
          nonce,
          prev: null,
          effects: [
            {
              type: 'bridge-lock',
              from: alice.cell,
              amount,
              federation: 'fed-b',
              recipient: bob.did,
              expires: deadline,
            },
          ],
          fee: 0n,
          validUntil: T0 + 3600,
        },
        alice.seed,
        ed,
      );
    toMint = await lockTurn(0, 100n, bTime + 5000);
    toVoid = await lockTurn(1, 40n, bTime + 700);
    await a.settle(2);
    await a.mine(2, [
      { kind: 'turn', turn: encodeTurn(toMint) },
      { kind: 'turn', turn: encodeTurn(toVoid) },
    ]);
    await a.settle(12);
    await catchUp(a, aSettled);
    claim = async (turn, signers = [0, 1, 3]) => {
      const root = await attest(a, aSettled, signers);
      const log = aSettled[1]!.log;
      const h = aSettled[1]!.outcomes.find((o) => o.place.turn === lockOf(turn, 'fed-a').id)!.place.height;
      return { turn, proof: { receipt: log.receipt(h), proof: log.prove(h, root.height), root } };
    };
  }, 60_000);

  it('A settles both locks the same way on every member and debits the cell', () => {
    for (const i of a.members.keys()) {
      expect(books[i]!.state(lockOf(toMint, 'fed-a').id)).toBe('locked');
      expect(balances[i]!.get(alice.cell)).toBe(860n);
    }
  });

  it('B mints a lock proven under a root of > 2/3 of A, once', async () => {
    const mints = createMintBook('fed-b', new Map([['fed-a', a.committee]]));
    const c = await claim(toMint);
    const lock = mints.mint(c, bTime);
    expect(lock).toMatchObject({ amount: 100n, target: { federation: 'fed-b', recipient: bob.did } });
    expect(code(() => mints.mint(c, bTime + 1))).toBe('E_EXISTS');
    expect(code(() => mints.voidLock(c, bTime + 6000))).toBe('E_EXISTS');
    expect(mints.minted()).toEqual(new Map([['fed-a', 100n]]));
  });

  it('B refuses a mint under a root of 2 of 4, a claim with another turn, and a source it did not pin', async () => {
    const mints = createMintBook('fed-b', new Map([['fed-a', a.committee]]));
    const good = await claim(toMint);
    const weak = await claim(toMint, [0, 3]);
    expect(code(() => mints.mint(weak, bTime))).toBe('E_UNTRUSTED');
    const other = await claim(toVoid);
    expect(code(() => mints.mint({ turn: toMint, proof: other.proof }, bTime))).toBe('E_INVALID');
    // Within the margin before the deadline B mints no more (its executor would not either).
    expect(code(() => mints.mint(other, bTime + 101))).toBe('E_EXPIRED');
    // B pinned the wrong committee for A: A's real root does not count.
    const misled = createMintBook('fed-b', new Map([['fed-a', b.committee]]));
    expect(code(() => misled.mint(good, bTime))).toBe('E_UNTRUSTED');
    expect(code(() => createMintBook('fed-b', new Map()).mint(good, bTime))).toBe('E_UNTRUSTED');
    expect(mints.state('fed-a', lockOf(toMint, 'fed-a').id)).toBeUndefined();
  });

  it("after the deadline B voids an unminted lock, A releases it once on B's statement, and no mint follows", async () => {
    const mints = createMintBook('fed-b', new Map([['fed-a', a.committee]]));
    const c = await claim(toVoid);
    const lock = lockOf(toVoid, 'fed-a');
    expect(code(() => mints.voidLock(c, bTime + 699))).toBe('E_DENIED');
    mints.voidLock(c, bTime + 700);
    expect(mints.state('fed-a', lock.id)).toBe('voided');
    expect(mints.voided('fed-a', lock.id)).toEqual(lock);
    expect(code(() => mints.mint(c, bTime - 1000))).toBe('E_EXISTS');
    const statement = async (sim: Sim, signers: number[]): Promise<VoidStatement> => ({
      signatures: await Promise.all(
        signers.map((i) => signVoid(lock, sim.members[i]!.member.publicKey, sim.members[i]!.member.sign)),
      ),
    });
    const book = books[0]!;
    // Signed by 2 of B's 4, or by A's own members: refused.
    const weak = await statement(b, [0, 1]);
    const fromA = await statement(a, [0, 1, 2, 3]);
    expect(code(() => book.release(lock.id, weak))).toBe('E_UNTRUSTED');
    expect(code(() => book.release(lock.id, fromA))).toBe('E_UNTRUSTED');
    const signed = await statement(b, [0, 2, 3]);
    // The statement of another lock's void does not release this one.
    expect(code(() => book.release(lockOf(toMint, 'fed-a').id, signed))).toBe('E_UNTRUSTED');
    expect(book.locked()).toEqual(new Map([['fed-b', 140n]]));
    expect(book.release(lock.id, signed)).toMatchObject({ cell: alice.cell, amount: 40n });
    expect(book.state(lock.id)).toBe('released');
    expect(code(() => book.release(lock.id, signed))).toBe('E_EXISTS');
    expect(book.locked()).toEqual(new Map([['fed-b', 100n]]));
  });

  it('claims travel as block payload and decode back as themselves; anything else fails only with a typed error', async () => {
    const lock = lockOf(toVoid, 'fed-a');
    const signed = await signVoid(lock, b.members[0]!.member.publicKey, b.members[0]!.member.sign);
    const claims: Claim[] = [
      { op: 'mint', claim: await claim(toMint), to: bob.cell },
      { op: 'void', claim: await claim(toVoid) },
      { op: 'release', lock: lock.id, statement: { signatures: [signed] } },
    ];
    const member = a.members[0]!.member;
    for (const c of claims) {
      const bytes = encodeClaim(c);
      expect(encodeClaim(decodeClaim(bytes))).toEqual(bytes);
      const block = await signBlock(
        {
          federation: 'fed-a',
          epoch: 0,
          creator: member.publicKey,
          seq: 0,
          acks: [],
          payload: [{ kind: 'bridge', claim: bytes }],
        },
        member.sign,
      );
      expect(decodeBlock(encodeBlock(block)).payload).toEqual([{ kind: 'bridge', claim: bytes }]);
    }
    const mint = encodeClaim(claims[0]!);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          // One byte of a real claim changed: mostly still CBOR, rarely still a claim.
          fc.tuple(fc.nat(mint.length - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
            const m = mint.slice();
            m[i]! ^= x;
            return m;
          }),
        ),
        (bytes) => {
          try {
            decodeClaim(bytes);
          } catch (e) {
            expect(isDreggError(e) && ['E_DECODE', 'E_INVALID'].includes(e.code)).toBe(true);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

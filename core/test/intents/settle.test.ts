/**
 * Ring settlement against the real executor: signed intents, the solver's ring, commitments, escrow
 * obligations and the one settling turn; dropouts, short escrows, a vanished coordinator.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { nobleEd25519 as ed, ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { isDreggError } from '../../src/errors.ts';
import { intentId, signIntent } from '../../src/intents/intent.ts';
import {
  escrowCommitment,
  escrowTurn,
  openSettlement,
  type Settlement,
  signCommitment,
} from '../../src/intents/settle.ts';
import { findRings, type Ring } from '../../src/intents/solver.ts';
import { createExecutor, type Executor } from '../../src/turns/executor.ts';
import { signTurn } from '../../src/turns/turn.ts';
import { saltOf, seedOf, T0 } from '../turns/fixtures.ts';
import { commitEscrows } from './fixtures.ts';

interface Party {
  readonly did: string;
  readonly seed: Uint8Array;
  readonly cell: string;
}

const DEADLINE = T0 + 600;

async function market(n: number, amounts: readonly number[]) {
  const clock = manualClock(T0 * 1000);
  const executor = await createExecutor({ ed, clock, seed: seedOf(100), federation: 'home' });
  const party = async (i: number): Promise<Party> => {
    const seed = seedOf(i);
    const did = didKeyFromEd25519(ed25519PublicKey(seed));
    return { did, seed, cell: (await executor.genesis(did, saltOf(i), 1000n)).id };
  };
  const coordinator = await party(50);
  const parties = await Promise.all(Array.from({ length: n }, (_, i) => party(i + 1)));
  // Party i offers amounts[i] computrons and wants what its predecessor offers.
  const intents = await Promise.all(
    parties.map((p, i) =>
      signIntent(
        {
          zone: 'market',
          offers: [{ kind: 'computrons', amount: BigInt(amounts[i]!) }],
          wants: [{ kind: 'computrons', amount: BigInt(amounts[(i + n - 1) % n]!) }],
          expires: T0 + 3600,
        },
        p.seed,
        new Uint8Array(16).fill(i + 1),
        ed,
      ),
    ),
  );
  const byId = new Map(intents.map((t) => [intentId(t), t]));
  const partyOf = new Map(intents.map((t, i) => [intentId(t), parties[i]!]));
  const { rings } = findRings(
    [...byId].map(([id, intent]) => ({ id, intent })),
    { now: T0, maxLength: 6 },
  );
  // Computrons are fungible, so shorter rings may exist too: settle the one through everybody.
  const ring = rings.find((r) => r.legs.length === n)!;
  return { executor, clock, coordinator, parties, byId, partyOf, ring };
}

type Market = Awaited<ReturnType<typeof market>>;

const balance = (x: Executor, cell: string) => x.cell(cell)!.balance;
const total = (m: Market) => m.parties.reduce((a, p) => a + balance(m.executor, p.cell), 0n);

async function open(m: Market, ring: Ring): Promise<Settlement> {
  return openSettlement(ring, m.byId, {
    ledger: m.executor,
    coordinator: m.coordinator,
    ed,
    deadline: DEADLINE,
  });
}

/** Each party commits to an escrow of `amount(id)` and returns what it will reveal. */
const commitAll = (m: Market, s: Settlement, amount: (id: string) => bigint) =>
  commitEscrows(
    m.executor,
    s,
    [...s.owed.keys()].map((id) => [id, m.partyOf.get(id)!] as const),
    amount,
  );

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (isDreggError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

describe('ring settlement', () => {
  it('settles rings of 2 to 6 whole, in one turn, and conserves every computron', async () => {
    for (let n = 2; n <= 6; n++) {
      const amounts = Array.from({ length: n }, (_, i) => 10 * (i + 1));
      const m = await market(n, amounts);
      const before = total(m);
      const s = await open(m, m.ring);
      const reveals = await commitAll(m, s, (id) => s.owed.get(id)!);
      expect(s.state()).toMatchObject({ phase: 'revealing', escrowed: 0 });
      for (const [id, r] of reveals) await s.reveal(id, r.turn, r.salt);
      expect(s.state().phase).toBe('settled');
      // Party i paid amounts[i] and received amounts[i - 1].
      m.parties.forEach((p, i) => {
        expect(balance(m.executor, p.cell)).toBe(
          1000n - BigInt(amounts[i]!) + BigInt(amounts[(i + n - 1) % n]!),
        );
      });
      expect(total(m)).toBe(before);
      expect(balance(m.executor, s.escrowCell)).toBe(0n);
      expect(m.executor.audit().held).toBe(m.executor.audit().expected);
    }
  });

  it('a participant who drops out leaves everyone refunded at the deadline', async () => {
    const m = await market(4, [5, 6, 7, 8]);
    const s = await open(m, m.ring);
    const reveals = await commitAll(m, s, (id) => s.owed.get(id)!);
    const [first, ...rest] = [...reveals];
    for (const [id, r] of rest) await s.reveal(id, r.turn, r.salt);
    expect(s.state()).toMatchObject({ phase: 'revealing', escrowed: 3 });
    // Escrowed value is out of its payers' reach meanwhile.
    expect(total(m)).toBe(4000n - 5n - 6n - 7n - 8n + s.owed.get(first![0])!);
    expect(await codeOf(s.expire(DEADLINE - 1))).toBe('E_NOT_YET_VALID');
    const ending = s.expire(DEADLINE);
    // A reader never sees the ring aborted before the refund that goes with it.
    expect(s.state().phase).toBe('revealing');
    await ending;
    expect(s.state()).toMatchObject({
      phase: 'aborted',
      refund: expect.objectContaining({ turn: expect.any(String) }),
    });
    for (const p of m.parties) expect(balance(m.executor, p.cell)).toBe(1000n);
    expect(await codeOf(s.reveal(first![0], first![1].turn, first![1].salt))).toBe('E_STALE');
  });

  it('a short escrow blocks the ring, names its participant, and refunds the others', async () => {
    const m = await market(3, [20, 30, 40]);
    const s = await open(m, m.ring);
    const cheat = [...s.owed.keys()][1]!;
    const reveals = await commitAll(m, s, (id) => s.owed.get(id)! - (id === cheat ? 1n : 0n));
    const order = [...reveals].sort(([a]) => (a === cheat ? 1 : -1));
    for (const [id, r] of order.slice(0, 2)) await s.reveal(id, r.turn, r.salt);
    const [, last] = order[2]!;
    expect(await codeOf(s.reveal(cheat, last.turn, last.salt))).toBe('E_INSUFFICIENT');
    const state = s.state();
    expect(state.phase).toBe('aborted');
    if (state.phase !== 'aborted') return;
    expect(state.blame).toMatchObject({
      intent: cheat,
      agent: m.byId.get(cheat)!.by,
      code: 'E_INSUFFICIENT',
    });
    // The evidence is the cheat's own signed commitment, which opens to the short escrow.
    expect(state.blame!.commitment.commitment).toEqual(escrowCommitment(last.turn, last.salt));
    for (const p of m.parties) expect(balance(m.executor, p.cell)).toBe(1000n);
  });

  it('a reveal that does not open its commitment is blamed; no one can commit for another', async () => {
    const m = await market(2, [3, 4]);
    const s = await open(m, m.ring);
    const [a, b] = [...s.owed.keys()];
    const pa = m.partyOf.get(a!)!;
    const pb = m.partyOf.get(b!)!;
    const turn = await escrowTurn(pa, m.executor, s, 4n, ed);
    const commitment = escrowCommitment(turn, new Uint8Array(32));
    // Signed by b for a's intent: refused. Wrong ring: refused.
    const forged = await signCommitment({ ring: s.id, intent: a!, cell: pa.cell, commitment }, pb.seed, ed);
    expect(await codeOf(s.commit(forged))).toBe('E_BAD_SIGNATURE');
    const elsewhere = await signCommitment(
      { ring: '00'.repeat(32), intent: a!, cell: pa.cell, commitment },
      pa.seed,
      ed,
    );
    expect(await codeOf(s.commit(elsewhere))).toBe('E_NOT_FOUND');
    expect(await codeOf(s.reveal(a!, turn, new Uint8Array(32)))).toBe('E_STALE');
    await s.commit(await signCommitment({ ring: s.id, intent: a!, cell: pa.cell, commitment }, pa.seed, ed));
    expect(
      await codeOf(
        s.commit(await signCommitment({ ring: s.id, intent: a!, cell: pa.cell, commitment }, pa.seed, ed)),
      ),
    ).toBe('E_EXISTS');
    const tb = await escrowTurn(pb, m.executor, s, 3n, ed);
    await s.commit(
      await signCommitment(
        { ring: s.id, intent: b!, cell: pb.cell, commitment: escrowCommitment(tb, new Uint8Array(32)) },
        pb.seed,
        ed,
      ),
    );
    expect(await codeOf(s.reveal(a!, turn, new Uint8Array(32).fill(1)))).toBe('E_INVALID');
    expect(s.state()).toMatchObject({ phase: 'aborted', blame: { intent: a } });
  });

  it('if the coordinator vanishes, each payer takes its escrow back once it falls due', async () => {
    const m = await market(2, [7, 9]);
    const s = await open(m, m.ring);
    const reveals = await commitAll(m, s, (id) => s.owed.get(id)!);
    const [id, r] = [...reveals][0]!;
    await s.reveal(id, r.turn, r.salt);
    const p = m.partyOf.get(id)!;
    const obligation = String((await m.executor.receipts(p.did)).at(-1)!.results[0]);
    const takeBack = async () =>
      m.executor.submit(
        await signTurn(
          {
            ledger: m.executor.ledger,
            agent: p.did,
            cell: p.cell,
            nonce: m.executor.cell(p.cell)!.nonce,
            prev: m.executor.head(p.did).prev,
            effects: [{ type: 'transfer', obligation, to: p.cell, amount: s.owed.get(id)! }],
            fee: 0n,
            validUntil: DEADLINE + 60,
          },
          p.seed,
          ed,
        ),
      );
    expect(await codeOf(takeBack())).toBe('E_DENIED');
    m.clock.set(DEADLINE * 1000);
    await takeBack();
    expect(balance(m.executor, p.cell)).toBe(1000n);
  });

  it('property: whoever drops out or cheats, the ring settles whole or every payer is made whole', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2, max: 5 }).chain((n) =>
          fc.tuple(
            fc.array(fc.integer({ min: 1, max: 500 }), { minLength: n, maxLength: n }),
            fc.array(fc.constantFrom('honest', 'honest', 'honest', 'absent', 'short', 'generous'), {
              minLength: n,
              maxLength: n,
            }),
          ),
        ),
        async ([amounts, behaviours]) => {
          const m = await market(amounts.length, amounts);
          const s = await open(m, m.ring);
          const ids = [...s.owed.keys()];
          const how = new Map(ids.map((id, i) => [id, behaviours[i]!]));
          const reveals = await commitAll(m, s, (id) => {
            const owed = s.owed.get(id)!;
            return how.get(id) === 'short' ? owed - 1n : how.get(id) === 'generous' ? owed + 5n : owed;
          });
          for (const [id, r] of reveals) {
            if (s.state().phase !== 'revealing') break;
            if (how.get(id) === 'absent') continue;
            await s.reveal(id, r.turn, r.salt).catch(() => undefined);
          }
          if (s.state().phase === 'revealing') await s.expire(DEADLINE);
          const settled = s.state().phase === 'settled';
          expect(settled).toBe(behaviours.every((b) => b === 'honest' || b === 'generous'));
          const n = amounts.length;
          m.parties.forEach((p, i) => {
            const expected = settled
              ? 1000n - BigInt(amounts[i]!) + BigInt(amounts[(i + n - 1) % n]!)
              : 1000n;
            expect(balance(m.executor, p.cell)).toBe(expected);
          });
          expect(balance(m.executor, s.escrowCell)).toBe(0n);
          expect(m.executor.audit().held).toBe(m.executor.audit().expected);
        },
      ),
      { numRuns: 25 },
    );
  });
});

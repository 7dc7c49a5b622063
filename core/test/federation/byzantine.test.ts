/**
 * Four real relays, one of them Byzantine (`CIPHERCLERK_TEST_BYZANTINE=equivocate,garbage`: it signs
 * a second block at every third seq and sprays random bytes and badly signed blocks on the block
 * topic). The three correct ones must detect the fork, convict its creator, never let it lead a wave
 * again, keep finalizing, agree on the order and the ledger, and drop the garbage without falling
 * over; a wallet then checks their attested root against the genesis committee. The relays are
 * shared by the tests of this file, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/encoding/bytes.ts';
import { checkFederationRoot } from '../../src/federation/attest.ts';
import { converged, type Fed, federation, submitPatiently, transfer, until } from './relays-fixtures.ts';

const CORRECT = [0, 1, 2];
const BYZANTINE = 3;
let fed: Fed;
let liar: string;

beforeAll(async () => {
  fed = await federation(4, 6);
  liar = toHex(fed.genesis.members[BYZANTINE]!.key);
  await Promise.all([
    ...CORRECT.map((i) => fed.start(i)),
    fed.start(BYZANTINE, { CIPHERCLERK_TEST_BYZANTINE: 'equivocate,garbage' }),
  ]);
}, 120_000);

afterAll(async () => {
  await fed?.close();
}, 60_000);

/** One transfer per payer, each through a correct relay, all at once; resolves when all settled. */
async function round(): Promise<void> {
  const { payers } = fed;
  await Promise.all(
    payers.map(async (p, i) => {
      const client = await fed.client(CORRECT[i % CORRECT.length]!);
      const s = await submitPatiently(
        client,
        await transfer(client, p, payers[(i + 1) % payers.length]!, 1n),
      );
      expect(s.receipt.agent).toBe(p.did);
    }),
  );
}

describe('a federation with one Byzantine relay', () => {
  it('convicts the equivocator, excludes it from later waves, keeps finalizing and agrees', async () => {
    const droppedBefore = (await Promise.all(CORRECT.map((i) => fed.health(i)))).map(
      (h) => h.federation.dropped,
    );
    // Work until every correct relay's order has convicted the liar (its forks need blocks to happen
    // in, and it mines while others' payload is not final).
    let rounds = 0;
    for (; rounds < 20; rounds++) {
      const s = await Promise.all(CORRECT.map(async (i) => (await fed.health(i)).federation));
      if (s.every((x) => x.convicted.includes(liar))) break;
      await round();
    }
    const convictedAt = Math.max(
      ...(await Promise.all(CORRECT.map(async (i) => (await fed.health(i)).federation.convictedAt[liar]!))),
    );
    expect(Number.isInteger(convictedAt)).toBe(true);
    // Then enough waves that the liar's turn to lead comes round at least twice.
    const n = fed.members.length;
    let settledRounds = rounds;
    for (let k = 0; k < 30; k++) {
      const s = await Promise.all(CORRECT.map(async (i) => (await fed.health(i)).federation));
      if (s.every((x) => x.lastWave >= convictedAt + 2 * n)) break;
      await round();
      settledRounds++;
    }
    const all = await converged(fed, CORRECT, settledRounds * fed.payers.length);
    expect(all[0]!.settled).toBe(settledRounds * fed.payers.length);
    const liarSlot = fed.genesis.committee.keys.indexOf(liar);
    for (const s of all) {
      // Evidence in each correct relay's blocklace, and the conviction in its order.
      expect(s.equivocators).toEqual([liar]);
      expect(s.convicted).toEqual([liar]);
      expect(s.lastWave).toBeGreaterThanOrEqual(convictedAt + 2 * n);
      // It leads no wave after its conviction, although its slot came round.
      const after = s.leaders.filter((l) => l.wave > convictedAt);
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter((l) => l.creator === liar)).toEqual([]);
      expect(after.some((l) => l.wave % n === liarSlot)).toBe(false);
      // The waves in between that a correct member leads are final: the order goes on without it.
      expect(new Set(after.map((l) => l.creator)).size).toBeGreaterThanOrEqual(2);
    }
    for (const [k, i] of CORRECT.entries()) {
      const h = await fed.health(i);
      expect(h.supplyDelta).toBe('0');
      // The garbage was seen and dropped, not swallowed by a crash.
      expect(h.federation.dropped).toBeGreaterThan(droppedBefore[k]!);
    }
    for (const r of fed.relays) expect(r!.process.exitCode).toBeNull();
  }, 150_000);

  it('serves a root the genesis committee signed, which a wallet refuses with 2 of 4 signatures', async () => {
    // The root a correct relay serves catches up with its settled height.
    const [status] = await until(
      fed,
      [0],
      ([s]) => s!.rootHeight === s!.settled,
      'an attested root at the settled height',
    );
    const root = await fed.root(0);
    expect(root.height).toBe(status!.settled);
    expect(toHex(root.ledgerRoot)).toBe(status!.ledgerRoot);
    const pinned = fed.genesis.committee;
    const check = checkFederationRoot(root, pinned);
    expect(check.accepted).toBe(true);
    expect(check.signers.length).toBeGreaterThanOrEqual(3);
    // Any three of the four members make the threshold; two do not, and neither does a repeat.
    const sigs = root.signatures;
    expect(checkFederationRoot({ ...root, signatures: sigs.slice(0, 3) }, pinned).accepted).toBe(true);
    const two = checkFederationRoot({ ...root, signatures: sigs.slice(0, 2) }, pinned);
    expect(two.accepted).toBe(false);
    expect(two.signers).toHaveLength(2);
    const repeated = [...sigs.slice(0, 2), sigs[0]!];
    expect(checkFederationRoot({ ...root, signatures: repeated }, pinned).accepted).toBe(false);
  }, 90_000);
});

/**
 * Four real relays partitioned through their test-only partition files
 * (`CIPHERCLERK_TEST_PARTITION_FILE`: the peers a relay refuses, reread every second). With three on
 * one side the majority keeps finalizing and the lone relay's turn waits; with two on each side
 * nobody finalizes; when the partition lifts, everything pending settles and all four converge on
 * one order and one ledger. The relays are shared by the tests of this file, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DreggError } from '../../src/errors.ts';
import type { Submitted } from '../../src/net/contract.ts';
import type { Turn } from '../../src/turns/turn.ts';
import { converged, type Fed, federation, transfer, until } from './relays-fixtures.ts';

let fed: Fed;

beforeAll(async () => {
  fed = await federation(4, 6);
  await Promise.all(fed.members.map((m) => fed.start(m.index)));
  await until(fed, [0, 1, 2, 3], (s) => s.every((x) => x.connected === 3), 'a full mesh');
}, 120_000);

afterAll(async () => {
  await fed?.close();
}, 60_000);

/** Cuts the federation into the given sides (each relay refuses every member outside its side). */
async function split(...sides: number[][]): Promise<void> {
  for (const side of sides)
    for (const i of side)
      fed.partition(
        i,
        fed.members.filter((m) => !side.includes(m.index)).map((m) => m.peerId),
      );
  await until(
    fed,
    fed.members.map((m) => m.index),
    (s) => s.every((x, i) => x.connected === sides.find((side) => side.includes(i))!.length - 1),
    'the partition',
  );
}

async function heal(): Promise<void> {
  for (const m of fed.members) fed.partition(m.index, []);
  await until(fed, [0, 1, 2, 3], (s) => s.every((x) => x.connected === 3), 'the mesh again', 30_000);
}

/**
 * Submits through relay i and keeps asking while the call times out (a wallet's retry: the relay
 * answers a resubmitted turn once it settles); `settled` says whether it has been answered yet.
 */
function submit(i: number, turn: Turn): { answer: Promise<Submitted>; settled: () => boolean } {
  let done = false;
  const answer = (async () => {
    for (;;) {
      try {
        return await (await fed.client(i)).submitTurn(turn);
      } catch (e) {
        if (!(e instanceof DreggError) || e.code !== 'E_TIMEOUT') throw e;
      }
    }
  })().finally(() => {
    done = true;
  });
  return { answer, settled: () => done };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a partitioned federation of four relays', () => {
  it('finalizes on the side of three, holds the lone relay turn, and converges when healed', async () => {
    const { payers } = fed;
    await split([0, 1, 2], [3]);
    const before = (await fed.health(3)).federation;
    // The lone relay's turn, signed against the state it and everyone else agree on.
    const c3 = await fed.client(3);
    const lone = submit(3, await transfer(c3, payers[5]!, payers[0]!, 7n));
    // The majority finalizes turns submitted to it, two in a chain per payer.
    await Promise.all(
      [0, 1, 2].map(async (i) => {
        const client = await fed.client(i);
        for (let k = 0; k < 2; k++) {
          const s = await client.submitTurn(await transfer(client, payers[i]!, payers[4]!, 1n));
          expect(s.duplicate).toBe(false);
        }
      }),
    );
    const majority = await converged(fed, [0, 1, 2], before.settled + 6);
    expect(majority[0]!.settled).toBe(before.settled + 6);
    // Meanwhile the lone relay settled nothing and its turn has no receipt.
    await pause(1500);
    expect(lone.settled()).toBe(false);
    const alone = (await fed.health(3)).federation;
    expect(alone.settled).toBe(before.settled);
    expect(alone.ordered).toBe(before.ordered);
    expect(alone.connected).toBe(0);

    await heal();
    const s = await lone.answer;
    expect(s.receipt.agent).toBe(payers[5]!.did);
    const all = await converged(fed, [0, 1, 2, 3], before.settled + 7, 60_000);
    expect(all[3]!.settled).toBe(before.settled + 7);
    for (const i of [0, 1, 2, 3]) expect((await fed.health(i)).supplyDelta).toBe('0');
    const c0 = await fed.client(0);
    expect((await c3.ledger().cell(payers[0]!.cell))!.balance).toBe(
      (await c0.ledger().cell(payers[0]!.cell))!.balance,
    );
  }, 120_000);

  it('finalizes nothing in a 2|2 split, and everything once it heals', async () => {
    const { payers } = fed;
    const start = await converged(fed, [0, 1, 2, 3]);
    await split([0, 1], [2, 3]);
    // The order as the split found it: until every relay applied its partition file (reread each
    // second) they could still finish a wave of the blocks they already had, turns or none.
    await pause(500);
    const cut = await until(fed, [0, 1, 2, 3], () => true, 'a status');
    const left = submit(0, await transfer(await fed.client(0), payers[1]!, payers[2]!, 3n));
    const right = submit(2, await transfer(await fed.client(2), payers[3]!, payers[2]!, 4n));
    await pause(4000);
    expect(left.settled()).toBe(false);
    expect(right.settled()).toBe(false);
    for (const [i, s] of (await until(fed, [0, 1, 2, 3], () => true, 'a status')).entries()) {
      expect(s.settled, `relay ${i}`).toBe(start[0]!.settled);
      expect(s.orderDigest, `relay ${i}`).toBe(cut[i]!.orderDigest);
    }
    await heal();
    const [a, b] = await Promise.all([left.answer, right.answer]);
    expect(a.receipt.agent).toBe(payers[1]!.did);
    expect(b.receipt.agent).toBe(payers[3]!.did);
    const all = await converged(fed, [0, 1, 2, 3], start[0]!.settled + 2);
    expect(all[0]!.settled).toBe(start[0]!.settled + 2);
  }, 90_000);
});

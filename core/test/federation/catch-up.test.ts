/**
 * The frontier exchange between two blocklaces, as relays run it: the asker names what it wants and
 * has (`blocksWanted`), the answerer sends the difference lowest first, 256 at a time (`blocksToSend`),
 * and the asker inserts them and asks again while anything new arrives.
 */
import { describe, expect, it } from 'vitest';
import { type Block, blockIdHex } from '../../src/federation/block.ts';
import { type Blocklace, createBlocklace } from '../../src/federation/blocklace.ts';
import { blocksToSend, blocksWanted } from '../../src/federation/catch-up.ts';
import { committee } from '../../src/federation/committee.ts';
import { createMiner } from '../../src/federation/miner.ts';
import { MAX_BLOCKS_PER_ANSWER, MAX_IDS_PER_REQUEST } from '../../src/net/federation.ts';
import { FEDERATION, memberKeys } from './sim.ts';

/** Four members; `rounds(who, k, to)` lets the members in `who` mine k rounds, each block reaching `to` (`who`). */
function federationOf4() {
  const keys = memberKeys(4);
  const c = committee(
    FEDERATION,
    0,
    keys.map((k) => k.member.publicKey),
  );
  const laces = keys.map(() => createBlocklace(c));
  const miners = keys.map((k, i) => createMiner(laces[i]!, k.member));
  const rounds = async (who: readonly number[], k: number, to = who): Promise<void> => {
    for (let r = 0; r < k; r++)
      for (const i of who) {
        const block = await miners[i]!.next([]);
        if (block !== undefined) for (const j of new Set([i, ...to])) laces[j]!.insert(block);
      }
  };
  return { laces, miners, rounds };
}

/** Asks `from` until an answer brings nothing new; returns how many requests it took. */
function catchUp(asker: Blocklace, from: Blocklace): number {
  for (let requests = 1; ; requests++) {
    const answer = blocksToSend(from, blocksWanted(asker, MAX_IDS_PER_REQUEST), MAX_BLOCKS_PER_ANSWER);
    const before = asker.size();
    for (const n of answer) asker.insert(n.block);
    if (asker.size() === before) return requests;
  }
}

describe('catching up through the frontier exchange', () => {
  it('a member whose only tip is its own block that never got out still fetches everything it missed', async () => {
    const { laces, miners, rounds } = federationOf4();
    // Longer than one answer: the blocks both sides hold outnumber MAX_BLOCKS_PER_ANSWER.
    await rounds([0, 1, 2, 3], 100);
    // Member 3 makes a block and dies before publishing it; the others go on without it.
    await rounds([0, 1, 2], 1, [0, 1, 2, 3]);
    const unpublished = (await miners[3]!.next([])) as Block;
    laces[3]!.insert(unpublished);
    expect(laces[3]!.tips().map((t) => t.key)).toEqual([blockIdHex(unpublished)]);
    await rounds([0, 1, 2], 150);
    const gap = laces[0]!.size() - (laces[3]!.size() - 1);
    expect(gap).toBeGreaterThan(MAX_BLOCKS_PER_ANSWER);

    const requests = catchUp(laces[3]!, laces[0]!);
    expect(laces[3]!.size()).toBe(laces[0]!.size() + 1);
    expect(requests).toBeLessThanOrEqual(Math.ceil(gap / MAX_BLOCKS_PER_ANSWER) + 2);
    // And it mines again: its next block acks the others' latest.
    const next = await miners[3]!.next([]);
    expect(next).toBeDefined();
    for (const j of [0, 1, 2]) {
      laces[j]!.insert(unpublished);
      laces[j]!.insert(next!);
    }
    expect(laces[0]!.missing()).toEqual([]);
  });

  it('a member that was merely offline gets exactly the blocks it lacks, none twice', async () => {
    const { laces, rounds } = federationOf4();
    await rounds([0, 1, 2, 3], 20);
    await rounds([0, 1, 2], 120);
    const sent = new Set<string>();
    for (;;) {
      const answer = blocksToSend(
        laces[0]!,
        blocksWanted(laces[3]!, MAX_IDS_PER_REQUEST),
        MAX_BLOCKS_PER_ANSWER,
      );
      if (answer.length === 0) break;
      for (const n of answer) {
        expect(sent.has(n.key)).toBe(false);
        expect(laces[3]!.has(n.key)).toBe(false);
        sent.add(n.key);
        laces[3]!.insert(n.block);
      }
    }
    expect(laces[3]!.size()).toBe(laces[0]!.size());
  });
});

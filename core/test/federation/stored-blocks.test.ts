/**
 * The federation's stored blocks (core/src/node/federation/stored-blocks.ts): keyed by epoch, read one
 * epoch at a time, rewritten from the earlier arrival-only keys, and a closed epoch's blocklace rebuilt
 * from its prefix. A real SQLite store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Block, blockId, encodeBlock, signBlock } from '../../src/federation/block.ts';
import { type Committee, committee } from '../../src/federation/committee.ts';
import { nodeEd25519 } from '../../src/node/ed25519.ts';
import {
  BLOCKS,
  blockKey,
  closedEpochs,
  migrateBlockKeys,
  readEpoch,
} from '../../src/node/federation/stored-blocks.ts';
import { openSqliteStore } from '../../src/node/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';
import { FEDERATION, memberKeys } from './sim.ts';

const keys = memberKeys(4);
const epochs: Committee[] = [0, 1].map((e) =>
  committee(
    FEDERATION,
    e,
    keys.map((k) => k.member.publicKey),
  ),
);

/** Two rounds of blocks by every member in `epoch`. */
async function rounds(epoch: number): Promise<Block[]> {
  const out: Block[] = [];
  let last: Block[] = [];
  for (let seq = 0; seq < 2; seq++) {
    const next = await Promise.all(
      keys.map((k) =>
        signBlock(
          {
            federation: FEDERATION,
            epoch,
            creator: k.member.publicKey,
            seq,
            acks: last.map(blockId),
            payload: [],
          },
          k.member.sign,
        ),
      ),
    );
    out.push(...next);
    last = next;
  }
  return out;
}

let dir: string | undefined;
let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function open(): Promise<Store> {
  dir = mkdtempSync(join(tmpdir(), 'cipherclerk-stored-'));
  store = await openSqliteStore(join(dir, 'relay.sqlite'), { collections: [BLOCKS] });
  return store;
}

describe("a federation relay's stored blocks", () => {
  it('rewrites arrival-only keys by epoch, once, and reads one epoch back in arrival order', async () => {
    const s = await open();
    const zero = await rounds(0);
    const one = await rounds(1);
    const all = [...zero, ...one];
    await s.transact(
      all.map((b, n) => ({
        op: 'put' as const,
        collection: BLOCKS,
        key: n.toString().padStart(12, '0'),
        value: encodeBlock(b),
      })),
    );
    await migrateBlockKeys(s);
    expect((await s.list(BLOCKS)).map((e) => e.key)).toEqual(all.map((b, n) => blockKey(b.epoch, n)));
    await migrateBlockKeys(s);
    expect(await s.list(BLOCKS)).toHaveLength(all.length);
    const read = await readEpoch(s, 1);
    expect(read.blocks.map((b) => encodeBlock(b))).toEqual(one.map((b) => encodeBlock(b)));
    expect(read.last).toBe(all.length - 1);
    expect(await readEpoch(s, 2)).toEqual({ blocks: [], last: -1 });
  });

  it("rebuilds a closed epoch's blocklace from the store, and none for an epoch not closed", async () => {
    const s = await open();
    const zero = await rounds(0);
    await s.transact(
      zero.map((b, n) => ({
        op: 'put' as const,
        collection: BLOCKS,
        key: blockKey(0, n),
        value: encodeBlock(b),
      })),
    );
    const closed = closedEpochs({
      store: s,
      ed: nodeEd25519,
      committeeAt: (e) => (e < 1 ? epochs[e] : undefined),
    });
    const lace = await closed.lace(0);
    expect(lace?.size()).toBe(zero.length);
    expect(lace?.tips()).toHaveLength(4);
    expect(await closed.lace(0)).toBe(lace);
    expect(await closed.lace(1)).toBeUndefined();
    closed.stop();
  });
});

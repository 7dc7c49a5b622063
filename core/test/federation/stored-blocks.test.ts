/**
 * The federation's stored blocks (core/src/node/federation/{block-log,stored-blocks}.ts): one file per
 * epoch read back in arrival order, a torn tail dropped and cut off, blocks moved from the SQLite
 * layout before it, and a closed epoch's blocklace rebuilt from its file. Real files, a real SQLite.
 */
import { appendFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { type Block, blockId, encodeBlock, signBlock } from '../../src/federation/block.ts';
import { type Committee, committee } from '../../src/federation/committee.ts';
import { nodeEd25519 } from '../../src/node/ed25519.ts';
import {
  type BlockLog,
  encodeRecord,
  openBlockLog,
  readRecords,
} from '../../src/node/federation/block-log.ts';
import {
  BLOCKS,
  closedEpochs,
  migrateStoredBlocks,
  readEpoch,
} from '../../src/node/federation/stored-blocks.ts';
import type { Log } from '../../src/node/relay/log.ts';
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
let blocks: BlockLog | undefined;
afterEach(async () => {
  await blocks?.close();
  await store?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  blocks = store = dir = undefined;
});

/** A block log in a fresh folder, and what it logged. */
async function openLog(): Promise<{ log: BlockLog; logged: Parameters<Log>[] }> {
  dir ??= mkdtempSync(join(tmpdir(), 'cipherclerk-stored-'));
  const logged: Parameters<Log>[] = [];
  blocks = await openBlockLog({ dir: join(dir, 'blocks'), log: (...line) => logged.push(line) });
  return { log: blocks, logged };
}

const encodings = (bs: readonly Block[]) => bs.map((b) => encodeBlock(b));
const appended = (bs: readonly Block[]) => bs.map((b) => ({ epoch: b.epoch, bytes: encodeBlock(b) }));
const epochFile = (epoch: number) => join(dir!, 'blocks', `${epoch.toString().padStart(12, '0')}.log`);

describe("a federation relay's block log", () => {
  it('reads each epoch back in arrival order, across appends and a reopen', async () => {
    const zero = await rounds(0);
    const one = await rounds(1);
    let { log } = await openLog();
    expect(await log.stored()).toBe(false);
    await log.append(appended(zero.slice(0, 3)));
    await log.append(appended([...zero.slice(3), ...one]));
    await log.close();
    ({ log } = await openLog());
    expect(await log.stored()).toBe(true);
    expect(encodings(await readEpoch(log, 0))).toEqual(encodings(zero));
    expect(encodings(await readEpoch(log, 1))).toEqual(encodings(one));
    expect(await readEpoch(log, 2)).toEqual([]);
    await expect(log.close().then(() => log.append(appended(zero)))).rejects.toMatchObject({ code: 'E_IO' });
  });

  it('drops a torn last record, logs it as E_IO, cuts the file there and appends after it', async () => {
    const zero = await rounds(0);
    let { log, logged } = await openLog();
    await log.append(appended(zero.slice(0, 4)));
    await log.close();
    const whole = statSync(epochFile(0)).size;
    // A crash in the middle of an append: the next record's first bytes only.
    appendFileSync(epochFile(0), encodeRecord(encodeBlock(zero[4]!)).subarray(0, 37));
    ({ log, logged } = await openLog());
    expect(encodings(await readEpoch(log, 0))).toEqual(encodings(zero.slice(0, 4)));
    expect(logged).toHaveLength(1);
    expect(logged[0]![2]).toMatchObject({ code: 'E_IO' });
    expect(statSync(epochFile(0)).size).toBe(whole);
    await log.append(appended(zero.slice(4)));
    expect(encodings(await readEpoch(log, 0))).toEqual(encodings(zero));
    expect(logged).toHaveLength(1);
  });

  it('keeps exactly the whole records before any cut or corruption of the tail', () => {
    const records = fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 8 });
    fc.assert(
      fc.property(records, fc.nat(), fc.uint8Array({ maxLength: 16 }), (rs, cutAt, junk) => {
        const file = Buffer.concat(rs.map((r) => encodeRecord(r)));
        const cut = cutAt % (file.length + 1);
        const read = readRecords(Buffer.concat([file.subarray(0, cut), junk]));
        // The records wholly before the cut survive (junk may read as nothing more than garbage).
        let whole = 0;
        for (let at = 0; whole < rs.length && at + 8 + rs[whole]!.length <= cut; whole++)
          at += 8 + rs[whole]!.length;
        expect(read.records.slice(0, whole).map((r) => new Uint8Array(r))).toEqual(
          rs.slice(0, whole).map((r) => new Uint8Array(r)),
        );
        if (junk.length === 0) {
          expect(read.records).toHaveLength(whole);
          expect(read.end).toBe(rs.slice(0, whole).reduce((n, r) => n + 8 + r.length, 0));
        }
        // A byte changed in the last record's checksum or body (a tail half-written): it is dropped.
        if (rs.length > 0) {
          const bent = Buffer.from(file);
          bent[file.length - 1 - (cutAt % (rs.at(-1)!.length + 4))]! ^= 1 << (cutAt % 8);
          expect(readRecords(bent).records).toHaveLength(rs.length - 1);
        }
      }),
    );
  });

  it('moves blocks from the SQLite layout before it (both key forms), once, in arrival order', async () => {
    dir = mkdtempSync(join(tmpdir(), 'cipherclerk-stored-'));
    store = await openSqliteStore(join(dir, 'relay.sqlite'), { collections: [BLOCKS] });
    const zero = await rounds(0);
    const one = await rounds(1);
    const all = [...zero, ...one];
    const pad = (n: number) => n.toString().padStart(12, '0');
    await store.transact(
      all.map((b, n) => ({
        op: 'put' as const,
        collection: BLOCKS,
        // The first half under arrival-only keys (the oldest layout), the rest under `<epoch>/<arrival>`.
        key: n < 5 ? pad(n) : `${pad(b.epoch)}/${pad(n)}`,
        value: encodeBlock(b),
      })),
    );
    const { log } = await openLog();
    // A move interrupted before SQLite's copy was deleted left part of it in the log: it starts over.
    await log.append(appended(zero.slice(0, 2)));
    await migrateStoredBlocks(store, log);
    expect(await store.list(BLOCKS)).toEqual([]);
    await migrateStoredBlocks(store, log);
    expect(encodings(await readEpoch(log, 0))).toEqual(encodings(zero));
    expect(encodings(await readEpoch(log, 1))).toEqual(encodings(one));
  });

  it("rebuilds a closed epoch's blocklace from its file, and none for an epoch not closed", async () => {
    const zero = await rounds(0);
    const { log } = await openLog();
    await log.append(appended(zero));
    const closed = closedEpochs({
      blocks: log,
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

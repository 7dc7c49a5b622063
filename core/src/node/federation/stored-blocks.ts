/**
 * The federation's log of record on a relay: every block it accepted, in the block log
 * (./block-log.ts), one file per epoch in arrival order, which is an order the blocklace accepts. One
 * epoch's blocks are one file, so a restart replays the epochs one at a time and a closed epoch's
 * blocklace need not stay in memory: it is rebuilt from its file when a relay that is behind, or
 * joining, asks for its blocks (`federation/blocks` with `ep`).
 */
import type { Ed25519 } from '../../crypto/ed25519.ts';
import { type Block, decodeBlock, verifyBlockSignatureWith } from '../../federation/block.ts';
import { type Blocklace, createBlocklace } from '../../federation/blocklace.ts';
import type { Committee } from '../../federation/committee.ts';
import type { Store } from '../../store/store.ts';
import type { BlockLog } from './block-log.ts';

/** Where blocks were kept before the block log: the relay's SQLite, read once to migrate them. */
export const BLOCKS = 'federation-blocks';

/** How long a rebuilt closed epoch stays in memory after the last request for it (ms). */
const CLOSED_IDLE_MS = 30_000;

/** One epoch's stored blocks in arrival order. */
export async function readEpoch(blocks: BlockLog, epoch: number): Promise<Block[]> {
  return (await blocks.read(epoch)).map((bytes) => decodeBlock(bytes));
}

/**
 * Moves blocks stored in the relay's SQLite (keyed `<epoch>/<arrival>`, or earlier by the arrival
 * number alone) into the block log, in arrival order, then deletes them there. Until that delete the
 * SQLite copy is the one of record: a crash in between starts the move over from an empty log.
 * Without it a relay upgraded in place would replay nothing and sign its next block at a seq it had
 * used: an equivocation.
 */
export async function migrateStoredBlocks(store: Store, blocks: BlockLog): Promise<void> {
  const rows = await store.list(BLOCKS);
  if (rows.length === 0) return;
  const moved = rows
    .map((e) => {
      const keyed = e.key.includes('/');
      return {
        epoch: keyed ? Number(e.key.slice(0, 12)) : decodeBlock(e.value).epoch,
        arrival: Number(keyed ? e.key.slice(13) : e.key),
        bytes: e.value,
      };
    })
    .sort((a, b) => a.epoch - b.epoch || a.arrival - b.arrival);
  await blocks.reset();
  await blocks.append(moved);
  await store.transact(rows.map((e) => ({ op: 'delete' as const, collection: BLOCKS, key: e.key })));
}

export interface ClosedEpochs {
  /** Epoch `epoch`'s blocklace as stored (undefined for an epoch this relay's order has not closed). */
  lace(epoch: number): Promise<Blocklace | undefined>;
  stop(): void;
}

/** Closed epochs' blocklaces rebuilt from the block log on demand, one kept while it is asked for. */
export function closedEpochs(o: {
  readonly blocks: BlockLog;
  readonly ed: Ed25519;
  /** The committee of a closed epoch (undefined for the current one and later). */
  readonly committeeAt: (epoch: number) => Committee | undefined;
}): ClosedEpochs {
  let held: { epoch: number; lace: Promise<Blocklace> } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function rebuild(committee: Committee): Promise<Blocklace> {
    const blocks = await readEpoch(o.blocks, committee.epoch);
    // Checked natively and concurrently; the blocklace then finds them verified.
    await Promise.all(blocks.map((b) => verifyBlockSignatureWith(b, o.ed)));
    const lace = createBlocklace(committee);
    for (const b of blocks) {
      try {
        lace.insert(b);
      } catch {
        // Stored twice (a block fetched again after a crash lost its first write): already in.
      }
    }
    return lace;
  }

  return {
    lace(epoch) {
      const committee = o.committeeAt(epoch);
      if (committee === undefined) return Promise.resolve(undefined);
      if (held?.epoch !== epoch) held = { epoch, lace: rebuild(committee) };
      clearTimeout(timer);
      timer = setTimeout(() => {
        held = undefined;
      }, CLOSED_IDLE_MS);
      timer.unref?.();
      return held.lace;
    },
    stop() {
      clearTimeout(timer);
      held = undefined;
    },
  };
}

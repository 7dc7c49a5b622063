/**
 * The federation's log of record on a relay: every block it accepted, in `federation-blocks` under
 * `<epoch>/<arrival>` (both 12 digits). Within an epoch arrival order is an order the blocklace
 * accepts; keyed by epoch first, one epoch's blocks are one prefix, so a restart replays the epochs
 * one at a time and a closed epoch's blocklace need not stay in memory: it is rebuilt from its prefix
 * when a relay that is behind, or joining, asks for its blocks (`federation/blocks` with `ep`).
 */
import type { Ed25519 } from '../../crypto/ed25519.ts';
import { type Block, decodeBlock, verifyBlockSignatureWith } from '../../federation/block.ts';
import { type Blocklace, createBlocklace } from '../../federation/blocklace.ts';
import type { Committee } from '../../federation/committee.ts';
import type { Store } from '../../store/store.ts';

export const BLOCKS = 'federation-blocks';

/** How long a rebuilt closed epoch stays in memory after the last request for it (ms). */
const CLOSED_IDLE_MS = 30_000;

const digits = (n: number): string => n.toString().padStart(12, '0');

export const blockKey = (epoch: number, arrival: number): string => `${digits(epoch)}/${digits(arrival)}`;

/** One epoch's stored blocks in arrival order, and the highest arrival number among them (-1: none). */
export async function readEpoch(store: Store, epoch: number): Promise<{ blocks: Block[]; last: number }> {
  const entries = await store.list(BLOCKS, { prefix: `${digits(epoch)}/` });
  const last = entries.length === 0 ? -1 : Number(entries.at(-1)!.key.slice(13));
  return { blocks: entries.map((e) => decodeBlock(e.value)), last };
}

/**
 * Rewrites blocks stored under the earlier key (the arrival number alone) to `<epoch>/<arrival>`, in
 * one transaction. Without it a relay upgraded in place would replay nothing and sign its next
 * block at a seq it had used: an equivocation.
 */
export async function migrateBlockKeys(store: Store): Promise<void> {
  const first = await store.list(BLOCKS, { limit: 1 });
  if (first.length === 0 || first[0]!.key.includes('/')) return;
  const old = (await store.list(BLOCKS)).filter((e) => !e.key.includes('/'));
  await store.transact(
    old.flatMap((e) => [
      { op: 'delete' as const, collection: BLOCKS, key: e.key },
      {
        op: 'put' as const,
        collection: BLOCKS,
        key: blockKey(decodeBlock(e.value).epoch, Number(e.key)),
        value: e.value,
      },
    ]),
  );
}

export interface ClosedEpochs {
  /** Epoch `epoch`'s blocklace as stored (undefined for an epoch this relay's order has not closed). */
  lace(epoch: number): Promise<Blocklace | undefined>;
  stop(): void;
}

/** Closed epochs' blocklaces rebuilt from the store on demand, one kept while it is asked for. */
export function closedEpochs(o: {
  readonly store: Store;
  readonly ed: Ed25519;
  /** The committee of a closed epoch (undefined for the current one and later). */
  readonly committeeAt: (epoch: number) => Committee | undefined;
}): ClosedEpochs {
  let held: { epoch: number; lace: Promise<Blocklace> } | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;

  async function rebuild(committee: Committee): Promise<Blocklace> {
    const { blocks } = await readEpoch(o.store, committee.epoch);
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

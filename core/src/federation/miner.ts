/**
 * What a correct member does (the "cordial" miner): it makes a block only when the block enters a
 * round later than its previous block's, so it has at most one block per round (the ordering's
 * safety argument needs that), and the block acks every tip it knows, its own previous block among
 * them, and reports any equivocation it has not yet reported.
 */
import { fromHex, toHex } from '../encoding/bytes.ts';
import { type Block, type PayloadItem, type Signer, signBlock } from './block.ts';
import type { Blocklace } from './blocklace.ts';

export interface Member {
  readonly publicKey: Uint8Array;
  readonly sign: Signer;
}

export interface Miner {
  readonly key: string;
  /**
   * The next block, with `payload` and any evidence not yet reported, or undefined when it would not
   * enter a new round (the caller keeps the payload for later). The caller inserts it.
   */
  next(payload: readonly PayloadItem[], time?: number): Promise<Block | undefined>;
}

export function createMiner(lace: Blocklace, member: Member): Miner {
  const key = toHex(member.publicKey);
  const reported = new Set<string>();

  async function next(payload: readonly PayloadItem[], time?: number): Promise<Block | undefined> {
    const previous = lace.latestOf(key);
    const tips = lace.tips();
    const acks = previous === undefined || tips.includes(previous) ? tips : [...tips, previous];
    // A block of one's own that forked would make this member an equivocator: never ack one.
    const clean = acks.filter((a) => a.creator !== key || a === previous);
    const round = lace.roundOf(clean);
    if (previous !== undefined && round <= previous.round) return undefined;
    const evidence: PayloadItem[] = [];
    for (const e of lace.equivocations()) {
      const id = `${e.first.key}/${e.second.key}`;
      // Its own forks (only a faulty member has them) are not in the block's past.
      if (reported.has(id) || e.creator === key) continue;
      reported.add(id);
      evidence.push({
        kind: 'equivocation',
        creator: fromHex(e.creator),
        first: e.first.id,
        second: e.second.id,
      });
    }
    return signBlock(
      {
        federation: lace.committee.federation,
        epoch: lace.committee.epoch,
        creator: member.publicKey,
        seq: previous === undefined ? 0 : previous.seq + 1,
        acks: clean.map((a) => a.id),
        payload: [...evidence, ...payload],
        ...(time === undefined ? {} : { time }),
      },
      member.sign,
    );
  }

  return { key, next };
}

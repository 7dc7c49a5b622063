/**
 * Committee changes, in the simplest form that is correct: a change is a proposal ordered like any
 * payload, and it takes effect at an epoch boundary that the final order itself fixes.
 *
 * The first `member` item the final order of epoch e delivers closes the epoch: the block carrying it
 * is the epoch's last ordered block, the committee of epoch e + 1 is the old one with that member
 * added or removed, and epoch e + 1 runs on a fresh blocklace whose blocks name epoch e + 1 (so no
 * block, vote or threshold mixes two committees). Blocks of epoch e ordered after the cut are not
 * settled; their turns are proposed again in the new epoch (settlement makes that idempotent). Every
 * relay has the same final order, so every relay cuts at the same block and starts the same
 * committee. Proposals that would leave the committee empty, add a member twice or remove a
 * stranger are ignored, the same way everywhere.
 */
import { toHex } from '../encoding/bytes.ts';
import { type Committee, committee } from './committee.ts';
import type { Ordered } from './order.ts';

export interface EpochChange {
  /** The new committee (epoch + 1). */
  readonly next: Committee;
  /** Position in the old epoch's order of the block that carried the change: the last one settled. */
  readonly cut: number;
}

/** Looks for the change that closes the epoch among newly ordered blocks (in order). */
export function epochChange(current: Committee, ordered: readonly Ordered[]): EpochChange | undefined {
  for (const o of ordered) {
    if (!o.delivered) continue;
    for (const item of o.node.block.payload) {
      if (item.kind !== 'member') continue;
      const key = toHex(item.member);
      const present = current.keys.includes(key);
      if (item.op === 'add' ? present : !present || current.members.length === 1) continue;
      const members =
        item.op === 'add'
          ? [...current.members, item.member]
          : current.members.filter((m) => toHex(m) !== key);
      return { next: committee(current.federation, current.epoch + 1, members), cut: o.position };
    }
  }
  return undefined;
}

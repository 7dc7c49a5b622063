/**
 * Committee changes, in the simplest form that is correct: a change is a proposal ordered like any
 * payload, it needs the same supermajority as everything else, and it takes effect at an epoch
 * boundary that the final order itself fixes.
 *
 * A member endorses a change by putting a `member` item in one of its blocks. The change is carried
 * when the final order of epoch e has delivered that item from more than 2/3 of epoch e's members
 * (each counted once): then at least one correct member asked for it, so f Byzantine members can
 * neither add sybils nor remove correct members one by one until they hold a third. The block whose
 * item completes the supermajority closes the epoch: it is the epoch's last ordered block, the
 * committee of epoch e + 1 is the old one with that member added or removed, and epoch e + 1 runs on
 * a fresh blocklace whose blocks name epoch e + 1 (so no block, vote or threshold mixes two
 * committees). Blocks of epoch e ordered after the cut are not settled; their turns are proposed
 * again in the new epoch (settlement makes that idempotent), and endorsements of other changes lapse
 * with the epoch. Every relay has the same final order, so every relay cuts at the same block and
 * starts the same committee. Proposals that would leave the committee empty, add a member twice or
 * remove a stranger count for nothing, the same way everywhere.
 */
import { toHex } from '../encoding/bytes.ts';
import { type Committee, committee, isMember, isSupermajority } from './committee.ts';
import type { Ordered } from './order.ts';

export interface EpochChange {
  /** The new committee (epoch + 1). */
  readonly next: Committee;
  /** Position in the old epoch's order of the block that carried the change: the last one settled. */
  readonly cut: number;
}

/**
 * Looks for the change that closes the epoch among the epoch's ordered blocks (in order, from the
 * epoch's first: endorsements add up across calls, so pass everything ordered so far, or at least
 * every block that carries a `member` item).
 */
export function epochChange(current: Committee, ordered: readonly Ordered[]): EpochChange | undefined {
  /** "add/<key>" or "remove/<key>" -> members that endorsed it. */
  const endorsed = new Map<string, Set<string>>();
  for (const o of ordered) {
    if (!o.delivered || !isMember(current, o.node.creator)) continue;
    for (const item of o.node.block.payload) {
      if (item.kind !== 'member') continue;
      const key = toHex(item.member);
      const present = current.keys.includes(key);
      if (item.op === 'add' ? present : !present || current.members.length === 1) continue;
      const id = `${item.op}/${key}`;
      const by = endorsed.get(id) ?? new Set<string>();
      endorsed.set(id, by);
      by.add(o.node.creator);
      if (!isSupermajority(current, by.size)) continue;
      const members =
        item.op === 'add'
          ? [...current.members, item.member]
          : current.members.filter((m) => toHex(m) !== key);
      return { next: committee(current.federation, current.epoch + 1, members), cut: o.position };
    }
  }
  return undefined;
}

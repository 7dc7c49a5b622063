/**
 * Who is in the committee and where they listen (core/docs/federation.md, "Epochs in relay mode").
 * The genesis names the epoch-0 members' multiaddrs; a member added later is named with its multiaddrs
 * in the `member` items that endorse adding it, so every relay learns them from the final order, the
 * same way on every relay and again on every replay: nothing beside the blocks needs storing, and a
 * restarted relay dials an added member as soon as its replay reaches the endorsement.
 *
 * The readers of "the committee" outside the federation (the trust feed, the intent desk's choice of
 * coordinator) ask `Federation.committee()`, which lists the current epoch's members through here.
 */
import { fromHex, toHex } from '../../encoding/bytes.ts';
import { didKeyFromEd25519 } from '../../encoding/did-key.ts';
import type { PayloadItem } from '../../federation/block.ts';
import type { Committee } from '../../federation/committee.ts';
import type { Genesis } from './genesis.ts';

/** Multiaddrs kept per member, at most: the genesis's and the endorsements', first named first. */
const MAX_ADDRS = 8;

export interface CommitteeMember {
  /** The member's Ed25519 key, hex. */
  readonly key: string;
  readonly did: string;
  /** Where it listens, as far as this relay knows (empty: unknown, it cannot be dialed). */
  readonly multiaddrs: readonly string[];
  /** The libp2p peer id its multiaddrs name, if any. */
  readonly peer?: string;
}

/** The committee of the epoch a relay is in, with its members' addresses, in committee order. */
export interface CommitteeView {
  readonly federation: string;
  readonly epoch: number;
  readonly members: readonly CommitteeMember[];
}

export interface MemberDirectory {
  /** Takes note of the multiaddrs named by ordered `member` items (adds). */
  learn(items: readonly PayloadItem[]): void;
  /** Everyone this relay knows an address of, the genesis members first. */
  known(): readonly CommitteeMember[];
  /** The committee `c`, its members in committee order, with what is known of their addresses. */
  view(c: Committee): CommitteeView;
}

const peerOf = (multiaddrs: readonly string[]): string | undefined =>
  multiaddrs.map((a) => a.split('/p2p/')[1]).find((p) => p !== undefined);

export function createMemberDirectory(genesis: Genesis): MemberDirectory {
  /** key hex -> multiaddrs, in the order members became known. */
  const addresses = new Map<string, string[]>();
  for (const m of genesis.members) addresses.set(toHex(m.key), m.multiaddrs.slice(0, MAX_ADDRS));

  const member = (key: string, keyBytes?: Uint8Array): CommitteeMember => {
    const multiaddrs = addresses.get(key) ?? [];
    const peer = peerOf(multiaddrs);
    return {
      key,
      did: didKeyFromEd25519(keyBytes ?? fromHex(key)),
      multiaddrs,
      ...(peer === undefined ? {} : { peer }),
    };
  };

  return {
    learn(items) {
      for (const item of items) {
        if (item.kind !== 'member' || item.op !== 'add' || item.multiaddrs === undefined) continue;
        const key = toHex(item.member);
        const held = addresses.get(key) ?? [];
        addresses.set(key, held);
        for (const a of item.multiaddrs) if (!held.includes(a) && held.length < MAX_ADDRS) held.push(a);
      }
    },
    known: () => [...addresses.keys()].map((key) => member(key)),
    view: (c) => ({
      federation: c.federation,
      epoch: c.epoch,
      members: c.members.map((k) => member(toHex(k), k)),
    }),
  };
}

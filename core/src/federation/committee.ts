/**
 * A committee: the relays whose blocks count in one epoch of a federation, and the supermajority
 * rule. With n members of which at most f are faulty and n >= 3f + 1, a supermajority (more than
 * 2n/3 distinct members) of one set and of another share more than n/3 > f members, so at least one
 * correct member: the quorum intersection every safety argument in this module rests on.
 */
import { hashFor } from '../crypto/hash.ts';
import { toHex } from '../encoding/bytes.ts';
import { encodeCbor } from '../encoding/cbor.ts';
import { fail } from '../errors.ts';
import { compareBytes } from './block.ts';

export interface Committee {
  readonly federation: string;
  readonly epoch: number;
  /** Members' Ed25519 public keys, ascending: the leader rotation follows this order. */
  readonly members: readonly Uint8Array[];
  /** Hex of each member's key, in the same order. */
  readonly keys: readonly string[];
}

export function committee(federation: string, epoch: number, members: readonly Uint8Array[]): Committee {
  const sorted = [...members].sort(compareBytes);
  for (const [i, m] of sorted.entries()) {
    if (m.length !== 32) fail('E_ARGUMENT', 'A committee member is a 32-byte Ed25519 public key');
    if (i > 0 && compareBytes(sorted[i - 1]!, m) === 0)
      fail('E_ARGUMENT', 'A committee member is listed twice');
  }
  if (sorted.length === 0) fail('E_ARGUMENT', 'A committee has at least one member');
  return { federation, epoch, members: sorted, keys: sorted.map(toHex) };
}

/** Whether `count` distinct members are a supermajority: more than 2/3 of the committee. */
export function isSupermajority(c: Committee, count: number): boolean {
  return 3 * count > 2 * c.members.length;
}

/** The most faulty members the committee tolerates: the largest f with n >= 3f + 1. */
export function faultsTolerated(c: Committee): number {
  return Math.floor((c.members.length - 1) / 3);
}

export function isMember(c: Committee, key: string): boolean {
  return c.keys.includes(key);
}

/** What a light client pins: the hash of the federation, epoch and members. */
export function committeeId(c: Committee): Uint8Array {
  return hashFor('federationCommittee', encodeCbor([c.federation, c.epoch, [...c.members]]));
}

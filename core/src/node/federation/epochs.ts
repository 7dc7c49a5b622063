/**
 * A relay's side of committee changes (core/docs/federation.md, "Epochs in relay mode"): the
 * transition certificates it gathers and serves, how a relay that the genesis does not name finds
 * the epoch it joins, and the operator's proposals.
 *
 * The cut itself is the final order's (core/src/federation/membership.ts); the relay runs it in
 * federation.ts. When it cuts from epoch e to e + 1, every member of epoch e signs the hand-over
 * (light.ts `signTransition`) and gossips the signature; a certificate is complete once signatures of
 * more than 2/3 of epoch e verify on the committee *this relay* derived. So a relay never stores or
 * serves a certificate for a committee its own order did not reach, whatever its peers say. A relay
 * that missed the votes pulls certificates from a member's `federation/committee` and keeps only those
 * that check out the same way.
 *
 * Storage: complete certificates in `federation-transitions` (epoch -> encoded transition). The
 * committees themselves need no storage: replaying the blocks cuts the same epochs again.
 */
import type { Libp2p, PeerId } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { type Ed25519, verifyEd25519Sync } from '../../crypto/ed25519.ts';
import { fromHex, toHex } from '../../encoding/bytes.ts';
import { fail } from '../../errors.ts';
import { countSignatures } from '../../federation/attest.ts';
import type { PayloadItem } from '../../federation/block.ts';
import { type Committee, committeeId, isMember } from '../../federation/committee.ts';
import {
  checkTransition,
  decodeTransition,
  encodeTransition,
  type Transition,
  transitionDigest,
} from '../../federation/light.ts';
import { encodeEmpty } from '../../net/contract.ts';
import {
  decodeCommitteeAnswer,
  FEDERATION_OPS,
  PROPOSAL_SKEW_S,
  type Proposal,
  proposalDigest,
} from '../../net/federation.ts';
import { callRpc } from '../../net/rpc.ts';
import type { Store } from '../../store/store.ts';
import type { Log } from '../relay/log.ts';

export const EPOCH_COLLECTIONS: readonly string[] = Object.freeze([
  /** 12-digit epoch -> encoded transition certificate (light.ts) handing over to that epoch. */
  'federation-transitions',
]);

const epochKey = (epoch: number): string => epoch.toString().padStart(12, '0');
const sameCommittee = (a: Committee, b: Committee): boolean =>
  toHex(committeeId(a)) === toHex(committeeId(b));

export interface EpochBook {
  /** Complete certificates from epoch 1 on, in order, without a gap: what `federation/committee` serves. */
  transitions(): readonly Transition[];
  /** The committee of `epoch`, if this relay's order reached it. */
  committeeAt(epoch: number): Committee | undefined;
  /** The order handed `previous` over to `next`: certificates for `next` gather from here on. */
  handOver(previous: Committee, next: Committee): Promise<void>;
  /** A member's signature on the hand-over to `epoch`; false if it is known not to verify. */
  vote(epoch: number, signer: Uint8Array, signature: Uint8Array): Promise<boolean>;
  /** Certificates from a peer: each is kept only if it checks out against this relay's committees. */
  adopt(transitions: readonly Transition[]): Promise<void>;
  /** The latest epoch this relay reached without a complete certificate for it, if any. */
  missing(): number | undefined;
}

/** Opens the book of `genesis`'s federation, with the certificates stored before a restart. */
export async function openEpochBook(store: Store, genesis: Committee): Promise<EpochBook> {
  const committees = new Map<number, Committee>([[genesis.epoch, genesis]]);
  const certificates = new Map<number, Transition>();
  /** Certificates read back or fetched, waiting for this relay's order to reach their epoch. */
  const offered = new Map<number, Transition>();
  /** Epoch -> signer hex -> signature, for hand-overs this relay has not reached or not certified. */
  const votes = new Map<number, Map<string, Uint8Array>>();
  for (const { value } of await store.list('federation-transitions')) {
    const t = decodeTransition(value);
    offered.set(t.next.epoch, t);
  }

  async function keep(t: Transition): Promise<void> {
    certificates.set(t.next.epoch, t);
    votes.delete(t.next.epoch);
    offered.delete(t.next.epoch);
    await store.transact([
      {
        op: 'put',
        collection: 'federation-transitions',
        key: epochKey(t.next.epoch),
        value: encodeTransition(t),
      },
    ]);
  }

  /** Completes epoch's certificate from the votes when more than 2/3 of the previous committee verify. */
  async function tryCertify(epoch: number): Promise<void> {
    const next = committees.get(epoch);
    const previous = committees.get(epoch - 1);
    if (next === undefined || previous === undefined || certificates.has(epoch)) return;
    const offer = offered.get(epoch);
    if (offer !== undefined && sameCommittee(offer.next, next) && checkTransition(offer, previous).accepted)
      return keep(offer);
    const held = votes.get(epoch);
    if (held === undefined) return;
    const signatures = [...held].map(([s, signature]) => ({ signer: fromHex(s), signature }));
    const check = countSignatures(transitionDigest(next), signatures, previous);
    if (!check.accepted) return;
    await keep({ next, signatures: signatures.filter((s) => check.signers.includes(toHex(s.signer))) });
  }

  return {
    transitions() {
      const out: Transition[] = [];
      for (let e = genesis.epoch + 1; certificates.has(e); e++) out.push(certificates.get(e)!);
      return out;
    },
    committeeAt: (epoch) => committees.get(epoch),
    async handOver(previous, next) {
      committees.set(next.epoch, next);
      committees.set(previous.epoch, previous);
      await tryCertify(next.epoch);
    },
    async vote(epoch, signer, signature) {
      const previous = committees.get(epoch - 1);
      if (previous === undefined || !isMember(previous, toHex(signer))) return false;
      if (certificates.has(epoch)) return true;
      const next = committees.get(epoch);
      // Checked now when this relay has reached the epoch; otherwise when it does (tryCertify).
      if (next !== undefined && !verifyEd25519Sync(signer, transitionDigest(next), signature)) return false;
      const held = votes.get(epoch) ?? new Map<string, Uint8Array>();
      votes.set(epoch, held);
      held.set(toHex(signer), signature);
      await tryCertify(epoch);
      return true;
    },
    async adopt(transitions) {
      for (const t of transitions) {
        if (certificates.has(t.next.epoch)) continue;
        offered.set(t.next.epoch, t);
        await tryCertify(t.next.epoch);
      }
    },
    missing() {
      const latest = Math.max(...committees.keys());
      return latest > genesis.epoch && !certificates.has(latest) ? latest : undefined;
    },
  };
}

/**
 * For a relay the genesis does not name: asks the genesis members for the certificates since, follows
 * them from the genesis committee (each signed by more than 2/3 of the one before), and returns them
 * if they lead to a committee with `me` in it. Fails with `E_DENIED` if no member shows one. The
 * relay then replays the federation from epoch 0 as an observer and mines from the epoch it joins;
 * its own order re-derives every committee, so these certificates only tell it that it will.
 */
export async function findJoinedEpoch(
  node: Libp2p,
  genesis: Committee,
  addresses: readonly string[],
  me: string,
  o: { readonly attempts?: number; readonly pauseMs?: number } = {},
): Promise<Transition[]> {
  const attempts = o.attempts ?? 20;
  for (let attempt = 0; attempt < attempts; attempt++) {
    for (const address of addresses) {
      try {
        const answer = decodeCommitteeAnswer(
          await callRpc(node, multiaddr(address), FEDERATION_OPS.committee, encodeEmpty(), {
            signal: AbortSignal.timeout(5000),
          }),
        );
        if (!sameCommittee(answer.genesis, genesis)) continue;
        let c = genesis;
        for (const t of answer.transitions) {
          if (!checkTransition(t, c).accepted) break;
          c = t.next;
        }
        if (isMember(c, me)) return answer.transitions.filter((t) => t.next.epoch <= c.epoch);
      } catch {
        // Not up, or not serving yet: the next address, the next round.
      }
    }
    await new Promise((r) => setTimeout(r, o.pauseMs ?? 1000));
  }
  fail('E_DENIED', "This relay's key is not a member of the federation's committee at genesis or since");
}

/** Asks `peer` for its certificates and keeps those that check out here. Never throws. */
export async function pullTransitions(node: Libp2p, peer: PeerId, book: EpochBook, log: Log): Promise<void> {
  try {
    const answer = decodeCommitteeAnswer(
      await callRpc(node, peer, FEDERATION_OPS.committee, encodeEmpty(), {
        signal: AbortSignal.timeout(5000),
      }),
    );
    await book.adopt(answer.transitions);
  } catch (e) {
    log('debug', 'fetching transition certificates failed', { error: String(e) });
  }
}

/**
 * What an operator's proposal asks this relay to put in its next block; fails with a typed error
 * when it is not this relay's operator's (signed by the relay's own key), is stale or changes nothing.
 */
export async function proposalItem(
  p: Proposal,
  o: {
    readonly committee: Committee;
    readonly publicKey: Uint8Array;
    readonly ed: Ed25519;
    readonly now: number;
  },
): Promise<PayloadItem> {
  const c = o.committee;
  if (p.federation !== c.federation) fail('E_INVALID', `The proposal is for federation ${p.federation}`);
  if (!(await o.ed.verify(o.publicKey, proposalDigest(p), p.signature).catch(() => false)))
    fail('E_DENIED', "A proposal is signed with the relay's own key, which only its operator holds");
  if (Math.abs(o.now - p.time) > PROPOSAL_SKEW_S)
    fail('E_EXPIRED', `The proposal was signed at ${p.time}, more than ${PROPOSAL_SKEW_S} s from now`);
  if (p.epoch !== c.epoch)
    fail('E_STALE_EPOCH', `The proposal is for epoch ${p.epoch}; the federation is in epoch ${c.epoch}`);
  if (!isMember(c, toHex(o.publicKey)))
    fail('E_DENIED', 'This relay is not a member of the current committee: it cannot endorse a change');
  const present = isMember(c, toHex(p.member));
  if (p.op === 'add' && present) fail('E_EXISTS', 'That relay is a member already');
  if (p.op === 'remove' && !present) fail('E_NOT_FOUND', 'That relay is not a member');
  if (p.op === 'remove' && c.members.length === 1) fail('E_DENIED', 'The last member cannot be removed');
  return p.op === 'add' && p.multiaddrs.length > 0
    ? { kind: 'member', op: p.op, member: p.member, multiaddrs: p.multiaddrs }
    : { kind: 'member', op: p.op, member: p.member };
}

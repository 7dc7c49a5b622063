/**
 * EigenTrust fed by what this relay sees (core/docs/federation.md, "Reputation"): for every fellow
 * member of the current committee (it follows committee changes: a removed member drops out of the
 * peer set and an added one enters it at the next recompute), the gossip messages its own topic validators accepted and rejected from that peer (blocks
 * and root votes), whether this relay's blocklace holds equivocation evidence against the member, and
 * the fraction of time the peer was connected. Every few seconds it recomputes global trust
 * (core/src/federation/trust.ts `eigenTrust`, p uniform over the committee) and `appScore` answers
 * gossipsub from the last result, so a peer that sent invalid data loses score and its traffic is
 * deprioritized (graylisted at trust 0).
 *
 * This relay observes only its own row of the local trust matrix; the other members' rows fall back
 * to p, as EigenTrust does for a peer that reports nothing. Exchanging observations between relays is
 * the next step (they would have to be signed, and weighed by the reporter's own trust).
 *
 * The feed is made before the libp2p node (whose gossipsub takes `appScore`), and attached once the
 * federation runs: it wraps the validators the federation installed, so it counts exactly their
 * verdicts without the federation knowing about it.
 */
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { Libp2p, PeerId } from '@libp2p/interface';
import { eigenTrust, type GlobalTrust, gossipScore, type Observation } from '../../federation/trust.ts';
import type { RelayServices } from '../../net/node.ts';
import type { CommitteeView } from './members.ts';

/** How often global trust is recomputed by default (ms). */
export const TRUST_EVERY_MS = 2000;

export interface TrustFeedOptions {
  readonly everyMs?: number;
  readonly now?: () => number;
}

export interface TrustFeed {
  /** Gossipsub's application-specific score of a peer (its id as text): pass to `createRelayNode`. */
  readonly appScore: (peerId: string) => number;
  /**
   * Starts observing: wraps the validators of `topics` and follows connections. `committee` is the
   * current epoch's (Federation.committee), read at every recompute.
   */
  attach(
    node: Libp2p<RelayServices>,
    topics: readonly string[],
    sources: { committee: () => CommitteeView; equivocators: () => readonly string[] },
  ): void;
  /** What this relay saw of each member peer so far. */
  observations(): ReadonlyMap<string, Observation>;
  /** Recomputes global trust now (also done every `everyMs`). */
  recompute(): GlobalTrust;
  stop(): void;
}

interface Seen {
  /** When observing it began (attach, or the recompute that found it a member): uptime's span. */
  readonly from: number;
  valid: number;
  invalid: number;
  /** Milliseconds connected before the current connection, and when that one began. */
  connectedMs: number;
  since?: number;
}

export function createTrustFeed(o: TrustFeedOptions = {}): TrustFeed {
  const now = o.now ?? Date.now;
  /** Current member peer id -> the member's key (hex); a member without a /p2p/ address is not scored. */
  let members = new Map<string, string>();
  /** What was seen of each peer that has been a member while observed (kept across its epochs). */
  const seen = new Map<string, Seen>();
  let trust: ReadonlyMap<string, number> = new Map();
  let me: string | undefined;
  let evidence: () => readonly string[] = () => [];
  let committee: (() => CommitteeView) | undefined;
  let connectedTo: (peer: string) => boolean = () => false;
  let timer: ReturnType<typeof setInterval> | undefined;
  let undo: (() => void)[] = [];

  /** Rereads the committee: a new member's record starts, connected from now if it is. */
  function follow(): void {
    if (committee === undefined) return;
    members = new Map(
      committee()
        .members.filter((m) => m.peer !== undefined)
        .map((m) => [m.peer!, m.key]),
    );
    for (const peer of members.keys())
      if (!seen.has(peer))
        seen.set(peer, {
          from: now(),
          valid: 0,
          invalid: 0,
          connectedMs: 0,
          ...(connectedTo(peer) ? { since: now() } : {}),
        });
  }

  function observations(): Map<string, Observation> {
    const t = now();
    const convicted = new Set(evidence());
    const out = new Map<string, Observation>();
    for (const [peer, s] of seen) {
      if (peer === me || !members.has(peer)) continue;
      const up = s.connectedMs + (s.since === undefined ? 0 : t - s.since);
      out.set(peer, {
        valid: s.valid,
        invalid: s.invalid,
        uptime: Math.min(up / Math.max(t - s.from, 1), 1),
        equivocated: convicted.has(members.get(peer)!),
      });
    }
    return out;
  }

  function recompute(): GlobalTrust {
    follow();
    const peers = [...members.keys()];
    const result = eigenTrust({
      peers,
      observations: me === undefined ? new Map() : new Map([[me, observations()]]),
      pretrusted: peers,
    });
    trust = result.trust;
    return result;
  }

  return {
    appScore: (peer) => gossipScore(trust, peer),
    attach(node, topics, sources) {
      me = node.peerId.toString();
      evidence = sources.equivocators;
      committee = sources.committee;
      connectedTo = (peer) => node.getConnections().some((c) => c.remotePeer.toString() === peer);
      follow();
      const validators = node.services.pubsub.topicValidators;
      for (const topic of topics) {
        const inner = validators.get(topic);
        if (inner === undefined) continue;
        validators.set(topic, async (peer, message) => {
          const verdict = await inner(peer, message);
          const s = members.has(peer.toString()) ? seen.get(peer.toString()) : undefined;
          if (s !== undefined && verdict === TopicValidatorResult.Accept) s.valid++;
          else if (s !== undefined && verdict === TopicValidatorResult.Reject) s.invalid++;
          return verdict;
        });
        undo.push(() => validators.set(topic, inner));
      }
      const connected = (event: CustomEvent<PeerId>): void => {
        const s = seen.get(event.detail.toString());
        if (s !== undefined && s.since === undefined) s.since = now();
      };
      const disconnected = (event: CustomEvent<PeerId>): void => {
        const s = seen.get(event.detail.toString());
        if (s?.since === undefined) return;
        s.connectedMs += now() - s.since;
        s.since = undefined;
      };
      for (const peer of node.getPeers()) connected(new CustomEvent('peer:connect', { detail: peer }));
      node.addEventListener('peer:connect', connected);
      node.addEventListener('peer:disconnect', disconnected);
      undo.push(() => {
        node.removeEventListener('peer:connect', connected);
        node.removeEventListener('peer:disconnect', disconnected);
      });
      timer = setInterval(recompute, o.everyMs ?? TRUST_EVERY_MS);
      timer.unref?.();
    },
    observations,
    recompute,
    stop() {
      clearInterval(timer);
      for (const u of undo) u();
      undo = [];
    },
  };
}

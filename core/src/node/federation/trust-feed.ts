/**
 * EigenTrust fed by what this relay sees (core/docs/federation.md, "Reputation"): for every fellow
 * member, the gossip messages its own topic validators accepted and rejected from that peer (blocks
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
import { toHex } from '../../encoding/bytes.ts';
import { eigenTrust, type GlobalTrust, gossipScore, type Observation } from '../../federation/trust.ts';
import type { RelayServices } from '../../net/node.ts';
import type { Genesis } from './genesis.ts';

/** How often global trust is recomputed by default (ms). */
export const TRUST_EVERY_MS = 2000;

export interface TrustFeedOptions {
  readonly genesis: Genesis;
  readonly everyMs?: number;
  readonly now?: () => number;
}

export interface TrustFeed {
  /** Gossipsub's application-specific score of a peer (its id as text): pass to `createRelayNode`. */
  readonly appScore: (peerId: string) => number;
  /** Starts observing: wraps the validators of `topics` and follows connections. */
  attach(node: Libp2p<RelayServices>, topics: readonly string[], equivocators: () => readonly string[]): void;
  /** What this relay saw of each member peer so far. */
  observations(): ReadonlyMap<string, Observation>;
  /** Recomputes global trust now (also done every `everyMs`). */
  recompute(): GlobalTrust;
  stop(): void;
}

interface Seen {
  valid: number;
  invalid: number;
  /** Milliseconds connected before the current connection, and when that one began. */
  connectedMs: number;
  since?: number;
}

export function createTrustFeed(o: TrustFeedOptions): TrustFeed {
  const now = o.now ?? Date.now;
  /** member peer id -> the member's key (hex); a member without a /p2p/ address is not scored. */
  const members = new Map<string, string>();
  for (const m of o.genesis.members)
    for (const a of m.multiaddrs) {
      const peer = a.split('/p2p/')[1];
      if (peer !== undefined) members.set(peer, toHex(m.key));
    }
  const seen = new Map<string, Seen>(
    [...members.keys()].map((p) => [p, { valid: 0, invalid: 0, connectedMs: 0 }]),
  );
  let trust: ReadonlyMap<string, number> = new Map();
  let me: string | undefined;
  let started = now();
  let evidence: () => readonly string[] = () => [];
  let timer: ReturnType<typeof setInterval> | undefined;
  let undo: (() => void)[] = [];

  function observations(): Map<string, Observation> {
    const t = now();
    const span = Math.max(t - started, 1);
    const convicted = new Set(evidence());
    const out = new Map<string, Observation>();
    for (const [peer, s] of seen) {
      if (peer === me) continue;
      const up = s.connectedMs + (s.since === undefined ? 0 : t - s.since);
      out.set(peer, {
        valid: s.valid,
        invalid: s.invalid,
        uptime: Math.min(up / span, 1),
        equivocated: convicted.has(members.get(peer)!),
      });
    }
    return out;
  }

  function recompute(): GlobalTrust {
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
    attach(node, topics, equivocators) {
      me = node.peerId.toString();
      started = now();
      evidence = equivocators;
      const validators = node.services.pubsub.topicValidators;
      for (const topic of topics) {
        const inner = validators.get(topic);
        if (inner === undefined) continue;
        validators.set(topic, async (peer, message) => {
          const verdict = await inner(peer, message);
          const s = seen.get(peer.toString());
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

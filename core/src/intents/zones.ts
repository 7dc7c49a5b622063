/**
 * Namespace zones and intent routing. A zone is a path of labels (`market/compute/gpu`); every intent
 * belongs to one. A relay serves a set of zones and carries the intents of a zone it serves or of any
 * zone below one (a relay serving `market/compute` carries `market/compute/gpu` too). The mapping is a
 * prefix trie from zone labels to the served zone, whose gossip topic the intent goes to: routing is
 * a walk down the trie, linear in the zone's depth, whatever the number of served zones.
 */
import { DreggError } from '../errors.ts';

/** Zone labels: lowercase words and digits with `-`; at most 8 labels, 128 characters. */
const ZONE = /^[a-z0-9][a-z0-9-]{0,31}(\/[a-z0-9][a-z0-9-]{0,31}){0,7}$/;
const MAX_ZONE_LENGTH = 128;

export function isZone(z: unknown): z is string {
  return typeof z === 'string' && z.length <= MAX_ZONE_LENGTH && ZONE.test(z);
}

export function assertZone(z: unknown): string {
  if (!isZone(z))
    throw new DreggError(
      'E_INVALID',
      'A zone is 1 to 8 lowercase labels separated by "/" (e.g. market/compute)',
    );
  return z;
}

/** The gossip topic of a served zone, under the versioned prefix every topic shares. */
export function intentTopic(zone: string): string {
  return `cipherclerk/v1/intents/${assertZone(zone)}`;
}

interface TrieNode {
  readonly children: Map<string, TrieNode>;
  /** Set when the path to this node is a served zone. */
  served?: string;
}

export interface ZoneRouter {
  /** The served zone that carries intents of `zone` (the longest served prefix), if any. */
  route(zone: string): string | undefined;
  /** The topic an intent of `zone` gossips on here, or `undefined` when this relay does not carry it. */
  topic(zone: string): string | undefined;
  readonly zones: readonly string[];
}

export function zoneRouter(served: readonly string[]): ZoneRouter {
  const root: TrieNode = { children: new Map() };
  for (const zone of served) {
    let node = root;
    for (const label of assertZone(zone).split('/')) {
      let next = node.children.get(label);
      if (next === undefined) {
        next = { children: new Map() };
        node.children.set(label, next);
      }
      node = next;
    }
    node.served = zone;
  }
  const route = (zone: string): string | undefined => {
    let node: TrieNode | undefined = root;
    let best: string | undefined;
    for (const label of assertZone(zone).split('/')) {
      node = node.children.get(label);
      if (node === undefined) break;
      best = node.served ?? best;
    }
    return best;
  };
  return {
    route,
    topic(zone) {
      const r = route(zone);
      return r === undefined ? undefined : intentTopic(r);
    },
    zones: [...new Set(served)].sort(),
  };
}

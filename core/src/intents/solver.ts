/**
 * The ring solver (seed 000, "Intent Solving"). Intents are vertices; there is an edge A -> B when A's
 * offers meet enough of B's wants (at least B's `accept`), each offered item going to at most one want
 * (a bipartite matching per pair). In a ring every participant receives from its predecessor only, so
 * the rings in which everyone is satisfied are exactly the cycles of this graph.
 *
 * Search: every elementary cycle of at most `maxLength` intents, each found once, from its smallest
 * vertex (Johnson's rule: a cycle is enumerated from its least member, through larger ones only), with
 * the pruning that makes it fast on sparse markets: before searching from s, a backward breadth-first
 * pass marks how far each vertex near s is from it, and the depth-first search never steps onto a
 * vertex that cannot get back to s within the steps left.
 *
 * Choice: rings are ranked by the number of wants they meet (most first), then by length (fewer
 * participants, fewer ways to fail), then by their participants' ids; a greedy pass takes each ring
 * none of whose participants is taken yet. Everything is ordered by intent id, so a relay and a
 * wallet that hold the same intents find and choose the same rings.
 */

import type { OpenIntent } from './intent.ts';
import { type ExchangeItem, itemSize, offerKeys, satisfies, wantKeys } from './items.ts';

/** One item handed over in a leg: the giver's offer index and the receiver's want index it meets. */
export interface Give {
  readonly offer: number;
  readonly want: number;
}

export interface Leg {
  /** Intent ids. */
  readonly from: string;
  readonly to: string;
  readonly gives: readonly Give[];
}

export interface Ring {
  /** In ring order: `legs[i].to === legs[i + 1].from`, and the last leg returns to the first giver. */
  readonly legs: readonly Leg[];
  /** Wants met across the ring. */
  readonly wants: number;
}

export interface SolveOptions {
  /** Unix seconds: intents expiring at or before it take no part. */
  readonly now: number;
  /** Longest ring searched (2 to 8; 4 by default). */
  readonly maxLength?: number;
  /** Stop after this many rings (the search is output-bound on dense markets); 100,000 by default. */
  readonly maxRings?: number;
}

export interface Found {
  readonly rings: readonly Ring[];
  /** The search stopped at `maxRings`: there may be more. */
  readonly truncated: boolean;
  /** Edges of the graph (pairs A -> B where A can satisfy B). */
  readonly edges: number;
}

/**
 * Which wants of `wants` the items of `offers` can meet together, each offer used at most once: a
 * maximum bipartite matching (augmenting paths; both sides have at most 8 items).
 */
export function matchItems(offers: readonly ExchangeItem[], wants: readonly ExchangeItem[]): Give[] {
  // One side of one item (most intents): the matching is the first pair that fits.
  if (wants.length === 1 || offers.length === 1) {
    for (let w = 0; w < wants.length; w++)
      for (let o = 0; o < offers.length; o++)
        if (satisfies(offers[o]!, wants[w]!)) return [{ offer: o, want: w }];
    return [];
  }
  const fits = wants.map((w) => offers.flatMap((o, i) => (satisfies(o, w) ? [i] : [])));
  const wantOf = new Array<number>(offers.length).fill(-1);
  const augment = (w: number, seen: boolean[]): boolean => {
    for (const o of fits[w]!) {
      if (seen[o]) continue;
      seen[o] = true;
      if (wantOf[o] === -1 || augment(wantOf[o]!, seen)) {
        wantOf[o] = w;
        return true;
      }
    }
    return false;
  };
  for (let w = 0; w < wants.length; w++) augment(w, new Array<boolean>(offers.length).fill(false));
  const gives: Give[] = [];
  wantOf.forEach((want, offer) => {
    if (want !== -1) gives.push({ offer, want });
  });
  return gives.sort((a, b) => a.want - b.want);
}

interface Edge {
  readonly to: number;
  readonly gives: readonly Give[];
}

/**
 * The satisfaction graph over `open` (sorted by id). Offered items are indexed by key, largest first,
 * so finding who can meet a want tests only items that could, and stops at the first too small; a
 * giver is matched (the bipartite matching) only once it meets enough of the receiver's wants one by
 * one. Per-vertex stamps instead of sets: this loop runs for every want of every intent.
 */
function buildGraph(open: readonly OpenIntent[]): { out: Edge[][]; into: number[][]; edges: number } {
  // key -> offered items under it, largest first (see `itemSize`)
  const byKey = new Map<string, { intent: number; item: ExchangeItem; size: number }[]>();
  open.forEach(({ intent }, i) => {
    for (const item of intent.offers)
      for (const k of offerKeys(item)) {
        const entry = { intent: i, item, size: itemSize(item) };
        const list = byKey.get(k);
        if (list === undefined) byKey.set(k, [entry]);
        else list.push(entry);
      }
  });
  for (const list of byKey.values()) list.sort((a, b) => b.size - a.size || a.intent - b.intent);
  const n = open.length;
  const out: Edge[][] = open.map(() => []);
  const into: number[][] = open.map(() => []);
  // giverOf[a] === b: a already counted for receiver b, with count[a] of b's wants met so far;
  // wantMark[a] === tick: a already counted for the current want.
  const giverOf = new Int32Array(n).fill(-1);
  const count = new Int32Array(n);
  const wantMark = new Int32Array(n).fill(-1);
  let tick = 0;
  let edges = 0;
  open.forEach(({ intent: b }, bi) => {
    const givers: number[] = [];
    const all = b.accept === b.wants.length;
    b.wants.forEach((want, wi) => {
      tick++;
      const size = itemSize(want);
      for (const k of wantKeys(want))
        for (const o of byKey.get(k) ?? []) {
          if (o.size < size) break;
          const a = o.intent;
          if (a === bi || wantMark[a] === tick) continue;
          // Every want must be met: only givers of all the previous ones are still worth testing.
          if (all && wi > 0 && (giverOf[a] !== bi || count[a] < wi)) continue;
          if (!satisfies(o.item, want)) continue;
          wantMark[a] = tick;
          if (giverOf[a] !== bi) {
            giverOf[a] = bi;
            count[a] = 0;
            givers.push(a);
          }
          count[a]++;
        }
    });
    for (const ai of givers.filter((a) => count[a]! >= b.accept).sort((x, y) => x - y)) {
      // One offer may meet two wants; the matching decides what can be given together.
      const gives = matchItems(open[ai]!.intent.offers, b.wants);
      if (gives.length < b.accept) continue;
      out[ai]!.push({ to: bi, gives });
      into[bi]!.push(ai);
      edges++;
    }
  });
  for (const list of out) list.sort((x, y) => x.to - y.to);
  return { out, into, edges };
}

/** Every ring of at most `maxLength` open intents in which every participant is satisfied. */
export function findRings(pool: readonly OpenIntent[], options: SolveOptions): Found {
  const maxLength = options.maxLength ?? 4;
  const maxRings = options.maxRings ?? 100_000;
  if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > 8)
    throw new RangeError('maxLength is 2 to 8');
  const seen = new Set<string>();
  const open = pool
    .filter((o) => o.intent.expires > options.now && !seen.has(o.id) && seen.add(o.id))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const { out, into, edges } = buildGraph(open);
  const n = open.length;
  const rings: Ring[] = [];
  // dist[v] = steps from v back to the current start s (through vertices > s), valid when mark[v] === s.
  const dist = new Int32Array(n);
  const mark = new Int32Array(n).fill(-1);
  const onPath = new Uint8Array(n);
  const path: number[] = [];
  const legs: Edge[] = [];
  let truncated = false;

  const record = () => {
    const ids = path.map((v) => open[v]!.id);
    const ringLegs = legs.map((e, i) => ({ from: ids[i]!, to: open[e.to]!.id, gives: e.gives }));
    rings.push({ legs: ringLegs, wants: ringLegs.reduce((a, l) => a + l.gives.length, 0) });
    if (rings.length >= maxRings) truncated = true;
  };

  const search = (s: number, v: number) => {
    const depth = path.length; // edges taken once we step from v to w
    for (const e of out[v]!) {
      if (truncated) return;
      if (e.to === s) {
        legs.push(e);
        record();
        legs.pop();
        continue;
      }
      const w = e.to;
      if (w < s || onPath[w]) continue;
      // Edges left to get back to s: the backward pass knows every vertex that close (bfsDepth).
      const left = maxLength - depth;
      if (mark[w] === s ? dist[w]! > left : left <= bfsDepth) continue;
      path.push(w);
      onPath[w] = 1;
      legs.push(e);
      search(s, w);
      legs.pop();
      onPath[w] = 0;
      path.pop();
    }
  };

  // The backward pass goes one step less than a ring could need: the first step out of s is never
  // pruned anyway (it is checked at the next step), and each backward level multiplies the work by
  // the in-degree.
  const bfsDepth = maxLength - 2;
  for (let s = 0; s < n && !truncated; s++) {
    // Backward breadth-first from s over vertices > s, up to bfsDepth steps.
    mark[s] = s;
    dist[s] = 0;
    let frontier = [s];
    for (let d = 1; d <= bfsDepth && frontier.length > 0; d++) {
      const next: number[] = [];
      for (const v of frontier)
        for (const u of into[v]!)
          if (u > s && mark[u] !== s) {
            mark[u] = s;
            dist[u] = d;
            next.push(u);
          }
      frontier = next;
    }
    path.push(s);
    onPath[s] = 1;
    search(s, s);
    onPath[s] = 0;
    path.pop();
  }
  return { rings, truncated, edges };
}

const participants = (r: Ring) => r.legs.map((l) => l.from);

/** Ring preference: most wants met, then fewest participants, then participants' ids. */
export function preferRing(a: Ring, b: Ring): number {
  if (a.wants !== b.wants) return b.wants - a.wants;
  if (a.legs.length !== b.legs.length) return a.legs.length - b.legs.length;
  const pa = participants(a).join();
  const pb = participants(b).join();
  return pa < pb ? -1 : pa > pb ? 1 : 0;
}

/** The preferred rings no two of which share an intent. */
export function chooseRings(rings: readonly Ring[]): Ring[] {
  const taken = new Set<string>();
  const chosen: Ring[] = [];
  for (const r of [...rings].sort(preferRing)) {
    const ids = participants(r);
    if (ids.some((id) => taken.has(id))) continue;
    for (const id of ids) taken.add(id);
    chosen.push(r);
  }
  return chosen;
}

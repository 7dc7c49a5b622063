/**
 * Cordial Miners ordering (Keidar, Naor, Poupko, Shapiro, DISC 2023, arXiv 2205.09174), the
 * eventual-synchrony variant with waves of three rounds, over one epoch's blocklace.
 *
 * - Wave w spans rounds 3w, 3w+1, 3w+2. Its leader is committee member w mod n (members ascending);
 *   its leader blocks are the leader's blocks that enter round 3w (self-parent in an earlier round).
 *   An honest leader has one; an equivocating one may have two, and at most one of them can be final.
 * - b approves a leader block l when b observes l and sees no equivocation by l's creator. A correct
 *   member's blocks form a chain, so it approves at most one of two forked blocks.
 * - b ratifies l when b observes approving blocks of a supermajority (> 2/3) of the committee.
 * - l is final when a supermajority of members have round-(3w+2) blocks that ratify it.
 * - tau: from the last final leader, step back to the highest-wave leader block it ratifies, and so on;
 *   the order is each of these leaders' past, minus what the previous one already ordered, in
 *   topological order (height, then creator, seq and id).
 *
 * Why it is safe with n >= 3f+1 and correct members making at most one block per round: if l is
 * final, any block of a later wave observes a supermajority of round 3w+2 blocks, which shares a
 * correct member with l's ratifiers, so it ratifies l; two forked leader blocks cannot both gather a
 * supermajority of approvals. So every chain from a later final leader passes through l, and two
 * relays' orders are always one a prefix of the other.
 *
 * Equivocators: from the moment their fork is seen no correct block approves their leader blocks, so
 * they lead no more waves; and once the order holds both blocks of a fork, the creator's later
 * ordered blocks carry no payload (`delivered: false`), the same cut for every relay.
 */
import { DreggError } from '../errors.ts';
import type { Blocklace, Node } from './blocklace.ts';
import { isSupermajority } from './committee.ts';

export const WAVE_LENGTH = 3;

export interface Ordered {
  readonly node: Node;
  /** Position in the epoch's final order. */
  readonly position: number;
  /** The wave of the final leader whose step ordered this block. */
  readonly wave: number;
  /** False for blocks of a creator already convicted of equivocation by the order: payload dropped. */
  readonly delivered: boolean;
}

export interface Orderer {
  /** Orders what the blocklace now makes final; returns the newly ordered blocks, in order. */
  advance(): Ordered[];
  /** The final leaders so far, ascending by wave. */
  leaders(): readonly Node[];
  /** Blocks ordered so far. */
  height(): number;
  /** Whether a block is in the final order. */
  isOrdered(key: string): boolean;
  /** Creators the order has convicted of equivocation. */
  convicted(): ReadonlySet<string>;
  /** Creator -> the wave whose step ordered the second block of its fork (its conviction). */
  convictedAt(): ReadonlyMap<string, number>;
  /** The wave of the last final leader (-1 before the first). */
  lastWave(): number;
}

export function leaderOf(lace: Blocklace, wave: number): string {
  const keys = lace.committee.keys;
  return keys[wave % keys.length]!;
}

export function leaderBlocks(lace: Blocklace, wave: number): Node[] {
  const r = wave * WAVE_LENGTH;
  const leader = leaderOf(lace, wave);
  return lace
    .atRound(r)
    .filter((n) => n.creator === leader && (n.selfParent === undefined || n.selfParent.round < r));
}

export function approves(lace: Blocklace, b: Node, leader: Node): boolean {
  const tops = b.tops.get(leader.creator);
  return tops !== undefined && tops.length === 1 && lace.observes(b, leader);
}

/**
 * Whether b ratifies l. For each creator X, X's blocks in b's past are the self-ancestors of X's tops
 * there; the ones that can approve l are at round >= l's, so the walk down each chain is short.
 */
export function ratifies(lace: Blocklace, b: Node, leader: Node, memo?: Map<string, boolean>): boolean {
  const memoKey = `${b.key}/${leader.key}`;
  const known = memo?.get(memoKey);
  if (known !== undefined) return known;
  if (!lace.observes(b, leader)) {
    memo?.set(memoKey, false);
    return false;
  }
  let count = 0;
  for (const tops of b.tops.values()) {
    const approving = tops.some((top) => {
      for (let x: Node | undefined = top; x !== undefined && x.round >= leader.round; x = x.selfParent)
        if (approves(lace, x, leader)) return true;
      return false;
    });
    if (approving) count++;
  }
  const result = isSupermajority(lace.committee, count);
  memo?.set(memoKey, result);
  return result;
}

export function isFinal(lace: Blocklace, leader: Node, memo?: Map<string, boolean>): boolean {
  const last = leader.round + WAVE_LENGTH - 1;
  const creators = new Set<string>();
  for (const n of lace.atRound(last)) if (ratifies(lace, n, leader, memo)) creators.add(n.creator);
  return isSupermajority(lace.committee, creators.size);
}

/** Topological order within one step: by height, then creator, seq and id (all fixed per block). */
function xsortKey(a: Node, b: Node): number {
  return (
    a.height - b.height ||
    (a.creator < b.creator ? -1 : a.creator > b.creator ? 1 : 0) ||
    a.seq - b.seq ||
    (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  );
}

export function createOrderer(lace: Blocklace): Orderer {
  const ordered = new Set<string>();
  const chain: Node[] = [];
  const convicted = new Set<string>();
  const convictedAt = new Map<string, number>();
  /** Creator -> seq -> ordered block keys there, to see a fork complete in the order. */
  const orderedSeqs = new Map<string, Map<number, string>>();
  const memo = new Map<string, boolean>();
  let lastWave = -1;
  let position = 0;

  /** The final leader of the lowest wave after the last one, if any. */
  function nextFinal(): { wave: number; leader: Node } | undefined {
    const top = Math.floor(lace.maxRound() / WAVE_LENGTH);
    for (let w = lastWave + 1; w <= top; w++) {
      if (lace.atRound(w * WAVE_LENGTH + WAVE_LENGTH - 1).length === 0) break;
      for (const l of leaderBlocks(lace, w)) if (isFinal(lace, l, memo)) return { wave: w, leader: l };
    }
    return undefined;
  }

  /** The leaders a new final leader orders, ascending: back along ratification to the last one. */
  function stepsTo(wave: number, leader: Node): { wave: number; leader: Node }[] {
    const steps = [{ wave, leader }];
    let current = leader;
    for (let w = wave - 1; w > lastWave; w--) {
      const previous = leaderBlocks(lace, w).find((l) => ratifies(lace, current, l, memo));
      if (previous === undefined) continue;
      steps.push({ wave: w, leader: previous });
      current = previous;
    }
    const last = chain.at(-1);
    if (last !== undefined && !ratifies(lace, current, last, memo))
      throw new DreggError('E_INTERNAL', 'A final leader does not ratify the previous final leader');
    return steps.reverse();
  }

  function deliver(node: Node, wave: number): Ordered {
    const seqs = orderedSeqs.get(node.creator) ?? new Map<number, string>();
    orderedSeqs.set(node.creator, seqs);
    if (seqs.has(node.seq)) {
      if (!convicted.has(node.creator)) convictedAt.set(node.creator, wave);
      convicted.add(node.creator);
    } else seqs.set(node.seq, node.key);
    return { node, position: position++, wave, delivered: !convicted.has(node.creator) };
  }

  /** The leader's past minus the ordered blocks; the ordered set is closed under acks, so stop there. */
  function unordered(leader: Node): Node[] {
    const out: Node[] = [];
    const seen = new Set<string>([leader.key]);
    const stack = [leader];
    while (stack.length > 0) {
      const n = stack.pop()!;
      out.push(n);
      for (const a of n.acks)
        if (!seen.has(a.key) && !ordered.has(a.key)) {
          seen.add(a.key);
          stack.push(a);
        }
    }
    return out;
  }

  function advance(): Ordered[] {
    const out: Ordered[] = [];
    for (let next = nextFinal(); next !== undefined; next = nextFinal()) {
      for (const step of stepsTo(next.wave, next.leader)) {
        const segment = unordered(step.leader).sort(xsortKey);
        for (const n of segment) {
          ordered.add(n.key);
          out.push(deliver(n, step.wave));
        }
        chain.push(step.leader);
      }
      lastWave = next.wave;
    }
    return out;
  }

  return {
    advance,
    leaders: () => chain,
    height: () => position,
    isOrdered: (key) => ordered.has(key),
    convicted: () => convicted,
    convictedAt: () => convictedAt,
    lastWave: () => lastWave,
  };
}

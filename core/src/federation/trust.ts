/**
 * Reputation for gossip: EigenTrust (S. D. Kamvar, M. T. Schlosser, H. Garcia-Molina, "The EigenTrust
 * Algorithm for Reputation Management in P2P Networks", WWW 2003), as seed 004 §4 asks: each peer's
 * local trust in the others from what it observed, normalized into a row-stochastic matrix C, and the
 * global trust vector t = (1 - a) C^T t + a p with a = 0.15, p the pre-trusted peers (the committee
 * or genesis members), iterated from t = p until the L1 change is below 1e-6 (or a cap).
 *
 * Local trust of i in j: s_ij = max(valid - invalid, 0) * uptime — a message that fails to decode or
 * to verify cancels a valid one, and a peer seen only half the time earns half as much. A proven
 * equivocator (evidence on the blocklace) gets 0 from everyone who holds the evidence, whatever else
 * it did. Rows of peers that trust nobody fall back to p, as in the paper, so C stays stochastic and
 * t stays a probability vector.
 *
 * `gossipScore` turns global trust into gossipsub's application-specific score: 0 at the average
 * (t = 1/n), positive above, negative below, and far below the graylist threshold for trust 0.
 */

/** What one peer saw of another over a scoring period. */
export interface Observation {
  readonly valid: number;
  readonly invalid: number;
  /** Fraction of the period the peer was reachable, 0..1. */
  readonly uptime: number;
  /** Evidence of an equivocation by the peer is on the observer's blocklace. */
  readonly equivocated?: boolean;
}

export const TRUST_ALPHA = 0.15;
export const TRUST_EPSILON = 1e-6;
export const TRUST_MAX_ITERATIONS = 1000;

export function localTrust(o: Observation): number {
  if (o.equivocated) return 0;
  const uptime = Math.min(Math.max(o.uptime, 0), 1);
  return Math.max(o.valid - o.invalid, 0) * uptime;
}

export interface TrustInput {
  /** Every peer, by id; the order fixes the vector's order. */
  readonly peers: readonly string[];
  /** observer -> observed -> observation. Self-observations are ignored. */
  readonly observations: ReadonlyMap<string, ReadonlyMap<string, Observation>>;
  /** The pre-trusted peers (committee, genesis): p is uniform over them, or over all if none. */
  readonly pretrusted: readonly string[];
  readonly alpha?: number;
  readonly epsilon?: number;
  readonly maxIterations?: number;
}

export interface GlobalTrust {
  readonly trust: ReadonlyMap<string, number>;
  readonly iterations: number;
  readonly converged: boolean;
}

export function pretrustVector(peers: readonly string[], pretrusted: readonly string[]): number[] {
  const chosen = new Set(pretrusted.filter((p) => peers.includes(p)));
  if (chosen.size === 0) return peers.map(() => 1 / peers.length);
  return peers.map((p) => (chosen.has(p) ? 1 / chosen.size : 0));
}

/** The normalized local trust matrix: row i is c_i·, summing to 1 (p where i trusts nobody). */
export function trustMatrix(input: TrustInput, p: readonly number[]): number[][] {
  const { peers, observations } = input;
  return peers.map((i) => {
    const seen = observations.get(i);
    const row = peers.map((j) => {
      const o = j === i ? undefined : seen?.get(j);
      return o === undefined ? 0 : localTrust(o);
    });
    const sum = row.reduce((a, b) => a + b, 0);
    return sum > 0 ? row.map((s) => s / sum) : [...p];
  });
}

export function eigenTrust(input: TrustInput): GlobalTrust {
  const { peers } = input;
  const alpha = input.alpha ?? TRUST_ALPHA;
  const epsilon = input.epsilon ?? TRUST_EPSILON;
  const cap = input.maxIterations ?? TRUST_MAX_ITERATIONS;
  const n = peers.length;
  if (n === 0) return { trust: new Map(), iterations: 0, converged: true };
  const p = pretrustVector(peers, input.pretrusted);
  const c = trustMatrix(input, p);
  let t = [...p];
  for (let k = 1; k <= cap; k++) {
    const next = p.map((pj) => alpha * pj);
    for (let i = 0; i < n; i++) {
      const w = (1 - alpha) * t[i]!;
      if (w === 0) continue;
      const row = c[i]!;
      for (let j = 0; j < n; j++) next[j]! += w * row[j]!;
    }
    let change = 0;
    for (let j = 0; j < n; j++) change += Math.abs(next[j]! - t[j]!);
    t = next;
    if (change < epsilon)
      return { trust: new Map(peers.map((id, j) => [id, t[j]!])), iterations: k, converged: true };
  }
  return { trust: new Map(peers.map((id, j) => [id, t[j]!])), iterations: cap, converged: false };
}

/** Below gossipsub's default graylist threshold (-80): a peer with no trust at all is ignored. */
export const ZERO_TRUST_SCORE = -100;
export const MAX_TRUST_SCORE = 10;

/**
 * Gossipsub application-specific score for a peer of global trust `t` among `n` peers: 10·log2(t·n),
 * so the average peer scores 0, each halving costs 10, capped at +10 and at -80 (graylisted only at
 * trust 0, `ZERO_TRUST_SCORE`). A peer not in the vector scores 0: it is neither trusted nor blamed.
 */
export function gossipScore(trust: ReadonlyMap<string, number>, peer: string): number {
  const t = trust.get(peer);
  if (t === undefined) return 0;
  if (t <= 0) return ZERO_TRUST_SCORE;
  return Math.min(MAX_TRUST_SCORE, Math.max(-80, 10 * Math.log2(t * trust.size)));
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  eigenTrust,
  gossipScore,
  localTrust,
  type Observation,
  pretrustVector,
  ZERO_TRUST_SCORE,
} from '../../src/federation/trust.ts';

const ok = (valid: number, uptime = 1): Observation => ({ valid, invalid: 0, uptime });
const observations = (entries: Record<string, Record<string, Observation>>) =>
  new Map(Object.entries(entries).map(([i, row]) => [i, new Map(Object.entries(row))]));

describe('local trust', () => {
  it('is valid minus invalid, never below 0, scaled by uptime, and 0 for a proven equivocator', () => {
    expect(localTrust({ valid: 10, invalid: 3, uptime: 1 })).toBe(7);
    expect(localTrust({ valid: 10, invalid: 3, uptime: 0.5 })).toBe(3.5);
    expect(localTrust({ valid: 1, invalid: 5, uptime: 1 })).toBe(0);
    expect(localTrust({ valid: 1000, invalid: 0, uptime: 1, equivocated: true })).toBe(0);
  });
});

describe('EigenTrust: t = 0.85 C^T t + 0.15 p', () => {
  it('matches a three-peer example solved by hand', () => {
    // a trusts b 3 and c 1 -> c_a = (0, 3/4, 1/4); b trusts a 1 and c 1 -> c_b = (1/2, 0, 1/2);
    // c trusts a -> c_c = (1, 0, 0); only a is pre-trusted: p = (1, 0, 0). The fixed point:
    //   t_b = 0.85 * 3/4 t_a = 0.6375 t_a
    //   t_c = 0.85 (1/4 t_a + 1/2 t_b) = 0.4834375 t_a
    //   t_a = 0.85 (1/2 t_b + t_c) + 0.15 = 0.681859375 t_a + 0.15  ->  t_a = 0.15 / 0.318140625
    const r = eigenTrust({
      peers: ['a', 'b', 'c'],
      observations: observations({ a: { b: ok(3), c: ok(1) }, b: { a: ok(1), c: ok(1) }, c: { a: ok(1) } }),
      pretrusted: ['a'],
    });
    const ta = 0.15 / 0.318140625;
    expect(r.converged).toBe(true);
    expect(r.trust.get('a')).toBeCloseTo(ta, 5);
    expect(r.trust.get('b')).toBeCloseTo(0.6375 * ta, 5);
    expect(r.trust.get('c')).toBeCloseTo(0.4834375 * ta, 5);
  });

  it('stops when the L1 change is below epsilon, and at the cap otherwise', () => {
    const input = {
      peers: ['a', 'b', 'c'],
      observations: observations({ a: { b: ok(1) }, b: { c: ok(1) }, c: { a: ok(1) } }),
      pretrusted: ['a'],
    };
    const done = eigenTrust(input);
    expect(done.converged).toBe(true);
    const capped = eigenTrust({ ...input, maxIterations: 3 });
    expect(capped).toMatchObject({ converged: false, iterations: 3 });
    // One more step from the converged vector moves it by less than epsilon.
    const more = eigenTrust({ ...input, maxIterations: done.iterations - 1 });
    expect(more.converged).toBe(false);
  });

  const peerIds = (n: number) => Array.from({ length: n }, (_, i) => `peer${i}`);
  const observation = fc.record({
    valid: fc.nat(50),
    invalid: fc.nat(50),
    uptime: fc.double({ min: 0, max: 1, noNaN: true }),
    equivocated: fc.boolean(),
  });

  it('is a probability vector for any observations (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.array(fc.array(fc.option(observation), { minLength: n, maxLength: n }), {
              minLength: n,
              maxLength: n,
            }),
            fc.subarray(peerIds(n)),
          ),
        ),
        ([n, grid, pretrusted]) => {
          const peers = peerIds(n);
          const obs = new Map(
            peers.map((i, a) => [
              i,
              new Map(
                peers.flatMap((j, b) => {
                  const o = grid[a]![b];
                  return o ? [[j, o] as const] : [];
                }),
              ),
            ]),
          );
          const r = eigenTrust({ peers, observations: obs, pretrusted });
          const values = [...r.trust.values()];
          expect(r.converged).toBe(true);
          expect(values).toHaveLength(n);
          for (const v of values) expect(v).toBeGreaterThanOrEqual(0);
          expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
        },
      ),
    );
  });

  it('ranks a peer whose messages are all invalid, or a proven equivocator, below every honest peer (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 7 }),
        fc.array(
          fc.record({
            valid: fc.integer({ min: 1, max: 40 }),
            uptime: fc.double({ min: 0.05, max: 1, noNaN: true }),
          }),
          {
            minLength: 64,
            maxLength: 64,
          },
        ),
        fc.integer({ min: 1, max: 60 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 7 }),
        (honestCount, draws, sent, equivocates, pretrustCount) => {
          const honest = peerIds(honestCount);
          const bad = 'bad';
          const peers = [...honest, bad];
          let k = 0;
          const obs = new Map(
            peers.map((i) => [
              i,
              new Map(
                peers
                  .filter((j) => j !== i)
                  .map((j) => {
                    const d = draws[k++ % draws.length]!;
                    const o: Observation =
                      j !== bad
                        ? { valid: d.valid, invalid: 0, uptime: d.uptime }
                        : equivocates
                          ? { valid: sent, invalid: 0, uptime: 1, equivocated: true }
                          : { valid: 0, invalid: sent, uptime: 1 };
                    return [j, o] as const;
                  }),
              ),
            ]),
          );
          const r = eigenTrust({ peers, observations: obs, pretrusted: honest.slice(0, pretrustCount) });
          const worst = Math.min(...honest.map((h) => r.trust.get(h)!));
          expect(r.trust.get(bad)!).toBeLessThan(worst);
          expect(gossipScore(r.trust, bad)).toBeLessThan(
            Math.min(...honest.map((h) => gossipScore(r.trust, h))),
          );
        },
      ),
    );
  });

  it('with no observations, converges to the pre-trust vector p (fast-check)', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 10 })
          .chain((n) => fc.tuple(fc.constant(peerIds(n)), fc.subarray(peerIds(n)))),
        ([peers, pretrusted]) => {
          const r = eigenTrust({ peers, observations: new Map(), pretrusted });
          const p = pretrustVector(peers, pretrusted);
          expect(r.converged).toBe(true);
          for (const [j, id] of peers.entries()) expect(r.trust.get(id)).toBeCloseTo(p[j]!, 9);
        },
      ),
    );
  });
});

describe('gossip score from global trust', () => {
  it('is 0 at the average, +10 per doubling up to 10, and graylists zero trust', () => {
    const trust = new Map([
      ['avg', 0.25],
      ['half', 0.125],
      ['double', 0.5],
      ['none', 0],
    ]);
    expect(gossipScore(trust, 'avg')).toBeCloseTo(0, 12);
    expect(gossipScore(trust, 'half')).toBeCloseTo(-10, 12);
    expect(gossipScore(trust, 'double')).toBe(10);
    expect(gossipScore(trust, 'none')).toBe(ZERO_TRUST_SCORE);
    expect(gossipScore(trust, 'stranger')).toBe(0);
  });
});

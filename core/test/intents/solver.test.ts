import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OpenIntent } from '../../src/intents/intent.ts';
import { satisfies } from '../../src/intents/items.ts';
import { chooseRings, findRings, matchItems, type Ring } from '../../src/intents/solver.ts';
import { arbPool, asset, capability, open, T0 } from './fixtures.ts';

const ids = (r: Ring) => r.legs.map((l) => l.from);

/** A ring of n intents: intent i offers metal i and wants metal i - 1 (the first wants the last's). */
function ringOf(n: number, prefix = 'r'): OpenIntent[] {
  return Array.from({ length: n }, (_, i) =>
    open(`${prefix}${i}`, [asset(`m${i}`, 10)], [asset(`m${(i + n - 1) % n}`, 10)]),
  );
}

/** Every participant gets, from its predecessor, items meeting at least `accept` of its wants. */
function assertValid(r: Ring, pool: readonly OpenIntent[]): void {
  const byId = new Map(pool.map((o) => [o.id, o.intent]));
  expect(new Set(ids(r)).size).toBe(r.legs.length);
  r.legs.forEach((leg, i) => {
    expect(leg.to).toBe(r.legs[(i + 1) % r.legs.length]!.from);
    const giver = byId.get(leg.from)!;
    const taker = byId.get(leg.to)!;
    expect(giver.expires).toBeGreaterThan(T0);
    expect(leg.gives.length).toBeGreaterThanOrEqual(taker.accept);
    expect(new Set(leg.gives.map((g) => g.offer)).size).toBe(leg.gives.length);
    expect(new Set(leg.gives.map((g) => g.want)).size).toBe(leg.gives.length);
    for (const g of leg.gives) expect(satisfies(giver.offers[g.offer]!, taker.wants[g.want]!)).toBe(true);
  });
  expect(r.wants).toBe(r.legs.reduce((a, l) => a + l.gives.length, 0));
}

/** Brute force: every sequence of distinct intents starting at its least id, checked edge by edge. */
function bruteForce(pool: readonly OpenIntent[], maxLength: number): string[] {
  const live = pool.filter((o) => o.intent.expires > T0);
  const edge = (a: OpenIntent, b: OpenIntent) =>
    a !== b && matchItems(a.intent.offers, b.intent.wants).length >= b.intent.accept;
  const found: string[] = [];
  const extend = (path: OpenIntent[]) => {
    const last = path[path.length - 1]!;
    if (path.length >= 2 && edge(last, path[0]!)) found.push(path.map((o) => o.id).join());
    if (path.length === maxLength) return;
    for (const next of live)
      if (next.id > path[0]!.id && !path.includes(next) && edge(last, next)) extend([...path, next]);
  };
  for (const start of live) extend([start]);
  return found.sort();
}

describe('the ring solver', () => {
  it('finds and chooses rings of length 2 to 6', () => {
    for (let n = 2; n <= 6; n++) {
      const pool = ringOf(n);
      const { rings } = findRings(pool, { now: T0, maxLength: 6 });
      expect(rings).toHaveLength(1);
      assertValid(rings[0]!, pool);
      expect(ids(rings[0]!)).toEqual(pool.map((o) => o.id));
      expect(chooseRings(rings)).toEqual(rings);
      // A ring longer than the search bound is not reported.
      expect(findRings(pool, { now: T0, maxLength: Math.max(2, n - 1) }).rings).toHaveLength(n === 2 ? 1 : 0);
    }
  });

  it('never matches an expired intent, nor one that wants more than is offered', () => {
    const pool = ringOf(3);
    const expired = pool.map((o, i) =>
      i === 1 ? open(o.id, o.intent.offers, o.intent.wants, { expires: T0 }) : o,
    );
    expect(findRings(expired, { now: T0 }).rings).toEqual([]);
    const greedy = pool.map((o, i) => (i === 2 ? open(o.id, o.intent.offers, [asset('m1', 11)]) : o));
    expect(findRings(greedy, { now: T0 }).rings).toEqual([]);
  });

  it('prefers the ring that meets the most wants, and never gives one intent to two rings', () => {
    // a <-> b is a 2-ring meeting 2 wants; a -> c -> d -> a meets 3 (one of d's two wants is unmet).
    const pool = [
      open('a', [asset('gold', 5)], [asset('iron', 1)], { accept: 1 }),
      open('b', [asset('iron', 1)], [asset('gold', 5)]),
      open('c', [asset('silk', 1)], [asset('gold', 5)]),
      open('d', [asset('iron', 1), asset('wool', 1)], [asset('silk', 1), capability({ t: 'nbf', at: 0 })], {
        accept: 1,
      }),
    ];
    const { rings } = findRings(pool, { now: T0 });
    expect(rings.map((r) => ids(r).join()).sort()).toEqual(['a,b', 'a,c,d']);
    const chosen = chooseRings(rings);
    expect(chosen.map((r) => ids(r).join())).toEqual(['a,c,d']);
  });

  it('matches each offered item to at most one want', () => {
    expect(matchItems([asset('gold', 9)], [asset('gold', 1), asset('gold', 2)])).toHaveLength(1);
    // The matching finds the assignment a greedy pass would miss.
    const gives = matchItems([asset('gold', 9), asset('gold', 1)], [asset('gold', 5), asset('gold', 1)]);
    expect(gives).toEqual([
      { offer: 0, want: 0 },
      { offer: 1, want: 1 },
    ]);
  });

  it('finds exactly the rings a brute-force search finds, each one valid (property)', () => {
    fc.assert(
      fc.property(arbPool(8), fc.integer({ min: 2, max: 5 }), (pool, maxLength) => {
        const { rings, truncated } = findRings(pool, { now: T0, maxLength });
        expect(truncated).toBe(false);
        for (const r of rings) assertValid(r, pool);
        expect(rings.map((r) => ids(r).join()).sort()).toEqual(bruteForce(pool, maxLength));
      }),
      { numRuns: 300 },
    );
  });

  it('chooses the same disjoint rings whatever order the intents arrive in (property)', () => {
    fc.assert(
      fc.property(
        arbPool(10).chain((pool) =>
          fc.tuple(fc.constant(pool), fc.shuffledSubarray(pool, { minLength: pool.length })),
        ),
        ([pool, shuffled]) => {
          const a = chooseRings(findRings(pool, { now: T0 }).rings);
          const b = chooseRings(findRings(shuffled, { now: T0 }).rings);
          expect(b).toEqual(a);
          const seen = a.flatMap(ids);
          expect(new Set(seen).size).toBe(seen.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('stops at maxRings and says so', () => {
    // Ten intents that all satisfy each other: a complete graph with many rings.
    const pool = Array.from({ length: 10 }, (_, i) => open(`k${i}`, [asset('gold', 1)], [asset('gold', 1)]));
    const found = findRings(pool, { now: T0, maxRings: 50 });
    expect(found.rings).toHaveLength(50);
    expect(found.truncated).toBe(true);
    expect(found.edges).toBe(90);
    expect(() => findRings(pool, { now: T0, maxLength: 9 })).toThrow(RangeError);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import {
  describeItem,
  itemFromCbor,
  itemToCbor,
  offerKeys,
  satisfies,
  wantKeys,
} from '../../src/intents/items.ts';
import { arbItem, asset, capability } from './fixtures.ts';

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (isDreggError(e)) return e.code;
    throw e;
  }
  return 'no error';
};

describe('exchange items', () => {
  it('amounts and units: the same kind and at least as much', () => {
    expect(satisfies(asset('gold', 5), asset('gold', 5))).toBe(true);
    expect(satisfies(asset('gold', 6), asset('gold', 5))).toBe(true);
    expect(satisfies(asset('gold', 4), asset('gold', 5))).toBe(false);
    expect(satisfies(asset('silver', 9), asset('gold', 1))).toBe(false);
    expect(satisfies({ kind: 'computrons', amount: 9n }, asset('gold', 1))).toBe(false);
    const storage = (bytes: number, seconds: number) => ({ kind: 'storage', bytes, seconds }) as const;
    expect(satisfies(storage(100, 60), storage(100, 30))).toBe(true);
    expect(satisfies(storage(100, 60), storage(101, 30))).toBe(false);
    const name = (n: string) => ({ kind: 'name', zone: 'names/dregg', name: n }) as const;
    expect(satisfies(name('alice'), name('alice'))).toBe(true);
    expect(satisfies(name('alice'), name('bob'))).toBe(false);
  });

  it('capabilities through the one lattice: a want that narrows the offer is met, a wider one is not', () => {
    const offer = capability(
      { t: 'services', services: ['storage'] },
      { t: 'actions', actions: ['read', 'write'] },
      { t: 'budget', id: '00'.repeat(8), max: 100 },
    );
    const want = (...c: Parameters<typeof capability>) => capability(...c);
    expect(satisfies(offer, want({ t: 'actions', actions: ['read'] }))).toBe(true);
    expect(satisfies(offer, want({ t: 'services', services: ['storage'] }))).toBe(true);
    expect(satisfies(offer, want({ t: 'budget', id: '00'.repeat(8), max: 50 }))).toBe(true);
    // Wider in each dimension: refused exactly as a delegation step would be.
    expect(satisfies(offer, want({ t: 'actions', actions: ['delete', 'read'] }))).toBe(false);
    expect(satisfies(offer, want({ t: 'services', services: ['mail'] }))).toBe(false);
    expect(satisfies(offer, want({ t: 'budget', id: '00'.repeat(8), max: 101 }))).toBe(false);
    expect(satisfies(asset('gold', 1), want({ t: 'actions', actions: ['read'] }))).toBe(false);
  });

  it('the index never hides a match: an offer that satisfies a want shares a key with it', () => {
    fc.assert(
      fc.property(arbItem, arbItem, (o, w) => {
        if (!satisfies(o, w)) return;
        const keys = new Set(offerKeys(o));
        expect(wantKeys(w).some((k) => keys.has(k))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips through CBOR, and describes itself in words', () => {
    fc.assert(
      fc.property(arbItem, (item) => {
        expect(itemFromCbor(itemToCbor(item))).toEqual(item);
        expect(describeItem(item).length).toBeGreaterThan(0);
      }),
    );
    expect(describeItem(asset('gold', 3))).toBe('3 gold');
  });

  it('refuses malformed items with E_INVALID', () => {
    const bad = [
      null,
      7,
      [],
      { k: 'gem', amt: 1 },
      { k: 'asset', as: 'gold' },
      { k: 'asset', as: 'gold', amt: 0 },
      { k: 'asset', as: 'gold', amt: -3 },
      { k: 'asset', as: 'gold', amt: 1n << 63n },
      { k: 'asset', as: 'Gold!', amt: 1 },
      { k: 'asset', as: 'gold', amt: 1, extra: 1 },
      { k: 'service', svc: 'gpu', n: 1.5 },
      { k: 'storage', b: 1, s: 0 },
      { k: 'name', z: '/bad', nm: 'x' },
      { k: 'capability', cav: 'no' },
      { k: 'capability', cav: new Array(9).fill({ t: 'nbf', at: 1 }) },
      { k: 'capability', cav: [{ t: 'nope' }] },
    ];
    for (const v of bad) expect(codeOf(() => itemFromCbor(v as never))).toBe('E_INVALID');
    // And nothing else, whatever the input.
    fc.assert(
      fc.property(fc.anything(), (v) => {
        try {
          itemFromCbor(v as never);
        } catch (e) {
          expect(isDreggError(e)).toBe(true);
        }
      }),
    );
  });
});

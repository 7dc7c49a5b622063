import { DreggError, isDreggError, narrows } from '@cipherclerk/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkAsk, checkGrant, MAX_TTL_S, rightsFor } from '../src/background/approve.ts';

const NOW = 1_900_000_000;
const ACTIONS = ['read', 'write', 'list', 'delete'];
const ask = checkAsk({ service: 'storage', actions: ['read', 'write'], budget: 100, ttl: 3600 });

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (isDreggError(e)) return e.code;
    throw e;
  }
  return undefined;
}

describe('a site’s ask', () => {
  it('is refused unless well formed', () => {
    for (const bad of [
      null,
      [],
      { service: 'storage', actions: [], ttl: 60 },
      { service: 'storage', actions: ['read', 'read'], ttl: 60 },
      { service: 'a b', actions: ['read'], ttl: 60 },
      { service: 'storage', actions: ['read'], ttl: 0 },
      { service: 'storage', actions: ['read'], ttl: MAX_TTL_S + 1 },
      { service: 'storage', actions: ['read'], ttl: 60, budget: 1.5 },
      { service: 'storage', actions: ['read'], ttl: 60, reason: 'x'.repeat(281) },
    ])
      expect(code(() => checkAsk(bad))).toBe('E_ARGUMENT');
  });

  it('fails only with DreggError on any input', () => {
    fc.assert(
      fc.property(fc.anything(), (v) => {
        try {
          checkAsk(v);
        } catch (e) {
          expect(e).toBeInstanceOf(DreggError);
        }
      }),
    );
  });
});

describe('the person’s answer', () => {
  it('is accepted exactly when core’s lattice says it narrows the ask', () => {
    const grant = fc.record({
      from: fc.constant('hash'),
      actions: fc.uniqueArray(fc.constantFrom(...ACTIONS), { minLength: 1 }),
      budget: fc.option(fc.integer({ min: 1, max: 200 }), { nil: undefined }),
      ttl: fc.integer({ min: 1, max: 7200 }),
    });
    fc.assert(
      fc.property(grant, (g) => {
        const wanted = narrows(rightsFor('storage', g, NOW), rightsFor('storage', ask, NOW));
        const got = code(() => checkGrant(ask, g, NOW));
        expect(got).toBe(wanted ? undefined : 'E_WIDENING');
      }),
    );
  });

  it('cannot widen in any one dimension', () => {
    const ok = { from: 'hash', actions: ['read'], budget: 10, ttl: 600 };
    expect(checkGrant(ask, ok, NOW)).toEqual(ok);
    expect(code(() => checkGrant(ask, { ...ok, actions: ['read', 'delete'] }, NOW))).toBe('E_WIDENING');
    expect(code(() => checkGrant(ask, { ...ok, budget: 101 }, NOW))).toBe('E_WIDENING');
    expect(code(() => checkGrant(ask, { from: 'hash', actions: ['read'], ttl: 600 }, NOW))).toBe(
      'E_WIDENING',
    );
    expect(code(() => checkGrant(ask, { ...ok, ttl: 3601 }, NOW))).toBe('E_WIDENING');
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { actionsCaveat, type Caveat, servicesCaveat } from '../../src/caps/caveats.ts';
import {
  assertNarrows,
  declaredRights,
  narrows,
  rightsOf,
  stepNarrows,
  widening,
} from '../../src/caps/rights.ts';
import { isDreggError } from '../../src/errors.ts';

const names = fc.constantFrom('read', 'write', 'delete', 'list', 'read-delete', 'admin');
const did = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';

export const caveatArb: fc.Arbitrary<Caveat> = fc.oneof(
  fc.uniqueArray(names, { minLength: 1, maxLength: 4 }).map((a) => actionsCaveat(a)),
  fc
    .uniqueArray(fc.constantFrom('storage', 'compute', 'mail'), { minLength: 1, maxLength: 3 })
    .map((s) => servicesCaveat(s)),
  fc.record({ t: fc.constant('budget' as const), id: fc.constant('00112233aabbccdd'), max: fc.nat(10_000) }),
  fc.record({ t: fc.constant('exp' as const), at: fc.nat(2_000_000_000) }),
  fc.record({ t: fc.constant('nbf' as const), at: fc.nat(2_000_000_000) }),
  fc.record({ t: fc.constant('aud' as const), did: fc.constant(did) }),
);

describe('the one rights lattice', () => {
  it('answers one question three ways: narrows, widening and stepNarrows agree (property)', () => {
    fc.assert(
      fc.property(fc.array(caveatArb), fc.array(caveatArb), fc.array(caveatArb), (a, b, step) => {
        const parent = rightsOf(a);
        const other = rightsOf(b);
        expect(narrows(other, parent)).toBe(widening(other, parent) === undefined);
        expect(stepNarrows(parent, step)).toBe(narrows(declaredRights(parent, step), parent));
      }),
    );
  });

  it('is reflexive and transitive', () => {
    fc.assert(
      fc.property(fc.array(caveatArb), fc.array(caveatArb), fc.array(caveatArb), (a, b, c) => {
        const r1 = rightsOf(a);
        const r2 = rightsOf([...a, ...b]);
        const r3 = rightsOf([...a, ...b, ...c]);
        expect(narrows(r1, r1)).toBe(true);
        if (narrows(r2, r1) && narrows(r3, r2)) expect(narrows(r3, r1)).toBe(true);
      }),
    );
  });

  it('appending any caveats never widens (caveats are conjunctive, PITFALLS 2)', () => {
    fc.assert(
      fc.property(fc.array(caveatArb), fc.array(caveatArb, { minLength: 1 }), (parent, extra) => {
        expect(narrows(rightsOf([...parent, ...extra]), rightsOf(parent))).toBe(true);
      }),
    );
  });

  it('intersects action sets rather than uniting them (PITFALLS 2)', () => {
    const r = rightsOf([actionsCaveat(['read']), actionsCaveat(['read', 'write'])]);
    expect(r.actions).toEqual(new Set(['read']));
    const s = rightsOf([servicesCaveat(['storage']), servicesCaveat(['compute'])]);
    expect(s.services).toEqual(new Set());
  });

  it('refuses a stronger level granted from a weaker one, with E_WIDENING (PITFALLS 1)', () => {
    const parent = rightsOf([actionsCaveat(['read'])]);
    const child = rightsOf([actionsCaveat(['read', 'write'])]);
    expect(narrows(child, parent)).toBe(false);
    expect(narrows(parent, child)).toBe(false); // different caveat sets: neither includes the other's
    try {
      assertNarrows(child, parent);
      expect.unreachable();
    } catch (e) {
      expect(isDreggError(e, 'E_WIDENING')).toBe(true);
    }
  });

  it('orders budgets, expiries and not-before the way attenuation means them', () => {
    const budget = (max: number): Caveat => ({ t: 'budget', id: '00112233aabbccdd', max });
    const base = rightsOf([budget(1000)]);
    expect(narrows(declaredRights(base, [budget(500)]), base)).toBe(true);
    expect(narrows(declaredRights(base, [budget(5000)]), base)).toBe(false);
    const exp = rightsOf([{ t: 'exp', at: 100 }]);
    expect(narrows(declaredRights(exp, [{ t: 'exp', at: 50 }]), exp)).toBe(true);
    expect(narrows(declaredRights(exp, [{ t: 'exp', at: 150 }]), exp)).toBe(false);
    const nbf = rightsOf([{ t: 'nbf', at: 100 }]);
    expect(narrows(declaredRights(nbf, [{ t: 'nbf', at: 50 }]), nbf)).toBe(false);
    expect(narrows(rightsOf([]), base)).toBe(false); // unlimited is wider than 1000
  });

  it('treats actions as whole names: "read" never matches "read-delete" (PITFALLS 8)', () => {
    const r = rightsOf([actionsCaveat(['read-delete'])]);
    expect(r.actions !== 'all' && r.actions.has('read')).toBe(false);
    expect(narrows(rightsOf([actionsCaveat(['read'])]), r)).toBe(false);
  });

  it("a child that drops one of its parent's caveats is a widening", () => {
    const aud: Caveat = { t: 'aud', did };
    expect(narrows(rightsOf([]), rightsOf([aud]))).toBe(false);
  });
});

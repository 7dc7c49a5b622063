import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Ext, eadd, einv, emul, epow, ONE } from '../../src/stark/ext.ts';
import { batchInv, bitReverse, inv, mul, P, pow, rootOfUnity } from '../../src/stark/field.ts';
import { evaluateOnCoset, interpolateCoset, inttDit, nttDif } from '../../src/stark/ntt.ts';

const Pn = BigInt(P);
const elem = fc.integer({ min: 0, max: P - 1 });
const ext = fc.tuple(elem, elem, elem, elem) as fc.Arbitrary<Ext>;

describe('BabyBear field', () => {
  it('multiplies exactly like BigInt modular multiplication', () => {
    fc.assert(
      fc.property(elem, elem, (a, b) => {
        expect(mul(a, b)).toBe(Number((BigInt(a) * BigInt(b)) % Pn));
      }),
      { numRuns: 5000 },
    );
    expect(mul(P - 1, P - 1)).toBe(1);
  });

  it('raises to number and BigInt exponents alike, as BigInt modular exponentiation does', () => {
    const modPow = (b: bigint, e: bigint): bigint => {
      let r = 1n;
      for (let x = b, k = e; k > 0n; k >>= 1n, x = (x * x) % Pn) if (k & 1n) r = (r * x) % Pn;
      return r;
    };
    fc.assert(
      fc.property(elem, fc.maxSafeNat(), (a, e) => {
        const expected = Number(modPow(BigInt(a), BigInt(e)));
        expect(pow(a, e)).toBe(expected);
        expect(pow(a, BigInt(e))).toBe(expected);
      }),
      { numRuns: 500 },
    );
    expect(pow(0, 0)).toBe(1);
  });

  it('inverts every non-zero element, singly and in batches', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: P - 1 }), { minLength: 1, maxLength: 20 }), (xs) => {
        const invs = batchInv(Uint32Array.from(xs));
        xs.forEach((x, i) => {
          expect(mul(x, invs[i]!)).toBe(1);
          expect(invs[i]).toBe(inv(x));
        });
      }),
    );
  });

  it('reverses the low bits of an index', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 27 }), fc.nat(), (bits, raw) => {
        const i = raw % 2 ** bits;
        const expected = Number.parseInt(i.toString(2).padStart(bits, '0').split('').reverse().join(''), 2);
        expect(bitReverse(i, bits)).toBe(expected);
      }),
    );
    expect(bitReverse(0, 0)).toBe(0);
  });

  it('has primitive 2^k-th roots of unity', () => {
    for (const k of [1, 3, 10, 27]) {
      const w = rootOfUnity(k);
      expect(pow(w, 2 ** k)).toBe(1);
      expect(pow(w, 2 ** (k - 1))).toBe(P - 1);
    }
  });
});

describe('degree-4 extension X^4 - 11', () => {
  it('is a field: 11 is a quadratic non-residue, so X^4 - 11 is irreducible', () => {
    expect(pow(11, (P - 1) / 2)).toBe(P - 1);
  });

  it('multiplication is commutative, associative and distributes over addition', () => {
    fc.assert(
      fc.property(ext, ext, ext, (a, b, c) => {
        expect(emul(a, b)).toEqual(emul(b, a));
        expect(emul(emul(a, b), c)).toEqual(emul(a, emul(b, c)));
        expect(emul(a, eadd(b, c))).toEqual(eadd(emul(a, b), emul(a, c)));
      }),
      { numRuns: 300 },
    );
  });

  it('inverts non-zero elements and satisfies Fermat in the extension', () => {
    fc.assert(
      fc.property(ext, (a) => {
        fc.pre(a.some((x) => x !== 0));
        expect(emul(a, einv(a))).toEqual(ONE);
      }),
      { numRuns: 300 },
    );
    const x: Ext = [3, 1, 4, 1];
    expect(epow(x, Pn ** 4n - 1n)).toEqual(ONE);
  });
});

describe('NTT', () => {
  const naive = (coeffs: Uint32Array, shift: number): Uint32Array => {
    const n = coeffs.length;
    const w = rootOfUnity(Math.log2(n));
    const out = new Uint32Array(n);
    for (let k = 0; k < n; k++) {
      const x = mul(shift, pow(w, bitReverse(k, Math.log2(n))));
      let acc = 0;
      for (let i = n - 1; i >= 0; i--) acc = (mul(acc, x) + coeffs[i]!) % P;
      out[k] = acc;
    }
    return out;
  };

  it('evaluates on a coset in bit-reversed order, matching naive evaluation', () => {
    fc.assert(
      fc.property(fc.array(elem, { minLength: 16, maxLength: 16 }), (cs) => {
        const coeffs = Uint32Array.from(cs);
        expect(evaluateOnCoset(coeffs, 64, 31)).toEqual(
          naive(Uint32Array.from([...cs, ...new Array(48).fill(0)]), 31),
        );
      }),
      { numRuns: 20 },
    );
  });

  it('inverse NTT undoes the forward NTT, on subgroups and cosets', () => {
    fc.assert(
      fc.property(fc.array(elem, { minLength: 256, maxLength: 256 }), (cs) => {
        const a = Uint32Array.from(cs);
        nttDif(a);
        inttDit(a);
        expect(Array.from(a)).toEqual(cs);
        expect(Array.from(interpolateCoset(evaluateOnCoset(Uint32Array.from(cs), 256, 7), 7))).toEqual(cs);
      }),
      { numRuns: 20 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/encoding/bytes.ts';
import { type CborValue, decodeCbor, encodeCbor } from '../../src/encoding/cbor.ts';
import { DreggError } from '../../src/errors.ts';

// RFC 8949 Appendix A examples within our subset (integers, strings, arrays, maps, simple values).
const APPENDIX_A: [CborValue, string][] = [
  [0, '00'],
  [1, '01'],
  [10, '0a'],
  [23, '17'],
  [24, '1818'],
  [25, '1819'],
  [100, '1864'],
  [1000, '1903e8'],
  [1000000, '1a000f4240'],
  [1000000000000, '1b000000e8d4a51000'],
  [18446744073709551615n, '1bffffffffffffffff'],
  [-18446744073709551616n, '3bffffffffffffffff'],
  [-1, '20'],
  [-10, '29'],
  [-100, '3863'],
  [-1000, '3903e7'],
  [false, 'f4'],
  [true, 'f5'],
  [null, 'f6'],
  [new Uint8Array(0), '40'],
  [new Uint8Array([1, 2, 3, 4]), '4401020304'],
  ['', '60'],
  ['a', '6161'],
  ['IETF', '6449455446'],
  ['"\\', '62225c'],
  ['\u00fc', '62c3bc'],
  ['\u6c34', '63e6b0b4'],
  ['\ud800\udd51', '64f0908591'],
  [[], '80'],
  [[1, 2, 3], '83010203'],
  [[1, [2, 3], [4, 5]], '8301820203820405'],
  [Array.from({ length: 25 }, (_, i) => i + 1), '98190102030405060708090a0b0c0d0e0f101112131415161718181819'],
  [{}, 'a0'],
  [{ a: 1, b: [2, 3] }, 'a26161016162820203'],
  [['a', { b: 'c' }], '826161a161626163'],
  [{ a: 'A', b: 'B', c: 'C', d: 'D', e: 'E' }, 'a56161614161626142616361436164614461656145'],
];

const value = fc.letrec<{ v: CborValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.maxSafeInteger(),
    fc
      .bigInt({ min: -(1n << 64n), max: (1n << 64n) - 1n })
      .filter((b) => b > BigInt(Number.MAX_SAFE_INTEGER) || b < BigInt(Number.MIN_SAFE_INTEGER)),
    fc.string({ unit: 'grapheme' }),
    fc.boolean(),
    fc.constant(null),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('v'), { maxLength: 5 }),
    fc.dictionary(
      fc.string().filter((k) => k !== '__proto__'),
      tie('v'),
      { maxKeys: 5 },
    ),
  ),
})).v;

function decodeOnlyTyped(b: Uint8Array): void {
  try {
    decodeCbor(b);
  } catch (e) {
    expect(e).toBeInstanceOf(DreggError);
    expect((e as DreggError).code).toBe('E_DECODE');
  }
}

describe('deterministic CBOR', () => {
  it('encodes the RFC 8949 Appendix A examples exactly, and decodes them back', () => {
    for (const [v, hex] of APPENDIX_A) {
      expect(toHex(encodeCbor(v)), hex).toBe(hex);
      expect(decodeCbor(fromHex(hex))).toEqual(v);
    }
  });

  it('sorts map keys bytewise by their encoding (shorter keys first)', () => {
    expect(toHex(encodeCbor({ aa: 1, b: 2 }))).toBe('a2616202626161' + '01');
  });

  it('round-trips any value, and every decodable input is canonical', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeCbor(v);
        const back = decodeCbor(bytes);
        expect(encodeCbor(back)).toEqual(bytes);
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        let v: CborValue;
        try {
          v = decodeCbor(b);
        } catch (e) {
          expect((e as DreggError).code).toBe('E_DECODE');
          return;
        }
        expect(encodeCbor(v)).toEqual(b);
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['non-shortest integer', '1817'],
    ['non-shortest length', '780161'],
    ['indefinite array', '9f01ff'],
    ['unsorted map keys', 'a2616201616101'],
    ['duplicate map keys', 'a2616101616102'],
    ['non-text map key', 'a10101'],
    ['float', 'f93c00'],
    ['undefined', 'f7'],
    ['tag', 'c074323031332d30332d32315432303a30343a30305a'],
    ['trailing bytes', '0000'],
    ['truncated', '1a0001'],
    ['length beyond the input', '5affffffff'],
    ['invalid UTF-8', '62c328'],
    ['__proto__ key', 'a1695f5f70726f746f5f5f01'],
  ])('refuses %s with E_DECODE', (_, hex) => {
    expect(() => decodeCbor(fromHex(hex))).toThrow(expect.objectContaining({ code: 'E_DECODE' }));
  });

  it('refuses hostile nesting without exhausting the stack', () => {
    expect(() => decodeCbor(new Uint8Array(100_000).fill(0x81))).toThrow(
      expect.objectContaining({ code: 'E_DECODE' }),
    );
  });

  it('gives only E_DECODE for random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), decodeOnlyTyped), { numRuns: 3000 });
  });
});

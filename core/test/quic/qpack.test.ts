/**
 * QPACK with the static table only: the RFC 9204 Appendix B.1 example (the one that needs no dynamic
 * table), every representation a zero-capacity decoder can see, refusals of dynamic and post-base
 * forms, round trips through our encoder, and random input failing only with E_PROTOCOL.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import { decodeFieldSection, encodeFieldSection, STATIC_TABLE } from '../../src/node/quic/h3/qpack.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const refuse = (bytes: Uint8Array) =>
  expect(() => decodeFieldSection(bytes)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));

describe('QPACK (static table)', () => {
  it('has the 99 entries of Appendix A', () => {
    expect(STATIC_TABLE).toHaveLength(99);
    expect(STATIC_TABLE[0]).toEqual([':authority', '']);
    expect(STATIC_TABLE[15]).toEqual([':method', 'CONNECT']);
    expect(STATIC_TABLE[25]).toEqual([':status', '200']);
    expect(STATIC_TABLE[98]).toEqual(['x-frame-options', 'sameorigin']);
  });

  it('decodes RFC 9204 B.1 (literal with static name reference)', () => {
    expect(decodeFieldSection(hex('0000 510b 2f69 6e64 6578 2e68 746d 6c'))).toEqual([
      { name: ':path', value: '/index.html' },
    ]);
  });

  it('decodes indexed, name-referenced and literal-name lines, Huffman or not', () => {
    const section = hex(
      [
        '0000', // Required Insert Count 0, Base 0
        'd1', // indexed static 17: :method GET
        'ff23', // indexed static 63 + 35 = 98 (a multi-byte integer)
        '508c f1e3 c2e5 f23a 6ba0 ab90 f4ff', // :authority (static name 0), Huffman "www.example.com"
        '23 782d61 01 62', // literal name "x-a" (3-bit length), raw value "b"
        '2f01 25a8 49e9 5ba9 7d7f 89 25a8 49e9 5bb8 e8b4 bf', // Huffman name (length 7 + 1), Huffman value
      ].join(''),
    );
    expect(decodeFieldSection(section)).toEqual([
      { name: ':method', value: 'GET' },
      { name: 'x-frame-options', value: 'sameorigin' },
      { name: ':authority', value: 'www.example.com' },
      { name: 'x-a', value: 'b' },
      { name: 'custom-key', value: 'custom-value' },
    ]);
  });

  it('refuses the dynamic table and post-base forms', () => {
    refuse(hex('0200')); // Required Insert Count 2 with capacity 0
    refuse(hex('0000 81')); // indexed dynamic
    refuse(hex('0000 4001 61')); // literal with dynamic name reference
    refuse(hex('0000 10')); // indexed post-base
    refuse(hex('0000 0001 61')); // literal with post-base name reference
    refuse(hex('0000 ff64')); // static index 163: out of range
    refuse(hex('0000 5005 6162')); // value runs past the end
    refuse(hex('0000 50ff ffff ffff ff7f')); // absurd length
    refuse(hex('00')); // no base
  });

  it('encodes with static references where they match, and round-trips', () => {
    const connect = [
      { name: ':method', value: 'CONNECT' },
      { name: ':protocol', value: 'webtransport' },
      { name: ':scheme', value: 'https' },
      { name: ':authority', value: '127.0.0.1:4433' },
      { name: ':path', value: '/' },
    ];
    const bytes = encodeFieldSection(connect);
    expect(bytes[2]).toBe(0xcf); // indexed static 15
    expect(decodeFieldSection(bytes)).toEqual(connect);
    expect(Buffer.from(encodeFieldSection([{ name: ':status', value: '200' }])).toString('hex')).toBe(
      '0000d9',
    );
    const field = fc.record({ name: fc.string({ maxLength: 40 }), value: fc.string({ maxLength: 200 }) });
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(field, fc.constantFrom(...STATIC_TABLE.map(([name, value]) => ({ name, value })))),
          { maxLength: 20 },
        ),
        (fields) => {
          expect(decodeFieldSection(encodeFieldSection(fields))).toEqual(fields);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fails only with E_PROTOCOL on random input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (tail) => {
        try {
          decodeFieldSection(new Uint8Array([0, 0, ...tail]));
        } catch (e) {
          expect(isDreggError(e, 'E_PROTOCOL')).toBe(true);
        }
        try {
          decodeFieldSection(tail);
        } catch (e) {
          expect(isDreggError(e, 'E_PROTOCOL')).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

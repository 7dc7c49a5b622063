/**
 * The HPACK Huffman code: the canonical codes derived from the lengths match RFC 7541 Appendix B at
 * its corners, the Appendix C.4 and C.6 examples encode and decode exactly, round trips hold for any
 * bytes, and random or damaged input fails only with E_PROTOCOL.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import { CODE_LENGTHS, CODES, huffmanDecode, huffmanEncode } from '../../src/node/quic/h3/huffman.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));
const text = (s: string) => new TextEncoder().encode(s);

// RFC 7541 C.4 (requests) and C.6 (responses) string literals with their Huffman coding.
const EXAMPLES: [string, string][] = [
  ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
  ['no-cache', 'a8eb 1064 9cbf'],
  ['custom-key', '25a8 49e9 5ba9 7d7f'],
  ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
  ['302', '6402'],
  ['private', 'aec3 771a 4b'],
  ['Mon, 21 Oct 2013 20:13:21 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'],
  ['https://www.example.com', '9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'],
  ['307', '640e ff'],
  ['Mon, 21 Oct 2013 20:13:22 GMT', 'd07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff'],
  ['gzip', '9bd9 ab'],
  [
    'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1',
    '94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ],
];

describe('HPACK Huffman code', () => {
  it('derives the Appendix B codes from the lengths (spot checks and a complete code)', () => {
    expect([CODES[0], CODE_LENGTHS[0]]).toEqual([0x1ff8, 13]);
    expect([CODES[48], CODE_LENGTHS[48]]).toEqual([0x0, 5]); // '0'
    expect([CODES[32], CODE_LENGTHS[32]]).toEqual([0x14, 6]); // ' '
    expect([CODES[127], CODE_LENGTHS[127]]).toEqual([0xffffffc, 28]);
    expect([CODES[255], CODE_LENGTHS[255]]).toEqual([0x3ffffee, 26]);
    expect([CODES[256], CODE_LENGTHS[256]]).toEqual([0x3fffffff, 30]); // EOS
    // Kraft sum exactly 1: the code is complete and prefix-free.
    expect(CODE_LENGTHS.reduce((sum, l) => sum + 2 ** (30 - l), 0)).toBe(2 ** 30);
  });

  it.each(EXAMPLES)('RFC 7541 C.4/C.6: %s', (plain, coded) => {
    expect(Buffer.from(huffmanEncode(text(plain))).toString('hex')).toBe(
      Buffer.from(hex(coded)).toString('hex'),
    );
    expect(new TextDecoder().decode(huffmanDecode(hex(coded)))).toBe(plain);
  });

  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(huffmanDecode(huffmanEncode(bytes))).toEqual(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it('refuses EOS, padding of zeros and padding longer than 7 bits', () => {
    const refuse = (bytes: Uint8Array) =>
      expect(() => huffmanDecode(bytes)).toThrow(expect.objectContaining({ code: 'E_PROTOCOL' }));
    refuse(hex('ffff fffc')); // EOS (30 ones) then 2 bits of padding
    refuse(hex('00')); // '0' (00000) then padding 000
    refuse(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff ff')); // a valid string then 8 ones
    refuse(hex('ff')); // 8 ones: padding too long
    expect(huffmanDecode(new Uint8Array(0))).toEqual(new Uint8Array(0));
  });

  it('fails only with E_PROTOCOL on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          huffmanDecode(bytes);
        } catch (e) {
          expect(isDreggError(e, 'E_PROTOCOL')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

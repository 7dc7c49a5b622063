/**
 * The contract's revocation catch-up and holdings formats: they round-trip, and whatever bytes arrive, decoding
 * fails only with our typed errors (E_DECODE or E_INVALID), never with a stray exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '../../src/encoding/cbor.ts';
import { isDreggError } from '../../src/errors.ts';
import {
  decodeHoldingsAnswer,
  decodeRevocationPage,
  decodeSinceQuery,
  encodeHoldingsAnswer,
  encodeRevocationPage,
  encodeSinceQuery,
  MAX_HOLDINGS,
  MAX_REVOCATIONS_PER_CALL,
} from '../../src/net/contract.ts';

function failsTyped(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch (e) {
    return isDreggError(e) && (e.code === 'E_DECODE' || e.code === 'E_INVALID');
  }
}

describe('contract: revocation/since', () => {
  it('round-trips a query and a page', () => {
    fc.assert(
      fc.property(
        fc.nat(),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 1024 }), { maxLength: MAX_REVOCATIONS_PER_CALL }),
        (from, records) => {
          expect(decodeSinceQuery(encodeSinceQuery(from))).toBe(from);
          const page = { records, total: from + records.length };
          expect(decodeRevocationPage(encodeRevocationPage(page))).toEqual(page);
        },
      ),
    );
  });

  it('refuses too many records, an oversized record, a negative place or an extra field, with a code', () => {
    const bad = [
      encodeCbor({ v: 1, records: Array(MAX_REVOCATIONS_PER_CALL + 1).fill(new Uint8Array(1)), total: 99 }),
      encodeCbor({ v: 1, records: [new Uint8Array(1025)], total: 1 }),
      encodeCbor({ v: 1, records: [], total: -1 }),
      encodeCbor({ v: 1, records: [], total: 0, more: true }),
      encodeCbor({ v: 2, records: [], total: 0 }),
    ];
    for (const bytes of bad)
      expect(() => decodeRevocationPage(bytes)).toThrow(expect.objectContaining({ code: 'E_INVALID' }));
    expect(() => decodeSinceQuery(encodeCbor({ v: 1, from: 'one' }))).toThrow(
      expect.objectContaining({ code: 'E_INVALID' }),
    );
  });

  it('any bytes decode or fail only with E_DECODE or E_INVALID', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        expect(failsTyped(() => decodeSinceQuery(bytes))).toBe(true);
        expect(failsTyped(() => decodeRevocationPage(bytes))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('contract: cell/holdings', () => {
  it('round-trips holdings by asset id, and refuses bad ids, amounts, order or counts with E_INVALID', () => {
    const holdings = new Map([
      ['w-away', 5n],
      ['w-gold', (1n << 64n) - 1n],
    ]);
    expect(decodeHoldingsAnswer(encodeHoldingsAnswer(holdings))).toEqual(holdings);
    expect(decodeHoldingsAnswer(encodeHoldingsAnswer(new Map()))).toEqual(new Map());
    for (const list of [
      [['W-Gold', 1]],
      [['computrons', 1]],
      [['w-gold', 0]],
      [['w-gold', -1]],
      [['w-gold', '1']],
      [
        ['w-gold', 1],
        ['w-away', 1],
      ],
      [
        ['w-gold', 1],
        ['w-gold', 2],
      ],
      [['w-gold']],
      Array.from({ length: MAX_HOLDINGS + 1 }, (_, i) => [`a${String(i).padStart(4, '0')}`, 1]),
    ])
      expect(() => decodeHoldingsAnswer(encodeCbor({ v: 1, holdings: list }))).toThrow(
        expect.objectContaining({ code: 'E_INVALID' }),
      );
  });

  it('any bytes decode or fail only with E_DECODE or E_INVALID', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        expect(failsTyped(() => decodeHoldingsAnswer(bytes))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});

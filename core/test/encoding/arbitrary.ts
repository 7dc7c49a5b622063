/**
 * Garbage for the fuzz tests of decoders of outside input. Structured garbage reaches deeper than
 * random bytes: well-formed CBOR of the wrong shape gets past the CBOR layer into the field checks.
 */
import fc from 'fast-check';
import { encodeCbor } from '../../src/encoding/cbor.ts';

/** Well-formed CBOR of any shape (JSON-like values; bigints as numbers, so they encode). */
export const arbCbor: fc.Arbitrary<Uint8Array> = fc
  .anything({ maxDepth: 3, withBigInt: true, withTypedArray: false, withNullPrototype: false })
  .map((v) => {
    try {
      return encodeCbor(
        JSON.parse(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? Number(x) : x)) ?? null),
      );
    } catch {
      return Uint8Array.of(0xf6);
    }
  });

/** Random bytes up to `maxLength`, or random CBOR. */
export const arbGarbage = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.oneof(fc.uint8Array({ maxLength }), arbCbor);

/**
 * Garbage for the fuzz tests of decoders of outside input. Structured garbage reaches deeper than
 * random bytes: well-formed CBOR of the wrong shape gets past the CBOR layer into the field checks.
 */
import fc from 'fast-check';
import { type CborValue, encodeCbor } from '../../src/encoding/cbor.ts';

/**
 * A value of every kind our CBOR carries, nested a little: integers beyond 2^53 too (they decode as
 * bigints, which a decoder must refuse as cleanly as any other wrong type), byte strings and maps.
 */
const { value: arbValue } = fc.letrec<{ value: CborValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom<CborValue>(null, true, false),
    fc.integer(),
    fc.bigInt({ min: -(2n ** 64n), max: 2n ** 64n - 1n }),
    fc.string({ maxLength: 12 }),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('value'), { maxKeys: 4 }),
  ),
}));

/** Well-formed CBOR of any shape. */
export const arbCbor: fc.Arbitrary<Uint8Array> = arbValue.map((v) => encodeCbor(v));

/** Random bytes up to `maxLength`, or random CBOR. */
export const arbGarbage = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.oneof(fc.uint8Array({ maxLength }), arbCbor);

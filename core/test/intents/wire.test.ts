/**
 * The intent desk's wire forms: they round-trip, and whatever bytes (or whatever CBOR maps) arrive,
 * every decoder fails only with our typed errors, never with a stray exception.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleEd25519 as ed, ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { type CborValue, encodeCbor } from '../../src/encoding/cbor.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { isDreggError } from '../../src/errors.ts';
import {
  decodeCommitment,
  decodeIntentPage,
  decodeIntentQuery,
  decodePosted,
  decodeReveal,
  decodeRingList,
  decodeRingQuery,
  decodeWithdrawal,
  encodeCommitment,
  encodeIntentPage,
  encodeIntentQuery,
  encodeReveal,
  encodeRingQuery,
  encodeWithdrawal,
  signWithdrawal,
  verifyWithdrawal,
} from '../../src/intents/wire.ts';
import { AGENT } from './fixtures.ts';

const DECODERS: readonly ((b: Uint8Array) => unknown)[] = [
  decodePosted,
  decodeIntentQuery,
  decodeIntentPage,
  decodeWithdrawal,
  decodeCommitment,
  (b) => decodeReveal(b, 1024),
  decodeRingQuery,
  decodeRingList,
];

function failsTyped(decode: () => unknown): boolean {
  try {
    decode();
    return true;
  } catch (e) {
    return isDreggError(e) && ['E_DECODE', 'E_INVALID', 'E_TOO_LARGE'].includes(e.code);
  }
}

const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex'));
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });

describe('intent wire forms', () => {
  it('round-trip', () => {
    fc.assert(
      fc.property(
        hex64,
        hex64,
        hex64,
        bytes(32),
        bytes(64),
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 64 }),
        (ring, intent, cell, c, sig, intents) => {
          const commitment = { ring, intent, cell, commitment: c, signature: sig };
          expect(decodeCommitment(encodeCommitment(commitment))).toEqual(commitment);
          const reveal = { ring, intent, turn: sig, salt: c };
          expect(decodeReveal(encodeReveal(reveal), 1024)).toEqual(reveal);
          expect(decodeWithdrawal(encodeWithdrawal({ id: ring, signature: sig }))).toEqual({
            id: ring,
            signature: sig,
          });
          expect(decodeIntentQuery(encodeIntentQuery({ zone: 'market/gpu', after: intent }))).toEqual({
            zone: 'market/gpu',
            after: intent,
          });
          expect(decodeIntentPage(encodeIntentPage({ intents, more: true }))).toEqual({
            intents,
            more: true,
          });
        },
      ),
      { numRuns: 50 },
    );
    expect(decodeRingQuery(encodeRingQuery(AGENT))).toBe(AGENT);
    expect(decodeRingList(encodeCbor({ v: 1, rings: [] }))).toEqual([]);
  });

  it('any bytes decode or fail only with a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (b) => DECODERS.every((d) => failsTyped(() => d(b)))),
    );
  });

  it('any CBOR map decodes or fails only with a typed error', () => {
    const value: fc.Arbitrary<CborValue> = fc.letrec<{ v: CborValue }>((tie) => ({
      v: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.string({ maxLength: 8 }),
        fc.constantFrom(null, true, 'committing', 'aborted', 'settled', 'market', AGENT),
        fc.uint8Array({ maxLength: 64 }),
        fc.array(tie('v'), { maxLength: 3 }),
        fc.dictionary(
          fc.constantFrom('v', 'id', 'phase', 'n', 'rings', 'legs', 'state', 'zone', 'reason'),
          tie('v'),
          {
            maxKeys: 4,
          },
        ),
      ),
    })).v;
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 8 }), value, { maxKeys: 6 }), (m) => {
        const b = encodeCbor({ v: 1, ...m });
        return DECODERS.every((d) => failsTyped(() => d(b)));
      }),
    );
  });

  it('a withdrawal verifies only under the intent agent’s key', async () => {
    const seed = new Uint8Array(32).fill(9);
    const w = await signWithdrawal('ab'.repeat(32), seed, ed);
    await verifyWithdrawal(w, didKeyFromEd25519(ed25519PublicKey(seed)), ed);
    await expect(verifyWithdrawal(w, AGENT, ed)).rejects.toMatchObject({ code: 'E_BAD_SIGNATURE' });
    await expect(
      verifyWithdrawal({ ...w, id: 'cd'.repeat(32) }, didKeyFromEd25519(ed25519PublicKey(seed)), ed),
    ).rejects.toMatchObject({
      code: 'E_BAD_SIGNATURE',
    });
  });
});

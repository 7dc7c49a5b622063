/**
 * The gossip envelope codec: round trip, topic binding, strict decoding, and a fuzz of the decoder
 * (random bytes and mutations of a valid envelope fail only with our typed errors, and no mutation
 * that still decodes verifies).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { ed25519PublicKey, nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { hashFor } from '../../src/crypto/hash.ts';
import { bytesEqual, utf8 } from '../../src/encoding/bytes.ts';
import { encodeCbor } from '../../src/encoding/cbor.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { isDreggError } from '../../src/errors.ts';
import {
  decodeEnvelope,
  encodeEnvelope,
  envelopeDigest,
  type GossipEnvelope,
  signEnvelope,
  TOPICS,
  verifyEnvelope,
} from '../../src/net/envelope.ts';

const ed = nobleEd25519;
const seed = new Uint8Array(32).fill(9);
const clock = manualClock(1_700_000_000_500);

async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f();
    return 'OK';
  } catch (e) {
    return isDreggError(e) ? e.code : `FOREIGN ${String(e)}`;
  }
}

describe('gossip envelope', () => {
  it('round-trips, with the signer as did:key, time in seconds and the digest under its own context', async () => {
    const e = await signEnvelope(TOPICS.turns, utf8.encode('a turn'), seed, ed, { clock });
    expect(e.from).toBe(didKeyFromEd25519(ed25519PublicKey(seed)));
    expect(e.at).toBe(1_700_000_000);
    expect(e.v).toBe(1);
    const bytes = encodeEnvelope(e);
    expect(decodeEnvelope(bytes)).toEqual(e);
    await verifyEnvelope(decodeEnvelope(bytes), ed);
    const unsigned = encodeCbor({ v: 1, topic: e.topic, from: e.from, at: e.at, body: e.body });
    expect(envelopeDigest(e)).toEqual(hashFor('gossipEnvelope', unsigned));
  });

  it('binds the topic: the same signature on another topic does not verify', async () => {
    const e = await signEnvelope(TOPICS.revocations, utf8.encode('x'), seed, ed, { clock });
    expect(await codeOf(() => verifyEnvelope({ ...e, topic: TOPICS.roots }, ed))).toBe('E_BAD_SIGNATURE');
    expect(await codeOf(() => verifyEnvelope({ ...e, at: e.at + 1 }, ed))).toBe('E_BAD_SIGNATURE');
    expect(await codeOf(() => verifyEnvelope({ ...e, body: utf8.encode('y') }, ed))).toBe('E_BAD_SIGNATURE');
    const other = didKeyFromEd25519(ed25519PublicKey(new Uint8Array(32).fill(8)));
    expect(await codeOf(() => verifyEnvelope({ ...e, from: other }, ed))).toBe('E_BAD_SIGNATURE');
  });

  it('refuses wrong shapes with E_INVALID, non-CBOR with E_DECODE, and oversize with E_TOO_LARGE', async () => {
    const e = await signEnvelope(TOPICS.roots, utf8.encode('r'), seed, ed, { clock });
    const fields = { v: e.v, topic: e.topic, from: e.from, at: e.at, body: e.body, sig: e.sig };
    const invalid = [
      { ...fields, v: 2 },
      { ...fields, topic: 'cipherclerk/v2/roots' },
      { ...fields, at: -1 },
      { ...fields, body: 'text' },
      { ...fields, sig: new Uint8Array(63) },
      { ...fields, extra: 1 },
      { v: e.v, topic: e.topic, from: e.from, at: e.at, body: e.body },
    ];
    for (const value of invalid)
      expect(await codeOf(() => decodeEnvelope(encodeCbor(value)))).toBe('E_INVALID');
    expect(await codeOf(() => decodeEnvelope(encodeCbor([1, 2])))).toBe('E_INVALID');
    expect(await codeOf(() => decodeEnvelope(encodeCbor({ ...fields, from: 'did:key:zNope' })))).toBe(
      'E_DECODE',
    );
    expect(await codeOf(() => decodeEnvelope(Uint8Array.of(0xa1)))).toBe('E_DECODE');
    expect(await codeOf(() => decodeEnvelope(encodeEnvelope(e), { maxBytes: 16 }))).toBe('E_TOO_LARGE');
  });

  it('decodes random bytes only into our typed errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeEnvelope(bytes);
        } catch (err) {
          expect(isDreggError(err)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('never accepts a mutation of a valid envelope: it fails to decode (typed) or to verify', async () => {
    const e = await signEnvelope(TOPICS.roots, utf8.encode('root 7 with some length'), seed, ed, { clock });
    const original = encodeEnvelope(e);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        let bytes = original.slice();
        for (const m of mutations) {
          const at = m.at % (bytes.length + (m.kind === 'insert' ? 1 : 0) || 1);
          if (m.kind === 'flip' && bytes.length > 0) bytes[at]! ^= 1 << m.bit;
          if (m.kind === 'set' && bytes.length > 0) bytes[at] = m.byte;
          if (m.kind === 'truncate') bytes = bytes.slice(0, at);
          if (m.kind === 'insert')
            bytes = Uint8Array.from([...bytes.slice(0, at), m.byte, ...bytes.slice(at)]);
        }
        if (bytesEqual(bytes, original)) return;
        let decoded: GossipEnvelope;
        try {
          decoded = decodeEnvelope(bytes);
        } catch (err) {
          expect(isDreggError(err)).toBe(true);
          return;
        }
        expect(await codeOf(() => verifyEnvelope(decoded, ed))).toBe('E_BAD_SIGNATURE');
      }),
      { numRuns: 500 },
    );
  });
});

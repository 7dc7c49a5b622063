import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../src/encoding/bytes.ts';
import { type CborMap, decodeCbor, encodeCbor } from '../../src/encoding/cbor.ts';
import { DreggError } from '../../src/errors.ts';
import { appendProof, EMPTY_FRONTIER } from '../../src/inbox/merkle-queue.ts';
import {
  type AckRequest,
  checkDepositRequest,
  type DepositReceipt,
  type DepositRequest,
  type DrainChallenge,
  type DrainRequest,
  type DrainResponse,
  decodeAckRequest,
  decodeDepositReceipt,
  decodeDepositRequest,
  decodeDrainChallenge,
  decodeDrainRequest,
  decodeDrainResponse,
  decodeInboxHead,
  encodeAckRequest,
  encodeDepositReceipt,
  encodeDepositRequest,
  encodeDrainChallenge,
  encodeDrainRequest,
  encodeDrainResponse,
  encodeInboxHead,
  type InboxHead,
  MAX_CIPHERTEXT_BYTES,
  MAX_PAYMENT_BYTES,
  refundClaim,
} from '../../src/inbox/wire.ts';
import { outcome } from '../crypto/expect-code.ts';
import { arbGarbage } from '../encoding/arbitrary.ts';
import { alice, bob, request } from './fixtures.ts';

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);
const deposit: DepositRequest = request(bob, 'hello', { deposit: 12n });
const challenge: DrainChallenge = {
  relay: alice.did,
  recipient: bob.did,
  nonce: bytes(32),
  height: 4,
  expires: 99,
};
const drainRequest: DrainRequest = { recipient: bob.did, nonce: bytes(32), signature: bytes(64), limit: 10 };
const ackRequest: AckRequest = { recipient: bob.did, height: 3, root: bytes(32), signature: bytes(64) };
const head: InboxHead = {
  relay: alice.did,
  recipient: bob.did,
  height: 2,
  root: bytes(32),
  at: 5,
  signature: bytes(64),
};
const receipt: DepositReceipt = {
  seq: 3,
  at: 5,
  expires: 65,
  size: 70,
  root: bytes(32),
  proof: appendProof({ count: 3, peaks: [bytes(32, 1), bytes(32, 2)] }),
  signature: bytes(64),
};
const response: DrainResponse = {
  base: { count: 1, peaks: [bytes(32, 3)] },
  baseAck: { ...ackRequest, height: 1 },
  messages: [
    {
      seq: 1,
      at: 5,
      expires: 10,
      size: 60,
      deposit: 2n ** 60n,
      refund: bytes(32, 4),
      ciphertextHash: bytes(32, 5),
      ciphertext: bytes(60, 1),
    },
    { seq: 2, at: 6, expires: 7, size: 80, deposit: 0n, ciphertextHash: bytes(32, 6) },
  ],
  head,
  height: 9,
};

/** Re-encodes a wire object's map with one field changed (or removed, for `undefined`). */
function withField(encoded: Uint8Array, key: string, value: CborMap[string] | undefined): Uint8Array {
  const m = { ...(decodeCbor(encoded) as CborMap) };
  if (value === undefined) delete m[key];
  else m[key] = value;
  return encodeCbor(m);
}

describe('inbox wire formats', () => {
  it('round-trip every object', () => {
    expect(decodeDepositRequest(encodeDepositRequest(deposit))).toEqual(deposit);
    const free = request(bob, 'free');
    expect(decodeDepositRequest(encodeDepositRequest(free))).toEqual(free);
    expect(decodeDepositReceipt(encodeDepositReceipt(receipt))).toEqual(receipt);
    expect(decodeDrainChallenge(encodeDrainChallenge(challenge))).toEqual(challenge);
    expect(decodeDrainRequest(encodeDrainRequest(drainRequest))).toEqual(drainRequest);
    const { limit: _, ...noLimit } = drainRequest;
    expect(decodeDrainRequest(encodeDrainRequest(noLimit))).toEqual(noLimit);
    expect(decodeAckRequest(encodeAckRequest(ackRequest))).toEqual(ackRequest);
    expect(decodeInboxHead(encodeInboxHead(head))).toEqual(head);
    expect(decodeDrainResponse(encodeDrainResponse(response))).toEqual(response);
    const { baseAck: __, ...first } = { ...response, base: EMPTY_FRONTIER };
    expect(decodeDrainResponse(encodeDrainResponse(first))).toEqual(first);
  });

  it('refuse a deposit request that breaks a format rule, with E_INVALID', () => {
    const good = encodeDepositRequest(deposit);
    const cases: [string, CborMap[string] | undefined][] = [
      ['v', 2],
      ['ttl', 0],
      ['ttl', -1],
      ['dep', -1],
      ['dep', 'ten'],
      ['ref', undefined], // a deposit without a refund claim
      ['ref', bytes(31)],
      ['key', bytes(15)],
      ['key', bytes(65)],
      ['ct', bytes(48, 1)], // shorter than any sealed box
      ['ct', bytes(80, 2)], // not a sealed box's version
      ['to', 42],
      ['extra', 1],
    ];
    for (const [key, value] of cases)
      expect(
        outcome(() => decodeDepositRequest(withField(good, key, value))),
        `${key}`,
      ).toBe('E_INVALID');
    const free = encodeDepositRequest(request(bob, 'free'));
    expect(outcome(() => decodeDepositRequest(withField(free, 'ref', bytes(32))))).toBe('E_INVALID');
    expect(outcome(() => decodeDepositRequest(withField(good, 'to', 'did:key:zNotAKey')))).toBe('E_DECODE');
    expect(outcome(() => checkDepositRequest({ ...deposit, deposit: 5 as unknown as bigint }))).toBe(
      'E_INVALID',
    );
  });

  it('refuse oversized input by its length, before decoding it', () => {
    // Valid CBOR of a huge byte string: refused for its length (a decoder would have to read it all).
    const huge = encodeCbor({ v: 1, ct: new Uint8Array(MAX_CIPHERTEXT_BYTES + MAX_PAYMENT_BYTES + 1024) });
    const e = (() => {
      try {
        decodeDepositRequest(huge);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(DreggError);
    expect((e as DreggError).code).toBe('E_DECODE');
    expect((e as DreggError).message).toMatch(/longer than/);
    const longRequest = encodeCbor({
      ...(decodeCbor(encodeDrainRequest(drainRequest)) as CborMap),
      pad: bytes(600),
    });
    expect(outcome(() => decodeDrainRequest(longRequest))).toBe('E_DECODE');
    expect(outcome(() => decodeAckRequest(bytes(513)))).toBe('E_DECODE');
    expect(outcome(() => decodeDrainResponse(encodeDrainResponse(response), 100))).toBe('E_DECODE');
  });

  it('refuse a drain request or acknowledgement of the wrong shape, with E_INVALID', () => {
    const dr = encodeDrainRequest(drainRequest);
    for (const [key, value] of [
      ['nonce', bytes(31)],
      ['sig', bytes(63)],
      ['max', 0],
      ['v', 0],
      ['extra', true],
    ] as const)
      expect(
        outcome(() => decodeDrainRequest(withField(dr, key, value))),
        key,
      ).toBe('E_INVALID');
    const ar = encodeAckRequest(ackRequest);
    for (const [key, value] of [
      ['h', -1],
      ['root', bytes(33)],
      ['sig', undefined],
    ] as const)
      expect(
        outcome(() => decodeAckRequest(withField(ar, key, value))),
        key,
      ).toBe('E_INVALID');
  });

  it('refuse a drain response whose message is inconsistent or whose base is not a frontier', () => {
    const bad = { ...response, base: { count: 3, peaks: [bytes(32)] } };
    expect(outcome(() => decodeDrainResponse(encodeDrainResponse(bad)))).toBe('E_INVALID');
    const m = { ...response.messages[0]!, size: 61 };
    expect(outcome(() => decodeDrainResponse(encodeDrainResponse({ ...response, messages: [m] })))).toBe(
      'E_INVALID',
    );
  });

  it('refund claims need a secret of at least 16 bytes', () => {
    expect(outcome(() => refundClaim(bytes(15)))).toBe('E_ARGUMENT');
    expect(refundClaim(utf8.encode('sixteen bytes!!!'))).toHaveLength(32);
  });
});

describe('inbox decoders of outside input fail only with E_DECODE or E_INVALID', () => {
  const decoders = [
    decodeDepositRequest,
    decodeDrainRequest,
    decodeAckRequest,
    decodeDrainChallenge,
    decodeDrainResponse,
    decodeDepositReceipt,
    decodeInboxHead,
  ];

  it('on random bytes and on random CBOR', () => {
    fc.assert(
      fc.property(arbGarbage(300), (b) => {
        for (const d of decoders) expect(['E_DECODE', 'E_INVALID']).toContain(outcome(() => d(b)));
      }),
      { numRuns: 1000 },
    );
  });

  it('on valid objects with one byte changed or the end cut off', () => {
    const valid = [
      encodeDepositRequest(deposit),
      encodeDrainRequest(drainRequest),
      encodeAckRequest(ackRequest),
      encodeDrainChallenge(challenge),
      encodeDrainResponse(response),
      encodeDepositReceipt(receipt),
      encodeInboxHead(head),
    ];
    fc.assert(
      fc.property(
        fc.nat({ max: valid.length - 1 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (k, at, x) => {
          const b = valid[k]!.slice();
          b[at % b.length]! ^= x;
          const cut = valid[k]!.subarray(0, at % valid[k]!.length);
          for (const d of decoders) {
            expect(['OK', 'E_DECODE', 'E_INVALID']).toContain(outcome(() => d(b)));
            expect(['OK', 'E_DECODE', 'E_INVALID']).toContain(outcome(() => d(cut)));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});

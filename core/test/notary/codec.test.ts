/**
 * The notary's wire forms (log event, attested root, inclusion): canonical round trips, and decoders
 * of outside input that fail only with E_DECODE or E_INVALID on random bytes and on mutated valid
 * encodings; a tampered root or inclusion never verifies.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import {
  type AttestedRoot,
  decodeAttestedRoot,
  decodeInclusion,
  decodeLogEvent,
  encodeAttestedRoot,
  encodeInclusion,
  encodeLogEvent,
  type Inclusion,
  type LogEvent,
  verifyAttestedRoot,
  verifyReceiptInclusion,
} from '../../src/notary/index.ts';
import type { Receipt } from '../../src/turns/receipt.ts';
import { expectEveryFlipRefused } from '../caps/fixtures.ts';
import { type Bench, bench, openStore, tempDir } from './fixtures.ts';

const dir = tempDir();
let b: Bench;
let receipt: Receipt;
let inclusion: Inclusion;
let issue: LogEvent;
let root: AttestedRoot;

beforeAll(async () => {
  b = await bench(await openStore(dir.path('codec.sqlite')));
  const [alice, bob, carol] = b.people;
  await b.notary.submit(await b.transfer(alice, bob, 1n));
  receipt = (await b.notary.submit(await b.turn(bob, [{ type: 'burn', cell: bob.cell, amount: 2n }])))
    .receipt;
  await b.notary.submit(await b.transfer(carol, alice, 1n));
  inclusion = await b.notary.inclusion(receipt.turn);
  issue = (await b.notary.events(0, 1))[0]!;
  root = b.notary.latestRoot();
});
afterAll(() => dir.remove());

const decoders: [string, () => Uint8Array, (bytes: Uint8Array) => Uint8Array][] = [
  ['turn event', () => encodeLogEvent(inclusion.event), (x) => encodeLogEvent(decodeLogEvent(x))],
  ['issue event', () => encodeLogEvent(issue), (x) => encodeLogEvent(decodeLogEvent(x))],
  ['attested root', () => encodeAttestedRoot(root), (x) => encodeAttestedRoot(decodeAttestedRoot(x))],
  ['inclusion', () => encodeInclusion(inclusion), (x) => encodeInclusion(decodeInclusion(x))],
];

/** Decodes, and if that succeeds, the bytes must be exactly the canonical encoding of the result. */
function decodesCanonicallyOrRefuses(roundTrip: (bytes: Uint8Array) => Uint8Array, bytes: Uint8Array): void {
  try {
    expect(roundTrip(bytes)).toEqual(bytes);
  } catch (e) {
    if (!isDreggError(e)) throw e;
    expect(['E_DECODE', 'E_INVALID']).toContain(e.code);
  }
}

describe('notary wire forms', () => {
  it('round-trip byte for byte', () => {
    for (const [, valid, roundTrip] of decoders) expect(roundTrip(valid())).toEqual(valid());
    expect(decodeInclusion(encodeInclusion(inclusion))).toEqual(inclusion);
    expect(decodeLogEvent(encodeLogEvent(issue))).toEqual(issue);
  });

  it.each(decoders)('%s: random bytes fail only with E_DECODE or E_INVALID', (_, __, roundTrip) => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) =>
        decodesCanonicallyOrRefuses(roundTrip, bytes),
      ),
      { numRuns: 300 },
    );
  });

  it.each(decoders)('%s: mutated encodings fail only with E_DECODE or E_INVALID', (_, valid, roundTrip) => {
    const bytes = valid();
    fc.assert(
      fc.property(
        fc.nat(bytes.length - 1),
        fc.integer({ min: 1, max: 255 }),
        fc.nat(bytes.length),
        fc.uint8Array({ maxLength: 8 }),
        (i, x, cut, tail) => {
          const flipped = bytes.slice();
          flipped[i]! ^= x;
          decodesCanonicallyOrRefuses(roundTrip, flipped);
          decodesCanonicallyOrRefuses(roundTrip, bytes.slice(0, cut));
          decodesCanonicallyOrRefuses(roundTrip, new Uint8Array([...bytes, ...tail]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses every one-byte change of a signed root', async () => {
    const bytes = encodeAttestedRoot(root);
    expect(await verifyAttestedRoot(decodeAttestedRoot(bytes), b.ed)).toBe(true);
    await expectEveryFlipRefused(bytes, (x) => verifyAttestedRoot(decodeAttestedRoot(x), b.ed), 150);
  });

  it('refuses every one-byte change of an inclusion', async () => {
    const accepts = async (x: Uint8Array) => {
      const i = decodeInclusion(x);
      return (await verifyAttestedRoot(i.root, b.ed)) && verifyReceiptInclusion(receipt, i);
    };
    expect(await accepts(encodeInclusion(inclusion))).toBe(true);
    await expectEveryFlipRefused(encodeInclusion(inclusion), accepts, 150);
  });
});

/**
 * Receipt chains: what the executor signs is a chain anyone can check against the executors they
 * trust; reordering, dropping, altering or re-signing a receipt is caught; receipts round-trip
 * through their canonical encoding, and malformed bytes fail only with E_DECODE or E_INVALID.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultEd25519, type Ed25519 } from '../../src/crypto/ed25519.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor } from '../../src/encoding/cbor.ts';
import { isDreggError } from '../../src/errors.ts';
import { openSqliteStore } from '../../src/node/sqlite-store.ts';
import type { Effect } from '../../src/turns/effects.ts';
import { createExecutor, EXECUTOR_COLLECTIONS } from '../../src/turns/executor.ts';
import {
  decodeReceipt,
  encodeReceipt,
  type Receipt,
  receiptHashHex,
  sameEffects,
  signReceipt,
  verifyReceiptChain,
} from '../../src/turns/receipt.ts';
import { codeOf, expectEveryFlipRefused } from '../caps/fixtures.ts';
import { saltOf, seedOf, type World, world } from './fixtures.ts';

let ed: Ed25519;
const dir = mkdtempSync(join(tmpdir(), 'cipherclerk-receipts-'));
beforeAll(async () => {
  ed = await defaultEd25519();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A history with every kind of result and event: ids, maps, numbers, nulls, events with data. */
async function history(w: World): Promise<Effect[][]> {
  const { alice, bob } = w;
  const turns: Effect[][] = [
    [
      { type: 'set-field', cell: alice.cell, key: 'name', value: 'alice' },
      { type: 'emit-event', topic: 'hello', data: new Uint8Array([1, 2, 3]) },
      { type: 'emit-event', topic: 'bare', data: null },
    ],
    [
      { type: 'create-cell', salt: saltOf(40), balance: 5n },
      { type: 'grant-capability', source: { cell: alice.cell }, to: bob.cell, caveats: [], revocable: true },
    ],
    [{ type: 'create-seal-pair' }, { type: 'increment-nonce', cell: alice.cell }],
    [{ type: 'transfer', from: alice.cell, to: bob.cell, amount: 7n }],
    [{ type: 'burn', cell: alice.cell, amount: 3n }],
  ];
  for (const [i, effects] of turns.entries()) {
    await w.act(alice, effects, { fee: BigInt(i % 2) });
    // bob's turns interleave with alice's: each agent's chain is its own.
    await w.act(bob, [{ type: 'emit-event', topic: 'tick', data: i }]);
  }
  return turns;
}

const replace = (r: Receipt, change: Partial<Receipt>): Receipt => ({ ...r, ...change });

describe('verifyReceiptChain', () => {
  it("accepts an agent's chain from the executor, ending at the agent's head", async () => {
    const w = await world({ ed });
    const turns = await history(w);
    const receipts = await w.executor.receipts(w.alice.did);
    expect(receipts.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4]);
    const options = { ed, executors: [w.executor.did] };
    const head = await verifyReceiptChain(receipts, options);
    expect(head).toBe(w.executor.head(w.alice.did).prev);
    expect(await verifyReceiptChain(receipts, { ...options, after: null })).toBe(head);
    // Any suffix verifies from the hash of the receipt before it.
    for (let k = 1; k < receipts.length; k++) {
      expect(
        await verifyReceiptChain(receipts.slice(k), { ...options, after: receiptHashHex(receipts[k - 1]!) }),
      ).toBe(head);
    }
    // Receipts name the effects they applied, and say what each returned.
    for (const [i, r] of receipts.entries()) expect(sameEffects(r, turns[i]!)).toBe(true);
    expect(receipts[0]!.events).toEqual([
      { cell: w.alice.cell, topic: 'hello', data: new Uint8Array([1, 2, 3]) },
      { cell: w.alice.cell, topic: 'bare', data: null },
    ]);
    expect(receipts[1]!.results[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(receipts[1]!.results[1]).toMatchObject({ slot: 0 });
    expect(receipts[3]!.results).toEqual([null]);
    expect(receipts[4]!.burned).toBe(3n);
    expect(receipts[1]!.fee).toBe(1n);
    expect(receipts[1]!.burned).toBe(1n); // no fee cell: the fee is burned
    const bobs = await w.executor.receipts(w.bob.did);
    expect(await verifyReceiptChain(bobs, { ...options, after: null })).toBe(w.executor.head(w.bob.did).prev);
  });

  it('refuses a reordered, dropped, foreign or empty chain (E_INVALID)', async () => {
    const w = await world({ ed });
    await history(w);
    const rs = await w.executor.receipts(w.alice.did);
    const options = { ed, executors: [w.executor.did] };
    const swapped = [rs[0]!, rs[2]!, rs[1]!, rs[3]!, rs[4]!];
    expect(await codeOf(verifyReceiptChain(swapped, options))).toBe('E_INVALID');
    expect(await codeOf(verifyReceiptChain([...rs].reverse(), options))).toBe('E_INVALID');
    expect(await codeOf(verifyReceiptChain([rs[0]!, rs[1]!, rs[3]!, rs[4]!], options))).toBe('E_INVALID');
    expect(await codeOf(verifyReceiptChain(rs.slice(0, -1).concat(rs[3]!), options))).toBe('E_INVALID');
    // Dropping the first receipt: a chain that must start at the agent's first is refused...
    expect(await codeOf(verifyReceiptChain(rs.slice(1), { ...options, after: null }))).toBe('E_INVALID');
    // ...and one that must follow a given receipt is refused after any other.
    expect(await codeOf(verifyReceiptChain(rs.slice(2), { ...options, after: receiptHashHex(rs[0]!) }))).toBe(
      'E_INVALID',
    );
    // Another agent's receipt in the chain.
    const bobs = await w.executor.receipts(w.bob.did);
    expect(await codeOf(verifyReceiptChain([rs[0]!, bobs[1]!], options))).toBe('E_INVALID');
    expect(await codeOf(verifyReceiptChain([], options))).toBe('E_INVALID');
  });

  it('refuses any altered receipt (E_BAD_SIGNATURE, or E_INVALID for its place in the chain)', async () => {
    const w = await world({ ed });
    await history(w);
    const rs = await w.executor.receipts(w.alice.did);
    const options = { ed, executors: [w.executor.did] };
    const r = rs[1]!;
    const flipped = (b: Uint8Array) => {
      const c = b.slice();
      c[0]! ^= 1;
      return c;
    };
    const altered: Receipt[] = [
      replace(r, { fee: r.fee + 1n }),
      replace(r, { burned: 0n }),
      replace(r, { at: r.at + 1 }),
      replace(r, { cell: w.bob.cell }),
      replace(r, { turn: 'ab'.repeat(32) }),
      replace(r, { results: [...r.results].reverse() }),
      replace(r, { events: [{ cell: w.alice.cell, topic: 'forged', data: null }] }),
      replace(r, { oldState: flipped(r.oldState) }),
      replace(r, { newState: flipped(r.newState) }),
      replace(r, { effects: flipped(r.effects) }),
      replace(r, { signature: flipped(r.signature) }),
    ];
    for (const a of altered) {
      const chain = [rs[0]!, a, ...rs.slice(2)];
      // The altered receipt fails its signature; were its hash to change, its successor would not follow.
      expect(await codeOf(verifyReceiptChain(chain, options))).toBe('E_BAD_SIGNATURE');
      expect(await codeOf(verifyReceiptChain([a], { ...options, after: r.prev }))).toBe('E_BAD_SIGNATURE');
    }
    expect(await codeOf(verifyReceiptChain([rs[0]!, replace(r, { seq: 5 })], options))).toBe('E_INVALID');
    expect(await codeOf(verifyReceiptChain([rs[0]!, replace(r, { prev: 'cd'.repeat(32) })], options))).toBe(
      'E_INVALID',
    );
    // An altered receipt re-signed by someone else is not the executor's.
    const forger = await signReceipt(replace(r, { fee: 0n }), seedOf(77), ed);
    expect(await codeOf(verifyReceiptChain([rs[0]!, forger], options))).toBe('E_BAD_SIGNATURE');
  });

  it('refuses receipts of an executor not trusted here (E_UNTRUSTED)', async () => {
    const w = await world({ ed });
    await history(w);
    const rs = await w.executor.receipts(w.alice.did);
    const stranger = await createExecutor({ ed, clock: w.clock, seed: seedOf(150) });
    expect(await codeOf(verifyReceiptChain(rs, { ed, executors: [stranger.did] }))).toBe('E_UNTRUSTED');
    expect(await codeOf(verifyReceiptChain(rs, { ed, executors: [] }))).toBe('E_UNTRUSTED');
    // A receipt claiming another executor (signed by ours) names a key that did not sign it.
    const claimed = replace(rs[0]!, { executor: stranger.did });
    expect(await codeOf(verifyReceiptChain([claimed], { ed, executors: [stranger.did] }))).toBe(
      'E_BAD_SIGNATURE',
    );
  });
});

describe('receipt encoding', () => {
  it('round-trips every receipt: same fields, same bytes, same hash; decoded chains verify', async () => {
    const w = await world({ ed });
    await history(w);
    for (const p of [w.alice, w.bob]) {
      const rs = await w.executor.receipts(p.did);
      const decoded = rs.map((r) => decodeReceipt(encodeReceipt(r)));
      for (const [i, d] of decoded.entries()) {
        expect(d).toEqual(rs[i]);
        expect(encodeReceipt(d)).toEqual(encodeReceipt(rs[i]!));
        expect(receiptHashHex(d)).toBe(receiptHashHex(rs[i]!));
      }
      expect(await verifyReceiptChain(decoded, { ed, executors: [w.executor.did], after: null })).toBe(
        w.executor.head(p.did).prev,
      );
    }
  });

  it('an executor with a store gives back the same chain after reopening', async () => {
    const path = join(dir, 'ledger.db');
    const store = await openSqliteStore(path, { collections: EXECUTOR_COLLECTIONS });
    const w = await world({ ed, store });
    await history(w);
    const before = await w.executor.receipts(w.alice.did);
    await store.close();
    const again = await openSqliteStore(path, { collections: EXECUTOR_COLLECTIONS });
    const reopened = await createExecutor({ ed, clock: w.clock, seed: seedOf(100), store: again });
    const after = await reopened.receipts(w.alice.did);
    expect(after.map(encodeReceipt)).toEqual(before.map(encodeReceipt));
    expect(await verifyReceiptChain(after, { ed, executors: [reopened.did], after: null })).toBe(
      reopened.head(w.alice.did).prev,
    );
    await again.close();
  });

  it('refuses malformed bytes with E_DECODE or E_INVALID only (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeReceipt(bytes);
        } catch (e) {
          expect(isDreggError(e, 'E_DECODE') || isDreggError(e, 'E_INVALID')).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('refuses every truncation, and any well-formed map with a field replaced, with E_DECODE/E_INVALID', async () => {
    const w = await world({ ed });
    await history(w);
    const r = (await w.executor.receipts(w.alice.did))[1]!;
    const bytes = encodeReceipt(r);
    for (let n = 0; n < bytes.length; n++) {
      const e = (() => {
        try {
          decodeReceipt(bytes.subarray(0, n));
        } catch (x) {
          return x;
        }
      })();
      expect(isDreggError(e, 'E_DECODE') || isDreggError(e, 'E_INVALID')).toBe(true);
    }
    const map = decodeCbor(bytes) as CborMap;
    const anyValue: fc.Arbitrary<CborValue> = fc.oneof<fc.Arbitrary<CborValue>[]>(
      fc.constant(null),
      fc.boolean(),
      fc.integer({ min: -5, max: 1_000_000 }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.string({ maxLength: 70 }),
      fc.uint8Array({ maxLength: 70 }),
      fc.constant<CborValue>([]),
      fc.constant<CborValue>({}),
      fc.constant<CborValue>([{ cell: 1, topic: 'x' }]),
    );
    fc.assert(
      fc.property(fc.constantFrom(...Object.keys(map), 'extra'), anyValue, (key, value) => {
        const changed = encodeCbor({ ...map, [key]: value });
        let decoded: Receipt;
        try {
          decoded = decodeReceipt(changed);
        } catch (e) {
          expect(isDreggError(e, 'E_DECODE') || isDreggError(e, 'E_INVALID')).toBe(true);
          return;
        }
        // Whatever decodes is canonical: it encodes back to exactly the bytes it came from.
        expect(toHex(encodeReceipt(decoded))).toBe(toHex(changed));
      }),
      { numRuns: 300 },
    );
  });

  it('decodes events strictly: exactly {cell, topic, data}, a cell id, a topic name, a field value', async () => {
    const w = await world({ ed });
    await history(w);
    const r = (await w.executor.receipts(w.alice.did))[0]!;
    const map = decodeCbor(encodeReceipt(r)) as CborMap;
    const withEvent = (ev: CborValue) => encodeCbor({ ...map, ev: [ev] });
    const good = { cell: w.alice.cell, topic: 'hello', data: 1 };
    expect(decodeReceipt(withEvent(good)).events).toEqual([good]);
    for (const bad of [
      { ...good, extra: 1 },
      { cell: good.cell, topic: good.topic },
      { ...good, cell: 'not-a-cell' },
      { ...good, topic: 'Not A Name!' },
      { ...good, data: [1, 2] },
      { ...good, data: { a: 1 } },
    ]) {
      expect(await codeOf(() => decodeReceipt(withEvent(bad)))).toBe('E_INVALID');
    }
  });

  it('no single-byte alteration of an encoded receipt is accepted (property)', async () => {
    const w = await world({ ed });
    await history(w);
    const rs = await w.executor.receipts(w.alice.did);
    const r = rs[2]!;
    await expectEveryFlipRefused(
      encodeReceipt(r),
      async (b) => {
        const d = decodeReceipt(b);
        return (await verifyReceiptChain([d], { ed, executors: [w.executor.did], after: r.prev })) !== '';
      },
      200,
    );
  });
});

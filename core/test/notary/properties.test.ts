/**
 * Invariants over random mixes of submissions (transfers that may overdraw, burns, fees, duplicates,
 * replayed nonces, some submitted together so that they share a batch): the log is gap-free and
 * holds each accepted turn once, every receipt is included under the latest signed root, and the
 * supply audit balances. Runs are few: every turn is signed and verified for real.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import { verifyAttestedRoot, verifyReceiptInclusion } from '../../src/notary/index.ts';
import type { Receipt } from '../../src/turns/receipt.ts';
import type { Turn } from '../../src/turns/turn.ts';
import { bench, openStore, tempDir } from './fixtures.ts';

const dir = tempDir();
afterAll(() => dir.remove());
let runs = 0;

const action = fc.record({
  kind: fc.constantFrom('transfer', 'burn', 'fee', 'duplicate', 'replay'),
  from: fc.nat(2),
  to: fc.nat(2),
  amount: fc.bigInt({ min: 1n, max: 700n }),
  together: fc.boolean(),
});

describe('notary invariants', () => {
  it('keeps the log gap-free, every receipt provable, and the supply balanced', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), async (actions) => {
        const store = await openStore(dir.path(`p${runs++}.sqlite`));
        const b = await bench(store, { batch: { maxDelayMs: 2 } });
        const accepted = new Map<string, Receipt>();
        const submitted: Turn[] = [];
        let group: Promise<void>[] = [];
        const submit = (t: Turn) =>
          b.notary.submit(t).then(
            (n) => {
              const earlier = accepted.get(n.receipt.turn);
              expect(n.duplicate).toBe(earlier !== undefined);
              accepted.set(n.receipt.turn, n.receipt);
            },
            (e) => {
              if (!isDreggError(e)) throw e;
              expect(['E_STALE', 'E_INSUFFICIENT']).toContain(e.code);
            },
          );
        for (const a of actions) {
          const from = b.people[a.from]!;
          const to = b.people[a.to]!;
          let t: Turn;
          if (a.kind === 'duplicate' && submitted.length > 0) t = submitted[submitted.length - 1]!;
          else if (a.kind === 'replay')
            t = await b.transfer(from, to, 1n, { nonce: Math.max(0, b.notary.cell(from.cell)!.nonce - 1) });
          else if (a.kind === 'burn')
            t = await b.turn(from, [{ type: 'burn', cell: from.cell, amount: a.amount }]);
          else t = await b.transfer(from, to, a.amount, a.kind === 'fee' ? { fee: a.amount / 4n } : {});
          submitted.push(t);
          group.push(submit(t));
          if (!a.together) {
            await Promise.all(group);
            group = [];
          }
        }
        await Promise.all(group);
        const height = b.notary.height();
        expect(height).toBe(3 + accepted.size);
        const events = await b.notary.events(0, height);
        expect(events.map((e) => e.seq)).toEqual([...Array(height).keys()]);
        const root = b.notary.latestRoot();
        expect(await verifyAttestedRoot(root, b.ed)).toBe(true);
        for (const r of accepted.values())
          expect(verifyReceiptInclusion(r, await b.notary.inclusion(r.turn))).toBe(true);
        const audit = await b.notary.audit();
        expect(audit.delta).toBe(0n);
        expect(audit.ledgerRootMatches).toBe(true);
        expect(audit.issued).toBe(3000n);
        await store.close();
      }),
      { numRuns: 25 },
    );
  }, 60_000);
});

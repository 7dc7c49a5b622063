/**
 * Shared builders for the intent tests: items, open intents that skip signing (the solver never
 * verifies), and the commit step of a settlement.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import type { Caveat } from '../../src/caps/caveats.ts';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import type { OpenIntent } from '../../src/intents/intent.ts';
import type { ExchangeItem } from '../../src/intents/items.ts';
import {
  type EscrowPlan,
  escrowCommitment,
  escrowTurn,
  type Settlement,
  type SettlementLedger,
  signCommitment,
} from '../../src/intents/settle.ts';
import type { RingView } from '../../src/intents/wire.ts';
import type { Turn } from '../../src/turns/turn.ts';

export const T0 = Date.UTC(2026, 10, 21) / 1000;
export const AGENT = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';

export const asset = (name: string, amount: number): ExchangeItem => ({
  kind: 'asset',
  asset: name,
  amount: BigInt(amount),
});

export const capability = (...caveats: Caveat[]): ExchangeItem => ({ kind: 'capability', caveats });

/** An open intent with id `id` (any sortable string stands in for the hash). */
export function open(
  id: string,
  offers: readonly ExchangeItem[],
  wants: readonly ExchangeItem[],
  extra: { accept?: number; expires?: number } = {},
): OpenIntent {
  return {
    id,
    intent: {
      zone: 'market',
      offers,
      wants,
      accept: extra.accept ?? wants.length,
      expires: extra.expires ?? T0 + 3600,
      by: AGENT,
      nonce: '00'.repeat(16),
      signature: new Uint8Array(64),
    },
  };
}

/** Items drawn from a small vocabulary, so that random pools have edges and rings. */
export const arbItem: fc.Arbitrary<ExchangeItem> = fc.oneof(
  fc
    .record({ a: fc.constantFrom('gold', 'silver', 'iron'), n: fc.integer({ min: 1, max: 4 }) })
    .map(({ a, n }) => asset(a, n)),
  fc.integer({ min: 1, max: 3 }).map((n): ExchangeItem => ({ kind: 'computrons', amount: BigInt(n) })),
  fc
    .record({ s: fc.constantFrom('gpu', 'ocr'), n: fc.integer({ min: 1, max: 3 }) })
    .map(({ s, n }): ExchangeItem => ({ kind: 'service', service: s, units: n })),
  fc
    .subarray(['read', 'write', 'list'], { minLength: 1 })
    .chain((actions) =>
      fc.constantFrom<Caveat[]>(
        [
          { t: 'services', services: ['storage'] },
          { t: 'actions', actions: [...actions].sort() },
        ],
        [{ t: 'actions', actions: [...actions].sort() }],
        [{ t: 'services', services: ['mail', 'storage'] }],
      ),
    )
    .map((caveats) => capability(...caveats)),
);

/** A pool of open intents with ids p00, p01, … (1-2 offers, 1-2 wants, some partial, some expired). */
export const arbPool = (max: number): fc.Arbitrary<OpenIntent[]> =>
  fc
    .array(
      fc.record({
        offers: fc.array(arbItem, { minLength: 1, maxLength: 2 }),
        wants: fc.array(arbItem, { minLength: 1, maxLength: 2 }),
        partial: fc.boolean(),
        expired: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      }),
      { minLength: 2, maxLength: max },
    )
    .map((xs) =>
      xs.map((x, i) =>
        open(`p${String(i).padStart(2, '0')}`, x.offers, x.wants, {
          accept: x.partial ? 1 : x.wants.length,
          expires: x.expired ? T0 : T0 + 60,
        }),
      ),
    );

const coin = (n: number): ExchangeItem => ({ kind: 'computrons', amount: BigInt(n) });

/**
 * The terms of an n-person ring (2 ≤ n ≤ 8) with no shorter ring inside: person k offers the pair of
 * computron amounts (10 + 3k, 100 − 7k) and wants person k−1's pair. Computrons are fungible, so with
 * one amount each a bigger offer would also meet other wants; these pairs form an antichain (the
 * first rises, the second falls), so an offer covers only its own pair and the one ring is k−1 → k.
 * Person k pays 110 − 4k and receives its predecessor's sum: settling moves every balance.
 */
export function ringTerms(n: number): { offers: ExchangeItem[]; wants: ExchangeItem[]; pays: bigint }[] {
  const pair = (k: number) => [coin(10 + 3 * k), coin(100 - 7 * k)];
  return Array.from({ length: n }, (_, k) => ({
    offers: pair(k),
    wants: pair((k + n - 1) % n),
    pays: BigInt(110 - 4 * k),
  }));
}

/** Polls `probe` every 100 ms until it answers (not undefined); fails naming `what` after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Every party commits, in `parties`' order, to its escrow turn on `ledger` of what `owes` says;
 * returns the turn and salt each will reveal.
 */
export async function commitEscrows<P extends { did: string; seed: Uint8Array; cell: string }>(
  ledger: SettlementLedger,
  s: Settlement,
  parties: Iterable<readonly [string, P]>,
  owes: (id: string, p: P) => bigint | EscrowPlan,
): Promise<Map<string, { turn: Turn; salt: Uint8Array }>> {
  const reveals = new Map<string, { turn: Turn; salt: Uint8Array }>();
  for (const [id, p] of parties) {
    const turn = await escrowTurn(p, ledger, s, owes(id, p), nobleEd25519);
    const salt = new Uint8Array(32).fill(reveals.size + 9);
    reveals.set(id, { turn, salt });
    await s.commit(
      await signCommitment(
        { ring: s.id, intent: id, cell: p.cell, commitment: escrowCommitment(turn, salt) },
        p.seed,
        nobleEd25519,
      ),
    );
  }
  return reveals;
}

/** A ring the desk aborted at its deadline, with the refund turn, at the cutoff it was opened with. */
export function expectRefundedAtCutoff(ring: RingView, cutoff: number): void {
  expect(ring.cutoff).toBe(cutoff);
  expect(ring.state).toMatchObject({
    phase: 'aborted',
    reason: expect.stringMatching(/deadline/),
    refund: expect.anything(),
  });
}

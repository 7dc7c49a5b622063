/**
 * Federation for light clients over the wire: the receipt log every relay keeps (its incremental
 * roots and proofs equal the RFC 9162 tree's), the decoders of the new operations (typed errors
 * only), and four real relays (child processes) serving `federation/committee` and
 * `federation/receipt` bundles that verify against the committee a wallet pins at first use.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/encoding/bytes.ts';
import { DreggError, isDreggError } from '../../src/errors.ts';
import { committeeIdHex } from '../../src/federation/light.ts';
import {
  createReceiptLog,
  decodeReceiptBundle,
  federatedReceiptDigest,
  receiptTree,
  verifyFederatedReceipt,
} from '../../src/federation/receipts.ts';
import type { Outcome } from '../../src/federation/settle.ts';
import type { RelayClient } from '../../src/net/client.ts';
import { encodeEmpty } from '../../src/net/contract.ts';
import {
  decodeCommitteeAnswer,
  decodeReceiptRequest,
  decodeRootVote,
  encodeCommitteeAnswer,
  encodeReceiptRequest,
  encodeRootVote,
  FEDERATION_OPS,
} from '../../src/net/federation.ts';
import { turnHashHex } from '../../src/turns/turn.ts';
import { type Fed, federation, submitPatiently, transfer } from './relays-fixtures.ts';
import { createSim } from './sim.ts';

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);
const outcome = (height: number, turn: string): Outcome => ({
  kind: 'accepted',
  place: { turn, block: 'cd'.repeat(32), item: height % 7, height },
});

describe('the receipt log a relay keeps', () => {
  it('has the roots and proofs of the RFC 9162 tree over its receipts, at every height', () => {
    fc.assert(
      fc.property(fc.array(hex32, { minLength: 1, maxLength: 70 }), fc.nat(), fc.nat(), (turns, a, b) => {
        const log = createReceiptLog();
        // Appended in uneven batches, as waves settle.
        for (let h = 0; h < turns.length; h += 3)
          log.append(turns.slice(h, h + 3).map((t, i) => outcome(h + i, t)));
        const digests = turns.map((_, h) => federatedReceiptDigest(log.receipt(h)));
        const count = 1 + (a % turns.length);
        const index = b % count;
        expect(toHex(log.root(count))).toBe(toHex(receiptTree.merkleRoot(digests.slice(0, count))));
        expect(toHex(log.root())).toBe(toHex(receiptTree.merkleRoot(digests)));
        const proof = log.prove(index, count);
        expect(proof.siblings.map(toHex)).toEqual(
          receiptTree.inclusionProof(digests, index, count).siblings.map(toHex),
        );
        expect(receiptTree.verifyInclusion(log.root(count), digests[index]!, proof)).toBe(true);
        // A turn settled twice is found at its first height.
        expect(log.find(turns[index]!)).toBe(turns.indexOf(turns[index]!));
      }),
      { numRuns: 60 },
    );
    expect(toHex(createReceiptLog().root())).toBe(toHex(receiptTree.merkleRoot([])));
  });
});

describe('the decoders of the light-client operations', () => {
  const sim = createSim(4);
  const answer = encodeCommitteeAnswer({ genesis: sim.committee, transitions: [] });

  it('round-trip, and refuse anything else with E_DECODE or E_INVALID only', () => {
    expect(committeeIdHex(decodeCommitteeAnswer(answer).genesis)).toBe(committeeIdHex(sim.committee));
    const turn = new Uint8Array(32).fill(9);
    expect(decodeReceiptRequest(encodeReceiptRequest(turn))).toEqual(turn);
    const vote = {
      federation: 'f',
      epoch: 0,
      ledgerRoot: new Uint8Array(32).fill(1),
      height: 3,
      logRoot: new Uint8Array(32).fill(2),
      signer: new Uint8Array(32).fill(3),
      signature: new Uint8Array(64).fill(4),
    };
    expect(decodeRootVote(encodeRootVote(vote))).toEqual(vote);
    const decoders = [decodeCommitteeAnswer, decodeReceiptRequest, decodeRootVote, decodeReceiptBundle];
    const samples = [answer, encodeReceiptRequest(turn), encodeRootVote(vote)];
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc
            .tuple(fc.constantFrom(...samples), fc.nat(), fc.integer({ min: 1, max: 255 }))
            .map(([s, at, x]) => {
              const m = s.slice();
              m[at % m.length]! ^= x;
              return m;
            }),
        ),
        (bytes) => {
          for (const decode of decoders) {
            try {
              decode(bytes);
            } catch (e) {
              expect(e).toBeInstanceOf(DreggError);
              expect(['E_DECODE', 'E_INVALID']).toContain((e as DreggError).code);
            }
          }
        },
      ),
      { numRuns: 400 },
    );
    // A vote without the log root is refused: every member signs it now.
    const { logRoot: _, ...bare } = vote;
    expect(() => decodeRootVote(encodeRootVote(bare as typeof vote))).toThrow(DreggError);
  });
});

let fed: Fed;

describe('four relays serving receipts and the committee', () => {
  beforeAll(async () => {
    fed = await federation(4, 4);
    await Promise.all(fed.members.map((m) => fed.start(m.index)));
  }, 120_000);

  afterAll(async () => {
    await fed?.close();
  }, 60_000);

  /** Asks `client` for the turn's bundle until a root covers it (votes trail settlement). */
  async function bundleOf(client: RelayClient, turn: string, timeoutMs = 30_000): Promise<Uint8Array> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      try {
        return await client.call(FEDERATION_OPS.receipt, encodeReceiptRequest(fromHex(turn)));
      } catch (e) {
        if (!isDreggError(e) || e.code !== 'E_NOT_FOUND' || Date.now() > until) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  it('serves the genesis committee, and bundles of accepted and refused turns that verify against it on every relay', async () => {
    const clients = await Promise.all([0, 1, 2, 3].map((i) => fed.client(i)));
    const answer = decodeCommitteeAnswer(await clients[2]!.call(FEDERATION_OPS.committee, encodeEmpty()));
    expect(answer.transitions).toEqual([]);
    const pinned = answer.genesis;
    expect(pinned.keys).toHaveLength(4);
    expect(pinned.federation).toBe('test-fed');

    const [a, b, c] = fed.payers;
    const paid = await transfer(clients[0]!, a!, b!, 5n);
    await submitPatiently(clients[0]!, paid);
    // A double spend sent to two relays: one takes effect, the other is refused with evidence.
    const one = await transfer(clients[1]!, c!, a!, 1n);
    const two = await transfer(clients[1]!, c!, b!, 2n);
    const answers = await Promise.allSettled([
      submitPatiently(clients[1]!, one),
      submitPatiently(clients[3]!, two),
    ]);
    expect(answers.filter((x) => x.status === 'fulfilled')).toHaveLength(1);

    for (const turn of [paid, one, two]) {
      const hash = turnHashHex(turn);
      for (const client of clients) {
        const bundle = decodeReceiptBundle(await bundleOf(client, hash));
        expect(bundle.receipt.turn).toBe(hash);
        expect(bundle.root.logRoot).toBeDefined();
        expect(verifyFederatedReceipt(bundle.receipt, bundle.proof, bundle.root, pinned)).toMatchObject({
          ok: true,
        });
      }
    }
    const refused = decodeReceiptBundle(
      await bundleOf(clients[0]!, turnHashHex(answers[0]!.status === 'fulfilled' ? two : one)),
    );
    expect(refused.receipt).toMatchObject({ outcome: 'refused', code: 'E_STALE' });
    expect(refused.receipt.spentBy).toBe(turnHashHex(answers[0]!.status === 'fulfilled' ? one : two));

    // A turn no relay settled: not found, never a made-up bundle.
    const stranger = toHex(new Uint8Array(32).fill(7));
    await expect(
      clients[0]!.call(FEDERATION_OPS.receipt, encodeReceiptRequest(fromHex(stranger))),
    ).rejects.toMatchObject({ code: 'E_NOT_FOUND' });
    await expect(clients[0]!.call(FEDERATION_OPS.receipt, new Uint8Array([1, 2]))).rejects.toMatchObject({
      code: 'E_DECODE',
    });
  }, 120_000);
});

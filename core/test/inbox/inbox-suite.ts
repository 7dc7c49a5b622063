/**
 * The inbox's behaviour, registered once per `Store` backend (fake IndexedDB, SQLite): deposit,
 * drain and acknowledge; refunds; idempotency; quotas; expiry; the drain challenge; acknowledgements;
 * and the recipient's check of what a relay returns.
 */
import { describe, expect, it } from 'vitest';
import { openSealed, x25519FromEd25519Seed } from '../../src/crypto/sealed-box.ts';
import { toHex, utf8 } from '../../src/encoding/bytes.ts';
import { decodeCbor, isCborMap } from '../../src/encoding/cbor.ts';
import { DreggError } from '../../src/errors.ts';
import {
  INBOX_ORIGIN,
  signAck,
  signDrainRequest,
  verifyDepositReceipt,
  verifyDrain,
} from '../../src/inbox/client.ts';
import {
  type DrainResponse,
  encodeDepositReceipt,
  type InboxMessage,
  refundClaim,
} from '../../src/inbox/wire.ts';
import { outcomeAsync } from '../crypto/expect-code.ts';
import {
  ack,
  alice,
  bob,
  carol,
  deposit,
  drain,
  drainResponse,
  ed,
  eve,
  type Person,
  request,
  type StoreLocation,
  snapshot,
  T0,
  world,
} from './fixtures.ts';

const opened = (who: Person, m: InboxMessage): string =>
  utf8.decode(openSealed(x25519FromEd25519Seed(who.seed), m.ciphertext!));

export function inboxSuite(name: string, makeLocation: () => StoreLocation): void {
  describe(`inbox on ${name}: deposit, drain, acknowledge`, () => {
    it('delivers sealed boxes in order under the signed root, then deletes them and records the refunds', async () => {
      const w = await world(makeLocation());
      const reqs = [
        request(bob, 'first', { deposit: 10n }),
        request(bob, 'second'),
        request(bob, 'third', { deposit: 5n }),
      ];
      const receipts = [];
      for (const [i, r] of reqs.entries()) {
        const receipt = await deposit(w, r);
        expect(receipt.seq).toBe(i);
        expect(receipt.size).toBe(r.ciphertext.length);
        expect(receipt.expires).toBe(receipt.at + 3600);
        await verifyDepositReceipt(receipt, r, w.inbox.relay, ed); // the sender's check
        receipts.push(receipt);
      }
      expect(await w.inbox.status(bob.did)).toEqual({ height: 3, acked: 0, count: 3, bytes: sizes(reqs) });

      const drained = await drain(w, bob);
      expect(drained.delivered.map((m) => opened(bob, m))).toEqual(['first', 'second', 'third']);
      expect(drained.expired).toEqual([]);
      expect(drained.more).toBe(false);
      expect(drained.head.height).toBe(3);
      expect(toHex(drained.head.root)).toBe(toHex(receipts[2]!.root));

      const acked = await ack(w, bob, drained.head);
      expect(acked).toEqual({ height: 3, refunds: 2, refunded: 15n });
      expect(await w.store.list('inbox_messages')).toEqual([]);
      expect(await w.inbox.status(bob.did)).toEqual({ height: 3, acked: 3, count: 0, bytes: 0 });
      expect(await w.inbox.totals()).toEqual({ count: 0, bytes: 0, forfeited: 0n });

      const refunds = await w.inbox.refunds();
      expect(refunds.map((r) => [r.recipient, r.seq, r.amount])).toEqual([
        [bob.did, 0, 10n],
        [bob.did, 2, 5n],
      ]);
      expect(toHex(refunds[0]!.claim)).toBe(toHex(reqs[0]!.refund!));
      await w.inbox.settleRefunds(refunds.map((r) => r.id));
      await w.inbox.settleRefunds(refunds.map((r) => r.id)); // idempotent
      expect(await w.inbox.refunds()).toEqual([]);

      // The next drain starts where the acknowledgement left off, and continues the same history.
      await deposit(w, request(bob, 'fourth'));
      const next = await drain(w, bob, drained.head);
      expect(next.delivered.map((m) => [m.seq, opened(bob, m)])).toEqual([[3, 'fourth']]);
      await w.store.close();
    });

    it('keeps inboxes apart, and an empty drain is a valid one', async () => {
      const w = await world(makeLocation());
      await deposit(w, request(bob, 'for bob'));
      await deposit(w, request(carol, 'for carol'));
      expect((await drain(w, carol)).delivered.map((m) => opened(carol, m))).toEqual(['for carol']);
      const b = await drain(w, bob);
      await ack(w, bob, b.head);
      const empty = await drain(w, bob, b.head);
      expect(empty.delivered).toEqual([]);
      expect(empty.head).toEqual(b.head);
      expect(await outcomeAsync(() => w.inbox.challenge(alice.did))).toBe('E_NOT_FOUND');
      await w.store.close();
    });

    it('pages a long inbox; each page continues what the recipient acknowledged', async () => {
      const w = await world(makeLocation(), { maxDrainCount: 3 });
      const texts = Array.from({ length: 8 }, (_, i) => `message ${i}`);
      for (const t of texts) await deposit(w, request(bob, t));
      let acked = INBOX_ORIGIN;
      const seen: string[] = [];
      const pageSizes: number[] = [];
      for (;;) {
        const page = await drain(w, bob, acked, 10);
        pageSizes.push(page.delivered.length);
        seen.push(...page.delivered.map((m) => opened(bob, m)));
        await ack(w, bob, page.head);
        acked = page.head;
        if (!page.more) break;
      }
      expect(seen).toEqual(texts);
      expect(pageSizes).toEqual([3, 3, 2]);
      await w.store.close();
    });

    it('bounds a page by bytes, but always returns at least one message', async () => {
      const w = await world(makeLocation(), { maxDrainBytes: 100 });
      for (const t of ['a'.repeat(80), 'b'.repeat(10), 'c'.repeat(10)]) await deposit(w, request(bob, t));
      const first = await drain(w, bob);
      expect(first.delivered.length).toBe(1);
      expect(first.more).toBe(true);
      await w.store.close();
    });

    it('lets another device of the recipient continue from an acknowledgement it did not make', async () => {
      const w = await world(makeLocation());
      await deposit(w, request(bob, 'one'));
      const first = await drain(w, bob);
      await ack(w, bob, first.head);
      await deposit(w, request(bob, 'two'));
      // A second device that knows nothing yet: the relay shows Bob's own signed acknowledgement.
      const other = await drain(w, bob, INBOX_ORIGIN);
      expect(other.delivered.map((m) => opened(bob, m))).toEqual(['two']);
      await w.store.close();
    });
  });

  describe(`inbox on ${name}: idempotency`, () => {
    it('a retried deposit returns the first receipt and stores nothing new, also after a restart', async () => {
      let w = await world(makeLocation());
      const r = request(bob, 'once', { deposit: 3n });
      const first = await deposit(w, r);
      const before = await snapshot(w.store);
      w.clock.advance(5000);
      expect(await deposit(w, r)).toEqual(first);
      expect(await snapshot(w.store)).toEqual(before);
      w = await w.restart();
      expect(await deposit(w, { ...r, ciphertext: r.ciphertext.slice() })).toEqual(first);
      expect(await snapshot(w.store)).toEqual(before);
      expect((await w.inbox.status(bob.did))!.height).toBe(1);
      // Still the first receipt after the message was drained and acknowledged.
      const d = await drain(w, bob);
      await ack(w, bob, d.head);
      expect(encodeDepositReceipt(await deposit(w, r))).toEqual(encodeDepositReceipt(first));
      expect((await w.inbox.status(bob.did))!.height).toBe(1);
      await w.store.close();
    });

    it('refuses the same key for a different deposit, and scopes keys per recipient', async () => {
      const w = await world(makeLocation());
      const r = request(bob, 'original', { deposit: 2n });
      await deposit(w, r);
      const other = request(bob, 'another');
      for (const changed of [
        { ...r, ciphertext: other.ciphertext },
        { ...r, ttl: 7200 },
        { ...r, deposit: 3n },
        { ...r, refund: refundClaim(utf8.encode('some other refund secret')) },
      ])
        expect(await outcomeAsync(() => w.inbox.deposit(changed))).toBe('E_EXISTS');
      const toCarol = request(carol, 'original', { idempotencyKey: r.idempotencyKey });
      expect((await deposit(w, toCarol)).seq).toBe(0);
      expect((await w.inbox.status(bob.did))!.height).toBe(1);
      await w.store.close();
    });
  });

  describe(`inbox on ${name}: quotas`, () => {
    it('refuses past the per-recipient message count, and has room again once acknowledged', async () => {
      const w = await world(makeLocation(), { perRecipient: { maxCount: 2, maxBytes: 1 << 20 } });
      await deposit(w, request(bob, '1'));
      await deposit(w, request(bob, '2'));
      const before = await snapshot(w.store);
      expect(await outcomeAsync(() => w.inbox.deposit(request(bob, '3')))).toBe('E_QUOTA');
      expect(await snapshot(w.store)).toEqual(before);
      await deposit(w, request(carol, 'carol has her own quota'));
      await ack(w, bob, (await drain(w, bob)).head);
      await deposit(w, request(bob, '3'));
      await w.store.close();
    });

    it('refuses past the per-recipient bytes', async () => {
      const probe = request(bob, 'x'.repeat(100)).ciphertext.length;
      const w = await world(makeLocation(), { perRecipient: { maxCount: 100, maxBytes: 2 * probe + 60 } });
      await deposit(w, request(bob, 'x'.repeat(100)));
      await deposit(w, request(bob, 'x'.repeat(100)));
      expect(await outcomeAsync(() => w.inbox.deposit(request(bob, 'x'.repeat(100))))).toBe('E_QUOTA');
      await deposit(w, request(bob, 'x')); // a small one still fits
      await w.store.close();
    });

    it('refuses past the relay-wide count and bytes', async () => {
      const byCount = await world(makeLocation(), { total: { maxCount: 3, maxBytes: 1 << 20 } });
      for (const who of [bob, carol, alice]) await deposit(byCount, request(who, 'hi'));
      expect(await outcomeAsync(() => byCount.inbox.deposit(request(eve, 'hi')))).toBe('E_QUOTA');
      expect(await byCount.inbox.totals()).toMatchObject({ count: 3 });
      await byCount.store.close();

      const size = request(bob, 'y'.repeat(50)).ciphertext.length;
      const byBytes = await world(makeLocation(), { total: { maxCount: 100, maxBytes: 2 * size } });
      await deposit(byBytes, request(bob, 'y'.repeat(50)));
      await deposit(byBytes, request(carol, 'y'.repeat(50)));
      expect(await outcomeAsync(() => byBytes.inbox.deposit(request(alice, 'y')))).toBe('E_QUOTA');
      await byBytes.store.close();
    });

    it("refuses messages over the relay's size, TTL over its maximum, deposits under its minimum", async () => {
      const w = await world(makeLocation(), { maxMessageBytes: 200, maxTtlSeconds: 60, minDeposit: 2n });
      expect(await outcomeAsync(() => w.inbox.deposit(request(bob, 'z'.repeat(300), { deposit: 2n })))).toBe(
        'E_INVALID',
      );
      expect(await outcomeAsync(() => w.inbox.deposit(request(bob, 'z', { deposit: 2n, ttl: 61 })))).toBe(
        'E_INVALID',
      );
      expect(await outcomeAsync(() => w.inbox.deposit(request(bob, 'z', { deposit: 1n })))).toBe('E_INVALID');
      expect(await w.inbox.status(bob.did)).toBeUndefined();
      await deposit(w, request(bob, 'z', { deposit: 2n, ttl: 60 }));
      await w.store.close();
    });
  });

  describe(`inbox on ${name}: group commit`, () => {
    it('writes concurrent deposits in few transactions, each checked against those before it', async () => {
      const w = await world(makeLocation(), { perRecipient: { maxCount: 5, maxBytes: 1 << 20 } });
      let transactions = 0;
      const transact = w.store.transact.bind(w.store);
      w.store.transact = (writes) => {
        transactions++;
        return transact(writes);
      };
      const twice = request(bob, 'the same twice');
      const outcomes = await Promise.all(
        [
          w.inbox.deposit(twice),
          w.inbox.deposit(twice),
          ...Array.from({ length: 8 }, (_, i) => w.inbox.deposit(request(bob, `m${i}`))),
        ].map((p) =>
          p.then(
            (r) => r.seq,
            (e: DreggError) => e.code,
          ),
        ),
      );
      expect(outcomes[0]).toBe(0);
      expect(outcomes[1]).toBe(0); // a retry inside the same group is the same deposit
      expect(outcomes.slice(2)).toEqual([1, 2, 3, 4, 'E_QUOTA', 'E_QUOTA', 'E_QUOTA', 'E_QUOTA']);
      expect(transactions).toBeLessThanOrEqual(2);
      expect((await w.inbox.status(bob.did))?.count).toBe(5);
      await w.store.close();
    });
  });

  describe(`inbox on ${name}: paid deposits`, () => {
    const paying = (id: number, charges: number[], fail = false) => ({
      id: new Uint8Array(32).fill(id),
      until: 10_000_000_000,
      charge: async () => {
        charges.push(id);
        if (fail) throw new DreggError('E_STALE', 'the notary refused the payment');
      },
    });

    it('charges a new deposit once, never a retry, and binds one payment to one deposit', async () => {
      const w = await world(makeLocation());
      const charges: number[] = [];
      const first = request(bob, 'paid', { deposit: 3n });
      const receipt = await w.inbox.deposit(first, paying(1, charges));
      expect(await w.inbox.deposit(first, paying(1, charges))).toEqual(receipt);
      expect(charges).toEqual([1]);
      const other = request(bob, 'other', { deposit: 3n });
      expect(await outcomeAsync(() => w.inbox.deposit(other, paying(1, charges)))).toBe('E_EXISTS');
      expect(charges).toEqual([1]);
      expect((await w.inbox.status(bob.did))?.count).toBe(1);
      await w.store.close();
    });

    it('forgets a payment once it lapses (the notary refuses a lapsed payment turn anyway)', async () => {
      const w = await world(makeLocation());
      const charges: number[] = [];
      const lapsing = { ...paying(5, charges), until: T0 + 30 };
      await w.inbox.deposit(request(bob, 'first', { deposit: 3n, ttl: 10 }), lapsing);
      expect(await outcomeAsync(() => w.inbox.deposit(request(bob, 'again', { deposit: 3n }), lapsing))).toBe(
        'E_EXISTS',
      );
      w.clock.advance(31_000);
      expect(await w.inbox.purgeExpired()).toBeGreaterThan(0);
      await w.inbox.deposit(request(bob, 'later', { deposit: 3n }), lapsing);
      expect(charges).toEqual([5, 5]);
      await w.store.close();
    });

    it('stores nothing when the charge fails, and charges nothing over a quota', async () => {
      const w = await world(makeLocation(), { perRecipient: { maxCount: 1, maxBytes: 1 << 20 } });
      const charges: number[] = [];
      const r = request(bob, 'unpaid', { deposit: 3n });
      expect(await outcomeAsync(() => w.inbox.deposit(r, paying(2, charges, true)))).toBe('E_STALE');
      expect(await w.inbox.status(bob.did)).toBeUndefined();
      await w.inbox.deposit(r, paying(3, charges));
      expect(
        await outcomeAsync(() => w.inbox.deposit(request(bob, 'full', { deposit: 3n }), paying(4, charges))),
      ).toBe('E_QUOTA');
      expect(charges).toEqual([2, 3]);
      await w.store.close();
    });
  });

  describe(`inbox on ${name}: expiry`, () => {
    it('withholds expired payloads, keeps their places, forfeits their deposits', async () => {
      const w = await world(makeLocation());
      const short = request(bob, 'short-lived', { ttl: 60, deposit: 4n });
      const long = request(bob, 'long-lived', { ttl: 3600, deposit: 6n });
      await deposit(w, short);
      await deposit(w, long);
      w.clock.advance(61_000);

      // Expired but not yet purged: a drain already withholds it.
      const early = await drain(w, bob);
      expect(early.expired.map((m) => m.seq)).toEqual([0]);
      expect(early.delivered.map((m) => opened(bob, m))).toEqual(['long-lived']);

      expect(await w.inbox.purgeExpired()).toBe(2); // the payload and the idempotency record
      const [stored] = await w.store.list('inbox_messages');
      const record = decodeCbor(stored!.value);
      expect(isCborMap(record) && 'ct' in record).toBe(false);
      expect(await w.inbox.totals()).toEqual({ count: 2, bytes: long.ciphertext.length, forfeited: 4n });

      // After the purge the history still checks, to the same root.
      const later = await drain(w, bob);
      expect(later.expired.map((m) => m.seq)).toEqual([0]);
      expect(later.head).toEqual(early.head);
      expect(await ack(w, bob, later.head)).toEqual({ height: 2, refunds: 1, refunded: 6n });
      expect(await w.inbox.totals()).toEqual({ count: 0, bytes: 0, forfeited: 4n });
      await w.store.close();
    });

    it('forfeits a message acknowledged after its expiry even if it was never purged', async () => {
      const w = await world(makeLocation());
      await deposit(w, request(bob, 'late', { ttl: 10, deposit: 9n }));
      const d = await drain(w, bob);
      w.clock.advance(11_000);
      expect(await ack(w, bob, d.head)).toEqual({ height: 1, refunds: 0, refunded: 0n });
      expect(await w.inbox.totals()).toEqual({ count: 0, bytes: 0, forfeited: 9n });
      expect(await w.store.list('inbox_expiry')).toHaveLength(1); // the idempotency record's, until it lapses
      await w.store.close();
    });

    it('a deposit purges expired payloads before it checks the byte quota; places count until acknowledged', async () => {
      const size = request(bob, 'p'.repeat(40)).ciphertext.length;
      const w = await world(makeLocation(), { perRecipient: { maxCount: 2, maxBytes: size } });
      await deposit(w, request(bob, 'p'.repeat(40), { ttl: 10 }));
      expect(await outcomeAsync(() => w.inbox.deposit(request(bob, 'q'.repeat(40))))).toBe('E_QUOTA');
      w.clock.advance(11_000);
      await deposit(w, request(bob, 'q'.repeat(40)));
      expect(await w.inbox.status(bob.did)).toEqual({ height: 2, acked: 0, count: 2, bytes: size });
      expect(await outcomeAsync(() => w.inbox.deposit(request(bob, 'r')))).toBe('E_QUOTA');
      await w.store.close();
    });

    it('after its expiry an idempotency key is free again: the same request is a new deposit', async () => {
      const w = await world(makeLocation());
      const r = request(bob, 'again', { ttl: 10 });
      expect((await deposit(w, r)).seq).toBe(0);
      w.clock.advance(10_000);
      expect((await deposit(w, r)).seq).toBe(1);
      expect(await deposit(w, r)).toMatchObject({ seq: 1 });
      w.clock.advance(10_000);
      // The first deposit's entries were purged by the second deposit; the second's go now.
      expect(await w.inbox.purgeExpired(100)).toBe(2);
      expect(await w.store.list('inbox_idempotency')).toEqual([]);
      await w.store.close();
    });
  });

  describe(`inbox on ${name}: the drain challenge`, () => {
    it('is refused when signed by another key, and is used up by the attempt', async () => {
      const w = await world(makeLocation());
      await deposit(w, request(bob, 'secret'));
      const c = await w.inbox.challenge(bob.did);
      const forged = await signDrainRequest(c, eve.seed, ed);
      expect(await outcomeAsync(() => w.inbox.drain(forged))).toBe('E_BAD_SIGNATURE');
      expect(await outcomeAsync(async () => w.inbox.drain(await signDrainRequest(c, bob.seed, ed)))).toBe(
        'E_STALE',
      );
      await w.store.close();
    });

    it('is single-use', async () => {
      const w = await world(makeLocation());
      await deposit(w, request(bob, 'once'));
      const req = await signDrainRequest(await w.inbox.challenge(bob.did), bob.seed, ed);
      expect((await w.inbox.drain(req)).messages).toHaveLength(1);
      expect(await outcomeAsync(() => w.inbox.drain(req))).toBe('E_STALE');
      await w.store.close();
    });

    it('expires', async () => {
      const w = await world(makeLocation(), { challengeTtlSeconds: 30 });
      await deposit(w, request(bob, 'soon'));
      const req = await signDrainRequest(await w.inbox.challenge(bob.did), bob.seed, ed);
      w.clock.advance(30_000);
      expect(await outcomeAsync(() => w.inbox.drain(req))).toBe('E_EXPIRED');
      expect(await outcomeAsync(() => w.inbox.drain(req))).toBe('E_STALE');
      await w.store.close();
    });

    it('binds the relay, the recipient, the nonce and the height', async () => {
      const w = await world(makeLocation());
      await deposit(w, request(bob, 'x'));
      await deposit(w, request(carol, 'x'));
      const c = await w.inbox.challenge(bob.did);
      for (const changed of [
        { ...c, relay: eve.did },
        { ...c, height: c.height + 1 },
        { ...c, expires: c.expires + 1 },
      ]) {
        const fresh = await w.inbox.challenge(bob.did);
        const req = await signDrainRequest({ ...changed, nonce: fresh.nonce }, bob.seed, ed);
        expect(await outcomeAsync(() => w.inbox.drain(req))).toBe('E_BAD_SIGNATURE');
      }
      // Bob's challenge presented for Carol's inbox, signed by Carol: the relay issued no such thing.
      const crossed = await signDrainRequest({ ...c, recipient: carol.did }, carol.seed, ed);
      expect(await outcomeAsync(() => w.inbox.drain(crossed))).toBe('E_STALE');
      expect((await w.inbox.drain(await signDrainRequest(c, bob.seed, ed))).messages).toHaveLength(1);
      await w.store.close();
    });

    it('keeps a bounded number outstanding per recipient, dropping the oldest', async () => {
      const w = await world(makeLocation(), { maxChallenges: 3 });
      await deposit(w, request(bob, 'x'));
      const issued = [];
      for (let i = 0; i < 4; i++) {
        issued.push(await w.inbox.challenge(bob.did));
        w.clock.advance(1000);
      }
      expect(await w.store.list('inbox_challenges')).toHaveLength(3);
      const oldest = await signDrainRequest(issued[0]!, bob.seed, ed);
      expect(await outcomeAsync(() => w.inbox.drain(oldest))).toBe('E_STALE');
      expect((await w.inbox.drain(await signDrainRequest(issued[3]!, bob.seed, ed))).messages).toHaveLength(
        1,
      );
      await w.store.close();
    });
  });

  describe(`inbox on ${name}: acknowledgements`, () => {
    it('refuses a wrong root, a wrong signer, another relay, a height past the end; a repeat is a no-op', async () => {
      const w = await world(makeLocation());
      await deposit(w, request(bob, 'one', { deposit: 1n }));
      await deposit(w, request(bob, 'two'));
      const d = await drain(w, bob);
      const wrongRoot = { height: 2, root: d.head.root.map((x) => x ^ 1) };
      expect(await outcomeAsync(() => ack(w, bob, wrongRoot))).toBe('E_INVALID');
      expect(await outcomeAsync(() => ack(w, bob, { ...d.head, height: 1 }))).toBe('E_INVALID');
      expect(await outcomeAsync(() => ack(w, bob, { ...d.head, height: 3 }))).toBe('E_INVALID');
      const byEve = { ...(await signAck(w.inbox.relay, eve.did, d.head, eve.seed, ed)), recipient: bob.did };
      expect(await outcomeAsync(() => w.inbox.ack(byEve))).toBe('E_BAD_SIGNATURE');
      const elsewhere = await signAck(eve.did, bob.did, d.head, bob.seed, ed);
      expect(await outcomeAsync(() => w.inbox.ack({ ...elsewhere }))).toBe('E_BAD_SIGNATURE');
      expect((await w.inbox.status(bob.did))!.acked).toBe(0);
      expect(await ack(w, bob, d.head)).toEqual({ height: 2, refunds: 1, refunded: 1n });
      const after = await snapshot(w.store);
      expect(await ack(w, bob, d.head)).toEqual({ height: 2, refunds: 0, refunded: 0n });
      expect(await snapshot(w.store)).toEqual(after);
      expect(await outcomeAsync(() => ack(w, carol, d.head))).toBe('E_NOT_FOUND');
      await w.store.close();
    });
  });

  describe(`inbox on ${name}: the recipient catches a dishonest relay`, () => {
    async function genuine(): Promise<{ res: DrainResponse; check: (r: DrainResponse) => Promise<string> }> {
      const w = await world(makeLocation());
      for (const t of ['m0', 'm1', 'm2', 'm3']) await deposit(w, request(bob, t, { ttl: 600 }));
      const res = await drainResponse(w, bob);
      await w.store.close();
      const check = (r: DrainResponse) =>
        outcomeAsync(() =>
          verifyDrain(r, { ed, relay: w.inbox.relay, recipient: bob.did, acked: INBOX_ORIGIN }),
        );
      expect(await check(res)).toBe('OK');
      return { res, check };
    }

    it('a dropped, swapped, duplicated or substituted message fails the signed root', async () => {
      const { res, check } = await genuine();
      const ms = res.messages;
      const renumber = (list: InboxMessage[]) => list.map((m, i) => ({ ...m, seq: i }));
      expect(await check({ ...res, messages: ms.slice(0, 3) })).toBe('E_INVALID');
      expect(await check({ ...res, messages: renumber([ms[0]!, ms[2]!, ms[3]!]) })).toBe('E_INVALID');
      expect(await check({ ...res, messages: [ms[0]!, ms[2]!, ms[1]!, ms[3]!] })).toBe('E_INVALID');
      expect(await check({ ...res, messages: renumber([ms[1]!, ms[0]!, ms[2]!, ms[3]!]) })).toBe('E_INVALID');
      expect(await check({ ...res, messages: renumber([ms[0]!, ms[0]!, ms[2]!, ms[3]!]) })).toBe('E_INVALID');
      const other = request(bob, 'm9').ciphertext;
      expect(
        await check({ ...res, messages: ms.map((m, i) => (i === 1 ? { ...m, ciphertext: other } : m)) }),
      ).toBe('E_INVALID');
    });

    it('withholding a payload before its expiry, a forged head, another inbox, a rollback are all refused', async () => {
      const { res, check } = await genuine();
      const { ciphertext: _, ...stub } = res.messages[2]!;
      expect(await check({ ...res, messages: res.messages.map((m, i) => (i === 2 ? stub : m)) })).toBe(
        'E_INVALID',
      );
      expect(await check({ ...res, head: { ...res.head, height: 3 } })).toBe('E_BAD_SIGNATURE');
      expect(await check({ ...res, head: { ...res.head, root: res.head.root.map((x) => x ^ 1) } })).toBe(
        'E_BAD_SIGNATURE',
      );
      expect(await check({ ...res, head: { ...res.head, recipient: carol.did } })).toBe('E_INVALID');
      const rolledBack = await outcomeAsync(() =>
        verifyDrain(res, {
          ed,
          relay: res.head.relay,
          recipient: bob.did,
          acked: { height: 1, root: res.head.root },
        }),
      );
      expect(rolledBack).toBe('E_INVALID');
      // Starting past what Bob acknowledged, with no acknowledgement of Bob's to show for it.
      const skipped = { ...res, base: { count: 1, peaks: [res.head.root] }, messages: res.messages.slice(1) };
      expect(await check(skipped)).toBe('E_INVALID');
    });
  });
}

function sizes(reqs: { ciphertext: Uint8Array }[]): number {
  return reqs.reduce((n, r) => n + r.ciphertext.length, 0);
}

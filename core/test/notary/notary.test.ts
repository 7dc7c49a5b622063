import { afterAll, describe, expect, it } from 'vitest';
import { encodeCell } from '../../src/cells/cell.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import {
  decodeInclusion,
  encodeInclusion,
  type Inclusion,
  signAttestedRoot,
  verifyAttestedRoot,
  verifyReceiptInclusion,
} from '../../src/notary/index.ts';
import type { Store } from '../../src/store/store.ts';
import { encodeReceipt } from '../../src/turns/receipt.ts';
import { cellKey } from '../../src/turns/state.ts';
import { turnHashHex } from '../../src/turns/turn.ts';
import { codeOf } from '../caps/fixtures.ts';
import { bench, openStore, tempDir } from './fixtures.ts';

const dir = tempDir();
afterAll(() => dir.remove());
let files = 0;
const fresh = () => openStore(dir.path(`n${files++}.sqlite`));

describe('ordering', () => {
  it('gives issues and turns consecutive log positions in the order they were applied', async () => {
    const b = await bench(await fresh());
    const [alice, bob, carol] = b.people;
    expect(b.notary.height()).toBe(3);
    const turns = [await b.transfer(alice, bob, 5n), await b.transfer(bob, carol, 7n)];
    const seqs = [];
    for (const t of turns) seqs.push((await b.notary.submit(t)).seq);
    seqs.push((await b.notary.submit(await b.transfer(alice, carol, 1n))).seq);
    expect(seqs).toEqual([3, 4, 5]);
    const events = await b.notary.events(0, 100);
    expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(events.map((e) => e.kind)).toEqual(['issue', 'issue', 'issue', 'turn', 'turn', 'turn']);
    expect(toHex(events[3]!.key)).toBe(turnHashHex(turns[0]!));
    expect(events.slice(0, 3).map((e) => e.issued)).toEqual([1000n, 1000n, 1000n]);
    expect(b.notary.latestRoot().height).toBe(6);
    expect(await b.notary.events(4, 1)).toEqual([events[4]]);
    expect(b.notary.cell(carol.cell)!.balance).toBe(1008n);
  });
});

describe('idempotency', () => {
  it('answers a turn submitted again with the same seq and receipt, and logs it once', async () => {
    const b = await bench(await fresh());
    const [alice, bob] = b.people;
    const t = await b.transfer(alice, bob, 3n);
    const first = await b.notary.submit(t);
    const again = await b.notary.submit({ ...t, signature: t.signature.slice() });
    expect(first.duplicate).toBe(false);
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
    expect(encodeReceipt(again.receipt)).toEqual(encodeReceipt(first.receipt));
    expect(b.notary.height()).toBe(first.seq + 1);
    expect(b.notary.cell(bob.cell)!.balance).toBe(1003n);
  });

  it('orders a turn submitted several times at once exactly once', async () => {
    const b = await bench(await fresh(), { batch: { maxDelayMs: 5 } });
    const [alice, bob] = b.people;
    const t = await b.transfer(alice, bob, 3n);
    const answers = await Promise.all([0, 1, 2].map(() => b.notary.submit({ ...t })));
    expect(answers.filter((a) => !a.duplicate)).toHaveLength(1);
    expect(new Set(answers.map((a) => a.seq)).size).toBe(1);
    expect(b.notary.height()).toBe(4);
    expect(b.notary.cell(bob.cell)!.balance).toBe(1003n);
  });

  it('remembers what it ordered across a restart', async () => {
    const path = dir.path('restart.sqlite');
    const store = await openStore(path);
    const b = await bench(store);
    const [alice, bob] = b.people;
    const t = await b.transfer(alice, bob, 3n);
    const first = await b.notary.submit(t);
    const root = b.notary.latestRoot();
    await b.notary.close();
    await store.close();
    const reopened = await openStore(path);
    const c = await bench(reopened);
    expect(c.notary.latestRoot()).toEqual(root);
    const again = await c.notary.submit(t);
    expect(again).toEqual({ ...first, duplicate: true });
    expect(c.notary.height()).toBe(4);
    // Genesis again with the same request is the same issue; with another balance, a clash.
    expect(await c.notary.genesis(alice.did, alice.salt, 1000n)).toEqual(c.notary.cell(alice.cell));
    expect(await codeOf(c.notary.genesis(alice.did, alice.salt, 5n))).toBe('E_EXISTS');
    expect(c.notary.height()).toBe(4);
    await reopened.close();
  });
});

describe('a cell that changes hands', () => {
  it('keeps its id through a restart, and is not re-opened for its first owner (E_EXISTS)', async () => {
    const path = dir.path(`n${files++}.sqlite`);
    const store = await openStore(path);
    const b = await bench(store);
    const [alice, bob] = b.people;
    const salt = '5a'.repeat(32);
    const entry = await b.notary.genesis(alice.did, salt, 10n);
    await b.notary.submit(await b.turn(alice, [{ type: 'set-permissions', cell: entry.id, owner: bob.did }]));
    expect(b.notary.cell(entry.id)!.owner).toBe(bob.did);
    const height = b.notary.height();
    expect(await codeOf(b.notary.genesis(alice.did, salt, 10n))).toBe('E_EXISTS');
    expect(b.notary.height()).toBe(height);
    await b.notary.close();
    await store.close();
    const reopened = await openStore(path);
    const c = await bench(reopened);
    expect(c.notary.cell(entry.id)).toMatchObject({ id: entry.id, owner: bob.did });
    expect(await codeOf(c.notary.genesis(alice.did, salt, 10n))).toBe('E_EXISTS');
    await c.notary.close();
    await reopened.close();
  });
});

describe('refusals', () => {
  it('lets one of two spends of the same cell state win and refuses the other as stale', async () => {
    const b = await bench(await fresh(), { batch: { maxDelayMs: 5 } });
    const [alice, bob, carol] = b.people;
    const toBob = await b.transfer(alice, bob, 600n);
    const toCarol = await b.transfer(alice, carol, 600n);
    const out = await Promise.allSettled([b.notary.submit(toBob), b.notary.submit(toCarol)]);
    expect(out.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const lost = out.find((o) => o.status === 'rejected');
    expect((lost as PromiseRejectedResult).reason.code).toBe('E_STALE');
    expect(b.notary.cell(bob.cell)!.balance + b.notary.cell(carol.cell)!.balance).toBe(2600n);
    expect(b.notary.height()).toBe(4);
  });

  it('refuses a replayed nonce, even under a new signature and the current head', async () => {
    const b = await bench(await fresh());
    const [alice, bob] = b.people;
    await b.notary.submit(await b.transfer(alice, bob, 1n));
    const replay = await b.transfer(alice, bob, 1n, { nonce: 0 });
    expect(await codeOf(b.notary.submit(replay))).toBe('E_STALE');
    expect(b.notary.height()).toBe(4);
    const forged = await b.transfer(alice, bob, 1n);
    expect(await codeOf(b.notary.submit({ ...forged, signature: new Uint8Array(64) }))).toBe(
      'E_BAD_SIGNATURE',
    );
    expect(await codeOf(b.notary.inclusion(turnHashHex(replay)))).toBe('E_NOT_FOUND');
  });

  it('rejects a refused turn alone: the rest of its batch is ordered', async () => {
    const b = await bench(await fresh(), { batch: { maxDelayMs: 20 } });
    const [alice, bob, carol] = b.people;
    const turns = [
      await b.transfer(alice, bob, 10n),
      await b.transfer(bob, carol, 5000n),
      await b.transfer(carol, alice, 10n),
    ];
    const out = await Promise.allSettled(turns.map((t) => b.notary.submit(t)));
    expect(out.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((out[1] as PromiseRejectedResult).reason.code).toBe('E_INSUFFICIENT');
    const seqs = out.flatMap((o) => (o.status === 'fulfilled' ? [o.value.seq] : []));
    // Concurrent submissions are ordered as their signature checks finish: the two seqs, either way.
    expect(seqs.sort()).toEqual([3, 4]);
    expect(b.notary.height()).toBe(5);
    expect((await b.notary.audit()).delta).toBe(0n);
  });

  it('audits a log longer than one audit page (10,000 events), page by page', async () => {
    const b = await bench(await fresh());
    const [alice] = b.people;
    const salts = Array.from(
      { length: 10_050 },
      (_, i) => toHex(new Uint8Array(32).fill(7)).slice(8) + i.toString(16).padStart(8, '0'),
    );
    await Promise.all(salts.map((salt) => b.notary.genesis(alice.did, salt, 2n)));
    const audit = await b.notary.audit();
    expect(audit.height).toBe(3 + salts.length);
    expect(audit.issued).toBe(3000n + 2n * BigInt(salts.length));
    expect(audit.delta).toBe(0n);
  }, 120_000);

  it('rejects a whole batch with E_IO when its transaction fails, leaving everything as it was', async () => {
    const inner = await fresh();
    let failNext = false;
    const store: Store = {
      ...inner,
      collections: inner.collections,
      get: inner.get.bind(inner),
      list: inner.list.bind(inner),
      close: inner.close.bind(inner),
      async transact(writes) {
        if (failNext) {
          failNext = false;
          throw new Error('disk full');
        }
        return inner.transact(writes);
      },
    };
    // A long window, so that both turns are in the one batch whose transaction fails.
    const b = await bench(store, { batch: { maxDelayMs: 300 } });
    const [alice, bob, carol] = b.people;
    const cells = () => b.people.map((p) => toHex(encodeCell(b.notary.cell(p.cell)!)));
    const before = {
      cells: cells(),
      root: b.notary.latestRoot(),
      heads: b.people.map((p) => b.notary.head(p.did)),
    };
    const turns = [await b.transfer(alice, bob, 10n), await b.transfer(carol, alice, 10n)];
    failNext = true;
    const out = await Promise.allSettled(turns.map((t) => b.notary.submit(t)));
    expect(out.map((o) => o.status === 'rejected' && (o.reason as { code: string }).code)).toEqual([
      'E_IO',
      'E_IO',
    ]);
    expect({
      cells: cells(),
      root: b.notary.latestRoot(),
      heads: b.people.map((p) => b.notary.head(p.did)),
    }).toEqual(before);
    const again = await Promise.all(turns.map((t) => b.notary.submit(t)));
    expect(again.map((a) => a.seq).sort()).toEqual([3, 4]);
    expect(again.map((a) => a.duplicate)).toEqual([false, false]);
    expect((await b.notary.audit()).delta).toBe(0n);
  });
});

describe('attested roots and inclusion', () => {
  it('signs each root and proves every receipt under the latest one; tampering fails', async () => {
    const b = await bench(await fresh());
    const [alice, bob, carol] = b.people;
    const done = [];
    for (let i = 0; i < 6; i++) {
      const [from, to] = [b.people[i % 3]!, b.people[(i + 1) % 3]!];
      done.push(await b.notary.submit(await b.transfer(from, to, BigInt(i + 1))));
    }
    const root = b.notary.latestRoot();
    expect(await verifyAttestedRoot(root, b.ed)).toBe(true);
    expect(root.height).toBe(9);
    expect(root.supply).toEqual({ issued: 3000n, destroyed: 0n });
    for (const d of done) {
      const inclusion = decodeInclusion(encodeInclusion(await b.notary.inclusion(d.receipt.turn)));
      expect(inclusion.root).toEqual(root);
      expect(inclusion.event.seq).toBe(d.seq);
      expect(verifyReceiptInclusion(d.receipt, inclusion)).toBe(true);
    }
    const inc: Inclusion = await b.notary.inclusion(done[2]!.receipt.turn);
    const flip = (x: Uint8Array) => {
      const y = x.slice();
      y[0]! ^= 1;
      return y;
    };
    expect(verifyReceiptInclusion(done[3]!.receipt, inc)).toBe(false);
    expect(verifyReceiptInclusion({ ...done[2]!.receipt, fee: 1n }, inc)).toBe(false);
    expect(verifyReceiptInclusion(done[2]!.receipt, { ...inc, event: { ...inc.event, issued: 1n } })).toBe(
      false,
    );
    const siblings = [...inc.proof.siblings];
    siblings[0] = flip(siblings[0]!);
    expect(verifyReceiptInclusion(done[2]!.receipt, { ...inc, proof: { ...inc.proof, siblings } })).toBe(
      false,
    );
    expect(
      verifyReceiptInclusion(done[2]!.receipt, { ...inc, root: { ...root, logRoot: flip(root.logRoot) } }),
    ).toBe(false);
    expect(verifyReceiptInclusion(done[2]!.receipt, { ...inc, root: { ...root, height: 10 } })).toBe(false);
    for (const tampered of [
      { ...root, height: root.height + 1 },
      { ...root, ledgerRoot: flip(root.ledgerRoot) },
      { ...root, supply: { issued: 3001n, destroyed: 0n } },
      { ...root, signature: flip(root.signature) },
      { ...root, relay: alice.did },
      await signAttestedRoot(root, carol.seed, b.ed),
    ])
      expect(await verifyAttestedRoot(tampered, b.ed)).toBe(false);
    expect(bob).toBeDefined();
  });
});

describe('supply audit', () => {
  it('balances after issues, transfers, burns and fees, and catches a forged ledger record', async () => {
    const path = dir.path('forged.sqlite');
    const store = await openStore(path);
    const b = await bench(store);
    const [alice, bob, carol] = b.people;
    await b.notary.submit(await b.transfer(alice, bob, 100n));
    await b.notary.submit(await b.turn(bob, [{ type: 'burn', cell: bob.cell, amount: 40n }]));
    await b.notary.submit(await b.transfer(carol, alice, 1n, { fee: 3n }));
    const audit = await b.notary.audit();
    expect(audit).toEqual({
      issued: 3000n,
      destroyed: 43n,
      transit: 0n,
      shielded: 0n,
      circulating: 2957n,
      delta: 0n,
      height: 6,
      ledgerRootMatches: true,
      assets: new Map(), // no wrapped asset was ever minted here
    });
    await b.notary.close();
    // Someone with the disk adds 5 computrons to Bob's cell, outside any turn.
    const cell = b.notary.cell(bob.cell)!;
    await store.transact([
      {
        op: 'put',
        collection: 'ledger',
        key: cellKey(bob.cell),
        value: encodeCell({ ...cell, balance: cell.balance + 5n }),
      },
    ]);
    const c = await bench(store);
    const forged = await c.notary.audit();
    expect(forged.delta).toBe(-5n);
    expect(forged.ledgerRootMatches).toBe(false);
    await store.close();
  });
});

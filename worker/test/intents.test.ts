/**
 * Ring trades from the wallet: three light nodes (fake IndexedDB, the real client) and a real relay
 * in this process (SQLite, libp2p over loopback WebSocket). Each posts an intent signed in the node;
 * the relay finds the 3-ring; each approves from a cell of its own; the watchers reveal; everyone
 * sees it settled and balances move as the intents said. A participant who never approves leaves
 * everyone refunded at the cutoff. A name bought in a ring: its entry cell leaves the seller's cells
 * and joins the buyer's, who sets its records. Withdrawal, form refusals, and the solver run locally.
 */
import { ed25519PublicKey, nobleEd25519, signAttestation, signTurn, toHex } from '@cipherclerk/core';
import { intentClient, signIntent } from '@cipherclerk/core/intents';
import { connectRelay } from '@cipherclerk/core/net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Relay } from '../../core/src/node/relay/relay.ts';
import { codeOf } from '../../core/test/caps/fixtures.ts';
import { until } from '../../core/test/intents/fixtures.ts';
import { person as keys, tempHome, testRelay } from '../../core/test/relay/fixtures.ts';
import { balance, form, nameSale, ringOf, type Trader, trader } from './trade-fixtures.ts';

/** Storage of more byte-seconds than a budget caveat holds: found by the solver, not settleable. */
const HUGE = { bytes: 1_000_000_000, seconds: 100_000_000 };
/** The bridged federation whose mints this relay wraps as `w-gold`. */
const AWAY = keys(88);
/** Seconds a ring has to settle: short, so the no-show case ends quickly. */
const RING_SECONDS = 6;

let home: ReturnType<typeof tempHome>;
let relay: Relay;
let ws: string[];

beforeAll(async () => {
  home = tempHome();
  relay = await testRelay(home.dir, {
    intents: {
      zones: ['market', 'noshow', 'local', 'names', 'gold'],
      ringSeconds: RING_SECONDS,
      solveDelayMs: 20,
    },
    bridges: {
      federations: new Map([['away', ed25519PublicKey(AWAY.seed)]]),
      wrapped: new Map([['away', 'w-gold']]),
    },
  });
  ws = relay.multiaddrs.filter((m) => m.includes('/ws/'));
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  home?.remove();
});

async function mintGold(t: Trader, amount: bigint): Promise<void> {
  const relayer = keys(89);
  const client = await connectRelay(ws);
  try {
    const cell = await client.openCell(relayer.did, toHex(new Uint8Array(32).fill(89)));
    const lock = toHex(crypto.getRandomValues(new Uint8Array(16)));
    const expires = Math.floor(Date.now() / 1000) + 7200;
    const attestation = await signAttestation(
      { kind: 'locked', from: 'away', to: client.info.ledger, lock, amount, recipient: t.did, expires },
      AWAY.seed,
      nobleEd25519,
    );
    const head = await client.head(relayer.did);
    await client.submitTurn(
      await signTurn(
        {
          ledger: client.info.ledger,
          agent: relayer.did,
          cell: cell.id,
          nonce: (await client.cell(cell.id))!.nonce,
          prev: head.prev,
          effects: [
            { type: 'bridge-mint', federation: 'away', lock, amount, to: t.cell, expires, attestation },
          ],
          fee: 0n,
          validUntil: expires,
        },
        relayer.seed,
        nobleEd25519,
      ),
    );
  } finally {
    await client.close();
  }
}
describe('ring trades from the wallet', () => {
  it('three wallets post a 3-ring, each approves, all see it settled and their balances move as promised', async () => {
    const [a, b, c] = [await trader(ws), await trader(ws), await trader(ws)];
    const before = await Promise.all([a, b, c].map(balance));
    const posted = await a.node.postIntent(form('market', 10, 30));
    expect(posted).toMatchObject({
      zone: 'market',
      by: a.did,
      offers: ['10 computrons'],
      wants: ['30 computrons'],
    });
    expect((await a.node.trades('market')).open.map((i) => i.id)).toEqual([posted.id]);
    await b.node.postIntent(form('market', 20, 10));
    await c.node.postIntent(form('market', 30, 20));

    const seen = await ringOf(a, 'market');
    expect(seen).toMatchObject({
      phase: 'committing',
      participants: 3,
      myIntent: posted.id,
      pays: '10 computrons',
      paysTo: b.did,
      receives: '30 computrons',
      receivesFrom: c.did,
      approved: false,
    });
    expect((await a.node.trades('market')).open).toEqual([]);
    // Approving from someone else's cell is refused before anything is signed.
    expect(await codeOf(a.node.approveRing(seen.id, b.cell))).toBe('E_NOT_FOUND');

    for (const t of [a, b, c]) expect((await t.node.approveRing(seen.id, t.cell)).approved).toBe(true);
    for (const t of [a, b, c]) {
      const done = await ringOf(t, 'market', 'settled');
      expect(done.outcome).toMatchObject({ kind: 'settled' });
      await until('the settled event', async () =>
        t.events.some((e) => e.type === 'trade' && e.ring === seen.id && e.phase === 'settled')
          ? true
          : undefined,
      );
    }
    const after = await Promise.all([a, b, c].map(balance));
    expect(after.map((x, i) => x - before[i]!)).toEqual([20n, -10n, -10n]);
  }, 120_000);

  it('a wallet holding wrapped gold trades it in a 3-ring: the cells show the gold move as approved', async () => {
    const [a, b, c] = [await trader(ws), await trader(ws), await trader(ws)];
    await mintGold(a, 5n);
    const assetsOf = async (t: Trader) => (await t.node.cells()).find((x) => x.id === t.cell)!.assets;
    expect(await assetsOf(a)).toEqual([{ asset: 'w-gold', amount: '5' }]);
    const gold = (amount: string) => ({ kind: 'asset', asset: 'w-gold', amount }) as const;
    // A gives B gold for C's computrons; B pays C.
    await a.node.postIntent({
      zone: 'gold',
      offer: gold('5'),
      want: { kind: 'computrons', amount: '20' },
      expiresIn: 10,
    });
    await b.node.postIntent({ zone: 'gold', offer: '10', want: gold('4'), expiresIn: 10 });
    await c.node.postIntent({
      zone: 'gold',
      offer: '20',
      want: { kind: 'computrons', amount: '10' },
      expiresIn: 10,
    });
    const seen = await ringOf(a, 'gold');
    expect(seen).toMatchObject({ pays: '4 w-gold', paysTo: b.did, receives: '20 computrons' });
    expect((await ringOf(b, 'gold')).receives).toBe('4 w-gold');
    // Approving from a cell without the gold is refused before anything is signed (no blame).
    const empty = await a.node.openCell();
    expect(await codeOf(a.node.approveRing(seen.id, empty.id))).toBe('E_INSUFFICIENT');
    const before = await Promise.all([a, b, c].map(balance));
    for (const t of [a, b, c]) await t.node.approveRing(seen.id, t.cell);
    for (const t of [a, b, c]) await ringOf(t, 'gold', 'settled');
    expect(await assetsOf(a)).toEqual([{ asset: 'w-gold', amount: '1' }]);
    expect(await assetsOf(b)).toEqual([{ asset: 'w-gold', amount: '4' }]);
    expect(await assetsOf(c)).toEqual([]);
    const after = await Promise.all([a, b, c].map(balance));
    expect(after.map((x, i) => x - before[i]!)).toEqual([20n, -10n, -10n]);
    const audit = await relay.notary.audit();
    expect(audit.delta).toBe(0n);
    expect(audit.assets.get('w-gold')).toEqual({ held: 5n, expected: 5n });
  }, 120_000);

  it('one participant never approves: at the cutoff the ring is aborted and everyone is refunded', async () => {
    const [a, b, c] = [await trader(ws), await trader(ws), await trader(ws)];
    await a.node.postIntent(form('noshow', 10, 30));
    await b.node.postIntent(form('noshow', 20, 10));
    await c.node.postIntent(form('noshow', 30, 20));
    const ring = await ringOf(a, 'noshow');
    const before = await Promise.all([a, b, c].map(balance));
    await a.node.approveRing(ring.id, a.cell);
    await b.node.approveRing(ring.id, b.cell);
    for (const t of [a, b, c]) {
      const done = await until(
        'the abort',
        async () => {
          const r = (await t.node.trades('noshow')).rings[0]!;
          return r.phase === 'aborted' ? r : undefined;
        },
        (RING_SECONDS + 20) * 1000,
      );
      expect(done.outcome).toMatchObject({ kind: 'aborted', reason: expect.stringMatching(/deadline/) });
    }
    expect(await Promise.all([a, b, c].map(balance))).toEqual(before);
  }, 120_000);

  it('a wallet buys a name: its entry cell leaves the seller’s cells and joins the buyer’s, who sets its records', async () => {
    const { seller, buyer, entry } = await nameSale(ws, 'alice');
    const ring = await ringOf(seller, 'names');
    expect(ring.grants).toMatchObject([{ ownership: true, fields: { zone: 'names', name: 'alice' } }]);
    expect((await ringOf(buyer, 'names')).receives).toMatch(/entry cell/);
    // The entry changes hands whole, so it cannot also be the cell the seller receives into.
    expect(await codeOf(seller.node.approveRing(ring.id, entry, [entry]))).toBe('E_ARGUMENT');
    const before = await Promise.all([seller, buyer].map(balance));
    await seller.node.approveRing(ring.id, seller.cell, [entry]);
    await buyer.node.approveRing(ring.id, buyer.cell);
    for (const t of [seller, buyer]) await ringOf(t, 'names', 'settled');

    const bought = await until('the entry among the buyer’s cells', async () =>
      (await buyer.node.cells()).find((c) => c.id === entry),
    );
    expect(bought).toMatchObject({ owner: buyer.did, mine: true });
    expect(bought.fields).toEqual(
      expect.arrayContaining([
        { name: 'zone', value: 'names' },
        { name: 'name', value: 'alice' },
      ]),
    );
    expect((await seller.node.cells()).map((c) => c.id)).toEqual([seller.cell]);
    const after = await Promise.all([seller, buyer].map(balance));
    expect(after.map((x, i) => x - before[i]!)).toEqual([25n, -25n]);
    const use = await buyer.node.executeTurn(entry, [{ type: 'set-field', key: 'to', value: 'bob' }]);
    await buyer.node.submitTurn(use.turn);
    expect((await buyer.node.cells()).find((c) => c.id === entry)!.fields).toContainEqual({
      name: 'to',
      value: 'bob',
    });
    expect(
      await codeOf(seller.node.executeTurn(entry, [{ type: 'set-field', key: 'to', value: 'alice' }])),
    ).toBe('E_DENIED');
  }, 120_000);

  it('withdraws, refuses bad forms, and finds locally a ring the relay cannot settle', async () => {
    const a = await trader(ws);
    expect(await codeOf(a.node.postIntent({ ...form('local', 0, 1) }))).toBe('E_ARGUMENT');
    expect(await codeOf(a.node.postIntent({ ...form('local', 1, 1), expiresIn: -1 }))).toBe('E_ARGUMENT');
    expect(await codeOf(a.node.postIntent(form('nowhere', 1, 1)))).toBe('E_UNSUPPORTED');
    const gone = await a.node.postIntent(form('local', 3, 3000));
    await a.node.withdrawIntent(gone.id);
    expect((await a.node.trades('local')).open).toEqual([]);

    // A wants storage for 5 computrons; someone outside the wallet offers it for 5 computrons. The
    // ring needs more byte-seconds escrowed than a budget holds (2^53), which the ledger cannot do:
    // the relay leaves both open, and a local search finds the ring.
    const mine = await a.node.postIntent({
      zone: 'local',
      offer: '5',
      want: { kind: 'storage', bytes: String(HUGE.bytes), seconds: String(HUGE.seconds) },
      expiresIn: 10,
    });
    const other = keys(77);
    const client = await connectRelay(ws);
    try {
      await intentClient(client.call, nobleEd25519).post(
        await signIntent(
          {
            zone: 'local',
            offers: [{ kind: 'storage', ...HUGE }],
            wants: [{ kind: 'computrons', amount: 5n }],
            expires: Math.floor(Date.now() / 1000) + 600,
          },
          other.seed,
          new Uint8Array(16),
          nobleEd25519,
        ),
      );
    } finally {
      await client.close();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect((await a.node.trades('local')).rings).toEqual([]);
    const local = await a.node.solveLocally('local');
    expect(local).toMatchObject({ intents: 2, rings: 1 });
    expect(local.mine).toHaveLength(1);
    expect(local.mine[0]).toMatchObject({ participants: 2, wants: 2 });
    expect(local.mine[0]!.intents).toContain(mine.id);
  }, 120_000);
});

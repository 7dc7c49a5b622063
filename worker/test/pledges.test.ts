/**
 * Approved rings survive a reload of the wallet: a real relay in this process (SQLite, libp2p over
 * loopback WebSocket) and light nodes on fake IndexedDB. A wallet approves, its node goes away, and a
 * new node on the same store is unlocked before the other participant approves: it reveals from
 * the stored pledge and the ring settles, balances exact. Its records are sealed (the ring id is
 * nowhere in the stored bytes), the malformed ones are logged with their typed error and skipped,
 * another identity's are never read, and the record goes once the ring is over. A name bought across
 * such a reload joins the buyer's cells. (Taking an escrow back after a reload: reclaim.test.ts.)
 */
import {
  ed25519FromDidKey,
  encodeCbor,
  isDreggError,
  seal,
  x25519FromEd25519Public,
} from '@cipherclerk/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Relay } from '../../core/src/node/relay/relay.ts';
import { codeOf } from '../../core/test/caps/fixtures.ts';
import { until } from '../../core/test/intents/fixtures.ts';
import { person, tempHome, testRelay } from '../../core/test/relay/fixtures.ts';
import type { TradeRingView } from '../src/node/api.ts';
import { balance, form, nameSale, reload, ringOf as ringIn, type Trader, trader } from './trade-fixtures.ts';

/** Long enough for a reload (a new node, unlock, dial) between two approvals on a loaded machine. */
const RING_SECONDS = 20;

let home: ReturnType<typeof tempHome>;
let relay: Relay;
let ws: string[];

beforeAll(async () => {
  home = tempHome();
  relay = await testRelay(home.dir, {
    intents: { zones: ['market', 'names'], ringSeconds: RING_SECONDS, solveDelayMs: 20 },
  });
  ws = relay.multiaddrs.filter((m) => m.includes('/ws/'));
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  home?.remove();
});

const ringOf = (t: Trader, zone: string, phase?: TradeRingView['phase']) =>
  ringIn(t, zone, phase, (RING_SECONDS + 10) * 1000);

const settledEvent = (t: Trader, ring: string) =>
  until('the settled event', async () =>
    t.events.some((e) => e.type === 'trade' && e.ring === ring && e.phase === 'settled') ? true : undefined,
  );

describe('approved rings across a reload', () => {
  it('a reloaded wallet reveals from its stored pledge and the ring settles; bad records are skipped with typed errors', async () => {
    const [a, b] = [await trader(ws), await trader(ws)];
    const before = await Promise.all([a, b].map(balance));
    await a.node.postIntent(form('market', 10, 20));
    await b.node.postIntent(form('market', 20, 10));
    const ring = await ringOf(a, 'market');
    await a.node.approveRing(ring.id, a.cell);
    // Approving again would draw a new salt for the commitment that is in.
    expect(await codeOf(a.node.approveRing(ring.id, a.cell))).toBe('E_EXISTS');

    const { store } = a;
    const [kept] = await store.list('pledges');
    expect(kept?.key).toBe(`${a.did}/${ring.id}`);
    // Sealed: neither the ring nor the intent can be read from the stored bytes.
    const asText = new TextDecoder().decode(kept!.value);
    expect(asText.includes(ring.id) || asText.includes(ring.myIntent)).toBe(false);
    const other = person(61).did;
    const mine = (id: string) => `${a.did}/${id}`;
    // Opens (sealed to A), but is no pledge.
    const notAPledge = seal(
      x25519FromEd25519Public(ed25519FromDidKey(a.did)),
      encodeCbor({ v: 1, did: a.did }),
    );
    await store.transact([
      { op: 'put', collection: 'pledges', key: mine('00'.repeat(32)), value: new Uint8Array(80) },
      { op: 'put', collection: 'pledges', key: mine('11'.repeat(32)), value: notAPledge },
      { op: 'put', collection: 'pledges', key: mine('22'.repeat(32)), value: kept!.value },
      { op: 'put', collection: 'pledges', key: `${other}/${ring.id}`, value: kept!.value },
    ]);

    const errors = vi.spyOn(console, 'error');
    const a2 = await reload(a, ws);
    const skipped = errors.mock.calls.filter(([m]) => String(m).startsWith('trade: the stored pledge'));
    errors.mockRestore();
    expect(skipped.map(([m, e]) => [String(m).split(' ')[4], isDreggError(e) ? e.code : e])).toEqual([
      [mine('00'.repeat(32)), 'E_DECODE'],
      [mine('11'.repeat(32)), 'E_INVALID'],
      // A's own record filed under another ring: the key binds it.
      [mine('22'.repeat(32)), 'E_INVALID'],
    ]);
    // The reloaded node lists the ring as one it approved; the reveal is still to come.
    expect((await a2.node.trades('market')).rings[0]).toMatchObject({
      id: ring.id,
      approved: true,
      phase: 'committing',
    });

    await b.node.approveRing(ring.id, b.cell);
    for (const t of [a2, b]) await ringOf(t, 'market', 'settled');
    await settledEvent(a2, ring.id);
    const after = await Promise.all([a2, b].map(balance));
    expect(after.map((x, i) => x - before[i]!)).toEqual([10n, -10n]);
    // Over, nothing out: the record is gone; the unreadable ones and another identity's stay untouched.
    await until('the record forgotten', async () =>
      (await store.get('pledges', mine(ring.id))) === undefined ? true : undefined,
    );
    expect((await store.list('pledges')).map((e) => e.key).sort()).toEqual(
      [mine('00'.repeat(32)), mine('11'.repeat(32)), mine('22'.repeat(32)), `${other}/${ring.id}`].sort(),
    );
  }, 120_000);

  it('a name bought across a reload of the buyer between approving and settlement joins its cells', async () => {
    const { seller, buyer, entry } = await nameSale(ws, 'carol');
    const ring = await ringOf(buyer, 'names');
    const before = await Promise.all([seller, buyer].map(balance));
    await buyer.node.approveRing(ring.id, buyer.cell);
    const buyer2 = await reload(buyer, ws);
    await seller.node.approveRing(ring.id, seller.cell, [entry]);
    await ringOf(buyer2, 'names', 'settled');
    const bought = await until('the entry among the buyer’s cells', async () =>
      (await buyer2.node.cells()).find((c) => c.id === entry),
    );
    expect(bought).toMatchObject({ owner: buyer.did, mine: true });
    const after = await Promise.all([seller, buyer2].map(balance));
    expect(after.map((x, i) => x - before[i]!)).toEqual([25n, -25n]);
  }, 120_000);
});

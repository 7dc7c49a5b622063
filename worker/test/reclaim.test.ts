/**
 * Taking an escrow back from the wallet: a real relay in this process (SQLite, libp2p on loopback),
 * two light nodes and one participant outside the wallet in a 3-ring. Both wallets escrow; the third
 * commits and never reveals; then the relay's desk stops for good, so nobody refunds the ring. Before
 * the deadline the wallet's `reclaimEscrow` is refused (`E_NOT_YET_VALID`). One wallet is then
 * reloaded (a new node on its store): from its stored pledge its Trade view still shows the ring
 * with the escrow out, as the other's does from memory; after the deadline each wallet takes its
 * escrow back in one turn, once, and its balance is what it was before the ring.
 */
import { nobleEd25519 } from '@cipherclerk/core';
import { intentClient, signIntent } from '@cipherclerk/core/intents';
import { connectRelay, type RelayClient } from '@cipherclerk/core/net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Relay } from '../../core/src/node/relay/relay.ts';
import { codeOf } from '../../core/test/caps/fixtures.ts';
import { until } from '../../core/test/intents/fixtures.ts';
import { person, saltOf, tempHome, testRelay } from '../../core/test/relay/fixtures.ts';
import { balance, form, reload, trader } from './trade-fixtures.ts';

/** Long enough for both wallets to escrow before the cutoff; the escrows fall due a second later. */
const RING_SECONDS = 20;

let home: ReturnType<typeof tempHome>;
let relay: Relay;
let ws: string[];
let client: RelayClient;

beforeAll(async () => {
  home = tempHome();
  relay = await testRelay(home.dir, {
    intents: { zones: ['market'], ringSeconds: RING_SECONDS, graceSeconds: 1, solveDelayMs: 20 },
  });
  ws = relay.multiaddrs.filter((m) => m.includes('/ws/'));
  client = await connectRelay(ws);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await relay?.stop();
  home?.remove();
});

describe('taking an escrow back from the wallet', () => {
  it('after the desk vanished with the escrows in: refused before the deadline, returned in full after', async () => {
    const [first, b] = [await trader(ws), await trader(ws)];
    const c = person(91);
    const cCell = (await client.openCell(c.did, saltOf(91))).id;
    const desk = intentClient(client.call, nobleEd25519);
    const before = [await balance(first), await balance(b)];
    const cBefore = (await client.cell(cCell))!.balance;

    await first.node.postIntent(form('market', 10, 30));
    await b.node.postIntent(form('market', 20, 10));
    await desk.post(
      await signIntent(
        {
          zone: 'market',
          offers: [{ kind: 'computrons', amount: 30n }],
          wants: [{ kind: 'computrons', amount: 20n }],
          expires: Math.floor(Date.now() / 1000) + 600,
        },
        c.seed,
        new Uint8Array(16),
        nobleEd25519,
      ),
    );
    const ring = await until('the ring', async () => (await first.node.trades('market')).rings[0], 40_000);
    expect(ring.escrowOut).toBe(false);
    await first.node.approveRing(ring.id, first.cell);
    await b.node.approveRing(ring.id, b.cell);
    // C commits (so the ring turns to revealing and both wallets escrow) but never reveals.
    const view = (await desk.rings(c.did))[0]!;
    const cIntent = [...view.intents].find(([, i]) => i.by === c.did)![0];
    await desk.commit(
      view,
      cIntent,
      { ...c, cell: cCell },
      { ledger: client.info.ledger, cell: (await client.cell(cCell))!, head: await client.head(c.did) },
    );
    await until(
      'both escrows',
      async () => {
        const r = (await first.node.trades('market')).rings[0]!;
        return r.escrowed === 2 ? r : undefined;
      },
      40_000,
    );
    expect([await balance(first), await balance(b)]).toEqual([before[0]! - 10n, before[1]! - 20n]);

    // Only the coordinator may move an escrow before the deadline.
    expect(await codeOf(first.node.reclaimEscrow(ring.id))).toBe('E_NOT_YET_VALID');
    expect(await codeOf(first.node.reclaimEscrow('ab'.repeat(32)))).toBe('E_NOT_FOUND');

    const warned = vi.spyOn(console, 'warn');
    relay.desk.close();
    const a = await reload(first, ws);
    // The desk answers nothing now; both wallets still show the ring they hold an escrow in, the
    // reloaded one from its stored pledge.
    for (const t of [a, b]) {
      const shown = (await t.node.trades('market')).rings;
      expect(shown.map((r) => [r.id, r.escrowOut, r.phase])).toEqual([[ring.id, true, 'revealing']]);
    }
    const shown = (await a.node.trades('market')).rings;
    expect(await codeOf(a.node.reclaimEscrow(ring.id))).toBe('E_NOT_YET_VALID');

    const wait = (shown[0]!.deadline + 1) * 1000 - Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    // The watchers kept asking the closed desk every second; each said so once, not every time (B's,
    // the reloaded A's, and the first A's if it met the closed desk before it went away).
    const watching = warned.mock.calls.filter(([m]) => String(m).startsWith('trade: watching rings failed'));
    warned.mockRestore();
    expect(watching.length).toBeGreaterThanOrEqual(2);
    expect(watching.length).toBeLessThanOrEqual(3);
    const back = await a.node.reclaimEscrow(ring.id);
    expect(back).toMatchObject({ ring: ring.id, cell: a.cell, amount: '10', balance: String(before[0]) });
    expect(await balance(a)).toBe(before[0]);
    expect(await b.node.reclaimEscrow(ring.id)).toMatchObject({ amount: '20', balance: String(before[1]) });
    expect(await balance(b)).toBe(before[1]);
    // Taken back once: the wallet holds nothing more for that ring.
    expect(await codeOf(a.node.reclaimEscrow(ring.id))).toBe('E_NOT_FOUND');
    expect((await client.cell(cCell))!.balance).toBe(cBefore);
    expect((await relay.notary.audit()).delta).toBe(0n);
  }, 120_000);
});

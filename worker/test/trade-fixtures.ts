/**
 * Wallets for the ring-trade tests (intents.test.ts, reclaim.test.ts, pledges.test.ts): a light node
 * on fake IndexedDB with the real client, an identity created and confirmed, online at a relay,
 * holding one cell of the relay's opening grant, and every event it told the page; and the same
 * wallet after a reload (a new node on the same database, unlocked, online again).
 */
import type { Store } from '@cipherclerk/core';
import { until } from '../../core/test/intents/fixtures.ts';
import type { LightNodeApi, NodeEvent, TradeForm, TradeRingView } from '../src/node/api.ts';
import { lightNode, newWallet, PASS } from './wallets.ts';

export interface Trader {
  readonly node: LightNodeApi;
  readonly store: Store;
  readonly did: string;
  /** The cell it pays from and receives into. */
  readonly cell: string;
  readonly events: NodeEvent[];
}

/** A new wallet online at `relay` (its WebSocket addresses). */
export async function trader(relay: readonly string[]): Promise<Trader> {
  const { node, store, did, events } = await newWallet();
  await node.connect([...relay]);
  return { node, store, did, cell: (await node.openCell()).id, events };
}

/**
 * `t` after a reload: its node goes offline for good (the page that ran it is gone), and a new node
 * on the same store starts locked, is unlocked and connects to `relay`.
 */
export async function reload(t: Trader, relay: readonly string[]): Promise<Trader> {
  await t.node.disconnect();
  const node = await lightNode(t.store);
  const events: NodeEvent[] = [];
  await node.subscribe((e) => events.push(e));
  await node.unlock(PASS);
  await node.connect([...relay]);
  return { ...t, node, events };
}

/** The Trade form: `offer` computrons for `want` computrons in `zone`, expiring in 10 minutes. */
export const form = (zone: string, offer: number, want: number): TradeForm => ({
  zone,
  offer: String(offer),
  want: { kind: 'computrons', amount: String(want) },
  expiresIn: 10,
});

/** The balance of the trader's cell, as its node reads it from the relay. */
export const balance = async (t: Trader): Promise<bigint> =>
  BigInt((await t.node.cells()).find((c) => c.id === t.cell)!.balance);

/** The first ring `t`'s Trade view shows in `zone` (in `phase`, if given), waited for. */
export const ringOf = (t: Trader, zone: string, phase?: TradeRingView['phase'], ms?: number) =>
  until(
    `a ring (${phase ?? 'any'})`,
    async () => {
      const r = (await t.node.trades(zone)).rings[0];
      return r !== undefined && (phase === undefined || r.phase === phase) ? r : undefined;
    },
    ms,
  );

/**
 * A name for sale in zone `names`: the seller's entry cell carries its fields, the seller offers it
 * for 25 computrons and the buyer offers 30 for it, both online at `relay`.
 */
export async function nameSale(relay: readonly string[], name: string) {
  const [seller, buyer] = [await trader(relay), await trader(relay)];
  const entry = (await seller.node.openCell()).id;
  const fields = await seller.node.executeTurn(entry, [
    { type: 'set-field', key: 'zone', value: 'names' },
    { type: 'set-field', key: 'name', value: name },
  ]);
  await seller.node.submitTurn(fields.turn);
  const item = { kind: 'name', zone: 'names', name } as const;
  await seller.node.postIntent({
    zone: 'names',
    offer: item,
    want: { kind: 'computrons', amount: '25' },
    expiresIn: 10,
  });
  await buyer.node.postIntent({ zone: 'names', offer: '30', want: item, expiresIn: 10 });
  return { seller, buyer, entry };
}

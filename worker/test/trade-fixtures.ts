/**
 * Wallets for the ring-trade tests (intents.test.ts, reclaim.test.ts, pledges.test.ts): a light node
 * on fake IndexedDB with the real client, an identity created and confirmed, online at a relay,
 * holding one cell of the relay's opening grant, and every event it told the page; and the same
 * wallet after a reload (a new node on the same database, unlocked, online again).
 */
import type { Store } from '@cipherclerk/core';
import type { LightNodeApi, NodeEvent, TradeForm } from '../src/node/api.ts';
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

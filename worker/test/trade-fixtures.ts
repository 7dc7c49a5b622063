/**
 * Wallets for the ring-trade tests (intents.test.ts, reclaim.test.ts): a light node on fake
 * IndexedDB with the real client, an identity created and confirmed, online at a relay, holding one
 * cell of the relay's opening grant, and every event it told the page.
 */
import type { LightNodeApi, NodeEvent, TradeForm } from '../src/node/api.ts';
import { newWallet } from './wallets.ts';

export interface Trader {
  readonly node: LightNodeApi;
  readonly did: string;
  /** The cell it pays from and receives into. */
  readonly cell: string;
  readonly events: NodeEvent[];
}

/** A new wallet online at `relay` (its WebSocket addresses). */
export async function trader(relay: readonly string[]): Promise<Trader> {
  const { node, did, events } = await newWallet();
  await node.connect([...relay]);
  return { node, did, cell: (await node.openCell()).id, events };
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

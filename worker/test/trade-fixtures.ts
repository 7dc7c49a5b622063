/**
 * Wallets for the ring-trade tests (intents.test.ts, reclaim.test.ts, pledges.test.ts): a light node
 * on fake IndexedDB with the real client, an identity created and confirmed, online at a relay,
 * holding one cell of the relay's opening grant, and every event it told the page; and the same
 * wallet after a reload (a new node on the same database, unlocked, online again).
 */
import 'fake-indexeddb/auto';
import { openIndexedDbStore } from '@cipherclerk/core';
import { connectRelay } from '@cipherclerk/core/net';
import type { LightNodeApi, NodeEvent, TradeForm } from '../src/node/api.ts';
import { createLightNode } from '../src/node/light-node.ts';
import { COLLECTIONS } from '../src/node/vault.ts';

const CHEAP_KDF = { N: 2 ** 10, r: 8, p: 1 };
const PASS = 'correct horse battery';

export interface Trader {
  readonly node: LightNodeApi;
  /** The IndexedDB database its store lives in. */
  readonly database: string;
  readonly did: string;
  /** The cell it pays from and receives into. */
  readonly cell: string;
  readonly events: NodeEvent[];
}

let databases = 0;

/** A new wallet online at `relay` (its WebSocket addresses). */
export async function trader(relay: readonly string[]): Promise<Trader> {
  const database = `trade-test-${databases++}`;
  const { node, events } = await nodeOn(database);
  const c = await node.create(PASS);
  const words = c.mnemonic.split(' ');
  await node.confirm(c.confirm.map((i) => words[i]!));
  await node.connect([...relay]);
  return { node, database, did: c.did, cell: (await node.openCell()).id, events };
}

async function nodeOn(database: string) {
  const store = await openIndexedDbStore(database, { collections: COLLECTIONS });
  const node = await createLightNode({ store, kdf: CHEAP_KDF, connect: (a) => connectRelay(a) });
  const events: NodeEvent[] = [];
  await node.subscribe((e) => events.push(e));
  return { node, events };
}

/**
 * `t` after a reload: its node goes offline for good (the page that ran it is gone), and a new node
 * on the same database starts locked, is unlocked and connects to `relay`.
 */
export async function reload(t: Trader, relay: readonly string[]): Promise<Trader> {
  await t.node.disconnect();
  const { node, events } = await nodeOn(t.database);
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

/**
 * Wallets for the worker's tests: a light node on a fake-IndexedDB store of its own, with the real
 * relay client, scrypt at its cheapest (the tests exercise sealing, not its strength), an identity
 * created and its words confirmed, and every event the node told the page.
 */
import 'fake-indexeddb/auto';
import { openIndexedDbStore, type Store } from '@cipherclerk/core';
import { connectRelay } from '@cipherclerk/core/net';
import type { LightNodeApi, NodeEvent } from '../src/node/api.ts';
import { createLightNode, type LightNodeOptions } from '../src/node/light-node.ts';
import { COLLECTIONS } from '../src/node/vault.ts';

/** scrypt's smallest accepted cost. */
export const CHEAP_KDF = { N: 2 ** 10, r: 8, p: 1 };
export const PASS = 'correct horse battery';

let databases = 0;

/** An empty store with the node's collections, named apart from every other in this process. */
export const freshStore = (): Promise<Store> =>
  openIndexedDbStore(`wallet-test-${databases++}`, { collections: COLLECTIONS });

/** A light node on `store` (again on the same store: the worker restarted). */
export const lightNode = (store: Store, options: Partial<LightNodeOptions> = {}): Promise<LightNodeApi> =>
  createLightNode({ store, kdf: CHEAP_KDF, connect: (a) => connectRelay(a), ...options });

export interface Wallet {
  readonly node: LightNodeApi;
  readonly store: Store;
  readonly did: string;
  readonly mnemonic: string;
  readonly events: NodeEvent[];
}

/** A new identity in a node, unlocked: on a fresh store unless `options` names one. */
export async function newWallet(options: Partial<LightNodeOptions> = {}): Promise<Wallet> {
  const store = options.store ?? (await freshStore());
  const node = await lightNode(store, options);
  const events: NodeEvent[] = [];
  await node.subscribe((e) => events.push(e));
  const c = await node.create(PASS);
  const words = c.mnemonic.split(' ');
  await node.confirm(c.confirm.map((i) => words[i]!));
  return { node, store, did: c.did, mnemonic: c.mnemonic, events };
}

/**
 * The light node's dedicated Web Worker: opens the IndexedDB store and exposes the node with comlink.
 * libp2p is loaded only when the person connects to a relay, so the worker starts quickly. A new
 * worker (every page load) starts locked: unlocking always takes the passphrase.
 */
import { openIndexedDbStore } from '@cipherclerk/core';
import { expose } from 'comlink';
import { guarded } from './errors.ts';
import { createLightNode } from './light-node.ts';
import { COLLECTIONS } from './vault.ts';

/** The IndexedDB database of this origin's light node. */
export const DATABASE = 'cipherclerk-node';

async function connect(addresses: readonly string[]) {
  const net = await import('@cipherclerk/core/net');
  net.installLibp2pShims();
  return net.connectRelay(addresses);
}

const ready = openIndexedDbStore(DATABASE, { collections: COLLECTIONS }).then(async (store) => {
  const node = await createLightNode({ store, connect });
  const { relay } = await node.overview();
  // Reconnect to the relays the person configured; a failure shows on the Network screen.
  if (relay.addresses.length > 0) node.connect(relay.addresses).catch(() => undefined);
  return node;
});

expose(guarded(ready));

/**
 * The light node's dedicated Web Worker: opens the IndexedDB store and exposes the node with comlink.
 * libp2p is loaded only when the person connects to a relay, and the prover (its WASM kernels, its
 * pool of kernel workers started from here, WebGPU where a hardware adapter exists) only on the
 * first proof, so the worker starts quickly. A new worker (every page load) starts locked: unlocking
 * always takes the passphrase.
 */
import { openIndexedDbStore } from '@cipherclerk/core';
import kernelsUrl from '@cipherclerk/wasm-prover/kernels.wasm?url';
import { expose } from 'comlink';
import { guarded } from './errors.ts';
import { createLightNode } from './light-node.ts';
import { COLLECTIONS } from './vault.ts';

/** The IndexedDB database of this origin's light node. */
export const DATABASE = 'cipherclerk-node';
const PROVER_WORKERS = 2;

async function connect(addresses: readonly string[]) {
  const net = await import('@cipherclerk/core/net');
  net.installLibp2pShims();
  return net.connectRelay(addresses);
}

/** Two kernel workers beside this one; where WebAssembly is refused, the TypeScript kernels. */
async function prover() {
  const { openProver } = await import('../prover/pool.ts');
  const p = await openProver(kernelsUrl, { workers: PROVER_WORKERS, gpu: 'auto' });
  return { kernels: p.kernels, description: p.description, gpu: p.gpu };
}

const ready = openIndexedDbStore(DATABASE, { collections: COLLECTIONS }).then(async (store) => {
  const node = await createLightNode({ store, connect, prover });
  const { relay } = await node.overview();
  // Reconnect to the relays the person configured; a failure shows on the Network screen.
  if (relay.addresses.length > 0) node.connect(relay.addresses).catch(() => undefined);
  return node;
});

expose(guarded(ready));

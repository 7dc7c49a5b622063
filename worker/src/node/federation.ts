/**
 * The wallet's hold on a federation: the committee it pinned (from a genesis file, or what the first
 * relay it connected to served: trust on first use, its committee id shown on the Network screen),
 * the epochs it followed since, and the last attested root it verified. All of it is public, so it
 * lives in the worker's settings store, readable while locked.
 *
 * Nothing here trusts a relay: a root moves the pin only if core's `followRoot` accepts it (more than
 * 2/3 of the pinned committee, each signature checked; an epoch change only through a transition
 * signed by more than 2/3 of the previous committee; never backwards), and a receipt counts only
 * with its inclusion proof under such a root.
 */
import { DreggError, type Store } from '@cipherclerk/core';
import {
  committeeIdHex,
  decodeFederationRoot,
  decodeGenesis,
  decodeReceiptBundle,
  decodeTransition,
  encodeGenesis,
  followRoot,
  type Pin,
  verifyFederatedReceipt,
} from '@cipherclerk/core/federation';
import type { FederatedReceiptView, FederationView } from './api.ts';

const KEY = 'federation';
const text = new TextEncoder();

interface Stored {
  /** The committee trusted now, in genesis form. */
  readonly committee: string;
  readonly source: Pin['source'];
  readonly root?: Pin['root'];
}

async function read(store: Store): Promise<Pin | undefined> {
  const bytes = await store.get('settings', KEY);
  if (bytes === undefined) return undefined;
  const s = JSON.parse(new TextDecoder().decode(bytes)) as Stored;
  return {
    committee: decodeGenesis(s.committee),
    source: s.source,
    ...(s.root ? { root: s.root } : {}),
  };
}

async function write(store: Store, pin: Pin): Promise<void> {
  const s: Stored = {
    committee: encodeGenesis(pin.committee),
    source: pin.source,
    ...(pin.root ? { root: pin.root } : {}),
  };
  await store.transact([
    { op: 'put', collection: 'settings', key: KEY, value: text.encode(JSON.stringify(s)) },
  ]);
}

function view(pin: Pin | undefined): FederationView {
  if (pin === undefined) return { pinned: false };
  const c = pin.committee;
  return {
    pinned: true,
    federation: c.federation,
    epoch: c.epoch,
    committeeId: committeeIdHex(c),
    members: c.members.length,
    source: pin.source,
    ...(pin.root ? { root: { epoch: pin.root.epoch, height: pin.root.height } } : {}),
  };
}

function pinned(pin: Pin | undefined): Pin {
  if (pin === undefined)
    throw new DreggError('E_NOT_FOUND', 'No federation is pinned: pin one from its genesis file first');
  return pin;
}

export function federationLink(store: Store) {
  return {
    view: async () => view(await read(store)),

    /**
     * Pins the committee of `genesis` (its JSON text). Pinning the committee already pinned changes
     * nothing; another one is refused (`E_EXISTS`): a pin is replaced only by `forget` first.
     */
    async pin(genesis: string, source: Pin['source']): Promise<FederationView> {
      const c = decodeGenesis(genesis);
      const current = await read(store);
      if (current !== undefined) {
        if (committeeIdHex(current.committee) === committeeIdHex(c)) return view(current);
        throw new DreggError(
          'E_EXISTS',
          `Federation ${current.committee.federation} is pinned already (committee ${committeeIdHex(current.committee).slice(0, 16)}…): forget it first`,
        );
      }
      const pin: Pin = { committee: c, source };
      await write(store, pin);
      return view(pin);
    },

    async forget(): Promise<FederationView> {
      await store.transact([{ op: 'delete', collection: 'settings', key: KEY }]);
      return view(undefined);
    },

    /** Checks an attested root (and the transitions up to its epoch); moves the pin on success. */
    async root(root: Uint8Array, transitions: readonly Uint8Array[] = []): Promise<FederationView> {
      const pin = pinned(await read(store));
      const f = followRoot(pin, decodeFederationRoot(root), transitions.map(decodeTransition));
      if (!f.accepted) throw new DreggError('E_UNTRUSTED', `Root refused: ${f.reason}`);
      await write(store, f.pin);
      return view(f.pin);
    },

    /** Checks a federated receipt with its inclusion proof under an attested root of the pinned committee. */
    async receipt(bundle: Uint8Array): Promise<FederatedReceiptView> {
      const pin = pinned(await read(store));
      const b = decodeReceiptBundle(bundle);
      const check = verifyFederatedReceipt(b.receipt, b.proof, b.root, pin.committee);
      if (!check.ok) throw new DreggError('E_UNTRUSTED', `Receipt refused: ${check.reason}`);
      // The root it came under is a verified root too: remember it when it is the newest.
      const f = followRoot(pin, b.root);
      if (f.accepted) await write(store, f.pin);
      const r = b.receipt;
      return {
        turn: r.turn,
        height: r.height,
        outcome: r.outcome,
        ...(r.code ? { code: r.code } : {}),
        root: { epoch: b.root.epoch, height: b.root.height },
      };
    },
  };
}

/**
 * The wallet's hold on a federation: the committee it pinned (from a genesis file, or what the first
 * relay it connected to served: trust on first use, its committee id shown on the Network screen),
 * the epochs it followed since, and the last attested root it verified. All of it is public, so it
 * lives in the worker's settings store, readable while locked.
 *
 * Nothing here trusts a relay: a root moves the pin only if core's `followRoot` accepts it (more than
 * 2/3 of the pinned committee, each signature checked; an epoch change only through a transition
 * signed by more than 2/3 of the previous committee; never backwards; a settlement log root inside
 * the signatures), and a receipt counts only with its inclusion proof under such a root, and only
 * for the turn the wallet asked about.
 *
 * At first use the wallet pins the genesis committee the first federation relay it connects to
 * serves (`firstUse`), remembers which relay that was, and shows the committee id so the person can
 * compare it with the federation's published one.
 */
import { DreggError, type Store } from '@cipherclerk/core';
import {
  type Committee,
  committeeIdHex,
  decodeFederationRoot,
  decodeGenesis,
  decodeReceiptBundle,
  decodeTransition,
  encodeGenesis,
  followRoot,
  type Pin,
  type Transition,
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
  /** The relay (its did) a first-use pin came from. */
  readonly from?: string;
}

type Held = Pin & { readonly from?: string };

async function read(store: Store): Promise<Held | undefined> {
  const bytes = await store.get('settings', KEY);
  if (bytes === undefined) return undefined;
  const s = JSON.parse(new TextDecoder().decode(bytes)) as Stored;
  return {
    committee: decodeGenesis(s.committee),
    source: s.source,
    ...(s.root ? { root: s.root } : {}),
    ...(s.from ? { from: s.from } : {}),
  };
}

async function write(store: Store, pin: Held): Promise<void> {
  const s: Stored = {
    committee: encodeGenesis(pin.committee),
    source: pin.source,
    ...(pin.root ? { root: pin.root } : {}),
    ...(pin.from ? { from: pin.from } : {}),
  };
  await store.transact([
    { op: 'put', collection: 'settings', key: KEY, value: text.encode(JSON.stringify(s)) },
  ]);
}

function view(pin: Held | undefined): FederationView {
  if (pin === undefined) return { pinned: false };
  const c = pin.committee;
  return {
    pinned: true,
    federation: c.federation,
    epoch: c.epoch,
    committeeId: committeeIdHex(c),
    members: c.members.length,
    source: pin.source,
    ...(pin.from ? { from: pin.from } : {}),
    ...(pin.root ? { root: { epoch: pin.root.epoch, height: pin.root.height } } : {}),
  };
}

function pinned(pin: Held | undefined): Held {
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

    /**
     * Pins `genesis` as served by `relay` when nothing is pinned yet; a pin already held stays (a
     * relay of another federation cannot replace it: its roots will simply not verify).
     */
    async firstUse(genesis: Committee, relay: string): Promise<FederationView> {
      const current = await read(store);
      if (current !== undefined) return view(current);
      const pin: Held = { committee: genesis, source: 'first-use', from: relay };
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
      const moved = { ...f.pin, ...(pin.from ? { from: pin.from } : {}) };
      await write(store, moved);
      return view(moved);
    },

    /**
     * Checks a federated receipt with its inclusion proof under an attested root of the pinned
     * committee (or of a later one, through `transitions`), and that it is about `turn` when given.
     * The root moves the pin when it is the newest verified. `E_UNTRUSTED` on any failure.
     */
    async receipt(
      bundle: Uint8Array,
      o: { readonly turn?: string; readonly transitions?: readonly Transition[] } = {},
    ): Promise<FederatedReceiptView> {
      const pin = pinned(await read(store));
      const b = decodeReceiptBundle(bundle);
      const r = b.receipt;
      if (o.turn !== undefined && r.turn !== o.turn)
        throw new DreggError('E_UNTRUSTED', `Receipt refused: it is for turn ${r.turn}, not ${o.turn}`);
      // The committee of the root's epoch, reached from the pin; the height rule is not for old roots.
      const at = followRoot({ committee: pin.committee, source: pin.source }, b.root, o.transitions);
      if (!at.accepted) throw new DreggError('E_UNTRUSTED', `Receipt refused: ${at.reason}`);
      const check = verifyFederatedReceipt(r, b.proof, b.root, at.pin.committee);
      if (!check.ok) throw new DreggError('E_UNTRUSTED', `Receipt refused: ${check.reason}`);
      // The root it came under is a verified root too: remember it when it is the newest.
      if (pin.root === undefined || b.root.height >= pin.root.height)
        await write(store, { ...at.pin, ...(pin.from ? { from: pin.from } : {}) });
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

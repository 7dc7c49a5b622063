/**
 * The rings this wallet approved, kept in its Store (collection `pledges`) so that a reload between
 * approving a ring and its end loses nothing: the pledge (the escrow turn and the salt that opens the
 * commitment), whether a reveal may have left, the agent's did, and the ring as last seen (the Take
 * back offer when the desk is gone). Key: `<did>/<ring id>`, so a node lists only its own agent's.
 *
 * Each record is a sealed box to the agent's own X25519 key (crypto/sealed-box.ts): the salt is a
 * secret until the reveal, and the escrow turn shows the offer, while IndexedDB is readable by any
 * script of the origin (the page too, not only this worker) and by whoever copies the profile. Sealing
 * needs only the public key, so the watcher can write while the node is locked; opening needs the
 * unlocked agent. A sealed box says nothing about who sealed it (PITFALLS 5): a record counts only if
 * its escrow turn verifies as signed by the agent it is filed under.
 */
import {
  type Agent,
  type CborValue,
  DreggError,
  decodeCbor,
  decodeTurn,
  decoding,
  ed25519FromDidKey,
  encodeCbor,
  encodeTurn,
  openSealed,
  type Store,
  seal,
  verifyTurnSignature,
  x25519FromEd25519Public,
} from '@cipherclerk/core';
import { decodeRingList, encodeRingList, type Pledge, type RingView } from '@cipherclerk/core/intents';

export const PLEDGE_COLLECTIONS = ['pledges'] as const;

/** A ring approved here, as it is kept. */
export interface Kept {
  readonly pledge: Pledge;
  readonly did: string;
  /** A reveal may have left (written before it is sent): the escrow may be out. */
  readonly revealed: boolean;
  /** The ring as last seen (at approval, then at each change of phase). */
  readonly view: RingView;
}

const VERSION = 1;
const keyOf = (did: string, ring: string) => `${did}/${ring}`;

/** Writes `k` in one transaction, sealed to its agent. */
export async function keepPledge(store: Store, k: Kept): Promise<void> {
  const plain = encodeCbor({
    v: VERSION,
    did: k.did,
    ring: k.pledge.ring,
    intent: k.pledge.intent,
    turn: encodeTurn(k.pledge.turn),
    salt: k.pledge.salt,
    revealed: k.revealed,
    view: encodeRingList([k.view]),
  });
  const value = seal(x25519FromEd25519Public(ed25519FromDidKey(k.did)), plain);
  await store.transact([{ op: 'put', collection: 'pledges', key: keyOf(k.did, k.pledge.ring), value }]);
}

export async function forgetPledge(store: Store, did: string, ring: string): Promise<void> {
  await store.transact([{ op: 'delete', collection: 'pledges', key: keyOf(did, ring) }]);
}

const FIELDS = ['v', 'did', 'ring', 'intent', 'turn', 'salt', 'revealed', 'view'];

function bytes(x: CborValue | undefined, what: string): Uint8Array {
  if (!(x instanceof Uint8Array)) throw new DreggError('E_INVALID', `A stored pledge's ${what} is not bytes`);
  return x;
}

/** Opens and decodes one stored record filed under `key`; typed errors only. */
async function openPledge(agent: Agent, key: string, value: Uint8Array): Promise<Kept> {
  const k = decoding('stored pledge', () => {
    const m = decodeCbor(openSealed(agent.identity.x25519.secretKey, value), 'stored pledge');
    if (
      typeof m !== 'object' ||
      m === null ||
      Array.isArray(m) ||
      m instanceof Uint8Array ||
      Object.keys(m).length !== FIELDS.length ||
      !FIELDS.every((f) => Object.hasOwn(m, f))
    )
      throw new DreggError('E_INVALID', 'A stored pledge does not have the fields of one');
    const r = m as Record<string, CborValue>;
    if (r.v !== VERSION) throw new DreggError('E_INVALID', `A stored pledge has version ${String(r.v)}`);
    if (typeof r.revealed !== 'boolean')
      throw new DreggError('E_INVALID', "A stored pledge's revealed flag is not a boolean");
    const views = decodeRingList(bytes(r.view, 'ring view'));
    const turn = decodeTurn(bytes(r.turn, 'turn'));
    const salt = bytes(r.salt, 'salt');
    const view = views[0];
    if (
      views.length !== 1 ||
      view === undefined ||
      r.did !== agent.did ||
      key !== keyOf(agent.did, view.id) ||
      r.ring !== view.id ||
      typeof r.intent !== 'string' ||
      view.intents.get(r.intent)?.by !== agent.did ||
      turn.agent !== agent.did ||
      salt.length !== 32
    )
      throw new DreggError(
        'E_INVALID',
        `The stored pledge ${key} does not describe this agent's part in its ring`,
      );
    return {
      pledge: { ring: view.id, intent: r.intent, turn, salt },
      did: agent.did,
      revealed: r.revealed,
      view,
    };
  });
  if (!(await verifyTurnSignature(k.pledge.turn, agent.ed)))
    throw new DreggError('E_BAD_SIGNATURE', `The stored pledge ${key} holds a turn this agent did not sign`);
  return k;
}

/**
 * Every ring `agent` approved in this store. A record that does not open or decode is logged with its
 * typed error and skipped (left in place): one bad record must not keep the others from resuming.
 */
export async function readPledges(store: Store, agent: Agent): Promise<Kept[]> {
  const out: Kept[] = [];
  for (const { key, value } of await store.list('pledges', { prefix: `${agent.did}/` })) {
    try {
      out.push(await openPledge(agent, key, value));
    } catch (e) {
      console.error(`trade: the stored pledge ${key} is unreadable, skipped`, e);
    }
  }
  return out;
}

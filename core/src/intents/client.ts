/**
 * A participant's side of the relay's intent desk, over any RPC call (a `RelayClient`'s `call`), in
 * the browser and in Node: post, list and withdraw intents, read the rings one is in, and approve a
 * ring — commit to an escrow turn, then reveal it once everyone has committed.
 *
 * What the relay answers is checked where it can be: listed intents and a ring's intents are decoded
 * and their signatures verified (a relay cannot show terms nobody signed), and a ring's own id must
 * be the hash of its legs.
 */

import type { Cell } from '../cells/cell.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { DreggError } from '../errors.ts';
import { INTENT_OPS } from '../net/contract.ts';
import type { RpcOp } from '../net/rpc.ts';
import type { Source } from '../turns/effects.ts';
import { encodeTurn, type Turn } from '../turns/turn.ts';
import { ringOwes } from './escrow.ts';
import {
  decodeIntent,
  encodeIntent,
  type Intent,
  intentId,
  type OpenIntent,
  verifyIntent,
} from './intent.ts';
import {
  escrowCommitment,
  escrowTurn,
  ringId,
  type SignedCommitment,
  signCommitment,
  type TurnLedger,
} from './settle.ts';
import {
  commitmentSalt,
  decodeIntentPage,
  decodePosted,
  decodeRingList,
  encodeCommitment,
  encodeIntentQuery,
  encodeReveal,
  encodeRingQuery,
  encodeWithdrawal,
  type RingView,
  signWithdrawal,
} from './wire.ts';

export type IntentCall = (op: RpcOp, request: Uint8Array) => Promise<Uint8Array>;

/** An agent's keys and the cell it pays from and receives into. */
export interface Participant {
  readonly did: string;
  readonly seed: Uint8Array;
  readonly cell: string;
}

/** What a participant keeps between commit and reveal (the reveal opens the commitment). */
export interface Pledge {
  readonly ring: string;
  readonly intent: string;
  readonly turn: Turn;
  readonly salt: Uint8Array;
}

/** A pledge and the signed commitment to it, before the commitment is sent. */
export interface Pledged {
  readonly pledge: Pledge;
  readonly commitment: SignedCommitment;
}

export interface IntentClient {
  post(intent: Intent): Promise<string>;
  /** Every open intent of `zone` at the relay, each signature verified. */
  list(zone: string): Promise<OpenIntent[]>;
  withdraw(id: string, seed: Uint8Array): Promise<void>;
  /** The rings `agent`'s intents are in, newest first, each checked. */
  rings(agent: string): Promise<RingView[]>;
  /**
   * Commits to an escrow of what `intent` owes in `ring`, built and signed here from `p.cell` as
   * `state` (the cell's and agent's state now); returns the pledge to reveal later. `sources` are the
   * capabilities given for the ring's grants of this intent (`ringOwes`), in order: ownership of one
   * of the agent's cells, or a slot of `p.cell` holding a handle.
   */
  commit(
    ring: RingView,
    intent: string,
    p: Participant,
    state: LedgerState,
    sources?: readonly Source[],
  ): Promise<Pledge>;
  /**
   * `commit` in two steps, for a caller that must keep the pledge before the commitment leaves (a
   * wallet writes it to disk: once the commitment is in, only this salt opens it): builds and signs
   * the escrow turn and the commitment, sending nothing.
   */
  pledge(
    ring: RingView,
    intent: string,
    p: Participant,
    state: LedgerState,
    sources?: readonly Source[],
  ): Promise<Pledged>;
  /** Sends a commitment made by `pledge`. */
  commitTo(commitment: SignedCommitment): Promise<void>;
  reveal(pledge: Pledge): Promise<void>;
}

/** The state an escrow turn continues: the paying cell, and the agent's receipt chain head. */
export interface LedgerState {
  readonly ledger: string;
  readonly cell: Cell;
  readonly head: { readonly prev: string | null; readonly seq: number };
}

async function checkedRing(r: RingView, ed: Ed25519): Promise<RingView> {
  if (ringId(r.ring) !== r.id) throw new DreggError('E_INVALID', 'The ring view does not match its id');
  for (const i of r.intents.values()) await verifyIntent(i, ed);
  return r;
}

export function intentClient(call: IntentCall, ed: Ed25519): IntentClient {
  const client: IntentClient = {
    async post(intent) {
      return decodePosted(await call(INTENT_OPS.post, encodeIntent(intent)));
    },
    async list(zone) {
      const out: OpenIntent[] = [];
      let after: string | undefined;
      for (;;) {
        const page = decodeIntentPage(await call(INTENT_OPS.list, encodeIntentQuery({ zone, after })));
        for (const bytes of page.intents) {
          const intent = decodeIntent(bytes);
          await verifyIntent(intent, ed);
          out.push({ id: intentId(intent), intent });
        }
        if (!page.more || out.length === 0) return out;
        after = out[out.length - 1]!.id;
      }
    },
    async withdraw(id, seed) {
      await call(INTENT_OPS.withdraw, encodeWithdrawal(await signWithdrawal(id, seed, ed)));
    },
    async rings(agent) {
      const rings = decodeRingList(await call(INTENT_OPS.rings, encodeRingQuery(agent)));
      return Promise.all(rings.map((r) => checkedRing(r, ed)));
    },
    async pledge(ring, intent, p, state, sources = []) {
      const owes = ringOwes(ring.ring, ring.intents).get(intent);
      if (owes === undefined) throw new DreggError('E_NOT_FOUND', 'That intent is not in this ring');
      if (sources.length !== owes.grants.length)
        throw new DreggError('E_ARGUMENT', `Choose ${owes.grants.length} capabilities to give, one per item`);
      if (ring.intents.get(intent)?.by !== p.did)
        throw new DreggError('E_AUDIENCE', 'That intent is not yours');
      const ledger: TurnLedger = {
        ledger: state.ledger,
        cell: (id) => (id === state.cell.id ? state.cell : undefined),
        head: () => state.head,
      };
      const grants = owes.grants.map((grant, i) => ({ grant, source: sources[i]! }));
      const turn = await escrowTurn(
        p,
        ledger,
        ring,
        { computrons: owes.computrons, assets: owes.assets, grants },
        ed,
      );
      const salt = commitmentSalt();
      const commitment = await signCommitment(
        { ring: ring.id, intent, cell: p.cell, commitment: escrowCommitment(turn, salt) },
        p.seed,
        ed,
      );
      return { pledge: { ring: ring.id, intent, turn, salt }, commitment };
    },
    async commitTo(commitment) {
      await call(INTENT_OPS.commit, encodeCommitment(commitment));
    },
    async commit(ring, intent, p, state, sources = []) {
      const { pledge, commitment } = await client.pledge(ring, intent, p, state, sources);
      await client.commitTo(commitment);
      return pledge;
    },
    async reveal(pledge) {
      await call(
        INTENT_OPS.reveal,
        encodeReveal({
          ring: pledge.ring,
          intent: pledge.intent,
          turn: encodeTurn(pledge.turn),
          salt: pledge.salt,
        }),
      );
    },
  };
  return client;
}

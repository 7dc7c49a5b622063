/**
 * Atomic ring settlement: escrow, commit, reveal — and nothing moves unless everything does.
 *
 *  1. **Commit.** Each participant signs a commitment to its escrow turn (a hash of the turn and a
 *     salt) and names the cell it receives into. Nobody's escrow is visible to anyone yet.
 *  2. **Reveal and escrow.** Once every participant has committed, each reveals its turn. The
 *     coordinator checks it opens the commitment, is signed by the intent's agent, and escrows at least
 *     what the ring promises: one `create-obligation` from the participant's cell to the ring's escrow
 *     cell, due at the deadline, for the computrons it owes, one more per wrapped asset it owes (an
 *     obligation of that asset, by asset id), then per other item one revocable `grant-capability`
 *     into the escrow cell (escrow.ts: a capability on the ledger) or, for a name, one
 *     `set-permissions` moving its entry cell's ownership to the coordinator (custody). Then it
 *     executes it — the value is locked, out of the payer's reach — and reads back each granted
 *     handle (it must carry every offered caveat and narrow to what the receiver wants) and each
 *     entry cell (now the coordinator's, carrying the name's fields).
 *     A reveal that does not open its commitment, escrows less than promised, or cannot execute, names
 *     its participant (with the signed commitment as evidence) and aborts the ring.
 *  3. **Settle.** When every escrow is in, ONE turn of the escrow cell pays every leg out of its
 *     obligations (and hands back any excess) and delegates every escrowed handle to its receiver,
 *     attenuated by the wanted caveats, dropping the escrow's own copy, and moves each name's entry
 *     cell to its receiver's agent: the executor applies a turn atomically, so the ring settles whole
 *     or not at all. Should that turn fail, the ring aborts as below; a giver whose escrowed grant was
 *     revoked since its reveal (its own channel tripped, or one the grant was derived under) is blamed
 *     for it (`E_REVOKED`): its escrow no longer holds what it promised until the deadline.
 *  4. **Timeout.** At the deadline an unfinished ring is aborted: one turn returns every obligation to
 *     its payer, drops every escrowed handle and gives each entry cell back to its giver. Should the
 *     coordinator vanish, each obligation falls due at the deadline and its payer takes it back alone
 *     (the executor lets the debtor collect a due obligation), and each giver trips its grant's
 *     revocation channel; a name in custody stays with the coordinator (it is trusted for custody as
 *     for the escrow cell).
 *
 * The coordinator owns the escrow cell (its id is `cellId(coordinator, ringId)`, known in advance), so it
 * is trusted not to pay the escrow elsewhere before the deadline — the same trust the relay already
 * carries for ordering (seed 000, "executor-trusted"); moving that to a federation's threshold key is
 * the federation's part.
 */

import { cellId } from '../cells/cell.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { bytesEqual, concatBytes, toHex } from '../encoding/bytes.ts';
import { encodeCbor } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError, type ErrorCode } from '../errors.ts';
import type { Effect, Source } from '../turns/effects.ts';
import type { Executor } from '../turns/executor.ts';
import type { Receipt } from '../turns/receipt.ts';
import { encodeTurn, signTurn, type Turn } from '../turns/turn.ts';
import {
  type AssetOwed,
  custodyProblem,
  escrowedHandleProblem,
  type Grant,
  type Owes,
  ringOwes,
} from './escrow.ts';
import type { Intent } from './intent.ts';
import type { Ring } from './solver.ts';

/** What the coordinator needs of a ledger: the local executor has it; the relay's notary will. */
export type SettlementLedger = Pick<Executor, 'submit' | 'cell' | 'head' | 'ledger' | 'revoked'>;

/** What building a participant's turn needs of a ledger: its name, the cell's nonce, the agent's head. */
export type TurnLedger = Pick<SettlementLedger, 'ledger' | 'cell' | 'head'>;

export interface Coordinator {
  readonly did: string;
  readonly seed: Uint8Array;
  /** A cell of the coordinator's, from which escrow cells are created. */
  readonly cell: string;
}

/** One leg as settled: who pays whom how much. */
export interface Payment {
  readonly payer: string;
  readonly payee: string;
  readonly amount: bigint;
}

export type SettlementState =
  | { readonly phase: 'committing'; readonly committed: number }
  | { readonly phase: 'revealing'; readonly escrowed: number }
  | { readonly phase: 'settled'; readonly receipt: Receipt }
  | {
      readonly phase: 'aborted';
      readonly reason: string;
      readonly blame?: Blame;
      /** The coordinator's turn that returned the escrows already in (none when nobody had escrowed). */
      readonly refund?: Receipt;
    };

/** A participant who broke the protocol, and the evidence: its own signed commitment. */
export interface Blame {
  readonly intent: string;
  readonly agent: string;
  readonly code: ErrorCode;
  readonly commitment: SignedCommitment;
}

export interface SignedCommitment {
  readonly ring: string;
  readonly intent: string;
  /** The cell the participant receives into. */
  readonly cell: string;
  /** hashFor('intentEscrowCommit', escrow turn bytes ‖ salt). */
  readonly commitment: Uint8Array;
  readonly signature: Uint8Array;
}

/** The ring's id: a hash of its legs (who gives what to whom). */
export function ringId(ring: Ring): string {
  const legs = ring.legs.map((l) => [l.from, l.to, l.gives.map((g) => [g.offer, g.want])]);
  return toHex(hashFor('intentRing', encodeCbor(legs)));
}

/** The escrow cell of a ring: the coordinator's cell salted with the ring id. */
export function escrowCellOf(coordinator: string, ring: string): string {
  return cellId(coordinator, ring);
}

export function escrowCommitment(turn: Turn, salt: Uint8Array): Uint8Array {
  return hashFor('intentEscrowCommit', concatBytes(encodeTurn(turn), salt));
}

function commitmentDigest(c: Omit<SignedCommitment, 'signature'>): Uint8Array {
  return hashFor(
    'intentEscrowSigning',
    encodeCbor({ ring: c.ring, intent: c.intent, cell: c.cell, c: c.commitment }),
  );
}

/** A participant signs its commitment (as the intent's agent). */
export async function signCommitment(
  c: Omit<SignedCommitment, 'signature'>,
  seed: Uint8Array,
  ed: Ed25519,
): Promise<SignedCommitment> {
  return { ...c, signature: await ed.sign(seed, commitmentDigest(c)) };
}

/**
 * What each leg pays in computrons: what the receiver wants (the giver keeps any surplus it offered);
 * 0 for a leg of other items only. `E_UNSUPPORTED` when the ring trades an item with no escrow.
 */
export function ringPayments(ring: Ring, intents: ReadonlyMap<string, Intent>): Map<string, bigint> {
  return new Map([...ringOwes(ring, intents)].map(([id, o]) => [id, o.computrons]));
}

export interface Settlement {
  readonly id: string;
  /** The coordinator's did:key: it owns the escrow cell, and takes names into custody. */
  readonly coordinator: string;
  readonly escrowCell: string;
  readonly deadline: number;
  /** From then on the ring is aborted (`expire`); before `deadline`, so the escrow can still refund it. */
  readonly cutoff: number;
  /** The computrons each intent must escrow (0 when it gives other items only). */
  readonly owed: ReadonlyMap<string, bigint>;
  /** Everything each intent must escrow: the computrons, and a grant per other item. */
  readonly owes: ReadonlyMap<string, Owes>;
  state(): SettlementState;
  /**
   * Which intents have committed, and which have escrowed (in the order they did); and the names'
   * entry cells taken into custody, by the intent that gave them.
   */
  progress(): {
    readonly committed: readonly SignedCommitment[];
    readonly escrowed: readonly string[];
    readonly custody: readonly Custody[];
  };
  commit(c: SignedCommitment): Promise<void>;
  reveal(intent: string, turn: Turn, salt: Uint8Array): Promise<void>;
  /** At or after the cutoff: aborts an unfinished ring and returns every escrow. */
  expire(now: number): Promise<void>;
}

/** A name's entry cell the coordinator took into custody from the giving intent. */
export interface Custody {
  readonly intent: string;
  readonly cell: string;
}

export interface SettlementOptions {
  readonly ledger: SettlementLedger;
  readonly coordinator: Coordinator;
  readonly ed: Ed25519;
  /** Unix seconds: escrows fall due then; the ring must settle before. */
  readonly deadline: number;
  /**
   * Unix seconds, at most `deadline`: when `expire` may abort the ring (default: the deadline). The
   * escrow cell collects an obligation only before it is due, so a coordinator that refunds itself
   * aborts at a cutoff before the deadline; at the deadline itself each payer takes its escrow back.
   */
  readonly cutoff?: number;
}

/**
 * Opens the settlement of `ring` (of intents `intents`): creates its escrow cell and waits for
 * commitments. Every method refuses out-of-phase or foreign input with a typed error.
 */
export async function openSettlement(
  ring: Ring,
  intents: ReadonlyMap<string, Intent>,
  o: SettlementOptions,
): Promise<Settlement> {
  const id = ringId(ring);
  const owes = ringOwes(ring, intents);
  const owed = new Map([...owes].map(([intent, w]) => [intent, w.computrons]));
  const escrowCell = escrowCellOf(o.coordinator.did, id);
  const { ledger, coordinator, ed } = o;
  const payeeOf = new Map(ring.legs.map((l) => [l.from, l.to]));
  const cutoff = o.cutoff ?? o.deadline;
  if (!Number.isSafeInteger(cutoff) || cutoff > o.deadline)
    throw new DreggError('E_ARGUMENT', 'The cutoff is a time no later than the deadline');

  const coordinatorTurn = async (cell: string, effects: Effect[]): Promise<Receipt> =>
    ledger.submit(await ledgerTurn(ledger, { ...coordinator, cell }, effects, o.deadline, ed));
  await coordinatorTurn(coordinator.cell, [{ type: 'create-cell', salt: id }]);

  const commitments = new Map<string, SignedCommitment>();
  /**
   * intent -> what it escrowed: its obligations (computrons, then assets), the escrow cell's slots
   * (its capabilities, in order) and the entry cells in custody (its names, in order).
   */
  const escrows = new Map<
    string,
    { obligations: readonly Escrowed[]; slots: readonly number[]; custody: readonly string[] }
  >();
  const agentOf = (intent: string): string => intents.get(intent)!.by;
  let state: SettlementState = { phase: 'committing', committed: 0 };

  /**
   * Returns every obligation to its payer, drops every escrowed handle and gives every entry cell in
   * custody back to its giver, in one turn. The ring reads as aborted only once that turn is in, so a
   * reader never sees an abort without the refund it owes (callers serialize a settlement's steps).
   */
  const abort = async (reason: string, blame?: Blame): Promise<void> => {
    const aborted = { phase: 'aborted', reason, ...(blame ? { blame } : {}) } as const;
    const undo: Effect[] = [];
    for (const [intent, e] of escrows) {
      for (const ob of e.obligations) undo.push(payOut(ob, ob.payer, ob.amount));
      for (const slot of e.slots) undo.push({ type: 'revoke-capability', cell: escrowCell, slot });
      for (const cell of e.custody) undo.push({ type: 'set-permissions', cell, owner: agentOf(intent) });
    }
    state = undo.length > 0 ? { ...aborted, refund: await coordinatorTurn(escrowCell, undo) } : aborted;
  };

  const settle = async (): Promise<void> => {
    const effects: Effect[] = [];
    const dropped: Effect[] = [];
    for (const [intent, e] of escrows) {
      const payee = commitments.get(payeeOf.get(intent)!)!.cell;
      for (const [k, ob] of e.obligations.entries()) {
        const due = obligationsOf(owes.get(intent)!)[k]!.amount;
        effects.push(payOut(ob, payee, due));
        if (ob.amount > due) effects.push(payOut(ob, ob.payer, ob.amount - due));
      }
      const grants = owes.get(intent)!.grants;
      grants
        .filter((g) => !g.ownership)
        .forEach((g, i) => {
          const slot = e.slots[i]!;
          effects.push({ type: 'grant-capability', source: { slot }, to: payee, caveats: g.wanted });
          dropped.push({ type: 'revoke-capability', cell: escrowCell, slot });
        });
      // A name goes to the receiving participant's agent: the one its intent and commitment name.
      for (const cell of e.custody)
        effects.push({ type: 'set-permissions', cell, owner: agentOf(payeeOf.get(intent)!) });
    }
    try {
      // Delegations first, then the escrow's own copies go: it keeps no authority once settled.
      state = { phase: 'settled', receipt: await coordinatorTurn(escrowCell, [...effects, ...dropped]) };
    } catch (err) {
      // Nothing moved (a turn is atomic). A giver whose grant was revoked since its reveal no longer
      // escrows what its own commitment promised to leave until the deadline.
      const why = `The settling turn failed: ${err instanceof Error ? err.message : String(err)}`;
      const withdrawn = withdrawnBy();
      await abort(
        why,
        withdrawn === undefined
          ? undefined
          : {
              intent: withdrawn,
              agent: agentOf(withdrawn),
              code: 'E_REVOKED',
              commitment: commitments.get(withdrawn)!,
            },
      );
    }
  };

  /** The first participant whose escrowed handle can no longer be used (a channel of it is tripped). */
  const withdrawnBy = (): string | undefined => {
    const held = ledger.cell(escrowCell)?.clist;
    for (const [intent, e] of escrows)
      for (const slot of e.slots) {
        const h = held?.get(slot);
        if (h !== undefined && ledger.revoked(h)) return intent;
      }
    return undefined;
  };

  const refuse = (code: ErrorCode, message: string): never => {
    throw new DreggError(code, message);
  };

  /**
   * Whether `turn` has the shape of the escrow `owes` asks for: each obligation of at least what is
   * owed of exactly its unit (computrons or the asset), then the grants (their caveats are judged apart).
   */
  const escrowShaped = (turn: Turn, w: Owes): boolean => {
    const { effects } = turn;
    const obligations = obligationsOf(w);
    if (effects.length !== obligations.length + w.grants.length) return false;
    const paid = obligations.every((want, k) => {
      const e = effects[k]!;
      return (
        e.type === 'create-obligation' &&
        e.to === escrowCell &&
        e.due === o.deadline &&
        e.asset === want.asset &&
        e.amount >= want.amount
      );
    });
    return (
      paid &&
      effects.slice(obligations.length).every((e, i) =>
        w.grants[i]!.ownership
          ? // Custody, nothing else: a cell of this ledger handed whole to the coordinator.
            e.type === 'set-permissions' &&
            e.owner === coordinator.did &&
            !e.cell.startsWith('$') &&
            e.permissions === undefined &&
            e.lifecycle === undefined
          : e.type === 'grant-capability' && e.to === escrowCell && e.revocable === true,
      )
    );
  };

  return {
    id,
    coordinator: coordinator.did,
    escrowCell,
    deadline: o.deadline,
    cutoff,
    owed,
    owes,
    state: () => state,
    progress: () => ({
      committed: [...commitments.values()],
      escrowed: [...escrows.keys()],
      custody: [...escrows].flatMap(([intent, e]) => e.custody.map((cell) => ({ intent, cell }))),
    }),

    async commit(c) {
      if (state.phase !== 'committing')
        refuse('E_STALE', `The ring is ${state.phase}, not taking commitments`);
      const intent = intents.get(c.intent);
      if (c.ring !== id || intent === undefined || !owed.has(c.intent))
        refuse('E_NOT_FOUND', 'That commitment is for another ring or an intent outside it');
      if (commitments.has(c.intent)) refuse('E_EXISTS', 'This participant has committed already');
      if (c.commitment.length !== 32) refuse('E_INVALID', 'A commitment is 32 bytes');
      if (!(await ed.verify(ed25519FromDidKey(intent!.by), commitmentDigest(c), c.signature)))
        refuse('E_BAD_SIGNATURE', "The commitment is not signed by the intent's agent");
      const receiving = ledger.cell(c.cell);
      if (receiving === undefined) refuse('E_NOT_FOUND', `No cell ${c.cell} to receive into`);
      const giver = ring.legs.find((l) => l.to === c.intent)!.from;
      const handles = owes.get(giver)!.grants.some((g) => !g.ownership);
      if (handles && receiving!.permissions['grant-capability'] !== 'anyone')
        refuse('E_DENIED', 'The cell receiving a capability must accept grants from anyone');
      commitments.set(c.intent, c);
      state =
        commitments.size === owed.size
          ? { phase: 'revealing', escrowed: 0 }
          : { phase: 'committing', committed: commitments.size };
    },

    async reveal(intentId, turn, salt) {
      if (state.phase !== 'revealing') refuse('E_STALE', `The ring is ${state.phase}, not taking escrows`);
      const c = commitments.get(intentId);
      if (c === undefined) refuse('E_NOT_FOUND', 'That intent is not in this ring');
      if (escrows.has(intentId)) refuse('E_EXISTS', 'This participant has escrowed already');
      const intent = intents.get(intentId)!;
      const blame = async (code: ErrorCode, why: string) => {
        await abort(why, { intent: intentId, agent: intent.by, code, commitment: c! });
        refuse(code, why);
      };
      if (!bytesEqual(escrowCommitment(turn, salt), c!.commitment))
        return blame('E_INVALID', 'The revealed escrow does not open its commitment');
      const w = owes.get(intentId)!;
      if (turn.agent !== intent.by || !escrowShaped(turn, w))
        return blame(
          'E_INSUFFICIENT',
          `The escrow must be ${escrowShape(w)}, in that order, into the ring's escrow cell (obligations due at the deadline)`,
        );
      let receipt: Receipt;
      try {
        receipt = await ledger.submit(turn);
      } catch (err) {
        const code = err instanceof DreggError ? err.code : 'E_INTERNAL';
        return blame(
          code,
          `The escrow turn did not execute: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      const first = obligationsOf(w).length;
      const slots: number[] = [];
      const custody: string[] = [];
      w.grants.forEach((g, i) => {
        const effect = turn.effects[first + i]!;
        if (g.ownership) custody.push((effect as { cell: string }).cell);
        else slots.push((receipt.results[first + i] as { slot: number }).slot);
      });
      const obligations = turn.effects.slice(0, first).map((e, k) => {
        const ob = e as Extract<Effect, { type: 'create-obligation' }>; // escrowShaped saw to it
        return { id: String(receipt.results[k]), amount: ob.amount, payer: ob.from, asset: ob.asset };
      });
      escrows.set(intentId, { obligations, slots, custody });
      // What was given is judged as it now lies on the ledger; a bad grant is dropped, and an entry
      // cell in custody given back, on abort.
      const held = ledger.cell(escrowCell)?.clist;
      let slot = 0;
      let entry = 0;
      for (const g of w.grants) {
        let problem: { code: ErrorCode; why: string } | undefined;
        if (g.ownership) problem = custodyProblem(ledger.cell(custody[entry++]!), g, coordinator.did);
        else {
          const h = held?.get(slots[slot++]!);
          problem =
            h === undefined
              ? { code: 'E_INSUFFICIENT', why: 'The escrowed capability is not in the escrow cell' }
              : escrowedHandleProblem(h, g, ledger.cell(h.target.id), receipt.at, o.deadline);
        }
        if (problem !== undefined) return blame(problem.code, problem.why);
      }
      state = { phase: 'revealing', escrowed: escrows.size };
      if (escrows.size === owed.size) await settle();
    },

    async expire(now) {
      if (now < cutoff) refuse('E_NOT_YET_VALID', `The ring's cutoff is ${cutoff}`);
      if (state.phase === 'committing' || state.phase === 'revealing')
        await abort('The deadline passed before every participant escrowed');
    },
  };
}

/** An obligation a participant escrowed, as the coordinator holds it until it pays it out. */
interface Escrowed {
  readonly id: string;
  readonly amount: bigint;
  readonly payer: string;
  readonly asset?: string;
}

/** The obligations an escrow holds, in order: the computrons owed (if any), then each asset by id. */
export function obligationsOf(
  w: Pick<EscrowPlan, 'computrons' | 'assets'>,
): { readonly amount: bigint; readonly asset?: string }[] {
  return [...(w.computrons > 0n ? [{ amount: w.computrons }] : []), ...(w.assets ?? [])];
}

/** What an escrow turn must hold, for people: "an obligation of 5 w-gold, 1 revocable grant(s)". */
function escrowShape(w: Owes): string {
  const parts = obligationsOf(w).map(
    (x) => `an obligation of at least ${x.amount} ${x.asset ?? 'computrons'}`,
  );
  const names = w.grants.filter((g) => g.ownership).length;
  return [
    ...parts,
    `${w.grants.length - names} revocable grant(s)`,
    ...(names > 0 ? [`${names} entry cell(s) handed to the coordinator`] : []),
  ].join(', ');
}

/** The escrow cell's transfer out of obligation `ob`, in the obligation's own unit. */
function payOut(ob: Escrowed, to: string, amount: bigint): Effect {
  return {
    type: 'transfer',
    obligation: ob.id,
    to,
    amount,
    ...(ob.asset === undefined ? {} : { asset: ob.asset }),
  };
}

/** Signs a turn of `agent` acting as `agent.cell`, following the ledger's nonce and the agent's receipt chain. */
async function ledgerTurn(
  ledger: TurnLedger,
  agent: { did: string; seed: Uint8Array; cell: string },
  effects: Effect[],
  validUntil: number,
  ed: Ed25519,
): Promise<Turn> {
  return signTurn(
    {
      ledger: ledger.ledger,
      agent: agent.did,
      cell: agent.cell,
      nonce: ledger.cell(agent.cell)?.nonce ?? 0,
      prev: ledger.head(agent.did).prev,
      effects,
      fee: 0n,
      validUntil,
    },
    agent.seed,
    ed,
  );
}

/**
 * What a participant escrows: the computrons it owes, each wrapped asset it owes (by asset id, as
 * `ringOwes` lists them), and for each grant it owes (in order) the capability it gives — ownership
 * of one of its cells, or a handle it holds in a slot of its cell; for a name, the entry cell itself
 * (`{cell}`), whose ownership goes to the coordinator.
 */
export interface EscrowPlan {
  readonly computrons: bigint;
  readonly assets?: readonly AssetOwed[];
  readonly grants?: readonly { readonly grant: Grant; readonly source: Source }[];
}

/**
 * Builds and signs a participant's escrow turn for a ring (what a wallet does when it approves): an
 * obligation of the computrons (a bare amount escrows computrons only), one of each asset, then a
 * revocable grant of each capability into the escrow cell carrying the offered caveats, or for a
 * name its entry cell handed to the coordinator. `E_ARGUMENT` for a name given from a slot (a handle
 * is not the entry).
 */
export function escrowTurn(
  p: { did: string; seed: Uint8Array; cell: string },
  ledger: TurnLedger,
  s: Pick<Settlement, 'escrowCell' | 'deadline' | 'coordinator'>,
  what: bigint | EscrowPlan,
  ed: Ed25519,
): Promise<Turn> {
  const plan = typeof what === 'bigint' ? { computrons: what } : what;
  const effects: Effect[] = obligationsOf(plan).map(({ amount, asset }) => ({
    type: 'create-obligation',
    from: p.cell,
    to: s.escrowCell,
    amount,
    ...(asset === undefined ? {} : { asset }),
    due: s.deadline,
  }));
  for (const { grant, source } of plan.grants ?? []) {
    if (grant.ownership) {
      if (!('cell' in source))
        throw new DreggError('E_ARGUMENT', 'A name is given as its entry cell, not as a handle in a slot');
      effects.push({ type: 'set-permissions', cell: source.cell, owner: s.coordinator });
      continue;
    }
    effects.push({
      type: 'grant-capability',
      source,
      to: s.escrowCell,
      caveats: grant.offered,
      revocable: true,
    });
  }
  return ledgerTurn(ledger, p, effects, s.deadline, ed);
}

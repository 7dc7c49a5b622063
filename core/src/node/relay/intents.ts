/**
 * The relay's intent desk: a pool of open intents per served zone, gossip of intents between relays
 * serving the same zone, the solver run on the pool, and the relay as coordinator of the rings it
 * finds (core/docs/intents.md).
 *
 * - **Pool.** `intent/post` admits a signed intent (`admitIntent`: typed errors, `E_EXPIRED`) of a
 *   zone this relay carries (`zoneRouter`), at most `perAgent` open intents per agent and `perZone`
 *   per zone (`E_QUOTA`), and gossips it on the served zone's topic. Intents heard on gossip pass the
 *   same admission in the topic validator (a bad one is rejected, scoring its sender down). Expired
 *   intents are purged. An intent's own signature authenticates it, so it travels bare, not in a
 *   gossip envelope: a relay can drop an intent but not alter one.
 * - **Solve.** After a post (debounced), every zone's open intents go through `findRings` and
 *   `chooseRings`; each chosen ring that settles on the ledger (all but storage beyond a budget) is
 *   opened at once, and its intents leave the pool. Whatever the outcome, they do not come back: an agent posts again.
 * - **Coordinate.** `openSettlement` against the relay's notary, as the coordinator key (derived from
 *   the relay's signing key, so its receipt chain is its own and never races the inbox's payouts) and
 *   its coordinator cell, opened at start. Settlement steps run one at a time (each continues the
 *   coordinator's chain). At the cutoff an unfinished ring is aborted and its escrows refunded; the
 *   escrows fall due `graceSeconds` later, when each payer may also take its own back.
 *
 * - **Federation mode.** When the relay is a member of a federation, every settlement turn (the
 *   escrow cell, each escrow, the settling or refunding turn) goes through the federation's order
 *   (`fed.submit`) and the desk reads cells and heads from its settled ledger. The coordinator key is
 *   then the member's own key, its cell `cellId(member did, COORDINATOR_SALT)` (a genesis cell, or
 *   for a member added later one a turn creates), so every member knows which members can
 *   coordinate. The members are the current epoch's committee (`fed.committee()`, read at each
 *   choice): a removed member stops coordinating, an added one with a coordinator cell starts. Each
 *   served zone has exactly one coordinating member (`zoneCoordinator`: among the members with a
 *   coordinator cell, in committee order, the one at FNV-1a(zone) mod their count); it alone pools the zone, solves it and opens its rings, so two
 *   members never choose differently from pools gossip has not yet made equal. A member is a door to
 *   the others: `intent/post` and `intent/list` go to the zone's coordinator, `ring/list` gathers the
 *   agent's rings from every member, and `intent/withdraw`, `ring/commit` and `ring/reveal` for what
 *   it does not hold are put to the others (the one holding it answers). A member's own questions are
 *   answered locally only, so forwarding is one hop.
 * - **One ring per agent at a time.** An escrow turn names its agent's receipt-chain head and its
 *   cell's nonce when it is committed, so an agent's second concurrent escrow would collide with the
 *   first and be blamed. A chosen ring with an agent already in an unfinished ring waits in the pool
 *   until that ring ends (the desk solves again then).
 *
 * - **Persistence.** The pool, the closed intent ids and every ring's inputs and ledger submissions
 *   are written to the relay's SQLite file (intent-store.ts) before they are acted on or answered; at
 *   start the pool is read back (expired intents dropped) and each ring's settlement is rebuilt by
 *   replaying its inputs against its journal, a submission cut off by the crash sent again (the
 *   ledger answers a duplicate). Unfinished rings keep their cutoff: they settle or are refunded as if
 *   the relay had never stopped.
 */
import type { Message } from '@libp2p/gossipsub';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { Libp2p } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { cellId } from '../../cells/cell.ts';
import { type Clock, nowSeconds } from '../../clock.ts';
import { type Ed25519, ed25519PublicKey } from '../../crypto/ed25519.ts';
import { hashFor } from '../../crypto/hash.ts';
import { didKeyFromEd25519 } from '../../encoding/did-key.ts';
import { DreggError, isDreggError } from '../../errors.ts';
import { ringOwes } from '../../intents/escrow.ts';
import { admitIntent, encodeIntent, type Intent, type OpenIntent } from '../../intents/intent.ts';
import { openSettlement, ringId, type Settlement, type SettlementLedger } from '../../intents/settle.ts';
import { chooseRings, findRings, type Ring } from '../../intents/solver.ts';
import {
  decodeCommitment,
  decodeIntentQuery,
  decodeReveal,
  decodeRingList,
  decodeRingQuery,
  decodeWithdrawal,
  encodeIntentPage,
  encodePosted,
  encodeRingList,
  MAX_INTENTS_PER_PAGE,
  MAX_RINGS_PER_CALL,
  type RingView,
  verifyWithdrawal,
} from '../../intents/wire.ts';
import { intentTopic, zoneRouter } from '../../intents/zones.ts';
import { encodeEmpty, INTENT_OPS, type IntentOpName, TURN_BYTES } from '../../net/contract.ts';
import type { RelayServices } from '../../net/node.ts';
import { callRpc, type RpcOp, type RpcPeer } from '../../net/rpc.ts';
import type { Notary } from '../../notary/index.ts';
import type { Store } from '../../store/store.ts';
import { decodeTurn, encodeTurn } from '../../turns/turn.ts';
import type { Federation } from '../federation/federation.ts';
import { journaledLedger, openDeskStore, type RingInput, type StoredRing } from './intent-store.ts';
import type { Log } from './log.ts';

export interface IntentDeskOptions {
  readonly notary: Notary;
  readonly node: Libp2p<RelayServices>;
  readonly ed: Ed25519;
  readonly clock: Clock;
  /** The relay's signing seed: the coordinator's key is derived from it. */
  readonly seed: Uint8Array;
  readonly log: Log;
  /** The relay's store (declaring `INTENT_COLLECTIONS`): the pool and the rings survive a restart. */
  readonly store: Store;
  /** Zones served (default `['market']`). */
  readonly zones?: readonly string[];
  /** Seconds a ring has to settle once found (default 120). */
  readonly ringSeconds?: number;
  /** Seconds between the cutoff and the escrows falling due (default 30). */
  readonly graceSeconds?: number;
  /** Open intents per agent (default 32) and per zone (default 10,000). */
  readonly perAgent?: number;
  readonly perZone?: number;
  /** Federation mode: settle through the federation's order, coordinating the rings that fall to us. */
  readonly federation?: { readonly fed: Pick<Federation, 'submit' | 'notary' | 'committee'> };
  /** Longest ring searched (default 6). */
  readonly maxRingLength?: number;
  /** How long the solver waits after a post for more (ms, default 50). */
  readonly solveDelayMs?: number;
}

/** A desk operation; `from` is the calling peer (absent in-process). */
export type DeskHandler = (request: Uint8Array, from?: RpcPeer) => Promise<Uint8Array>;

export interface IntentDesk {
  readonly handlers: Record<IntentOpName, DeskHandler>;
  /** The coordinator's did:key and cell. */
  readonly coordinator: { readonly did: string; readonly cell: string };
  /** Runs the solver now (what a post schedules). */
  solve(): Promise<void>;
  /** Stops the desk: no more solving, no cutoffs; its operations answer `E_UNREACHABLE` from then on. */
  close(): void;
}

const DEFAULT_ZONES = ['market'];
/** The salt of the coordinator's own cell (all zeros: one per coordinator key). */
export const COORDINATOR_SALT = '00'.repeat(32);
/** How long a member waits for another's ring list (ms): one member down must not stall the list. */
const LIST_MS = 5000;
/** Finished rings kept readable for their participants. */
const KEEP_RINGS = 4096;

/** The gossip topics of the zones a desk serves (its relay's node must allow them). */
export const deskTopics = (zones: readonly string[] = DEFAULT_ZONES): string[] =>
  zoneRouter(zones).zones.map(intentTopic);

/** The notary as the settlement's ledger: the same submit, cell and head, the receipt of a notarization. */
export function notaryLedger(notary: Notary): SettlementLedger {
  return {
    ledger: notary.ledger,
    submit: async (turn) => (await notary.submit(turn)).receipt,
    cell: (id) => notary.cell(id),
    head: (agent) => notary.head(agent),
    revoked: (h) => notary.revoked(h),
  };
}

/** The federation's settled ledger as the settlement's ledger: turns go through the final order. */
export function federationLedger(fed: Pick<Federation, 'submit' | 'notary'>): SettlementLedger {
  return {
    ledger: fed.notary.ledger,
    submit: async (turn) => (await fed.submit(turn, encodeTurn(turn))).receipt,
    cell: (id) => fed.notary.cell(id),
    head: (agent) => fed.notary.head(agent),
    revoked: (h) => fed.notary.revoked(h),
  };
}

/** A federation member as a possible coordinator: its key, its coordinator cell, its libp2p peer. */
interface MemberDesk {
  readonly did: string;
  readonly cell: string;
  readonly peer?: string;
}

/** FNV-1a, 32 bits: spreads zones over members (a choice everyone computes alike, not a secret). */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/**
 * The one member that coordinates `zone` (a served zone): among the members whose coordinator cell is
 * in the ledger, in committee order, the one at FNV-1a(zone) mod their count. Every member reading the
 * same ledger names the same one.
 */
export function zoneCoordinator(
  zone: string,
  members: readonly MemberDesk[],
  ledger: Pick<SettlementLedger, 'cell'>,
): MemberDesk | undefined {
  const able = members.filter((m) => ledger.cell(m.cell) !== undefined);
  return able.length === 0 ? undefined : able[fnv1a(zone) % able.length];
}

/** A ring as the desk records it when it opens (intent-store.ts). */
type RingRecord = Omit<StoredRing, 'inputs' | 'submissions'>;

interface Pooled {
  readonly open: OpenIntent;
  readonly zone: string;
}

interface Opened {
  readonly settlement: Settlement;
  readonly ring: Ring;
  readonly intents: ReadonlyMap<string, Intent>;
  readonly agents: ReadonlySet<string>;
  /** How many inputs the journal holds (the next one's place). */
  inputs: number;
  timer?: ReturnType<typeof setTimeout>;
}

export async function openIntentDesk(o: IntentDeskOptions): Promise<IntentDesk> {
  const { notary, ed, clock, log } = o;
  const router = zoneRouter(o.zones ?? DEFAULT_ZONES);
  const ringSeconds = o.ringSeconds ?? 120;
  const graceSeconds = o.graceSeconds ?? 30;
  const perAgent = o.perAgent ?? 32;
  const perZone = o.perZone ?? 10_000;
  const federated = o.federation;
  const ledger = federated === undefined ? notaryLedger(notary) : federationLedger(federated.fed);
  // Alone, a key of its own keeps settlement off the relay's chain; in a federation the member's key,
  // which the genesis names, so that every member knows every coordinator cell.
  const seed = federated === undefined ? hashFor('intentCoordinatorKey', o.seed) : o.seed;
  const did = didKeyFromEd25519(ed25519PublicKey(seed));
  const cell = cellId(did, COORDINATOR_SALT);
  if (federated === undefined && notary.cell(cell) === undefined)
    await notary.genesis(did, COORDINATOR_SALT, 0n);
  const coordinator = { did, seed, cell };
  /** The current committee's members as possible coordinators, in committee order. */
  const members = (): MemberDesk[] =>
    (federated?.fed.committee().members ?? []).map((m) => ({
      did: m.did,
      cell: cellId(m.did, COORDINATOR_SALT),
      ...(m.peer === undefined ? {} : { peer: m.peer }),
    }));
  if (federated !== undefined && ledger.cell(cell) === undefined)
    log('warn', 'this member has no coordinator cell (yet): it coordinates no ring until one exists', {
      owner: did,
      salt: COORDINATOR_SALT,
    });
  /** The other members' libp2p peers, of the current committee. */
  const memberPeers = (): Set<string> =>
    new Set(
      members()
        .filter((m) => m.did !== did)
        .flatMap((m) => m.peer ?? []),
    );

  /** Open intents by id, and per served zone. */
  const pool = new Map<string, Pooled>();
  const byZone = new Map<string, Set<string>>(router.zones.map((z) => [z, new Set()]));
  /** Ids that were in a ring or withdrawn, with their expiry: never admitted again. */
  const closed = new Map<string, number>();
  const rings = new Map<string, Opened>();
  const saved = openDeskStore(o.store);
  /** The order rings were opened in (stored with each, so a restart keeps it). */
  let ringSeq = 0;
  const stored = await saved.load(nowSeconds(clock));
  for (const open of stored.pool) {
    const zone = router.route(open.intent.zone);
    if (zone === undefined) continue; // a zone no longer served: kept on disk until it expires
    pool.set(open.id, { open, zone });
    byZone.get(zone)!.add(open.id);
  }
  for (const [id, expires] of stored.closed) closed.set(id, expires);

  // Every settlement step continues the coordinator's chain: one at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(step: () => Promise<T>): Promise<T> => {
    const next = queue.then(step);
    queue = next.catch(() => undefined);
    return next;
  };

  const now = () => nowSeconds(clock);
  const countBy = (agent: string) => {
    let n = 0;
    for (const p of pool.values()) if (p.open.intent.by === agent) n++;
    return n;
  };

  const purge = () => {
    const t = now();
    const gone: string[] = [];
    for (const [id, p] of pool)
      if (p.open.intent.expires <= t) {
        pool.delete(id);
        byZone.get(p.zone)?.delete(id);
        gone.push(id);
      }
    // An expired intent is refused at admission anyway: its closed mark is no longer needed.
    for (const [id, expires] of closed)
      if (expires <= t) {
        closed.delete(id);
        gone.push(id);
      }
    if (gone.length > 0)
      saved
        .expired(gone)
        .catch((e) => log('warn', 'forgetting expired intents failed', { error: String(e) }));
  };

  /** The served zone an intent of `zone` belongs to here (`E_UNSUPPORTED` when none). */
  const served = (zone: string): string => {
    const z = router.route(zone);
    if (z === undefined) throw new DreggError('E_UNSUPPORTED', `This relay does not carry the zone ${zone}`);
    return z;
  };

  /**
   * In federation mode, the member coordinating a served zone, when it is another (alone, or when
   * it is this member: undefined). `E_UNSUPPORTED` when no member has a coordinator cell.
   */
  const coordinatorElsewhere = (zone: string): MemberDesk | undefined => {
    if (federated === undefined) return undefined;
    const chosen = zoneCoordinator(zone, members(), ledger);
    if (chosen === undefined)
      throw new DreggError('E_UNSUPPORTED', 'No member of this federation has a coordinator cell');
    return chosen.did === did ? undefined : chosen;
  };

  /** Admits a checked intent of served zone `zone` to the pool; answers whether it is new here. */
  async function admit(open: OpenIntent, zone: string): Promise<{ id: string; fresh: boolean }> {
    if (pool.has(open.id)) return { id: open.id, fresh: false };
    if (closed.has(open.id))
      throw new DreggError('E_STALE', 'This intent was already matched or withdrawn here');
    purge();
    if (countBy(open.intent.by) >= perAgent)
      throw new DreggError('E_QUOTA', `An agent may have at most ${perAgent} open intents here`);
    const zoned = byZone.get(zone)!;
    if (zoned.size >= perZone)
      throw new DreggError('E_QUOTA', `The zone ${zone} holds its most open intents (${perZone})`);
    pool.set(open.id, { open, zone });
    zoned.add(open.id);
    try {
      await saved.pooled(open);
    } catch (e) {
      pool.delete(open.id);
      zoned.delete(open.id);
      throw e;
    }
    scheduleSolve();
    return { id: open.id, fresh: true };
  }

  // ---- gossip ----------------------------------------------------------------------------------
  const pubsub = o.node.services.pubsub;
  const topics = new Map(router.zones.map((z) => [router.topic(z)!, z]));
  const validator = async (_peer: unknown, message: Message): Promise<TopicValidatorResult> => {
    try {
      const open = await admitIntent(message.data, now(), ed);
      return router.topic(open.intent.zone) === message.topic
        ? TopicValidatorResult.Accept
        : TopicValidatorResult.Reject;
    } catch (e) {
      return isDreggError(e, 'E_EXPIRED') ? TopicValidatorResult.Ignore : TopicValidatorResult.Reject;
    }
  };
  const onMessage = (event: CustomEvent<Message>) => {
    if (!topics.has(event.detail.topic)) return;
    (async () => {
      const open = await admitIntent(event.detail.data, now(), ed);
      const zone = served(open.intent.zone);
      // In a federation only the zone's coordinator pools it (the others forward posts there).
      if (coordinatorElsewhere(zone) === undefined) await admit(open, zone);
    })().catch((e) => log('debug', 'a gossiped intent was not pooled', { error: String(e) }));
  };
  for (const topic of topics.keys()) {
    pubsub.topicValidators.set(topic, validator);
    pubsub.subscribe(topic);
  }
  pubsub.addEventListener('message', onMessage);

  // ---- solving and settling --------------------------------------------------------------------
  let solveTimer: ReturnType<typeof setTimeout> | undefined;
  let closing = false;
  function scheduleSolve(): void {
    if (solveTimer !== undefined || closing) return;
    solveTimer = setTimeout(() => {
      solveTimer = undefined;
      solve().catch((e) => log('warn', 'solving the intent pool failed', { error: String(e) }));
    }, o.solveDelayMs ?? 50);
  }

  /** Takes a ring's intents out of the pool for good (before anything awaits: no second solve sees them). */
  function claim(ring: Ring): Map<string, Intent> {
    const intents = new Map<string, Intent>();
    for (const { from } of ring.legs) {
      const p = pool.get(from)!;
      intents.set(from, p.open.intent);
      pool.delete(from);
      byZone.get(p.zone)?.delete(from);
      closed.set(from, p.open.intent.expires);
    }
    return intents;
  }

  /** Puts claimed intents back (the ring could not open). */
  function unclaim(ring: Ring, intents: ReadonlyMap<string, Intent>): void {
    for (const { from } of ring.legs) {
      const intent = intents.get(from)!;
      const zone = router.route(intent.zone)!;
      closed.delete(from);
      pool.set(from, { open: { id: from, intent }, zone });
      byZone.get(zone)?.add(from);
    }
  }

  const finished = (s: Settlement) => s.state().phase === 'settled' || s.state().phase === 'aborted';

  /** A ring's settlement over its journal: empty for a new ring, replayed for a stored one. */
  const settle = (r: RingRecord, journal: StoredRing['submissions']) =>
    openSettlement(r.ring, r.intents, {
      ledger: journaledLedger(ledger, journal, (n, x) => saved.submission(r.id, n, x)),
      coordinator,
      ed,
      deadline: r.deadline,
      cutoff: r.cutoff,
    });

  /** Writes a ring's next input to its journal (inside a settlement step: inputs keep their order). */
  const note = async (r: Opened, input: RingInput): Promise<void> => {
    await saved.input(r.settlement.id, r.inputs, input);
    r.inputs++;
  };

  /** At the cutoff: an unfinished ring is aborted and refunded (the expiry journaled first). */
  async function expire(r: Opened): Promise<void> {
    const t = now();
    const { phase } = r.settlement.state();
    if (t >= r.settlement.cutoff && (phase === 'committing' || phase === 'revealing'))
      await note(r, { kind: 'expire' });
    await r.settlement.expire(t);
  }

  /** Serves an opened (or resumed) settlement: readable, and aborted at its cutoff if unfinished. */
  function track(r: RingRecord, settlement: Settlement, inputs: number): void {
    const entry: Opened = {
      settlement,
      ring: r.ring,
      intents: r.intents,
      agents: new Set([...r.intents.values()].map((i) => i.by)),
      inputs,
    };
    rings.set(settlement.id, entry);
    if (!finished(settlement)) {
      entry.timer = setTimeout(
        () => {
          serially(() => expire(entry))
            .then(() => scheduleSolve())
            .catch((e) =>
              log('warn', 'aborting a ring at its cutoff failed', { ring: settlement.id, error: String(e) }),
            );
        },
        Math.max(0, r.cutoff * 1000 - clock.now()) + 50,
      );
      entry.timer.unref?.();
    }
    while (rings.size > KEEP_RINGS) {
      const [oldest, old] = rings.entries().next().value!;
      if (!finished(old.settlement)) break;
      rings.delete(oldest);
      saved
        .forget(oldest)
        .catch((e) => log('warn', 'forgetting a finished ring failed', { ring: oldest, error: String(e) }));
    }
  }

  async function openRing(ring: Ring, intents: ReadonlyMap<string, Intent>): Promise<void> {
    const cutoff = now() + ringSeconds;
    const record: RingRecord = {
      id: ringId(ring),
      seq: ringSeq++,
      ring,
      intents,
      cutoff,
      deadline: cutoff + graceSeconds,
    };
    // The ring is on disk before its first turn: a crash from here on resumes it.
    await saved.claimed(record);
    let settlement: Settlement;
    try {
      settlement = await serially(() => settle(record, []));
    } catch (e) {
      await saved.unclaimed(record);
      throw e;
    }
    track(record, settlement, 0);
    log('info', 'ring opened', { ring: settlement.id, participants: ring.legs.length, cutoff });
  }

  /** Rebuilds a stored ring's settlement: its inputs again, the ledger answering from its journal. */
  async function resume(r: StoredRing): Promise<void> {
    const settlement = await settle(r, r.submissions);
    for (const x of r.inputs) {
      try {
        if (x.kind === 'commit') await settlement.commit(x.commitment);
        else if (x.kind === 'reveal') await settlement.reveal(x.intent, x.turn, x.salt);
        else await settlement.expire(r.cutoff);
      } catch (e) {
        // The refusal it met the first time (a blamed reveal; a refund the ledger refused).
        log('debug', 'a replayed ring input was refused', { ring: r.id, input: x.kind, error: String(e) });
      }
    }
    track(r, settlement, r.inputs.length);
  }

  ringSeq = stored.rings.reduce((next, r) => Math.max(next, r.seq + 1), 0);
  // Resumed as the first settlement steps: whatever a crash cut off is resubmitted before anything new.
  const resumed: Promise<void> = serially(async () => {
    for (const r of stored.rings)
      await resume(r).catch((e) =>
        log('warn', 'a stored ring could not be resumed', { ring: r.id, error: String(e) }),
      );
    if (stored.rings.length > 0) log('info', 'rings resumed', { rings: rings.size });
  });

  /** Agents in a ring of this desk that has not ended. */
  function busyAgents(): Set<string> {
    const busy = new Set<string>();
    for (const r of rings.values()) if (!finished(r.settlement)) for (const a of r.agents) busy.add(a);
    return busy;
  }

  async function solveOnce(): Promise<void> {
    await resumed;
    purge();
    const busy = busyAgents();
    for (const ids of byZone.values()) {
      const open = [...ids].map((id) => pool.get(id)!.open);
      if (open.length < 2) continue;
      const found = findRings(open, { now: now(), maxLength: o.maxRingLength ?? 6 });
      for (const ring of chooseRings(found.rings)) {
        if (closing) return;
        // The pool may have changed while an earlier ring opened.
        if (!ring.legs.every((l) => pool.has(l.from))) continue;
        const agents = ring.legs.map((l) => pool.get(l.from)!.open.intent.by);
        // One unfinished ring per agent: its next escrow would collide with the first (stays pooled).
        if (agents.some((a) => busy.has(a))) continue;
        const terms = new Map(ring.legs.map((l) => [l.from, pool.get(l.from)!.open.intent]));
        try {
          ringOwes(ring, terms);
        } catch (e) {
          // A ring trading an item with no escrow (storage beyond a budget: E_UNSUPPORTED) stays
          // unmatched; its intents stay open.
          if (!isDreggError(e, 'E_UNSUPPORTED')) log('warn', 'a ring was refused', { error: String(e) });
          continue;
        }
        for (const a of agents) busy.add(a);
        const intents = claim(ring);
        try {
          await openRing(ring, intents);
        } catch (e) {
          log('warn', 'opening a ring failed', { ring: ringId(ring), error: String(e) });
          unclaim(ring, intents);
        }
      }
    }
  }

  // One solve at a time: a ring's intents are claimed before it opens, but a second pass must not
  // choose on a pool the first is still changing.
  let solving: Promise<void> = Promise.resolve();
  function solve(): Promise<void> {
    const next = solving.then(solveOnce);
    solving = next.catch(() => undefined);
    return next;
  }

  const purgeTimer = setInterval(purge, 10_000);
  purgeTimer.unref?.();

  /** In a federation, a question from outside the committee is also put to the other members. */
  const askMembers = (from?: RpcPeer) =>
    federated !== undefined && (from === undefined || !memberPeers().has(from.peerId));

  const call = (peer: string, op: RpcOp, request: Uint8Array, timeoutMs?: number) =>
    callRpc(o.node, peerIdFromString(peer), op, request, timeoutMs === undefined ? {} : { timeoutMs });

  /** Hands a request for `member`'s zone on to it (one hop: a member's own request is not passed on). */
  async function forward(
    member: MemberDesk,
    op: RpcOp,
    request: Uint8Array,
    from?: RpcPeer,
  ): Promise<Uint8Array> {
    if (!askMembers(from) || member.peer === undefined)
      throw new DreggError('E_UNSUPPORTED', 'This member does not coordinate that zone');
    return call(member.peer, op, request);
  }

  /**
   * A request about an intent or ring this member does not hold: put to every other member at once;
   * the one holding it answers, the others say `E_NOT_FOUND`.
   */
  async function askHolder(op: RpcOp, request: Uint8Array, from?: RpcPeer): Promise<Uint8Array> {
    if (!askMembers(from)) throw new DreggError('E_NOT_FOUND', 'Not held here');
    const answers = await Promise.allSettled([...memberPeers()].map((peer) => call(peer, op, request)));
    for (const a of answers) if (a.status === 'fulfilled') return a.value;
    const refusal = answers.find(
      (a): a is PromiseRejectedResult => a.status === 'rejected' && !isDreggError(a.reason, 'E_NOT_FOUND'),
    );
    throw refusal?.reason ?? new DreggError('E_NOT_FOUND', 'No member holds that');
  }

  const view = (r: Opened): RingView => {
    const s = r.settlement;
    const p = s.progress();
    return {
      id: s.id,
      coordinator: did,
      escrowCell: s.escrowCell,
      deadline: s.deadline,
      cutoff: s.cutoff,
      ring: r.ring,
      intents: r.intents,
      owed: s.owed,
      committed: p.committed,
      escrowed: p.escrowed,
      custody: p.custody,
      state: s.state(),
    };
  };

  const handlers: Record<IntentOpName, DeskHandler> = {
    async 'intent/post'(request, from) {
      const open = await admitIntent(request, now(), ed);
      const zone = served(open.intent.zone);
      const elsewhere = coordinatorElsewhere(zone);
      if (elsewhere !== undefined) return forward(elsewhere, INTENT_OPS.post, request, from);
      const { id, fresh } = await admit(open, zone);
      if (fresh)
        pubsub
          .publish(router.topic(zone)!, request)
          .catch((e) => log('debug', 'no relay heard an intent', { error: String(e) }));
      return encodePosted(id);
    },
    async 'intent/list'(request, from) {
      const q = decodeIntentQuery(request);
      const zone = served(q.zone);
      const elsewhere = coordinatorElsewhere(zone);
      if (elsewhere !== undefined) return forward(elsewhere, INTENT_OPS.list, request, from);
      purge();
      const ids = [...byZone.get(zone)!]
        .filter((id) => {
          const z = pool.get(id)!.open.intent.zone;
          return (q.after === undefined || id > q.after) && (z === q.zone || z.startsWith(`${q.zone}/`));
        })
        .sort();
      const page = ids.slice(0, MAX_INTENTS_PER_PAGE);
      return encodeIntentPage({
        intents: page.map((id) => encodeIntent(pool.get(id)!.open.intent)),
        more: ids.length > page.length,
      });
    },
    async 'intent/withdraw'(request, from) {
      const w = decodeWithdrawal(request);
      const p = pool.get(w.id);
      if (p === undefined && !closed.has(w.id) && askMembers(from))
        return askHolder(INTENT_OPS.withdraw, request);
      if (p === undefined)
        throw new DreggError(
          closed.has(w.id) ? 'E_STALE' : 'E_NOT_FOUND',
          closed.has(w.id) ? 'This intent is already in a ring' : 'No open intent with that id here',
        );
      await verifyWithdrawal(w, p.open.intent.by, ed);
      pool.delete(w.id);
      byZone.get(p.zone)?.delete(w.id);
      closed.set(w.id, p.open.intent.expires);
      await saved.withdrawn(w.id, p.open.intent.expires);
      return encodeEmpty();
    },
    async 'ring/list'(request, from) {
      const agent = decodeRingQuery(request);
      await resumed;
      const mine = [...rings.values()].filter((r) => r.agents.has(agent)).map(view);
      // A wallet's relay also asks the other members; a member's question is answered from here only.
      const others = askMembers(from)
        ? await Promise.all(
            [...memberPeers()].map((peer) =>
              call(peer, INTENT_OPS.rings, request, LIST_MS).then(decodeRingList, (e) => {
                log('debug', 'a member did not list its rings', { peer, error: String(e) });
                return [];
              }),
            ),
          )
        : [];
      const seen = new Set(mine.map((r) => r.id));
      const all = [...mine, ...others.flat().filter((r) => !seen.has(r.id) && seen.add(r.id))];
      all.sort((a, b) => b.cutoff - a.cutoff);
      return encodeRingList(all.slice(0, MAX_RINGS_PER_CALL));
    },
    async 'ring/commit'(request, from) {
      const c = decodeCommitment(request);
      await resumed;
      const r = rings.get(c.ring);
      if (r === undefined) return askHolder(INTENT_OPS.commit, request, from);
      await serially(async () => {
        await r.settlement.commit(c);
        await note(r, { kind: 'commit', commitment: c });
      });
      return encodeEmpty();
    },
    async 'ring/reveal'(request, from) {
      const x = decodeReveal(request, TURN_BYTES);
      await resumed;
      const r = rings.get(x.ring);
      if (r === undefined) return askHolder(INTENT_OPS.reveal, request, from);
      const turn = decodeTurn(x.turn);
      try {
        await serially(async () => {
          const s = r.settlement;
          const { committed, escrowed } = s.progress();
          // A reveal the settlement acts on may move the ledger: it is journaled first. (One per
          // participant at most: afterwards it has escrowed, or the ring is over.)
          if (
            s.state().phase === 'revealing' &&
            committed.some((k) => k.intent === x.intent) &&
            !escrowed.includes(x.intent)
          )
            await note(r, { kind: 'reveal', intent: x.intent, turn, salt: x.salt });
          await s.reveal(x.intent, turn, x.salt);
        });
      } finally {
        // A ring that ended frees its agents for the rings that waited for them.
        if (finished(r.settlement)) scheduleSolve();
      }
      return encodeEmpty();
    },
  };

  // A closed desk answers nothing: its rings are no longer coordinated here.
  const live = Object.fromEntries(
    Object.entries(handlers).map(([op, handle]): [string, DeskHandler] => [
      op,
      (request, from) =>
        closing
          ? Promise.reject(new DreggError('E_UNREACHABLE', 'This relay no longer runs its intent desk'))
          : handle(request, from),
    ]),
  ) as Record<IntentOpName, DeskHandler>;

  return {
    handlers: live,
    coordinator: { did, cell },
    solve,
    close() {
      closing = true;
      clearTimeout(solveTimer);
      clearInterval(purgeTimer);
      for (const r of rings.values()) clearTimeout(r.timer);
      pubsub.removeEventListener('message', onMessage);
      for (const topic of topics.keys()) {
        pubsub.unsubscribe(topic);
        pubsub.topicValidators.delete(topic);
      }
    },
  };
}

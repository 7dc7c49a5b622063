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
 *   `chooseRings`; each chosen ring that settles on the ledger (computrons) is opened at once, and its
 *   intents leave the pool. Whatever the outcome, they do not come back: an agent posts again.
 * - **Coordinate.** `openSettlement` against the relay's notary, as the coordinator key (derived from
 *   the relay's signing key, so its receipt chain is its own and never races the inbox's payouts) and
 *   its coordinator cell, opened at start. Settlement steps run one at a time (each continues the
 *   coordinator's chain). At the cutoff an unfinished ring is aborted and its escrows refunded; the
 *   escrows fall due `graceSeconds` later, when each payer may also take its own back.
 *
 * Pool and rings live in memory: after a restart the pool refills from gossip and posts, and a ring
 * cut short by the restart is recovered by its payers when their escrows fall due.
 */
import type { Message } from '@libp2p/gossipsub';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { Libp2p } from '@libp2p/interface';
import { cellId } from '../../cells/cell.ts';
import { type Clock, nowSeconds } from '../../clock.ts';
import { type Ed25519, ed25519PublicKey } from '../../crypto/ed25519.ts';
import { hashFor } from '../../crypto/hash.ts';
import { didKeyFromEd25519 } from '../../encoding/did-key.ts';
import { DreggError, isDreggError } from '../../errors.ts';
import { admitIntent, encodeIntent, type Intent, type OpenIntent } from '../../intents/intent.ts';
import { openSettlement, type Settlement, type SettlementLedger } from '../../intents/settle.ts';
import { chooseRings, findRings, type Ring } from '../../intents/solver.ts';
import {
  decodeCommitment,
  decodeIntentQuery,
  decodeReveal,
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
import { encodeEmpty, type IntentOpName, TURN_BYTES } from '../../net/contract.ts';
import type { RelayServices } from '../../net/node.ts';
import type { Notary } from '../../notary/index.ts';
import { decodeTurn } from '../../turns/turn.ts';
import type { Log } from './log.ts';
import type { Handler } from './service.ts';

export interface IntentDeskOptions {
  readonly notary: Notary;
  readonly node: Libp2p<RelayServices>;
  readonly ed: Ed25519;
  readonly clock: Clock;
  /** The relay's signing seed: the coordinator's key is derived from it. */
  readonly seed: Uint8Array;
  readonly log: Log;
  /** Zones served (default `['market']`). */
  readonly zones?: readonly string[];
  /** Seconds a ring has to settle once found (default 120). */
  readonly ringSeconds?: number;
  /** Seconds between the cutoff and the escrows falling due (default 30). */
  readonly graceSeconds?: number;
  /** Open intents per agent (default 32) and per zone (default 10,000). */
  readonly perAgent?: number;
  readonly perZone?: number;
  /** Longest ring searched (default 4). */
  readonly maxRingLength?: number;
  /** How long the solver waits after a post for more (ms, default 50). */
  readonly solveDelayMs?: number;
}

export interface IntentDesk {
  readonly handlers: Record<IntentOpName, Handler>;
  /** The coordinator's did:key and cell. */
  readonly coordinator: { readonly did: string; readonly cell: string };
  /** Runs the solver now (what a post schedules). */
  solve(): Promise<void>;
  close(): void;
}

const DEFAULT_ZONES = ['market'];
/** The salt of the coordinator's own cell (all zeros: one per coordinator key). */
const COORDINATOR_SALT = '00'.repeat(32);
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
  };
}

interface Pooled {
  readonly open: OpenIntent;
  readonly zone: string;
}

interface Opened {
  readonly settlement: Settlement;
  readonly ring: Ring;
  readonly intents: ReadonlyMap<string, Intent>;
  readonly agents: ReadonlySet<string>;
  timer?: ReturnType<typeof setTimeout>;
}

export async function openIntentDesk(o: IntentDeskOptions): Promise<IntentDesk> {
  const { notary, ed, clock, log } = o;
  const router = zoneRouter(o.zones ?? DEFAULT_ZONES);
  const ringSeconds = o.ringSeconds ?? 120;
  const graceSeconds = o.graceSeconds ?? 30;
  const perAgent = o.perAgent ?? 32;
  const perZone = o.perZone ?? 10_000;
  const ledger = notaryLedger(notary);
  const seed = hashFor('intentCoordinatorKey', o.seed);
  const did = didKeyFromEd25519(ed25519PublicKey(seed));
  const cell = cellId(did, COORDINATOR_SALT);
  if (notary.cell(cell) === undefined) await notary.genesis(did, COORDINATOR_SALT, 0n);
  const coordinator = { did, seed, cell };

  /** Open intents by id, and per served zone. */
  const pool = new Map<string, Pooled>();
  const byZone = new Map<string, Set<string>>(router.zones.map((z) => [z, new Set()]));
  /** Ids that were in a ring or withdrawn: never admitted again. */
  const closed = new Set<string>();
  const rings = new Map<string, Opened>();

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
    for (const [id, p] of pool)
      if (p.open.intent.expires <= t) {
        pool.delete(id);
        byZone.get(p.zone)?.delete(id);
      }
  };

  /** Admits an intent to the pool; answers whether it is new here. */
  async function admit(bytes: Uint8Array): Promise<{ id: string; fresh: boolean; zone: string }> {
    const open = await admitIntent(bytes, now(), ed);
    const zone = router.route(open.intent.zone);
    if (zone === undefined)
      throw new DreggError('E_UNSUPPORTED', `This relay does not carry the zone ${open.intent.zone}`);
    if (pool.has(open.id)) return { id: open.id, fresh: false, zone };
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
    scheduleSolve();
    return { id: open.id, fresh: true, zone };
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
    admit(event.detail.data).catch((e) =>
      log('debug', 'a gossiped intent was not pooled', { error: String(e) }),
    );
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

  async function openRing(ring: Ring): Promise<void> {
    const intents = new Map(ring.legs.map((l) => [l.from, pool.get(l.from)!.open.intent]));
    const opened = now();
    const cutoff = opened + ringSeconds;
    const settlement = await serially(() =>
      openSettlement(ring, intents, { ledger, coordinator, ed, deadline: cutoff + graceSeconds, cutoff }),
    );
    for (const id of intents.keys()) {
      const p = pool.get(id)!;
      pool.delete(id);
      byZone.get(p.zone)?.delete(id);
      closed.add(id);
    }
    const entry: Opened = {
      settlement,
      ring,
      intents,
      agents: new Set([...intents.values()].map((i) => i.by)),
    };
    rings.set(settlement.id, entry);
    entry.timer = setTimeout(
      () => {
        serially(() => settlement.expire(now())).catch((e) =>
          log('warn', 'aborting a ring at its cutoff failed', { ring: settlement.id, error: String(e) }),
        );
      },
      Math.max(0, cutoff * 1000 - clock.now()) + 50,
    );
    entry.timer.unref?.();
    while (rings.size > KEEP_RINGS) {
      const [oldest, old] = rings.entries().next().value!;
      const phase = old.settlement.state().phase;
      if (phase !== 'settled' && phase !== 'aborted') break;
      rings.delete(oldest);
    }
    log('info', 'ring opened', { ring: settlement.id, participants: ring.legs.length, cutoff });
  }

  async function solve(): Promise<void> {
    purge();
    for (const ids of byZone.values()) {
      const open = [...ids].map((id) => pool.get(id)!.open);
      if (open.length < 2) continue;
      const found = findRings(open, { now: now(), maxLength: o.maxRingLength ?? 4 });
      for (const ring of chooseRings(found.rings)) {
        if (closing) return;
        // The pool may have changed while an earlier ring opened.
        if (!ring.legs.every((l) => pool.has(l.from))) continue;
        try {
          await openRing(ring);
        } catch (e) {
          // A ring of items with no escrow yet (E_UNSUPPORTED) stays unmatched; its intents stay open.
          if (!isDreggError(e, 'E_UNSUPPORTED')) log('warn', 'opening a ring failed', { error: String(e) });
        }
      }
    }
  }

  const purgeTimer = setInterval(purge, 10_000);
  purgeTimer.unref?.();

  const ring = (id: string): Opened => {
    const r = rings.get(id);
    if (r === undefined) throw new DreggError('E_NOT_FOUND', `No ring ${id} here`);
    return r;
  };

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
      state: s.state(),
    };
  };

  const handlers: Record<IntentOpName, Handler> = {
    async 'intent/post'(request) {
      const { id, fresh, zone } = await admit(request);
      if (fresh)
        pubsub
          .publish(router.topic(zone)!, request)
          .catch((e) => log('debug', 'no relay heard an intent', { error: String(e) }));
      return encodePosted(id);
    },
    async 'intent/list'(request) {
      const q = decodeIntentQuery(request);
      purge();
      const zone = router.route(q.zone);
      if (zone === undefined)
        throw new DreggError('E_UNSUPPORTED', `This relay does not carry the zone ${q.zone}`);
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
    async 'intent/withdraw'(request) {
      const w = decodeWithdrawal(request);
      const p = pool.get(w.id);
      if (p === undefined)
        throw new DreggError(
          closed.has(w.id) ? 'E_STALE' : 'E_NOT_FOUND',
          closed.has(w.id) ? 'This intent is already in a ring' : 'No open intent with that id here',
        );
      await verifyWithdrawal(w, p.open.intent.by, ed);
      pool.delete(w.id);
      byZone.get(p.zone)?.delete(w.id);
      closed.add(w.id);
      return encodeEmpty();
    },
    async 'ring/list'(request) {
      const agent = decodeRingQuery(request);
      const mine = [...rings.values()].filter((r) => r.agents.has(agent));
      return encodeRingList(mine.slice(-MAX_RINGS_PER_CALL).reverse().map(view));
    },
    async 'ring/commit'(request) {
      const c = decodeCommitment(request);
      const r = ring(c.ring);
      await serially(() => r.settlement.commit(c));
      return encodeEmpty();
    },
    async 'ring/reveal'(request) {
      const x = decodeReveal(request, TURN_BYTES);
      const r = ring(x.ring);
      const turn = decodeTurn(x.turn);
      await serially(() => r.settlement.reveal(x.intent, turn, x.salt));
      return encodeEmpty();
    },
  };

  return {
    handlers,
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

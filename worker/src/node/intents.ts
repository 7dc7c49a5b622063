/**
 * The wallet's side of ring trades (issue 12): intents signed here with the person's key and posted
 * to the relay's desk, the rings the relay found for them, and approval — the escrow turn built and
 * signed here from a cell the person chose, committed to, then revealed once every participant has
 * committed (so nobody sees another's escrow first). A watcher polls the relay while a ring this node
 * approved is unfinished, reveals at the right moment and tells the page as the ring moves on.
 *
 * Pledges (the escrow turn and its salt) are kept in the node's Store (pledges.ts), sealed to the
 * agent's own key, and written before the commitment leaves: once it is in, only that salt opens it.
 * On unlock the node reads its agent's records back and resumes watching those rings, so a reload
 * between approving and the end loses neither the reveal, nor a name bought, nor the way to take an
 * escrow back. A record is rewritten when its ring changes phase and before its reveal is sent (the
 * escrow may then be out), and deleted when the ring ends with nothing of this agent's out, after a
 * reclaim, or past the deadline of a ring it never revealed in. Records of another identity on the
 * same store are never read. A record that does not open is logged and skipped.
 *
 * Taking an escrow back: a pledge whose escrow may still be out (revealed, and the relay never said
 * the ring settled or refunded it) is kept with the ring's last view. After the ring's deadline the
 * payer signs the turn that takes the due obligation back into its cell (`reclaimTurn`): the way out
 * when the relay's desk vanished with the escrow in. The ledger is the judge of whether it is still
 * there.
 */
import {
  type Agent,
  type Caveat,
  DreggError,
  describeCaveat,
  isDreggError,
  nowSeconds,
  type Store,
} from '@cipherclerk/core';
import {
  chooseRings,
  describeItem,
  type ExchangeItem,
  escrowOf,
  findRings,
  type Grant,
  type Intent,
  type IntentClient,
  intentClient,
  type RingView,
  reclaimTurn,
  ringOwes,
  signIntent,
} from '@cipherclerk/core/intents';
import type { RelayClient } from '@cipherclerk/core/net';
import type {
  IntentView,
  LocalSolve,
  NodeEvent,
  ReclaimView,
  TradeForm,
  TradeGrantView,
  TradeItemForm,
  TradeRingView,
  Trades,
} from './api.ts';
import { forgetPledge, type Kept, keepPledge, readPledges } from './pledges.ts';

/** How often the watcher asks the relay about approved rings (ms). */
const WATCH_MS = 1000;
const AMOUNT = /^[1-9]\d{0,18}$/;

function amount(text: string, what: string): bigint {
  if (typeof text !== 'string' || !AMOUNT.test(text.trim()))
    throw new DreggError('E_ARGUMENT', `${what} is a whole number of at least 1`);
  return BigInt(text.trim());
}

/** A count that must stay exact as a JavaScript number (units, bytes, seconds, a budget). */
function count(text: string, what: string): number {
  const n = amount(text, what);
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new DreggError('E_ARGUMENT', `${what} is too large`);
  return Number(n);
}

/** Effect names for a capability's `actions` caveat, from text such as "transfer, set-field". */
function actionList(text: string): string[] {
  const names = [
    ...new Set(
      String(text)
        .split(/[\s,]+/)
        .filter((a) => a !== ''),
    ),
  ].sort();
  if (names.length === 0)
    throw new DreggError('E_ARGUMENT', 'Name at least one effect the capability allows');
  return names;
}

/** An item from the form; `side` says which ('offered' or 'wanted') in refusals. The intent decoder checks names. */
function item(f: TradeItemForm, side: string): ExchangeItem {
  switch (f.kind) {
    case 'computrons':
      return { kind: 'computrons', amount: amount(f.amount, `The amount ${side}`) };
    case 'asset':
      return { kind: 'asset', asset: f.asset.trim(), amount: amount(f.amount, `The amount ${side}`) };
    case 'service':
      return { kind: 'service', service: f.service.trim(), units: count(f.units, `The units ${side}`) };
    case 'storage':
      return {
        kind: 'storage',
        bytes: count(f.bytes, 'The bytes'),
        seconds: count(f.seconds, 'The seconds'),
      };
    case 'name':
      return { kind: 'name', zone: f.zone.trim(), name: f.name.trim() };
    case 'capability': {
      const caveats: Caveat[] = [{ t: 'actions', actions: actionList(f.actions) }];
      // One budget id for every capability traded here: a want's budget restates the offer's meter.
      if (f.budget !== undefined && f.budget.trim() !== '')
        caveats.push({ t: 'budget', id: TRADE_BUDGET, max: count(f.budget, 'The budget') });
      return { kind: 'capability', caveats };
    }
    default:
      throw new DreggError(
        'E_ARGUMENT',
        'An item is computrons, an asset, a service, storage, a name or a capability',
      );
  }
}

/** The budget id of capabilities offered and wanted from this form (the meter is per target cell anyway). */
const TRADE_BUDGET = '7472616465000000';

const describeCaveats = (caveats: readonly Caveat[]) => caveats.map(describeCaveat);

function grantView(g: Grant): TradeGrantView {
  const fields = Object.entries(g.fields);
  return {
    item: describeItem(g.offer),
    needs:
      fields.length === 0
        ? 'any cell of yours (a capability to it)'
        : `a cell of yours whose ${fields.map(([k, v]) => `field ${k} is ${v}`).join(' and ')}`,
    fields: g.fields,
    escrowed: describeCaveats(g.offered),
    delivered: describeCaveats([...g.offered, ...g.wanted]),
    ownership: g.ownership,
  };
}

export function intentView(id: string, i: Intent): IntentView {
  return {
    id,
    zone: i.zone,
    by: i.by,
    offers: i.offers.map(describeItem),
    wants: i.wants.map(describeItem),
    expires: i.expires,
  };
}

/**
 * Whether `intent`'s escrow may still be in the ring's escrow cell, as far as view `r` tells: not
 * when the ring settled, nor when it was aborted with a refund or before this escrow came in.
 */
function escrowMayBeOut(r: RingView, intent: string): boolean {
  const s = r.state;
  if (s.phase === 'settled') return false;
  if (s.phase === 'aborted') return s.refund === undefined && r.escrowed.includes(intent);
  return true;
}

/** This node's part of a ring, described from the ring's signed intents. */
export function tradeView(
  r: RingView,
  me: string,
  approved: boolean,
  escrowOut = false,
): TradeRingView | undefined {
  const mine = [...r.intents].find(([, i]) => i.by === me)?.[0];
  if (mine === undefined) return undefined;
  const out = r.ring.legs.find((l) => l.from === mine)!;
  const into = r.ring.legs.find((l) => l.to === mine)!;
  const s = r.state;
  const myIntent = r.intents.get(mine)!;
  const owes = ringOwes(r.ring, r.intents);
  const paying = owes.get(mine)!;
  const incoming = owes.get(into.from)!.grants;
  const receives = into.gives.map((g) => {
    const want = myIntent.wants[g.want]!;
    const grant = incoming.find((x) => x.want === want);
    if (grant === undefined) return describeItem(want);
    return grant.ownership
      ? `${describeItem(want)} — its entry cell, yours to own`
      : `${describeItem(want)} — a capability: ${describeCaveats([...grant.offered, ...grant.wanted]).join('; ')}`;
  });
  const base = {
    id: r.id,
    phase: s.phase,
    participants: r.ring.legs.length,
    committed: r.committed.length,
    escrowed: r.escrowed.length,
    cutoff: r.cutoff,
    deadline: r.deadline,
    escrowOut,
    myIntent: mine,
    pays: [
      ...(paying.computrons > 0n ? [`${paying.computrons} computrons`] : []),
      ...paying.assets.map((a) => `${a.amount} ${a.asset}`),
    ].join(', '),
    grants: owes.get(mine)!.grants.map(grantView),
    paysTo: r.intents.get(out.to)!.by,
    receives: receives.join(', '),
    receivesFrom: r.intents.get(into.from)!.by,
    approved: approved || r.committed.some((c) => c.intent === mine),
  };
  if (s.phase === 'settled') return { ...base, outcome: { kind: 'settled', receipt: s.receipt.turn } };
  if (s.phase === 'aborted')
    return {
      ...base,
      outcome: {
        kind: 'aborted',
        reason: s.reason,
        refunded: s.refund !== undefined,
        ...(s.blame
          ? { blamed: { agent: s.blame.agent, code: s.blame.code, me: s.blame.agent === me } }
          : {}),
      },
    };
  return base;
}

export interface TradeDeskOptions {
  /** Where approved rings are kept (collection `pledges`). */
  readonly store: Store;
  /** Unix seconds now. */
  readonly now: () => number;
  /** The connected relay, or a typed refusal. */
  readonly online: () => RelayClient;
  /** The unlocked agent, or a typed refusal. */
  readonly agent: () => Agent;
  readonly emit: (event: NodeEvent) => void;
  /** Runs `run` after `ms`; returns the cancel. */
  readonly schedule: (ms: number, run: () => void) => () => void;
  /** Remembers a cell this agent came to own (a name's entry bought in a ring) among its cells. */
  readonly adopt: (cell: string) => Promise<void>;
}

export interface TradeDesk {
  trades(zone: string): Promise<Trades>;
  post(form: TradeForm): Promise<IntentView>;
  withdraw(id: string): Promise<void>;
  approve(ring: string, cell: string, gives: readonly string[]): Promise<TradeRingView>;
  reclaim(ring: string): Promise<ReclaimView>;
  solveLocally(zone: string): Promise<LocalSolve>;
  /** Reads back the rings `agent` approved in the store (once per agent) and watches them. */
  resume(agent: Agent): Promise<void>;
  /** Stops watching (the relay connection closed); `resume` starts again. */
  stop(): void;
}

/** A ring approved here, as kept, and the phase last told to the page. */
type Held = { -readonly [K in keyof Kept]: Kept[K] } & { phase: string };

const ended = (r: RingView) => r.state.phase === 'settled' || r.state.phase === 'aborted';

export function tradeDesk(o: TradeDeskOptions): TradeDesk {
  /**
   * Rings approved here, by id: what the store keeps, and the phase last told to the page. A ring
   * that ended stays only while this agent's escrow may be out of its cell (to be taken back).
   */
  const held = new Map<string, Held>();
  /** Rings whose reveal this session sent (after a reload it is sent again if the desk shows no escrow). */
  const sent = new Set<string>();
  /** The agents whose stored rings have been read back. */
  const resumed = new Set<string>();
  let cancel: (() => void) | undefined;
  /** False once stopped: a round still in flight then schedules no other. */
  let running = true;
  /** What the last failed round of the watcher met (a code), so that a desk gone quiet is logged once. */
  let trouble: string | undefined;
  let clientOf: { relay: RelayClient; desk: IntentClient } | undefined;

  const desk = (): IntentClient => {
    const relay = o.online();
    if (clientOf?.relay !== relay) clientOf = { relay, desk: intentClient(relay.call, o.agent().ed) };
    return clientOf.desk;
  };

  const watched = () => [...held.values()].filter((h) => !ended(h.view));

  async function forget(ring: string, did: string): Promise<void> {
    await forgetPledge(o.store, did, ring);
    held.delete(ring);
  }

  /**
   * After a settled ring: the entry cells of the names this agent received, which the ledger now
   * says are its own, join its cells. The ring view only says where to look; the ledger decides.
   */
  async function adoptNames(r: RingView, did: string): Promise<void> {
    const mine = [...r.intents].find(([, i]) => i.by === did)?.[0];
    const giver = r.ring.legs.find((l) => l.to === mine)?.from;
    const relay = o.online();
    for (const c of r.custody) {
      if (c.intent !== giver) continue;
      if ((await relay.cell(c.cell))?.owner === did) await o.adopt(c.cell);
    }
  }

  /** Rewrites `h`'s record, unless it was forgotten meanwhile (a reclaim between two awaits). */
  async function keep(h: Held): Promise<void> {
    if (held.get(h.pledge.ring) === h) await keepPledge(o.store, h);
  }

  /** Acts on the desk's view `r` of ring `h`: reveals, reports, adopts, keeps or forgets. */
  async function follow(h: Held, r: RingView, d: IntentClient): Promise<void> {
    const moved = r.state.phase !== h.phase;
    h.view = r;
    const reveal = r.state.phase === 'revealing' && !r.escrowed.includes(h.pledge.intent) && !sent.has(r.id);
    if (reveal) {
      sent.add(r.id);
      h.revealed = true;
    }
    if (moved) {
      h.phase = r.state.phase;
      o.emit({ type: 'trade', ring: r.id, phase: r.state.phase });
    }
    if (r.state.phase === 'settled') await adoptNames(r, h.did);
    // Aborted without a refund of ours (the refund failed, the desk gave up): kept, to take back.
    if (ended(r) && !(h.revealed && escrowMayBeOut(r, h.pledge.intent))) await forget(r.id, h.did);
    // Written before the reveal leaves: should the node stop right after sending, the escrow may be out.
    else if (moved || reveal) await keep(h);
    if (reveal) await d.reveal(h.pledge).catch((e) => console.error('trade: the reveal was refused', e));
  }

  /** One round of the watcher: reveal where everyone has committed, report what moved on. */
  async function watch(): Promise<void> {
    cancel = undefined;
    // A ring past its deadline that this node never revealed in has nothing of its agent's out.
    for (const h of watched())
      if (!h.revealed && o.now() > h.view.deadline)
        await forget(h.view.id, h.did).catch((e) => console.error('trade: forgetting a ring failed', e));
    if (watched().length === 0) return;
    try {
      const d = desk();
      for (const did of new Set(watched().map((h) => h.did))) {
        for (const r of await d.rings(did)) {
          const h = held.get(r.id);
          if (h !== undefined && h.did === did && !ended(h.view)) await follow(h, r, d);
        }
      }
      if (trouble !== undefined) console.info('trade: the relay answers about rings again');
      trouble = undefined;
    } catch (e) {
      // Offline or a refused call: keep the pledges and try again on the next round. Logged when the
      // trouble starts or changes, not every round (a closed desk stays closed for minutes).
      const what = isDreggError(e) ? e.code : String(e);
      if (what !== trouble) console.warn('trade: watching rings failed', e);
      trouble = what;
    }
    if (running && watched().length > 0) cancel = o.schedule(WATCH_MS, () => void watch());
  }

  /** Starts a round now (replacing a scheduled one). */
  function watchNow(): void {
    cancel?.();
    running = true;
    void watch();
  }

  return {
    async trades(zone) {
      const a = o.agent();
      const d = desk();
      // A relay whose desk is gone still leaves the rings this node holds escrows in to show.
      const silent = (e: unknown) => {
        if (isDreggError(e, 'E_UNREACHABLE') && held.size > 0) return [];
        throw e;
      };
      const open = (await d.list(zone).catch(silent)).filter((x) => x.intent.by === a.did);
      const told = await d.rings(a.did).catch(silent);
      const known = new Set(told.map((r) => r.id));
      const remembered = [...held.values()]
        .filter((h) => h.did === a.did && !known.has(h.view.id))
        .map((h) => h.view);
      const out = (r: RingView) => {
        const h = held.get(r.id);
        return h?.revealed === true && escrowMayBeOut(r, h.pledge.intent);
      };
      const rings = [...told, ...remembered]
        .map((r) => tradeView(r, a.did, held.has(r.id), out(r)))
        .filter((v) => v !== undefined);
      return { zone, open: open.map((x) => intentView(x.id, x.intent)), rings };
    },
    async post(form) {
      const a = o.agent();
      const d = desk();
      if (!Number.isFinite(form.expiresIn) || form.expiresIn <= 0 || form.expiresIn > 7 * 24 * 60)
        throw new DreggError('E_ARGUMENT', 'An intent expires 1 minute to 7 days from now');
      const intent = await signIntent(
        {
          zone: form.zone.trim(),
          offers: [
            typeof form.offer === 'string'
              ? { kind: 'computrons', amount: amount(form.offer, 'The amount offered') }
              : item(form.offer, 'offered'),
          ],
          wants: [item(form.want, 'wanted')],
          expires: nowSeconds(a.clock) + Math.round(form.expiresIn * 60),
        },
        a.identity.seed,
        crypto.getRandomValues(new Uint8Array(16)),
        a.ed,
      );
      const id = await d.post(intent);
      return intentView(id, intent);
    },
    async withdraw(id) {
      await desk().withdraw(id, o.agent().identity.seed);
    },
    async approve(ringId, cell, gives) {
      const a = o.agent();
      const relay = o.online();
      const d = desk();
      const ring = (await d.rings(a.did)).find((r) => r.id === ringId);
      if (ring === undefined) throw new DreggError('E_NOT_FOUND', 'None of your intents is in that ring');
      const mine = [...ring.intents].find(([, i]) => i.by === a.did)![0];
      // A second approval would draw a new salt for a commitment that is in already.
      if (ring.committed.some((c) => c.intent === mine))
        throw new DreggError('E_EXISTS', 'You approved this ring already');
      const paying = await relay.cell(cell);
      if (paying === undefined || paying.owner !== a.did)
        throw new DreggError('E_NOT_FOUND', 'Choose one of your own cells to pay from');
      // Checked here, before committing: an escrow short of an asset, or a capability the coordinator
      // cannot use, gets its giver blamed.
      const { grants, assets } = ringOwes(ring.ring, ring.intents).get(mine)!;
      const holdings = assets.length === 0 ? new Map<string, bigint>() : await relay.holdings(cell);
      for (const { asset, amount } of assets)
        if ((holdings.get(asset) ?? 0n) < amount)
          throw new DreggError(
            'E_INSUFFICIENT',
            `The ring takes ${amount} ${asset} from that cell, which holds ${holdings.get(asset) ?? 0n}`,
          );
      if (gives.length !== grants.length)
        throw new DreggError(
          'E_ARGUMENT',
          `Choose a cell for each of the ${grants.length} capabilities you give`,
        );
      for (const [i, g] of grants.entries()) {
        const from = await relay.cell(gives[i]!);
        if (from === undefined || from.owner !== a.did)
          throw new DreggError('E_NOT_FOUND', 'Give capabilities to your own cells only');
        // The entry cell changes hands whole: paying from it would hand over the escrow's source too.
        if (g.ownership && from.id === paying.id)
          throw new DreggError(
            'E_ARGUMENT',
            `${describeItem(g.offer)} is given from a cell other than the one you pay from`,
          );
        for (const [k, v] of Object.entries(g.fields))
          if (from.fields[k] !== v)
            throw new DreggError(
              'E_ARGUMENT',
              `${describeItem(g.offer)} is given from a cell whose field ${k} is ${v}`,
            );
      }
      const { pledge, commitment } = await d.pledge(
        ring,
        mine,
        { did: a.did, seed: a.identity.seed, cell },
        { ledger: relay.info.ledger, cell: paying, head: await relay.head(a.did) },
        gives.map((id) => ({ cell: id })),
      );
      const h = { pledge, did: a.did, revealed: false, view: ring, phase: ring.state.phase };
      // On disk before the commitment leaves: once it is in, only this salt opens it.
      await keepPledge(o.store, h);
      held.set(ringId, h);
      try {
        await d.commitTo(commitment);
      } catch (e) {
        // Refused, nothing is committed; unanswered, it may be: the watcher follows the ring.
        if (!isDreggError(e, 'E_UNREACHABLE') && !isDreggError(e, 'E_TIMEOUT')) await forget(ringId, a.did);
        throw e;
      }
      watchNow();
      return tradeView(ring, a.did, true)!;
    },
    async reclaim(ringId) {
      const a = o.agent();
      const relay = o.online();
      const h = held.get(ringId);
      if (h === undefined || h.did !== a.did)
        throw new DreggError('E_NOT_FOUND', 'This wallet holds no escrow turn of yours for that ring');
      const turn = await reclaimTurn(
        { did: a.did, seed: a.identity.seed },
        relay.ledger(),
        h.pledge,
        nowSeconds(a.clock),
        a.ed,
      );
      let receipt: string;
      try {
        receipt = (await relay.submitTurn(turn)).receipt.turn;
      } catch (err) {
        // The ledger's word: the obligation is gone (settled or refunded), or not due by its clock.
        if (isDreggError(err, 'E_NOT_FOUND')) {
          // Only the escrow's own ledger can say nothing of ours is out there any more.
          if (relay.info.ledger === h.pledge.turn.ledger) await forget(ringId, a.did);
          throw new DreggError('E_STALE', 'Your escrow is no longer out: the ring settled or refunded it');
        }
        if (isDreggError(err, 'E_DENIED'))
          throw new DreggError('E_NOT_YET_VALID', 'The ledger does not count your escrow as due yet');
        throw err;
      }
      await forget(ringId, a.did);
      const { cell, amount } = escrowOf(h.pledge);
      return {
        ring: ringId,
        cell,
        amount: String(amount),
        balance: String((await relay.cell(cell))?.balance ?? 0n),
        receipt,
      };
    },
    async solveLocally(zone) {
      const a = o.agent();
      const open = await desk().list(zone);
      const found = findRings(open, { now: nowSeconds(a.clock) });
      const mine = new Set(open.filter((x) => x.intent.by === a.did).map((x) => x.id));
      return {
        intents: open.length,
        rings: found.rings.length,
        mine: chooseRings(found.rings)
          .filter((r) => r.legs.some((l) => mine.has(l.from)))
          .map((r) => ({ participants: r.legs.length, wants: r.wants, intents: r.legs.map((l) => l.from) })),
      };
    },
    async resume(agent) {
      if (!resumed.has(agent.did)) {
        for (const k of await readPledges(o.store, agent))
          if (!held.has(k.view.id)) held.set(k.view.id, { ...k, phase: k.view.state.phase });
        resumed.add(agent.did);
      }
      if (watched().length > 0) watchNow();
    },
    stop() {
      running = false;
      cancel?.();
      cancel = undefined;
    },
  };
}

/**
 * A running relay: one SQLite file (the notary's log and ledger, the inboxes), one libp2p node serving
 * the contract and gossiping attested roots and revocations, and the operators' HTTP endpoint.
 *
 * Life cycle: `startRelay` opens the store (replaying nothing: the notary and the inboxes read their
 * state back), starts libp2p, registers every operation, then the HTTP endpoint, and only then
 * returns the addresses. `stop` (SIGTERM) does the reverse: no new connections, the notary's pending
 * batch flushed, the store closed. A SIGKILL at any moment loses nothing acknowledged: every answer is
 * sent only after the transaction that made it durable has committed.
 */
import { join } from 'node:path';
import type { Libp2p } from '@libp2p/interface';
import { decodeRevocation, verifyRevocation } from '../../caps/revocation.ts';
import { type Clock, systemClock } from '../../clock.ts';
import type { Ed25519 } from '../../crypto/ed25519.ts';
import { DreggError, fail } from '../../errors.ts';
import { INBOX_COLLECTIONS, type Inbox, type InboxLimits, openInbox } from '../../inbox/inbox.ts';
import { encodeSubmitted, INTENT_OPS, OPS } from '../../net/contract.ts';
import { federationTopics } from '../../net/federation.ts';
import { publishSigned, subscribeSigned, TOPICS } from '../../net/gossip.ts';
import type { NetLimits } from '../../net/limits.ts';
import { createRelayNode, type RelayServices, relayPrivateKey } from '../../net/node.ts';
import { serveRpc } from '../../net/rpc.ts';
import { encodeAttestedRoot, NOTARY_COLLECTIONS, type Notary, openNotary } from '../../notary/index.ts';
import type { Store } from '../../store/store.ts';
import { encodeReceipt } from '../../turns/receipt.ts';
import { decodeTurn } from '../../turns/turn.ts';
import { nodeEd25519 } from '../ed25519.ts';
import { FEDERATION_COLLECTIONS, type Federation, startFederation } from '../federation/federation.ts';
import type { Genesis } from '../federation/genesis.ts';
import { serveFederation } from '../federation/serve.ts';
import { createTrustFeed, type TrustFeed } from '../federation/trust-feed.ts';
import { openSqliteStore } from '../sqlite-store.ts';
import { openDeposits } from './deposits.ts';
import { type OpsServer, serveOps } from './http.ts';
import { INTENT_COLLECTIONS } from './intent-store.ts';
import { deskTopics, type IntentDesk, type IntentDeskOptions, openIntentDesk } from './intents.ts';
import { relayKeys } from './keys.ts';
import type { Log } from './log.ts';
import { type RelayMetrics, relayMetrics } from './metrics.ts';
import { openRevocationLog, REVOCATION_COLLECTIONS } from './revocations.ts';
import { relayService } from './service.ts';
import { relayWebrtcCertificate } from './webrtc-cert.ts';
import { relayWebTransport } from './webtransport.ts';

export interface RelayConfig {
  /** Where `relay.key` and `relay.sqlite` live. */
  readonly home: string;
  /** libp2p listen multiaddrs. */
  readonly listen: readonly string[];
  /** HOST:PORT of the operators' endpoint (/healthz, /metrics); none when absent. */
  readonly http?: string;
  /** The ledger this relay notarizes. */
  readonly ledger: string;
  /** Computrons each cell opened through `cell/open` starts with (a demo faucet; 0 by default). */
  readonly grant?: bigint;
  readonly log: Log;
  readonly clock?: Clock;
  readonly ed?: Ed25519;
  readonly netLimits?: Partial<NetLimits>;
  readonly inboxLimits?: Partial<InboxLimits>;
  /** Group commit: how many turns one batch may hold, and how long the first may wait for company. */
  readonly batch?: { readonly maxTurns?: number; readonly maxDelayMs?: number };
  /**
   * A standalone relay's bridges: the federations whose attestations its ledger accepts for
   * `bridge-mint` (name -> Ed25519 public key), and which of them mint a wrapped asset here. A
   * federation relay takes these from its genesis instead; the CLI does not set them.
   */
  readonly bridges?: {
    readonly federations: ReadonlyMap<string, Uint8Array>;
    readonly wrapped?: ReadonlyMap<string, string>;
  };
  /** How often expired inbox payloads are purged (ms). */
  readonly purgeEveryMs?: number;
  /**
   * Federation mode (core/docs/federation.md, "Relay mode"): this relay is a member of the committee
   * the genesis pins; submitted turns are ordered with the other members' instead of by this relay
   * alone, and the ledger is the settled final order.
   */
  readonly federation?: {
    readonly genesis: Genesis;
    readonly tickMs?: number;
  };
  /** The intent desk: zones served (default `['market']`), ring timing, quotas. */
  readonly intents?: Omit<
    IntentDeskOptions,
    'notary' | 'node' | 'ed' | 'clock' | 'seed' | 'log' | 'federation' | 'store'
  >;
}

export interface Relay {
  /** The relay's did:key (its signatures) and libp2p peer id (its address). */
  readonly did: string;
  readonly peerId: string;
  readonly multiaddrs: string[];
  /** The operators' endpoint, when one was asked for. */
  readonly http?: string;
  readonly notary: Notary;
  readonly inbox: Inbox;
  readonly node: Libp2p<RelayServices>;
  readonly metrics: RelayMetrics;
  /** The intent desk (its pool and rings are in the relay's store). */
  readonly desk: IntentDesk;
  /** Federation mode's state, when the relay runs in it. */
  readonly federation?: Federation;
  /** Federation mode's EigenTrust over the members, feeding gossipsub's application score. */
  readonly trust?: TrustFeed;
  /** Graceful shutdown. Idempotent. */
  stop(): Promise<void>;
}

export const relayStorePath = (home: string): string => join(home, 'relay.sqlite');
export const RELAY_COLLECTIONS = [
  ...new Set([
    ...NOTARY_COLLECTIONS,
    ...INBOX_COLLECTIONS,
    ...REVOCATION_COLLECTIONS,
    ...FEDERATION_COLLECTIONS,
    ...INTENT_COLLECTIONS,
  ]),
];

export async function startRelay(config: RelayConfig): Promise<Relay> {
  const { log } = config;
  const clock = config.clock ?? systemClock;
  const ed = config.ed ?? nodeEd25519;
  const keys = relayKeys(config.home);
  const store: Store = await openSqliteStore(relayStorePath(config.home), { collections: RELAY_COLLECTIONS });
  const cleanup: (() => Promise<unknown>)[] = [() => store.close()];
  const unwind = async () => {
    for (const undo of cleanup.reverse()) await undo().catch(() => undefined);
  };
  // The metrics read the notary, so they are made after it; proofs checked before that go uncounted.
  const proofObserver: { seen?: (outcome: string, ms: number) => void } = {};
  try {
    const notary = await openNotary({
      store,
      ed,
      clock,
      seed: keys.signing,
      ledger: config.ledger,
      batch: config.batch,
      ...(config.bridges === undefined
        ? {}
        : { federations: config.bridges.federations, wrapped: config.bridges.wrapped }),
      onProof: (outcome, ms) => proofObserver.seen?.(outcome, ms),
    });
    cleanup.push(() => notary.close());
    const inbox = await openInbox({ store, clock, ed, seed: keys.signing, limits: config.inboxLimits });
    const deposits = await openDeposits({ notary, inbox, ed, clock, seed: keys.signing });
    const revocations = await openRevocationLog(store);

    const trust = config.federation && createTrustFeed();
    const node = await createRelayNode({
      ...(trust ? { appScore: trust.appScore } : {}),
      listen: [...config.listen],
      privateKey: relayPrivateKey(keys.peer),
      webrtcCertificate: await relayWebrtcCertificate(config.home),
      limits: config.netLimits,
      topics: [
        ...deskTopics(config.intents?.zones),
        ...(config.federation === undefined
          ? []
          : Object.values(federationTopics(config.federation.genesis.federation))),
      ],
      transports: relayWebTransport(config.home, config.listen),
    });
    // libp2p's stop waits for every connection to close; a peer that never answers (a browser's
    // WebRTC channel mid-teardown) must not hold the shutdown hostage: the store still closes.
    cleanup.push(() => Promise.race([node.stop(), new Promise((r) => setTimeout(r, 5000).unref())]));

    let federation: Federation | undefined;
    if (config.federation !== undefined) {
      const fed = await startFederation({
        genesis: config.federation.genesis,
        node,
        store,
        seed: keys.signing,
        ed,
        ledger: config.ledger,
        log,
        tickMs: config.federation.tickMs,
      });
      federation = fed;
      cleanup.push(() => fed.stop());
      const topics = federationTopics(config.federation.genesis.federation);
      trust?.attach(node, Object.values(topics), {
        committee: () => fed.committee(),
        equivocators: () => fed.status().equivocators,
      });
      cleanup.push(async () => trust?.stop());
    }
    // In federation mode every read of the ledger is of the settled final order.
    const ledger: Notary = federation?.notary ?? notary;

    const metrics = relayMetrics({
      height: () => ledger.height(),
      peers: () => node.getPeers().length,
      supply: () => ledger.audit(),
      inbox: () => inbox.totals(),
    });
    proofObserver.seen = metrics.proof;

    // Attested roots go out on gossip as they are made; one publication per new height at most.
    let publishedHeight = notary.latestRoot().height;
    const publishRoot = async () => {
      const root = notary.latestRoot();
      if (root.height === publishedHeight) return;
      publishedHeight = root.height;
      await publishSigned(node, TOPICS.roots, encodeAttestedRoot(root), keys.signing, ed).catch((e) =>
        log('warn', 'publishing an attested root failed', { height: root.height, error: String(e) }),
      );
    };

    const handlers = relayService({
      notary: ledger,
      inbox,
      deposits,
      ed,
      grant: config.grant ?? 0n,
      revocations,
      publishRevocation: async (_record, bytes) => {
        await publishSigned(node, TOPICS.revocations, bytes, keys.signing, ed);
      },
    });
    const observer = {
      served: metrics.served,
      dropped: (op: string, reason: string) => metrics.dropped(op, reason),
    };
    if (federation !== undefined) {
      const fed = federation;
      handlers['turn/submit'] = async (request) => {
        const turn = decodeTurn(request);
        const s = await fed.submit(turn, request);
        return encodeSubmitted(s, encodeReceipt(s.receipt));
      };
      handlers['cell/open'] = async () =>
        fail('E_DENIED', "A federation's cells are opened by its genesis or by turns, not by one relay");
      await serveFederation(node, fed, config.federation!.genesis, {
        observer: { served: metrics.served, dropped: (op, reason) => metrics.dropped(op, reason) },
        limits: config.netLimits,
      });
    }
    for (const op of Object.values(OPS)) {
      const handle = handlers[op.name];
      await serveRpc(
        node,
        op,
        op === OPS.submitTurn || op === OPS.provedSubmit || op === OPS.provedRegister
          ? async (request: Uint8Array) => {
              const answer = await handle(request);
              void publishRoot();
              return answer;
            }
          : handle,
        { observer, limits: config.netLimits },
      );
    }

    const desk = await openIntentDesk({
      ...config.intents,
      notary,
      // In federation mode rings settle through the federation's order, not the relay's own notary.
      ...(federation === undefined || config.federation === undefined
        ? {}
        : { federation: { fed: federation } }),
      node,
      ed,
      clock,
      seed: keys.signing,
      log,
      store,
    });
    cleanup.push(async () => desk.close());
    for (const op of Object.values(INTENT_OPS))
      await serveRpc(node, op, desk.handlers[op.name], { observer, limits: config.netLimits });

    // The relay is a gossip router too: it subscribes to every topic, so light nodes' messages reach
    // each other through it, and everything it forwards passes the envelope check first (bad input is
    // rejected, which scores its sender down, and counted).
    const gossipObserver = {
      dropped: (topic: string, reason: string) => metrics.dropped(`gossip ${topic}`, reason),
    };
    const unsubscribe = [
      // Revocations light nodes gossip directly are logged too (the validator verified them).
      subscribeSigned(
        node,
        TOPICS.revocations,
        (envelope) => {
          revocations
            .record(decodeRevocation(envelope.body), envelope.body)
            .catch((e) => log('warn', 'logging a revocation failed', { error: String(e) }));
        },
        {
          ed,
          clock,
          observer: gossipObserver,
          validateBody: async (body) => {
            await verifyRevocation(decodeRevocation(body), ed);
            return 'accept' as const;
          },
        },
      ),
      subscribeSigned(node, TOPICS.roots, () => {}, { ed, clock, observer: gossipObserver }),
      subscribeSigned(node, TOPICS.turns, () => {}, { ed, clock, observer: gossipObserver }),
    ];
    cleanup.push(async () => {
      for (const u of unsubscribe) u();
    });

    const purge = setInterval(() => {
      inbox
        .purgeExpired()
        .catch((e) => log('warn', 'purging expired inbox messages failed', { error: String(e) }));
    }, config.purgeEveryMs ?? 60_000);
    purge.unref();
    cleanup.push(async () => clearInterval(purge));

    let ops: OpsServer | undefined;
    if (config.http !== undefined) {
      ops = await serveOps(config.http, metrics, async () => {
        const audit = await ledger.audit();
        return {
          ok: audit.delta === 0n && [...audit.assets.values()].every((a) => a.held === a.expected),
          relay: keys.did,
          height: ledger.height(),
          peers: node.getPeers().length,
          supplyDelta: audit.delta.toString(),
          ...(federation === undefined ? {} : { federation: federation.status() }),
          // The gossip score the trust feed gives each member of the current committee it observes.
          ...(trust
            ? {
                trust: Object.fromEntries(
                  [...trust.observations().keys()].map((p) => [p, trust.appScore(p)]),
                ),
              }
            : {}),
        };
      });
      const server = ops;
      cleanup.push(() => server.close());
    }

    let stopping: Promise<void> | undefined;
    const relay: Relay = {
      did: keys.did,
      peerId: node.peerId.toString(),
      multiaddrs: node.getMultiaddrs().map(String),
      http: ops?.url,
      notary,
      inbox,
      node,
      metrics,
      desk,
      federation,
      ...(trust ? { trust } : {}),
      stop() {
        stopping ??= (async () => {
          log('info', 'relay stopping');
          await unwind();
          log('info', 'relay stopped');
        })();
        return stopping;
      },
    };
    log('info', 'relay ready', {
      relay: relay.did,
      peerId: relay.peerId,
      multiaddrs: relay.multiaddrs,
      http: relay.http,
      ledger: config.ledger,
      height: ledger.height(),
      federation: federation?.status(),
    });
    return relay;
  } catch (e) {
    await unwind();
    throw e instanceof DreggError ? e : new DreggError('E_IO', 'The relay could not start', { cause: e });
  }
}

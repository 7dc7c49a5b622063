/**
 * The libp2p node factory: one function for a relay, one for a light node (browser or Node client),
 * and the dial order a light node uses to reach a relay. Isomorphic; in Node 20 import
 * core/src/node/libp2p-shims.ts first, in a browser call `installLibp2pShims()` (core/src/net/shims.ts)
 * before calling anything here (see core/docs/net.md, "Runtime order").
 *
 * Transports: a relay listens on WebSockets (`/ws`, `/wss` behind a TLS proxy) and WebRTC-direct
 * (no CA certificate needed, so a browser can reach a bare IP), and on WebTransport through our own
 * QUIC listener (core/src/node/quic, plugged in through `transports` by the relay's config); a
 * browser light node dials WebTransport first, then WebRTC-direct, then WebSockets (`rank`).
 */

import type { CircuitRelayService } from '@libp2p/circuit-relay-v2';
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2';
import { privateKeyFromRaw } from '@libp2p/crypto/keys';
import { type GossipSub, type GossipsubOpts, gossipsub } from '@libp2p/gossipsub';
import type { PeerScoreParams, TopicScoreParams } from '@libp2p/gossipsub/score';
import { type Identify, identify } from '@libp2p/identify';
import type { Connection, Libp2p, PrivateKey } from '@libp2p/interface';
import { noise } from '@libp2p/noise';
import { type Ping, ping } from '@libp2p/ping';
import { webRTCDirect } from '@libp2p/webrtc';
import { webSockets } from '@libp2p/websockets';
import { webTransport } from '@libp2p/webtransport';
import { yamux } from '@libp2p/yamux';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import { createLibp2p, type Libp2pInit } from 'libp2p';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { blake3Hash } from '../crypto/hash.ts';
import { concatBytes } from '../encoding/bytes.ts';
import { DreggError } from '../errors.ts';
import { TOPICS } from './gossip.ts';
import { type NetLimits, netLimits } from './limits.ts';

// Type aliases, not interfaces: libp2p's ServiceMap constraint needs an index-compatible type.
export type LightServices = {
  identify: Identify;
  ping: Ping;
  pubsub: GossipSub;
};

export type RelayServices = LightServices & {
  relay: CircuitRelayService;
};

/** A libp2p transport factory, as `createLibp2p({ transports })` takes them. */
export type TransportFactory = NonNullable<Libp2pInit['transports']>[number];

export interface RelayNodeOptions {
  /** Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/4001/ws`, `/ip4/0.0.0.0/udp/4001/webrtc-direct`. */
  readonly listen: string[];
  /** The relay's libp2p identity (Ed25519); see `relayPrivateKey`. A fresh one when absent. */
  readonly privateKey?: PrivateKey;
  /** Public addresses to advertise instead of the listen addresses (behind NAT or a TLS proxy). */
  readonly announce?: string[];
  /**
   * The WebRTC-direct DTLS certificate (ECDSA P-256, PEM) and its certhash. A stored one keeps the
   * relay's webrtc-direct addresses stable across restarts; a fresh one per start when absent.
   */
  readonly webrtcCertificate?: {
    readonly privateKey: string;
    readonly pem: string;
    readonly certhash: string;
  };
  readonly limits?: Partial<NetLimits>;
  /**
   * Extra transports, appended after WebSockets and WebRTC-direct: the relay's WebTransport listener
   * (core/src/node/relay/webtransport.ts) goes here.
   */
  readonly transports?: TransportFactory[];
  /**
   * Further gossip topics this node may use beyond `TOPICS` (a federation's block and root topics,
   * ./federation.ts); their messages carry their own signatures and the subscriber's validator.
   */
  readonly topics?: readonly string[];
  /**
   * The application-specific part of each peer's gossipsub score (its peer id as text), taken with
   * weight 1: a federation relay feeds EigenTrust here (core/src/federation/trust.ts `gossipScore`),
   * so a peer that sent invalid data or equivocated is deprioritized, and graylisted below -80.
   */
  readonly appScore?: (peerId: string) => number;
}

export interface LightNodeOptions {
  readonly privateKey?: PrivateKey;
  readonly limits?: Partial<NetLimits>;
  /** Extra transports (WebTransport is already added where the runtime has it). */
  readonly transports?: TransportFactory[];
}

/**
 * A libp2p Ed25519 key from 32 bytes, deterministically: the relay derives the seed from its keyring
 * (its own derivation path), so its peer id survives restarts. Synchronous: libp2p's raw Ed25519
 * private key is seed || public key, and the public key comes from our own Ed25519.
 */
export function relayPrivateKey(seed32: Uint8Array): PrivateKey {
  if (!(seed32 instanceof Uint8Array) || seed32.length !== 32) {
    throw new DreggError('E_ARGUMENT', 'A relay key seed is 32 bytes');
  }
  return privateKeyFromRaw(concatBytes(seed32, ed25519PublicKey(seed32)));
}

/**
 * Gossipsub scoring for our three topics. Invalid messages (a validator REJECT: bad signature,
 * malformed, wrong topic, too large) cost a peer heavily and decay slowly, so a peer that sends a
 * few is graylisted; mesh-delivery quotas are off because revocations and roots are rare and an
 * honest quiet peer must not be pruned for silence.
 */
const TOPIC_SCORE: TopicScoreParams = {
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 100,
  firstMessageDeliveriesWeight: 1,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 10,
  meshMessageDeliveriesWeight: 0,
  meshMessageDeliveriesDecay: 0.5,
  meshMessageDeliveriesCap: 100,
  meshMessageDeliveriesThreshold: 1,
  meshMessageDeliveriesWindow: 10,
  meshMessageDeliveriesActivation: 5000,
  meshFailurePenaltyWeight: 0,
  meshFailurePenaltyDecay: 0.5,
  invalidMessageDeliveriesWeight: -20,
  invalidMessageDeliveriesDecay: 0.9,
};

function gossipOptions(
  limits: NetLimits,
  extra: readonly string[] = [],
  appScore?: (peerId: string) => number,
): Partial<GossipsubOpts> {
  const topics: string[] = [...Object.values(TOPICS), ...extra];
  const scoreParams: Partial<PeerScoreParams> = {
    topics: Object.fromEntries(topics.map((t) => [t, TOPIC_SCORE])),
    ...(appScore === undefined ? {} : { appSpecificScore: appScore, appSpecificWeight: 1 }),
  };
  return {
    // No libp2p-level signature, sequence number or author: every message is our envelope, signed by
    // the key that vouches for it (core/src/net/gossip.ts), and a second signature by the peer key
    // cost a sign and a verify per hop (about a millisecond of the publish-to-deliver latency) while
    // proving nothing a receiver relies on. Messages that carry those fields are rejected.
    globalSignaturePolicy: 'StrictNoSign',
    allowedTopics: topics,
    // Content-addressed ids: the same envelope relayed by two peers (or replayed with a new seqno
    // inside the seen-cache window) is one message. BLAKE3 of the bytes, the format is the domain.
    msgIdFn: (msg) => blake3Hash(msg.data, 20),
    // Oversized envelopes must reach our validator (so it can REJECT and score the sender); only
    // far larger ones are cut off while decoding.
    maxInboundDataLength: 2 * limits.gossipMaxEnvelopeBytes,
    allowPublishToZeroTopicPeers: true,
    // Publishing what the mesh has already seen (a retried revocation within the same second signs to
    // the same bytes) is a no-op, not a failure.
    ignoreDuplicatePublishError: true,
    emitSelf: false,
    scoreParams,
  };
}

function connectionManager(limits: NetLimits) {
  return {
    maxConnections: limits.maxConnections,
    maxIncomingPendingConnections: limits.maxIncomingPendingConnections,
    inboundConnectionThreshold: limits.inboundConnectionsPerHostPerSecond,
    dialTimeout: limits.dialTimeoutMs,
  };
}

/** A relay: listens on WebSockets and WebRTC-direct, relays circuits, runs gossipsub. Started. */
export async function createRelayNode(o: RelayNodeOptions): Promise<Libp2p<RelayServices>> {
  const limits = netLimits(o.limits);
  return createLibp2p<RelayServices>({
    ...(o.privateKey === undefined ? {} : { privateKey: o.privateKey }),
    addresses: { listen: o.listen, ...(o.announce === undefined ? {} : { announce: o.announce }) },
    transports: [
      webSockets(),
      webRTCDirect(o.webrtcCertificate === undefined ? {} : { certificate: { ...o.webrtcCertificate } }),
      ...(o.transports ?? []),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: connectionManager(limits),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(gossipOptions(limits, o.topics, o.appScore)),
      // Browsers reach each other through the relay (a reservation, then /p2p-circuit addresses).
      relay: circuitRelayServer({
        reservations: {
          maxReservations: Math.max(16, limits.maxConnections >> 2),
          // libp2p's defaults (128 KiB, 2 minutes) cut a relayed CapTP session short.
          defaultDataLimit: BigInt(limits.circuitDataLimitBytes),
          defaultDurationLimit: limits.circuitDurationLimitMs,
        },
      }),
    },
  });
}

/**
 * A light node (browser or Node client): dials out only. WebTransport (browsers), WebRTC-direct and
 * WebSockets to reach relays,
 * circuit relay to reach other light nodes through one. It dials only the relay addresses it is given
 * (no discovery), so it may dial private and loopback addresses and plain `ws` (a relay on the
 * same machine or LAN; js-libp2p's browser default refuses those).
 */
export async function createLightNode(o: LightNodeOptions = {}): Promise<Libp2p<LightServices>> {
  const limits = netLimits(o.limits);
  return createLibp2p<LightServices>({
    ...(o.privateKey === undefined ? {} : { privateKey: o.privateKey }),
    addresses: { listen: ['/p2p-circuit'] },
    transports: [
      // WebTransport where the runtime has it (browsers; Node has no QUIC): relays that listen on it
      // are dialled there first (see `rank`).
      ...('WebTransport' in globalThis ? [webTransport()] : []),
      webRTCDirect(),
      webSockets(),
      circuitRelayTransport(),
      ...(o.transports ?? []),
    ],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    connectionManager: connectionManager(limits),
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: gossipsub(gossipOptions(limits)),
    },
  });
}

/** Dial preference: lower first. WebTransport (when a browser has it), WebRTC-direct, then WebSockets. */
function rank(address: string): number {
  if (address.includes('/webtransport')) return 0;
  if (address.includes('/webrtc-direct')) return 1;
  if (address.includes('/wss') || address.includes('/tls/ws')) return 2;
  if (address.includes('/ws')) return 3;
  return 4;
}

/**
 * Connects to a relay given its advertised addresses: WebTransport first, then WebRTC-direct, then
 * WebSockets (wss before ws), each with the dial timeout. `E_UNREACHABLE` names every address tried and why it failed
 * (transport-level reasons only; nothing secret is in an address).
 */
export async function dialRelay(
  node: Libp2p,
  multiaddrs: readonly string[],
  o: { signal?: AbortSignal; limits?: Partial<NetLimits> } = {},
): Promise<Connection> {
  const limits = netLimits(o.limits);
  const ordered = [...multiaddrs].sort((a, b) => rank(a) - rank(b));
  const tried: string[] = [];
  for (const address of ordered) {
    if (o.signal?.aborted) break;
    let ma: Multiaddr;
    try {
      ma = multiaddr(address);
    } catch {
      tried.push(`${address} (not a multiaddr)`);
      continue;
    }
    const timeout = AbortSignal.timeout(limits.dialTimeoutMs);
    const signal = o.signal === undefined ? timeout : AbortSignal.any([o.signal, timeout]);
    try {
      return await node.dial(ma, { signal });
    } catch (e) {
      tried.push(`${address} (${e instanceof Error ? e.name : 'failed'})`);
    }
  }
  if (o.signal?.aborted) throw new DreggError('E_TIMEOUT', 'Dialing the relay was cancelled');
  throw new DreggError(
    'E_UNREACHABLE',
    tried.length === 0 ? 'No relay address to dial' : `Could not reach the relay; tried ${tried.join(', ')}`,
  );
}

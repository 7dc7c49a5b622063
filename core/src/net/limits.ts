/**
 * Every size, time and count the networking layer enforces, in one place, so that a relay operator
 * (and a reviewer) can see the whole resource envelope at once. Operation-specific sizes live on the
 * operation (`RpcOp.maxRequest` / `maxResponse`); these are the defaults and the caps around them.
 */
import { DreggError } from '../errors.ts';

export interface NetLimits {
  /** Connections the connection manager keeps open before it starts pruning (relay: browsers + relays). */
  readonly maxConnections: number;
  /** Inbound connections still being upgraded (noise handshake) at one time. */
  readonly maxIncomingPendingConnections: number;
  /**
   * New inbound connections one remote host (IP) may open per second; more are refused during the
   * upgrade. libp2p's default (5) is too low for a relay: many browsers share one NAT address, and a
   * page reconnecting several light nodes at once is normal.
   */
  readonly inboundConnectionsPerHostPerSecond: number;
  /** Dial timeout for one relay address, in milliseconds. */
  readonly dialTimeoutMs: number;
  /** Default deadline of one RPC (both sides) when its `RpcOp` names none, in milliseconds. */
  readonly rpcTimeoutMs: number;
  /** Concurrent inbound streams of one RPC protocol on one connection (libp2p's `maxInboundStreams`). */
  readonly rpcMaxInboundStreams: number;
  /** Requests of one operation one remote peer may have in flight at once; more get `E_RATE_LIMITED`. */
  readonly rpcInFlightPerPeer: number;
  /** Token bucket per remote peer per operation: sustained requests per second ... */
  readonly rpcRatePerSecond: number;
  /** ... and the burst it may spend at once. */
  readonly rpcBurst: number;
  /** Bytes one relayed (circuit) connection may carry each way before the relay closes it. */
  readonly circuitDataLimitBytes: number;
  /** How long one relayed (circuit) connection may stay open, in milliseconds. */
  readonly circuitDurationLimitMs: number;
  /** Largest gossip envelope (CBOR bytes) accepted on any topic; a topic may set a lower one. */
  readonly gossipMaxEnvelopeBytes: number;
  /** How far in the future (seconds) an envelope's `at` may lie before it is ignored (clock skew). */
  readonly gossipMaxFutureSkewSeconds: number;
}

export const DEFAULT_NET_LIMITS: NetLimits = Object.freeze({
  maxConnections: 512,
  maxIncomingPendingConnections: 32,
  inboundConnectionsPerHostPerSecond: 32,
  dialTimeoutMs: 10_000,
  rpcTimeoutMs: 15_000,
  rpcMaxInboundStreams: 32,
  rpcInFlightPerPeer: 8,
  rpcRatePerSecond: 200,
  rpcBurst: 400,
  // A CapTP session between two browsers through the relay: long-lived, but not a bulk transfer.
  circuitDataLimitBytes: 64 * 1024 * 1024,
  circuitDurationLimitMs: 30 * 60 * 1000,
  // A turn with its STARK proof (~111 KiB at 2^16 x 64, FIELD-NOTES) fits with room to spare.
  gossipMaxEnvelopeBytes: 512 * 1024,
  gossipMaxFutureSkewSeconds: 300,
});

/** The defaults with `overrides` applied; refuses non-positive or non-integer values. */
export function netLimits(overrides: Partial<NetLimits> = {}): NetLimits {
  const merged = { ...DEFAULT_NET_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(merged)) {
    if (!Number.isSafeInteger(value) || (value as number) <= 0) {
      throw new DreggError('E_ARGUMENT', `NetLimits.${name} must be a positive integer`);
    }
  }
  return Object.freeze(merged);
}

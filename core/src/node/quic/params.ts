/**
 * QUIC transport parameters (RFC 9000 §18), carried in TLS's quic_transport_parameters extension:
 * a sequence of (id varint, length varint, value). We encode ours and decode the client's.
 *
 * Decoding fails with `E_DECODE` for truncated bytes and `E_PROTOCOL` for values RFC 9000 §18.2
 * forbids (the transport closes with TRANSPORT_PARAMETER_ERROR). Unknown ids, GREASE included, are
 * skipped, as §18.1 requires.
 */
import { fail } from '../../errors.ts';
import { MAX_CID_LENGTH } from './packet.ts';
import { Cursor, varintLength, writeVarint } from './varint.ts';

export interface TransportParameters {
  /** 0x00, server only: the DCID of the client's first Initial. */
  readonly originalDestinationConnectionId?: Uint8Array;
  /** 0x01, milliseconds; 0 = no idle timeout. */
  readonly maxIdleTimeout: number;
  /** 0x02, server only, 16 bytes. */
  readonly statelessResetToken?: Uint8Array;
  /** 0x03, at least 1200. */
  readonly maxUdpPayloadSize: number;
  readonly initialMaxData: number;
  readonly initialMaxStreamDataBidiLocal: number;
  readonly initialMaxStreamDataBidiRemote: number;
  readonly initialMaxStreamDataUni: number;
  /** 0x08, 0x09: at most 2^60. */
  readonly initialMaxStreamsBidi: number;
  readonly initialMaxStreamsUni: number;
  /** 0x0a, at most 20. */
  readonly ackDelayExponent: number;
  /** 0x0b, milliseconds, below 2^14. */
  readonly maxAckDelay: number;
  readonly disableActiveMigration: boolean;
  /** 0x0e, at least 2. */
  readonly activeConnectionIdLimit: number;
  /** 0x0f: the SCID of the sender's first packet. */
  readonly initialSourceConnectionId?: Uint8Array;
  /** 0x10, server only, after a Retry (we send none). */
  readonly retrySourceConnectionId?: Uint8Array;
  /** 0x20 (RFC 9221): the largest DATAGRAM frame accepted; 0 = none. */
  readonly maxDatagramFrameSize: number;
}

/** RFC 9000 §18.2's defaults (and RFC 9221's "absent" for datagrams). */
export const DEFAULT_TRANSPORT_PARAMETERS: TransportParameters = {
  maxIdleTimeout: 0,
  maxUdpPayloadSize: 65527,
  initialMaxData: 0,
  initialMaxStreamDataBidiLocal: 0,
  initialMaxStreamDataBidiRemote: 0,
  initialMaxStreamDataUni: 0,
  initialMaxStreamsBidi: 0,
  initialMaxStreamsUni: 0,
  ackDelayExponent: 3,
  maxAckDelay: 25,
  disableActiveMigration: false,
  activeConnectionIdLimit: 2,
  maxDatagramFrameSize: 0,
};

type IntegerKey = {
  [K in keyof TransportParameters]-?: TransportParameters[K] extends number ? K : never;
}[keyof TransportParameters];
type CidKey = 'originalDestinationConnectionId' | 'initialSourceConnectionId' | 'retrySourceConnectionId';

const INTEGERS: ReadonlyArray<readonly [number, IntegerKey]> = [
  [0x01, 'maxIdleTimeout'],
  [0x03, 'maxUdpPayloadSize'],
  [0x04, 'initialMaxData'],
  [0x05, 'initialMaxStreamDataBidiLocal'],
  [0x06, 'initialMaxStreamDataBidiRemote'],
  [0x07, 'initialMaxStreamDataUni'],
  [0x08, 'initialMaxStreamsBidi'],
  [0x09, 'initialMaxStreamsUni'],
  [0x0a, 'ackDelayExponent'],
  [0x0b, 'maxAckDelay'],
  [0x0e, 'activeConnectionIdLimit'],
  [0x20, 'maxDatagramFrameSize'],
];
const CIDS: ReadonlyArray<readonly [number, CidKey]> = [
  [0x00, 'originalDestinationConnectionId'],
  [0x0f, 'initialSourceConnectionId'],
  [0x10, 'retrySourceConnectionId'],
];
const STATELESS_RESET_TOKEN = 0x02;
const DISABLE_ACTIVE_MIGRATION = 0x0c;
const PREFERRED_ADDRESS = 0x0d;
/** Parameters only a server may send (RFC 9000 §18.2): a client sending one is an error. */
const SERVER_ONLY = new Set([0x00, STATELESS_RESET_TOKEN, PREFERRED_ADDRESS, 0x10]);

/** Our parameters as the extension body. Values equal to the default are still written when given. */
export function encodeTransportParameters(params: Partial<TransportParameters>): Uint8Array {
  const parts: [number, Uint8Array | number][] = [];
  for (const [id, key] of CIDS) {
    const cid = params[key];
    if (cid !== undefined) parts.push([id, cid]);
  }
  if (params.statelessResetToken !== undefined)
    parts.push([STATELESS_RESET_TOKEN, params.statelessResetToken]);
  for (const [id, key] of INTEGERS) {
    const value = params[key];
    if (value !== undefined) parts.push([id, value]);
  }
  if (params.disableActiveMigration) parts.push([DISABLE_ACTIVE_MIGRATION, new Uint8Array(0)]);

  let size = 0;
  for (const [id, v] of parts) {
    const length = typeof v === 'number' ? varintLength(v) : v.length;
    size += varintLength(id) + varintLength(length) + length;
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (const [id, v] of parts) {
    o = writeVarint(out, o, id);
    if (typeof v === 'number') {
      o = writeVarint(out, o, varintLength(v));
      o = writeVarint(out, o, v);
    } else {
      o = writeVarint(out, o, v.length);
      out.set(v, o);
      o += v.length;
    }
  }
  return out;
}

/** The peer's parameters, defaults filled in. `from` says who sent them (servers may send more ids). */
export function decodeTransportParameters(body: Uint8Array, from: 'client' | 'server'): TransportParameters {
  const c = new Cursor(body, 0, body.length, 'QUIC transport parameters');
  const seen = new Set<number>();
  const out: { -readonly [K in keyof TransportParameters]: TransportParameters[K] } = {
    ...DEFAULT_TRANSPORT_PARAMETERS,
  };
  while (c.remaining > 0) {
    const id = c.varint();
    const value = c.take(c.varint());
    if (seen.has(id)) fail('E_PROTOCOL', `Transport parameter ${id} repeated`);
    seen.add(id);
    if (from === 'client' && SERVER_ONLY.has(id))
      fail('E_PROTOCOL', `Transport parameter ${id} sent by a client`);
    const integer = INTEGERS.find(([i]) => i === id);
    if (integer) {
      const v = new Cursor(value, 0, value.length, 'QUIC transport parameter');
      out[integer[1]] = v.varint();
      if (v.remaining !== 0) fail('E_PROTOCOL', `Transport parameter ${id} has trailing bytes`);
      continue;
    }
    const cid = CIDS.find(([i]) => i === id);
    if (cid) {
      if (value.length > MAX_CID_LENGTH) fail('E_PROTOCOL', 'Connection ID too long in transport parameters');
      out[cid[1]] = value.slice();
    } else if (id === STATELESS_RESET_TOKEN) {
      if (value.length !== 16) fail('E_PROTOCOL', 'Stateless reset token must be 16 bytes');
      out.statelessResetToken = value.slice();
    } else if (id === DISABLE_ACTIVE_MIGRATION) {
      if (value.length !== 0) fail('E_PROTOCOL', 'disable_active_migration carries no value');
      out.disableActiveMigration = true;
    }
  }
  if (out.maxUdpPayloadSize < 1200) fail('E_PROTOCOL', 'max_udp_payload_size below 1200');
  if (out.ackDelayExponent > 20) fail('E_PROTOCOL', 'ack_delay_exponent above 20');
  if (out.maxAckDelay >= 2 ** 14) fail('E_PROTOCOL', 'max_ack_delay of 2^14 or more');
  if (out.activeConnectionIdLimit < 2) fail('E_PROTOCOL', 'active_connection_id_limit below 2');
  if (out.initialMaxStreamsBidi > 2 ** 60 || out.initialMaxStreamsUni > 2 ** 60) {
    fail('E_PROTOCOL', 'initial_max_streams above 2^60');
  }
  return out;
}

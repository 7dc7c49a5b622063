/**
 * QUIC packet headers (RFC 9000 §17, the version-independent parts from RFC 8999): finding the
 * packets in a datagram, reading their unprotected header fields, and writing headers.
 *
 * Parsing stops where header protection starts (the packet number): `protect.ts` removes it.
 * Positions are offsets into the datagram so nothing is copied; a packet's bytes stay valid only as
 * long as the caller keeps the datagram.
 */
import { fail } from '../../errors.ts';
import { Cursor, varintLength, writeVarint } from './varint.ts';

/** QUIC version 1 (RFC 9000). The only version we speak; any other gets a Version Negotiation. */
export const QUIC_V1 = 0x00000001;
export const SUPPORTED_VERSIONS: readonly number[] = [QUIC_V1];
/** RFC 9000 §17.2: connection IDs in version 1 are at most 20 bytes. */
export const MAX_CID_LENGTH = 20;
/** RFC 9000 §14.1: a client's Initial datagram is at least this large (and so is our server's). */
export const MIN_INITIAL_DATAGRAM = 1200;

export type LongPacketType = 'initial' | '0rtt' | 'handshake' | 'retry';
const LONG_TYPES: readonly LongPacketType[] = ['initial', '0rtt', 'handshake', 'retry'];

/** Where one packet lies in its datagram. `pnOffset` is where the protected packet number begins. */
interface Span {
  readonly start: number;
  readonly pnOffset: number;
  readonly end: number;
}

export interface LongPacket extends Span {
  readonly form: 'long';
  readonly type: Exclude<LongPacketType, 'retry'>;
  readonly version: number;
  readonly dcid: Uint8Array;
  readonly scid: Uint8Array;
  /** The Initial's token (empty for other types, and for clients that have none). */
  readonly token: Uint8Array;
}

export interface ShortPacket extends Span {
  readonly form: 'short';
  readonly dcid: Uint8Array;
}

/** A long-header packet of a version we do not speak: answer with `versionNegotiation`. */
export interface UnsupportedVersion {
  readonly form: 'unsupported';
  readonly version: number;
  readonly dcid: Uint8Array;
  readonly scid: Uint8Array;
}

export type Packet = LongPacket | ShortPacket;

/**
 * Reads the packet that starts at `start`. `shortDcidLength` is the length of the connection IDs we
 * issue (short headers do not carry it). Fails with `E_DECODE` when the bytes end early and
 * `E_PROTOCOL` when a field breaks a rule of version 1 (fixed bit clear, connection ID too long).
 * A server never receives Retry or Version Negotiation packets legitimately: those are `E_PROTOCOL` too.
 */
export function parsePacket(
  datagram: Uint8Array,
  start: number,
  shortDcidLength: number,
): Packet | UnsupportedVersion {
  const c = new Cursor(datagram, start);
  const first = c.u8();
  if ((first & 0x80) === 0) {
    if ((first & 0x40) === 0) fail('E_PROTOCOL', 'QUIC fixed bit is clear');
    const dcid = c.take(shortDcidLength);
    return { form: 'short', dcid, start, pnOffset: c.pos, end: datagram.length };
  }
  const version = c.u32();
  const dcidLength = c.u8();
  const dcid = c.take(dcidLength);
  const scidLength = c.u8();
  const scid = c.take(scidLength);
  if (version === 0) fail('E_PROTOCOL', 'Version Negotiation packet sent to a server');
  if (version !== QUIC_V1) return { form: 'unsupported', version, dcid, scid };
  if (dcidLength > MAX_CID_LENGTH || scidLength > MAX_CID_LENGTH)
    fail('E_PROTOCOL', 'QUIC connection ID too long');
  if ((first & 0x40) === 0) fail('E_PROTOCOL', 'QUIC fixed bit is clear');
  const type = LONG_TYPES[(first >> 4) & 3]!;
  if (type === 'retry') fail('E_PROTOCOL', 'Retry packet sent to a server');
  const token = type === 'initial' ? c.take(c.varint()) : datagram.subarray(0, 0);
  const length = c.varint();
  const pnOffset = c.pos;
  c.skip(length);
  return { form: 'long', type, version, dcid, scid, token, start, pnOffset, end: c.pos };
}

/**
 * The packets coalesced in one datagram (RFC 9000 §12.2), in order. The first packet's errors are
 * thrown; after a good first packet, whatever does not parse (padding zeros some stacks append, a
 * packet for another connection ID) is dropped silently, as the RFC allows, so one bad trailer does
 * not cost the good packets before it.
 */
export function splitDatagram(
  datagram: Uint8Array,
  shortDcidLength: number,
): (Packet | UnsupportedVersion)[] {
  const first = parsePacket(datagram, 0, shortDcidLength);
  const packets: (Packet | UnsupportedVersion)[] = [first];
  if (first.form !== 'long') return packets;
  let offset = first.end;
  while (offset < datagram.length) {
    let next: Packet | UnsupportedVersion;
    try {
      next = parsePacket(datagram, offset, shortDcidLength);
    } catch {
      break;
    }
    if (next.form === 'unsupported' || !sameBytes(next.dcid, first.dcid)) break;
    packets.push(next);
    if (next.form === 'short') break;
    offset = next.end;
  }
  return packets;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A Version Negotiation packet (RFC 9000 §17.2.1) answering `packet`: the connection IDs swapped,
 * our versions listed. The first byte's unused bits are random-ish per RFC 8999 (we set 0x40 so the
 * packet also passes middleboxes that look for QUIC's fixed bit).
 */
export function versionNegotiation(packet: {
  readonly dcid: Uint8Array;
  readonly scid: Uint8Array;
}): Uint8Array {
  const out = new Uint8Array(7 + packet.dcid.length + packet.scid.length + 4 * SUPPORTED_VERSIONS.length);
  out[0] = 0xc0 | (Math.random() * 64);
  // Version 0 (bytes 1..4) marks Version Negotiation.
  let o = 5;
  out[o++] = packet.scid.length;
  out.set(packet.scid, o);
  o += packet.scid.length;
  out[o++] = packet.dcid.length;
  out.set(packet.dcid, o);
  o += packet.dcid.length;
  const view = new DataView(out.buffer);
  for (const v of SUPPORTED_VERSIONS) {
    view.setUint32(o, v);
    o += 4;
  }
  return out;
}

/** Fields of a long header we send (Initial or Handshake; we never send 0-RTT or Retry). */
export interface LongHeaderFields {
  readonly type: 'initial' | 'handshake';
  readonly version?: number;
  readonly dcid: Uint8Array;
  readonly scid: Uint8Array;
  /** Initial only; a server's Initial always has an empty token. */
  readonly token?: Uint8Array;
}

/**
 * A long header up to and including the truncated packet number, unprotected (RFC 9000 §17.2).
 * `payloadLength` is the plaintext payload's length: the Length field also covers the packet number
 * and the 16-byte AEAD tag. Length is written in at least two bytes, as most stacks do, so a header's
 * size does not change while the payload grows.
 */
export function longHeader(
  fields: LongHeaderFields,
  packetNumber: number,
  pnLength: number,
  payloadLength: number,
): Uint8Array {
  const token = fields.token ?? new Uint8Array(0);
  const length = pnLength + payloadLength + AEAD_TAG_LENGTH;
  const lengthBytes = varintLength(length) === 1 ? 2 : varintLength(length);
  const isInitial = fields.type === 'initial';
  const size =
    7 +
    fields.dcid.length +
    fields.scid.length +
    (isInitial ? varintLength(token.length) + token.length : 0) +
    lengthBytes +
    pnLength;
  const out = new Uint8Array(size);
  out[0] = 0xc0 | ((isInitial ? 0 : 2) << 4) | (pnLength - 1);
  new DataView(out.buffer).setUint32(1, fields.version ?? QUIC_V1);
  let o = 5;
  out[o++] = fields.dcid.length;
  out.set(fields.dcid, o);
  o += fields.dcid.length;
  out[o++] = fields.scid.length;
  out.set(fields.scid, o);
  o += fields.scid.length;
  if (isInitial) {
    o = writeVarint(out, o, token.length);
    out.set(token, o);
    o += token.length;
  }
  o = writeVarint(out, o, length, lengthBytes);
  writePacketNumber(out, o, packetNumber, pnLength);
  return out;
}

/** A short (1-RTT) header up to and including the truncated packet number (RFC 9000 §17.3.1). */
export function shortHeader(
  dcid: Uint8Array,
  packetNumber: number,
  pnLength: number,
  keyPhase: 0 | 1,
): Uint8Array {
  const out = new Uint8Array(1 + dcid.length + pnLength);
  out[0] = 0x40 | (keyPhase << 2) | (pnLength - 1);
  out.set(dcid, 1);
  writePacketNumber(out, 1 + dcid.length, packetNumber, pnLength);
  return out;
}

/** The AEAD tag QUIC's cipher suites append (RFC 9001 §5.3). */
export const AEAD_TAG_LENGTH = 16;

function writePacketNumber(out: Uint8Array, offset: number, packetNumber: number, pnLength: number): void {
  let pn = packetNumber;
  for (let i = pnLength - 1; i >= 0; i--) {
    out[offset + i] = pn & 0xff;
    pn = Math.floor(pn / 256);
  }
}

/**
 * How many bytes to send `packetNumber` in (RFC 9000 §17.1, A.2): enough for twice the span of
 * unacknowledged packets, so the peer decodes it unambiguously. `largestAcked` is undefined before
 * any acknowledgement.
 */
export function packetNumberLength(packetNumber: number, largestAcked: number | undefined): 1 | 2 | 3 | 4 {
  const unacked = largestAcked === undefined ? packetNumber + 1 : packetNumber - largestAcked;
  const bits = Math.floor(Math.log2(Math.max(1, unacked))) + 2;
  return Math.min(4, Math.ceil(bits / 8)) as 1 | 2 | 3 | 4;
}

/** The full packet number from its truncated form (RFC 9000 A.3). */
export function decodePacketNumber(largest: number | undefined, truncated: number, bits: number): number {
  const expected = largest === undefined ? 0 : largest + 1;
  const win = 2 ** bits;
  const half = win / 2;
  const candidate = expected - (expected % win) + truncated;
  if (candidate <= expected - half && candidate < 2 ** 62 - win) return candidate + win;
  if (candidate > expected + half && candidate >= win) return candidate - win;
  return candidate;
}

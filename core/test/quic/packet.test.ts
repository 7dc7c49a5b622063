import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/encoding/bytes.ts';
import {
  decodePacketNumber,
  longHeader,
  packetNumberLength,
  parsePacket,
  QUIC_V1,
  shortHeader,
  splitDatagram,
  versionNegotiation,
} from '../../src/node/quic/packet.ts';
import { Cursor, encodeVarint, VARINT_MAX, varintLength } from '../../src/node/quic/varint.ts';
import { outcome } from '../crypto/expect-code.ts';

const cid = (n: number, fill = 0xaa) => new Uint8Array(n).fill(fill);

describe('varint (RFC 9000 §16)', () => {
  it('decodes the RFC 9000 A.1 examples', () => {
    const read = (h: string) => new Cursor(fromHex(h)).varint();
    expect(read('c2197c5eff14e88c')).toBe(Number(151288809941952652n));
    expect(read('9d7f3e7d')).toBe(494878333);
    expect(read('7bbd')).toBe(15293);
    expect(read('25')).toBe(37);
    expect(read('4025')).toBe(37);
  });

  it('encodes in the shortest form and round-trips', () => {
    expect(toHex(encodeVarint(494878333))).toBe('9d7f3e7d');
    expect(toHex(encodeVarint(15293))).toBe('7bbd');
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: 2 ** 30 }), fc.maxSafeNat()), (v) => {
        const bytes = encodeVarint(v);
        const c = new Cursor(bytes);
        return c.varint() === v && c.remaining === 0 && bytes.length === varintLength(v);
      }),
    );
  });

  it('refuses values it cannot encode and truncated input', () => {
    expect(outcome(() => encodeVarint(VARINT_MAX * 2))).toBe('E_ARGUMENT');
    expect(outcome(() => encodeVarint(-1))).toBe('E_ARGUMENT');
    expect(outcome(() => new Cursor(fromHex('9d7f3e')).varint())).toBe('E_DECODE');
    expect(outcome(() => new Cursor(fromHex('')).u8())).toBe('E_DECODE');
  });
});

describe('packet numbers (RFC 9000 §17.1, A.2, A.3)', () => {
  it('decodes the A.3 example', () => {
    expect(decodePacketNumber(0xa82f30ea, 0x9b32, 16)).toBe(0xa82f9b32);
  });

  it('sizes the A.2 examples', () => {
    expect(packetNumberLength(0xac5c02, 0xabe8b3)).toBe(2);
    expect(packetNumberLength(0xace8fe, 0xabe8b3)).toBe(3);
    expect(packetNumberLength(0, undefined)).toBe(1);
  });

  it('a number encoded with packetNumberLength decodes back against any largest received in the acked window', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 0, max: 2 ** 20 }), (pn, gap) => {
        const largestAcked = pn - 1 - gap >= 0 ? pn - 1 - gap : undefined;
        const length = packetNumberLength(pn, largestAcked);
        const truncated = pn % 2 ** (8 * length);
        // The receiver has seen at least the acknowledged packet and at most pn - 1.
        const largestReceived = largestAcked ?? (pn > 0 ? pn - 1 : undefined);
        return decodePacketNumber(largestReceived, truncated, 8 * length) === pn;
      }),
    );
  });
});

function initial(token = new Uint8Array(0), payload = 40) {
  const header = longHeader({ type: 'initial', dcid: cid(8), scid: cid(4, 0xbb), token }, 0, 1, payload);
  const packet = new Uint8Array(header.length + payload + 16);
  packet.set(header);
  return packet;
}

describe('packet headers', () => {
  it('reads an Initial with a token', () => {
    const p = parsePacket(initial(Uint8Array.of(1, 2, 3)), 0, 8);
    expect(p).toMatchObject({ form: 'long', type: 'initial', version: QUIC_V1 });
    if (p.form !== 'long') return;
    expect(toHex(p.token)).toBe('010203');
    expect(toHex(p.scid)).toBe('bbbbbbbb');
    expect(p.end).toBe(p.pnOffset + 1 + 40 + 16);
  });

  it('splits coalesced Initial + Handshake + 1-RTT packets and drops trailing junk', () => {
    const hs = longHeader({ type: 'handshake', dcid: cid(8), scid: cid(4) }, 7, 2, 30);
    const hsPacket = new Uint8Array(hs.length + 30 + 16);
    hsPacket.set(hs);
    const short = new Uint8Array(40);
    short.set(shortHeader(cid(8), 3, 1, 0));
    const datagram = Buffer.concat([initial(), hsPacket, short]);
    const packets = splitDatagram(datagram, 8);
    expect(packets.map((p) => (p.form === 'long' ? p.type : p.form))).toEqual([
      'initial',
      'handshake',
      'short',
    ]);
    expect(packets[2]).toMatchObject({ start: initial().length + hsPacket.length, end: datagram.length });

    const padded = Buffer.concat([initial(), new Uint8Array(100)]);
    expect(splitDatagram(padded, 8).length).toBe(1);
    const otherCid = longHeader({ type: 'handshake', dcid: cid(8, 1), scid: cid(4) }, 0, 1, 30);
    expect(splitDatagram(Buffer.concat([initial(), otherCid, new Uint8Array(46)]), 8).length).toBe(1);
  });

  it('recognises 0-RTT packets (the endpoint drops them)', () => {
    const p = initial();
    p[0] = (p[0]! & 0xcf) | 0x10;
    p.copyWithin(6 + 8 + 5, 6 + 8 + 5 + 1); // remove the token length byte: 0-RTT has none
    const parsed = parsePacket(p.subarray(0, p.length - 1), 0, 8);
    expect(parsed).toMatchObject({ form: 'long', type: '0rtt' });
  });

  it('reports an unknown version with its connection IDs, and answers with Version Negotiation', () => {
    const p = initial();
    p.set([0x1a, 0x2a, 0x3a, 0x4a], 1);
    const parsed = parsePacket(p, 0, 8);
    expect(parsed).toMatchObject({ form: 'unsupported', version: 0x1a2a3a4a });
    if (parsed.form !== 'unsupported') return;
    const vn = versionNegotiation(parsed);
    expect(vn[0]! & 0x80).toBe(0x80);
    expect(toHex(vn.subarray(1, 5))).toBe('00000000');
    // RFC 9000 §17.2.1: the DCID echoes the client's SCID and vice versa.
    expect(toHex(vn.subarray(5))).toBe(`04bbbbbbbb08${'aa'.repeat(8)}00000001`);
    expect(outcome(() => parsePacket(vn, 0, 8))).toBe('E_PROTOCOL');
  });

  it('refuses Retry, a clear fixed bit, long connection IDs, and truncation with typed errors', () => {
    const retry = initial();
    retry[0] = retry[0]! | 0x30;
    expect(outcome(() => parsePacket(retry, 0, 8))).toBe('E_PROTOCOL');
    const fixed = initial();
    fixed[0] = fixed[0]! & ~0x40;
    expect(outcome(() => parsePacket(fixed, 0, 8))).toBe('E_PROTOCOL');
    const longCid = longHeader({ type: 'initial', dcid: cid(21), scid: cid(0) }, 0, 1, 20);
    expect(outcome(() => parsePacket(Buffer.concat([longCid, new Uint8Array(36)]), 0, 8))).toBe('E_PROTOCOL');
    const whole = initial();
    for (const n of [0, 1, 5, 10, 20, whole.length - 1]) {
      expect(outcome(() => parsePacket(whole.subarray(0, n), 0, 8))).toBe('E_DECODE');
    }
  });

  it('never throws anything but a typed error on random datagrams', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 20 }), (bytes, n) => {
        const code = outcome(() => splitDatagram(bytes, n));
        return code === 'OK' || code === 'E_DECODE' || code === 'E_PROTOCOL';
      }),
      { numRuns: 3000 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/encoding/bytes.ts';
import type { PacketKeys } from '../../src/node/quic/api.ts';
import {
  hkdfExpandLabel,
  hkdfExtract,
  INITIAL_SALT_V1,
  initialKeys,
  initialSecrets,
  nextTrafficSecret,
  packetKeys,
  updatedPacketKeys,
} from '../../src/node/quic/keys.ts';
import { longHeader, parsePacket, shortHeader } from '../../src/node/quic/packet.ts';
import { packetProtection, retryIntegrityTag } from '../../src/node/quic/protect.ts';
import { outcome } from '../crypto/expect-code.ts';
import {
  A1,
  A2_CRYPTO,
  A2_HEADER,
  A2_PACKET,
  A2_PAYLOAD_LENGTH,
  A3_HEADER,
  A3_PACKET,
  A3_PAYLOAD,
  A4_RETRY,
  A5,
  DCID,
} from './rfc9001-vectors.ts';

const dcid = fromHex(DCID);
const hexKeys = (k: PacketKeys) => ({ key: toHex(k.key), iv: toHex(k.iv), hp: toHex(k.hp) });

function a2Payload(): Uint8Array {
  const payload = new Uint8Array(A2_PAYLOAD_LENGTH);
  payload.set(fromHex(A2_CRYPTO));
  return payload;
}

describe('RFC 9001 A.1 keys', () => {
  it('derives the initial secret, both directions secrets and their packet keys', () => {
    expect(toHex(hkdfExtract(INITIAL_SALT_V1, dcid))).toBe(A1.initialSecret);
    const secrets = initialSecrets(dcid);
    expect(toHex(secrets.client)).toBe(A1.client.secret);
    expect(toHex(secrets.server)).toBe(A1.server.secret);
    const keys = initialKeys(dcid);
    const { secret: _c, ...client } = A1.client;
    const { secret: _s, ...server } = A1.server;
    expect(hexKeys(keys.read)).toEqual(client);
    expect(hexKeys(keys.write)).toEqual(server);
  });
});

describe('RFC 9001 A.2 client Initial', () => {
  it('builds the unprotected header and protects the packet byte for byte', () => {
    const header = longHeader({ type: 'initial', dcid, scid: new Uint8Array(0) }, 2, 4, A2_PAYLOAD_LENGTH);
    expect(toHex(header)).toBe(A2_HEADER);
    const sealed = packetProtection(initialKeys(dcid).read).seal(header, a2Payload(), 2);
    expect(sealed.length).toBe(1200);
    expect(toHex(sealed)).toBe(A2_PACKET);
  });

  it('the server parses and opens it', () => {
    const datagram = fromHex(A2_PACKET);
    const packet = parsePacket(datagram, 0, 8);
    if (packet.form !== 'long') throw new Error('expected a long header');
    expect(packet.type).toBe('initial');
    expect(toHex(packet.dcid)).toBe(DCID);
    expect(packet.scid.length).toBe(0);
    expect(packet.token.length).toBe(0);
    expect(packet.end).toBe(1200);
    const opened = packetProtection(initialKeys(packet.dcid).read).open(datagram, packet, undefined);
    expect(opened?.packetNumber).toBe(2);
    expect(opened?.firstByte).toBe(0xc3);
    expect(toHex(opened!.payload)).toBe(toHex(a2Payload()));
  });
});

describe('RFC 9001 A.3 server Initial', () => {
  it('builds the header and protects the packet byte for byte, and opens it again', () => {
    const payload = fromHex(A3_PAYLOAD);
    const header = longHeader(
      { type: 'initial', dcid: new Uint8Array(0), scid: fromHex('f067a5502a4262b5') },
      1,
      2,
      payload.length,
    );
    expect(toHex(header)).toBe(A3_HEADER);
    const sealed = packetProtection(initialKeys(dcid).write).seal(header, payload, 1);
    expect(toHex(sealed)).toBe(A3_PACKET);

    const packet = parsePacket(sealed, 0, 0);
    if (packet.form !== 'long') throw new Error('expected a long header');
    const client = { read: packetKeys('TLS_AES_128_GCM_SHA256', initialSecrets(dcid).server) };
    const opened = packetProtection(client.read).open(sealed, packet, 0);
    expect(opened?.packetNumber).toBe(1);
    expect(toHex(opened!.payload)).toBe(A3_PAYLOAD);
  });
});

describe('RFC 9001 A.4 Retry', () => {
  it('computes the Retry integrity tag', () => {
    const retry = fromHex(A4_RETRY);
    expect(toHex(retryIntegrityTag(dcid, retry.subarray(0, retry.length - 16)))).toBe(
      toHex(retry.subarray(-16)),
    );
  });
});

describe('RFC 9001 A.5 ChaCha20-Poly1305 short header', () => {
  const secret = fromHex(A5.secret);
  const keys = packetKeys('TLS_CHACHA20_POLY1305_SHA256', secret);

  it('derives key, iv, hp and the key-update secret', () => {
    expect(hexKeys(keys)).toEqual({ key: A5.key, iv: A5.iv, hp: A5.hp });
    expect(toHex(nextTrafficSecret(secret))).toBe(A5.ku);
  });

  it('protects the packet byte for byte and opens it', () => {
    const header = shortHeader(new Uint8Array(0), A5.packetNumber, 3, 0);
    expect(toHex(header)).toBe(A5.header);
    const sealed = packetProtection(keys).seal(header, fromHex(A5.payload), A5.packetNumber);
    expect(toHex(sealed)).toBe(A5.packet);

    const packet = parsePacket(sealed, 0, 0);
    const opened = packetProtection(keys).open(
      sealed,
      packet as { start: number; pnOffset: number; end: number },
      A5.packetNumber - 1,
    );
    expect(opened?.packetNumber).toBe(A5.packetNumber);
    expect(toHex(opened!.payload)).toBe(A5.payload);
  });

  it('keeps the header-protection key across a key update', () => {
    const next = updatedPacketKeys(keys, nextTrafficSecret(secret));
    expect(toHex(next.hp)).toBe(A5.hp);
    expect(toHex(next.key)).toBe(toHex(hkdfExpandLabel(fromHex(A5.ku), 'quic key', new Uint8Array(0), 32)));
  });
});

const suites = ['TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256'] as const;
const arbPacket = fc.record({
  suite: fc.constantFrom(...suites),
  secret: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  long: fc.boolean(),
  dcid: fc.uint8Array({ maxLength: 20 }),
  packetNumber: fc.integer({ min: 0, max: 2 ** 32 }),
  pnLength: fc.constantFrom(1, 2, 3, 4),
  payload: fc.uint8Array({ minLength: 3, maxLength: 300 }),
});

type ArbPacket = typeof arbPacket extends fc.Arbitrary<infer T> ? T : never;

function build(p: ArbPacket) {
  const keys = packetKeys(p.suite, p.secret);
  const header = p.long
    ? longHeader(
        { type: 'handshake', dcid: p.dcid, scid: p.dcid },
        p.packetNumber,
        p.pnLength,
        p.payload.length,
      )
    : shortHeader(p.dcid, p.packetNumber, p.pnLength, 1);
  return { keys, sealed: packetProtection(keys).seal(header, p.payload, p.packetNumber) };
}

describe('packet protection properties', () => {
  it('open(seal(x)) = x for both suites, long and short headers', () => {
    fc.assert(
      fc.property(arbPacket, (p) => {
        const { keys, sealed } = build(p);
        const packet = parsePacket(sealed, 0, p.dcid.length);
        if (packet.form === 'unsupported') return false;
        const opened = packetProtection(keys).open(sealed, packet, p.packetNumber - 1);
        return (
          opened !== null &&
          opened.packetNumber === p.packetNumber &&
          toHex(opened.payload) === toHex(p.payload) &&
          ((opened.firstByte & 0x04) !== 0) === !p.long
        );
      }),
    );
  });

  it('rejects any single bit flip (null from open, or a typed error from parsing)', () => {
    fc.assert(
      fc.property(arbPacket, fc.nat(), fc.integer({ min: 0, max: 7 }), (p, at, bit) => {
        const { keys, sealed } = build(p);
        const i = at % sealed.length;
        sealed[i]! ^= 1 << bit;
        let result: unknown;
        const code = outcome(() => {
          const packet = parsePacket(sealed, 0, p.dcid.length);
          if (packet.form === 'unsupported') return;
          result = packetProtection(keys).open(sealed, packet, p.packetNumber - 1);
        });
        if (code !== 'OK') return code === 'E_DECODE' || code === 'E_PROTOCOL';
        return result === null || result === undefined;
      }),
    );
  });

  it('random bytes never throw anything but a typed error', () => {
    const keys = initialKeys(dcid).read;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1400 }), fc.integer({ min: 0, max: 20 }), (bytes, cidLength) => {
        const code = outcome(() => {
          const packet = parsePacket(bytes, 0, cidLength);
          if (packet.form !== 'unsupported') packetProtection(keys).open(bytes, packet, undefined);
        });
        return code === 'OK' || code === 'E_DECODE' || code === 'E_PROTOCOL';
      }),
      { numRuns: 2000 },
    );
  });
});

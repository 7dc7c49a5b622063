import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../../src/encoding/bytes.ts';
import {
  DEFAULT_TRANSPORT_PARAMETERS,
  decodeTransportParameters,
  encodeTransportParameters,
  type TransportParameters,
} from '../../src/node/quic/params.ts';
import { outcome } from '../crypto/expect-code.ts';

const cid = fc.uint8Array({ maxLength: 20 });
const arbParams = fc.record(
  {
    originalDestinationConnectionId: cid,
    maxIdleTimeout: fc.integer({ min: 0, max: 600_000 }),
    statelessResetToken: fc.uint8Array({ minLength: 16, maxLength: 16 }),
    maxUdpPayloadSize: fc.integer({ min: 1200, max: 65527 }),
    initialMaxData: fc.maxSafeNat(),
    initialMaxStreamDataBidiLocal: fc.integer({ min: 0, max: 2 ** 40 }),
    initialMaxStreamDataBidiRemote: fc.integer({ min: 0, max: 2 ** 40 }),
    initialMaxStreamDataUni: fc.integer({ min: 0, max: 2 ** 40 }),
    initialMaxStreamsBidi: fc.integer({ min: 0, max: 2 ** 50 }),
    initialMaxStreamsUni: fc.integer({ min: 0, max: 1000 }),
    ackDelayExponent: fc.integer({ min: 0, max: 20 }),
    maxAckDelay: fc.integer({ min: 0, max: 2 ** 14 - 1 }),
    disableActiveMigration: fc.boolean(),
    activeConnectionIdLimit: fc.integer({ min: 2, max: 100 }),
    initialSourceConnectionId: cid,
    maxDatagramFrameSize: fc.integer({ min: 0, max: 65535 }),
  },
  { requiredKeys: [] },
);

describe('transport parameters (RFC 9000 §18)', () => {
  it('decode(encode(p)) gives p over the defaults', () => {
    fc.assert(
      fc.property(arbParams, (p) => {
        const decoded = decodeTransportParameters(encodeTransportParameters(p), 'server');
        expect(decoded).toEqual({ ...DEFAULT_TRANSPORT_PARAMETERS, ...p } satisfies TransportParameters);
      }),
    );
  });

  it('skips unknown and GREASE ids', () => {
    // id 27 (31*0+27, GREASE) with 3 bytes, then max_idle_timeout = 10.
    expect(decodeTransportParameters(fromHex('1b03aabbcc01010a'), 'client').maxIdleTimeout).toBe(10);
  });

  it('refuses repeats, server-only ids from a client, bad values and truncation', () => {
    const cases: [string, 'client' | 'server', string][] = [
      ['01010a01010a', 'client', 'E_PROTOCOL'], // max_idle_timeout twice
      ['000100', 'client', 'E_PROTOCOL'], // original_destination_connection_id from a client
      [`0210${'00'.repeat(16)}`, 'client', 'E_PROTOCOL'], // stateless_reset_token from a client
      ['02020000', 'server', 'E_PROTOCOL'], // stateless_reset_token of 2 bytes
      ['0302444b', 'client', 'E_PROTOCOL'], // max_udp_payload_size 1099
      ['0a0115', 'client', 'E_PROTOCOL'], // ack_delay_exponent 21
      ['0b0480004000', 'client', 'E_PROTOCOL'], // max_ack_delay 2^14
      ['0e0101', 'client', 'E_PROTOCOL'], // active_connection_id_limit 1
      ['0c0100', 'client', 'E_PROTOCOL'], // disable_active_migration with a value
      ['01020a', 'client', 'E_DECODE'], // value shorter than its length
      ['0102400a', 'client', 'OK'], // 10 as a 2-byte varint
      ['010300000a', 'client', 'E_PROTOCOL'], // varint followed by trailing bytes
      [`0f15${'00'.repeat(21)}`, 'client', 'E_PROTOCOL'], // initial_source_connection_id of 21 bytes
    ];
    for (const [hex, from, code] of cases) {
      expect([hex, outcome(() => decodeTransportParameters(fromHex(hex), from))]).toEqual([hex, code]);
    }
  });

  it('never throws anything but a typed error on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const code = outcome(() => decodeTransportParameters(bytes, 'client'));
        return code === 'OK' || code === 'E_DECODE' || code === 'E_PROTOCOL';
      }),
      { numRuns: 2000 },
    );
  });
});

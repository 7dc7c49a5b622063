/**
 * Following the peer's key update (RFC 9001 §6) with keyphase.ts: a synthetic client built from our
 * own key schedule and packet protection (keys.ts, protect.ts, packet.ts) seals 1-RTT packets in
 * successive key generations; the server side must open them all, rotate exactly on an authenticated
 * phase flip, answer in the new phase, and keep the previous read keys for the window it is given.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CipherSuite, PacketKeys } from '../../src/node/quic/api.ts';
import { keyPhases } from '../../src/node/quic/keyphase.ts';
import { nextTrafficSecret, packetKeys, updatedPacketKeys } from '../../src/node/quic/keys.ts';
import { parsePacket, shortHeader } from '../../src/node/quic/packet.ts';
import { packetProtection } from '../../src/node/quic/protect.ts';
import { A5 } from './rfc9001-vectors.ts';

const fromHex = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'));
const DCID = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
const PTO3 = 100;

/** Keys of generation `n` (n updates after `secret`), as the peer holding that secret derives them. */
function generation(suite: CipherSuite, secret: Uint8Array, n: number): PacketKeys {
  const base = packetKeys(suite, secret);
  let s = secret;
  let keys = base;
  for (let i = 0; i < n; i++) {
    s = nextTrafficSecret(s);
    keys = updatedPacketKeys(base, s);
  }
  return keys;
}

/** A client 1-RTT packet in key generation `gen` (phase bit gen % 2) carrying `frames` (PADDING after). */
function clientPacket(suite: CipherSuite, secret: Uint8Array, gen: number, pn: number, frames: number[]) {
  const header = shortHeader(DCID, pn, 2, (gen % 2) as 0 | 1);
  const payload = new Uint8Array(Math.max(4, frames.length));
  payload.set(frames);
  return packetProtection(generation(suite, secret, gen)).seal(header, payload, pn);
}

function span(datagram: Uint8Array) {
  return parsePacket(datagram, 0, DCID.length) as { start: number; pnOffset: number; end: number };
}

const suites: CipherSuite[] = ['TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256'];
const clientSecret = fromHex(A5.secret);
const serverSecret = fromHex(A5.ku);

describe('key phases (RFC 9001 §6)', () => {
  it('opens the RFC 9001 A.5 packet in phase 0 with its published secret', () => {
    const phases = keyPhases('TLS_CHACHA20_POLY1305_SHA256', clientSecret, serverSecret);
    const packet = fromHex(A5.packet);
    const opened = phases.open(packet, parsePacket(packet, 0, 0) as never, A5.packetNumber - 1, 0, PTO3);
    expect(opened?.packetNumber).toBe(A5.packetNumber);
    expect(Buffer.from(opened!.payload).toString('hex')).toBe(A5.payload);
    expect(phases.generation).toBe(0);
  });

  for (const suite of suites) {
    it(`follows a client key update and answers in the new phase (${suite})`, () => {
      const phases = keyPhases(suite, clientSecret, serverSecret);
      let largest: number | undefined;
      for (let pn = 0; pn < 3; pn++) {
        const p = clientPacket(suite, clientSecret, 0, pn, [0x01, pn]);
        expect(phases.open(p, span(p), largest, 0, PTO3)?.payload).toEqual(Buffer.from([0x01, pn, 0, 0]));
        largest = pn;
      }
      expect(phases.phase).toBe(0);
      const flipped = clientPacket(suite, clientSecret, 1, 3, [0x01, 3]);
      expect(phases.open(flipped, span(flipped), largest, 10, PTO3)?.packetNumber).toBe(3);
      expect(phases.phase).toBe(1);
      expect(phases.generation).toBe(1);

      // Our next packet carries phase 1 and opens only with the server secret's first update.
      const ours = phases.write.seal(shortHeader(DCID, 0, 2, phases.phase), Uint8Array.of(0x01, 0, 0), 0);
      const asClient = (gen: number) =>
        packetProtection(generation(suite, serverSecret, gen)).open(ours.slice(), span(ours), undefined);
      expect(asClient(0)).toBeNull();
      const opened = asClient(1);
      expect(opened?.firstByte && (opened.firstByte >> 2) & 1).toBe(1);
    });
  }

  it('opens a delayed packet of the old phase with the previous keys, but only for the window given', () => {
    const suite = 'TLS_AES_128_GCM_SHA256';
    const phases = keyPhases(suite, clientSecret, serverSecret);
    const late = clientPacket(suite, clientSecret, 0, 4, [0x01]);
    const flip = clientPacket(suite, clientSecret, 1, 5, [0x01]);
    expect(phases.open(flip, span(flip), 3, 1000, PTO3)).not.toBeNull();
    expect(phases.open(late.slice(), span(late), 5, 1000 + PTO3, PTO3)?.packetNumber).toBe(4);
    expect(phases.phase).toBe(1); // an old-phase packet does not flip us back
    expect(phases.open(late.slice(), span(late), 5, 1001 + PTO3, PTO3)).toBeNull();
  });

  it('does not rotate on a phase flip that does not authenticate', () => {
    const suite = 'TLS_AES_128_GCM_SHA256';
    const phases = keyPhases(suite, clientSecret, serverSecret);
    // Phase bit 1 but sealed with the current keys (what a forger flipping the bit achieves at best).
    const forged = packetProtection(generation(suite, clientSecret, 0)).seal(
      shortHeader(DCID, 7, 2, 1),
      Uint8Array.of(0x01, 0, 0, 0),
      7,
    );
    expect(phases.open(forged, span(forged), 6, 0, PTO3)).toBeNull();
    expect(phases.generation).toBe(0);
    const good = clientPacket(suite, clientSecret, 0, 8, [0x01]);
    expect(phases.open(good, span(good), 6, 0, PTO3)).not.toBeNull();
  });

  it('follows any number of successive updates, in both suites (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...suites),
        fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 5 }),
        (suite, perGeneration) => {
          const phases = keyPhases(suite, clientSecret, serverSecret);
          let pn = 0;
          perGeneration.forEach((count, gen) => {
            for (let i = 0; i < count; i++, pn++) {
              const p = clientPacket(suite, clientSecret, gen, pn, [0x01]);
              expect(phases.open(p, span(p), pn === 0 ? undefined : pn - 1, pn, PTO3)?.packetNumber).toBe(pn);
            }
          });
          expect(phases.generation).toBe(perGeneration.length - 1);
          expect(phases.phase).toBe((perGeneration.length - 1) % 2);
        },
      ),
      { numRuns: 25 },
    );
  });
});

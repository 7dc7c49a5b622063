/**
 * Key update for the 1-RTT keys (RFC 9001 §6), as a server that follows the peer: the peer flips the
 * key phase bit when it starts using the next generation of keys; we then decrypt with the next
 * generation, switch our own sending keys to it (§6.2: the responder updates too), and keep the
 * previous generation's read keys for three PTOs (§6.1, §6.5) so that reordered packets still open.
 *
 * The next read keys are derived ahead of time, so that a packet with a flipped phase costs the same
 * single decryption attempt as any other (the timing side channel of §9.5). A flipped phase that does
 * not authenticate changes nothing (§6.3): a forged bit cannot make us rotate.
 *
 * Not done: initiating a key update ourselves (we would need to at AES-GCM's confidentiality limit of
 * 2^23 packets, §6.6; a connection of ours sends far fewer), and KEY_UPDATE_ERROR for a peer that
 * updates twice without waiting for an acknowledgement (§6.2 makes treating it so optional).
 */
import type { CipherSuite } from './api.ts';
import { nextTrafficSecret, packetKeys, updatedPacketKeys } from './keys.ts';
import type { OpenedPacket, PacketProtection, PacketSpan } from './protect.ts';
import { packetProtection } from './protect.ts';

export interface KeyPhases {
  /** The phase bit our packets carry (0 until the first update). */
  readonly phase: 0 | 1;
  /** How many key updates have happened. */
  readonly generation: number;
  /** Protection for the packets we send now. */
  readonly write: PacketProtection;
  /**
   * Opens a 1-RTT packet with whichever generation its phase bit and packet number call for;
   * `null` when it does not authenticate (or needs previous keys already discarded). `now` and
   * `keepPrevious` (3 PTO, in the same clock) bound how long the previous read keys are kept.
   */
  open(
    datagram: Uint8Array,
    span: PacketSpan,
    largestReceived: number | undefined,
    now: number,
    keepPrevious: number,
  ): OpenedPacket | null;
}

/** The 1-RTT key phases from the application traffic secrets TLS gave us (read = the client's). */
export function keyPhases(suite: CipherSuite, readSecret: Uint8Array, writeSecret: Uint8Array): KeyPhases {
  let readKeys = packetKeys(suite, readSecret);
  let writeKeys = packetKeys(suite, writeSecret);
  let reading = packetProtection(readKeys);
  let nextSecret = nextTrafficSecret(readSecret);
  let next = packetProtection(updatedPacketKeys(readKeys, nextSecret));
  let writeSecretNow = writeSecret;
  let previous: { protection: PacketProtection; until: number } | undefined;
  /** The lowest packet number received in the current phase: older ones belong to the previous. */
  let firstInPhase = 0;
  const state = {
    phase: 0 as 0 | 1,
    generation: 0,
    write: packetProtection(writeKeys),
    open,
  };

  function rotate(packetNumber: number, now: number, keepPrevious: number): void {
    previous = { protection: reading, until: now + keepPrevious };
    reading = next;
    readKeys = reading.keys;
    nextSecret = nextTrafficSecret(nextSecret);
    next = packetProtection(updatedPacketKeys(readKeys, nextSecret));
    writeSecretNow = nextTrafficSecret(writeSecretNow);
    writeKeys = updatedPacketKeys(writeKeys, writeSecretNow);
    state.write = packetProtection(writeKeys);
    state.phase = state.phase === 0 ? 1 : 0;
    state.generation++;
    firstInPhase = packetNumber;
  }

  function open(
    datagram: Uint8Array,
    span: PacketSpan,
    largestReceived: number | undefined,
    now: number,
    keepPrevious: number,
  ): OpenedPacket | null {
    // Header protection keys never change (§6): any generation's object removes it.
    const header = reading.openHeader(datagram, span, largestReceived);
    if (previous && now > previous.until) previous = undefined;
    const phase = (header.firstByte >> 2) & 1;
    if (phase === state.phase) return reading.openPayload(datagram, span, header);
    if (header.packetNumber < firstInPhase) {
      // Sent before the peer's update: the previous keys, while we still hold them.
      return previous ? previous.protection.openPayload(datagram, span, header) : null;
    }
    const opened = next.openPayload(datagram, span, header);
    if (opened) rotate(header.packetNumber, now, keepPrevious);
    return opened;
  }

  return state;
}

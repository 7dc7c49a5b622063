/**
 * Packet protection (RFC 9001 §5.3, §5.4): AEAD over the payload with the header as associated data,
 * then header protection over the first byte's low bits and the packet number, with a mask from a
 * 16-byte sample of the ciphertext (AES-ECB for AES-GCM, ChaCha20 for ChaCha20-Poly1305).
 *
 * Failure modes, chosen so the transport can follow RFC 9001 §5.5 (drop what does not authenticate):
 * - `open` returns `null` when the AEAD tag does not verify (a forged, corrupted or mis-keyed packet);
 * - bytes too short to hold a sample fail with `E_DECODE`;
 * - an authenticated packet with reserved header bits set fails with `E_PROTOCOL` (RFC 9000 §17.2,
 *   a connection error of type PROTOCOL_VIOLATION).
 */
import { type Cipher, createCipheriv, createDecipheriv } from 'node:crypto';
import { fail } from '../../errors.ts';
import type { PacketKeys } from './api.ts';
import { AEAD_TAG_LENGTH, decodePacketNumber } from './packet.ts';

/** The sample starts 4 bytes after the packet number's first byte (RFC 9001 §5.4.2). */
const SAMPLE_OFFSET = 4;
const SAMPLE_LENGTH = 16;

/** Where a received packet lies in its datagram (`packet.ts` gives these). */
export interface PacketSpan {
  readonly start: number;
  readonly pnOffset: number;
  readonly end: number;
}

export interface OpenedPacket {
  readonly packetNumber: number;
  /** The first byte with header protection removed (short headers: bit 0x04 is the key phase). */
  readonly firstByte: number;
  /** The decrypted frames (a fresh buffer: it outlives the datagram). */
  readonly payload: Uint8Array;
}

/** A packet whose header protection is removed, its payload not yet authenticated. */
export interface UnprotectedHeader {
  readonly packetNumber: number;
  readonly firstByte: number;
}

export interface PacketProtection {
  readonly keys: PacketKeys;
  /**
   * Protects one packet. `header` ends with the truncated packet number (from `longHeader` or
   * `shortHeader`) and is masked in place; the result is header + ciphertext + tag in one buffer.
   * The payload must be long enough for the header-protection sample: packet number + payload >= 4.
   */
  seal(header: Uint8Array, payload: Uint8Array, packetNumber: number): Uint8Array;
  /**
   * Removes protection from the packet at `span` in `datagram`. Header protection is removed in place
   * (the datagram's first byte and packet number bytes are rewritten, even when the tag then fails).
   * `largestReceived` is the largest packet number received in this packet number space so far.
   */
  open(datagram: Uint8Array, span: PacketSpan, largestReceived: number | undefined): OpenedPacket | null;
  /**
   * `open` in two steps, for key update (RFC 9001 §6.3): the key phase bit is known only once header
   * protection is off, and the header-protection key is the same in every key phase, so the caller
   * removes it once here, then picks which phase's keys `openPayload` (of any generation) uses.
   */
  openHeader(datagram: Uint8Array, span: PacketSpan, largestReceived: number | undefined): UnprotectedHeader;
  openPayload(datagram: Uint8Array, span: PacketSpan, header: UnprotectedHeader): OpenedPacket | null;
}

export function packetProtection(keys: PacketKeys): PacketProtection {
  const aes = keys.suite === 'TLS_AES_128_GCM_SHA256';
  const tag = { authTagLength: AEAD_TAG_LENGTH };
  const encrypt = (nonce: Uint8Array) =>
    aes
      ? createCipheriv('aes-128-gcm', keys.key, nonce, tag)
      : createCipheriv('chacha20-poly1305', keys.key, nonce, tag);
  const decrypt = (nonce: Uint8Array) =>
    aes
      ? createDecipheriv('aes-128-gcm', keys.key, nonce, tag)
      : createDecipheriv('chacha20-poly1305', keys.key, nonce, tag);
  const headerMask = aes ? aesMask(keys.hp) : chachaMask(keys.hp);
  const nonce = new Uint8Array(12);

  function nonceFor(packetNumber: number): Uint8Array {
    nonce.set(keys.iv);
    const hi = Math.floor(packetNumber / 2 ** 32);
    const lo = packetNumber >>> 0;
    nonce[4] ^= hi >>> 24;
    nonce[5] ^= (hi >>> 16) & 0xff;
    nonce[6] ^= (hi >>> 8) & 0xff;
    nonce[7] ^= hi & 0xff;
    nonce[8] ^= lo >>> 24;
    nonce[9] ^= (lo >>> 16) & 0xff;
    nonce[10] ^= (lo >>> 8) & 0xff;
    nonce[11] ^= lo & 0xff;
    return nonce;
  }

  function openHeader(
    datagram: Uint8Array,
    span: PacketSpan,
    largestReceived: number | undefined,
  ): UnprotectedHeader {
    const { start, pnOffset, end } = span;
    const sampleAt = pnOffset + SAMPLE_OFFSET;
    if (sampleAt + SAMPLE_LENGTH > end || end > datagram.length) fail('E_DECODE', 'QUIC packet too short');
    const mask = headerMask(datagram.subarray(sampleAt, sampleAt + SAMPLE_LENGTH));
    const long = (datagram[start]! & 0x80) !== 0;
    const firstByte = datagram[start]! ^ (mask[0]! & (long ? 0x0f : 0x1f));
    datagram[start] = firstByte;
    const pnLength = (firstByte & 3) + 1;
    let truncated = 0;
    for (let i = 0; i < pnLength; i++) {
      datagram[pnOffset + i] ^= mask[1 + i]!;
      truncated = truncated * 256 + datagram[pnOffset + i]!;
    }
    return { packetNumber: decodePacketNumber(largestReceived, truncated, pnLength * 8), firstByte };
  }

  function openPayload(
    datagram: Uint8Array,
    span: PacketSpan,
    { packetNumber, firstByte }: UnprotectedHeader,
  ): OpenedPacket | null {
    const { start, pnOffset, end } = span;
    const long = (firstByte & 0x80) !== 0;
    const bodyAt = pnOffset + (firstByte & 3) + 1;
    const tagAt = end - AEAD_TAG_LENGTH;
    const decipher = decrypt(nonceFor(packetNumber));
    decipher.setAAD(datagram.subarray(start, bodyAt), { plaintextLength: tagAt - bodyAt });
    decipher.setAuthTag(datagram.subarray(tagAt, end));
    const payload = decipher.update(datagram.subarray(bodyAt, tagAt));
    try {
      decipher.final();
    } catch {
      return null;
    }
    if ((firstByte & (long ? 0x0c : 0x18)) !== 0) fail('E_PROTOCOL', 'QUIC reserved header bits are set');
    return { packetNumber, firstByte, payload };
  }

  return {
    keys,
    seal(header, payload, packetNumber) {
      const pnLength = (header[0]! & 3) + 1;
      const pnOffset = header.length - pnLength;
      if (pnLength + payload.length < SAMPLE_OFFSET)
        fail('E_ARGUMENT', 'Payload too short for header protection');
      const out = new Uint8Array(header.length + payload.length + AEAD_TAG_LENGTH);
      const cipher = encrypt(nonceFor(packetNumber));
      cipher.setAAD(header, { plaintextLength: payload.length });
      out.set(cipher.update(payload), header.length);
      cipher.final();
      out.set(cipher.getAuthTag(), header.length + payload.length);
      out.set(header);
      const sampleAt = pnOffset + SAMPLE_OFFSET;
      const mask = headerMask(out.subarray(sampleAt, sampleAt + SAMPLE_LENGTH));
      out[0] ^= mask[0]! & (out[0]! & 0x80 ? 0x0f : 0x1f);
      for (let i = 0; i < pnLength; i++) out[pnOffset + i] ^= mask[1 + i]!;
      return out;
    },
    open(datagram, span, largestReceived) {
      return openPayload(datagram, span, openHeader(datagram, span, largestReceived));
    },
    openHeader,
    openPayload,
  };
}

/** AES-ECB of the sample (RFC 9001 §5.4.3); one cipher object serves every packet. */
function aesMask(hp: Uint8Array): (sample: Uint8Array) => Uint8Array {
  const ecb: Cipher = createCipheriv(`aes-${hp.length * 8}-ecb`, hp, null);
  ecb.setAutoPadding(false);
  return (sample) => ecb.update(sample);
}

/** ChaCha20 keystream with counter and nonce taken from the sample (RFC 9001 §5.4.4). */
function chachaMask(hp: Uint8Array): (sample: Uint8Array) => Uint8Array {
  const zeros = new Uint8Array(5);
  return (sample) => createCipheriv('chacha20', hp, sample).update(zeros);
}

/** RFC 9001 §5.8: the fixed key and nonce of version 1's Retry integrity tag. */
const RETRY_KEY = Buffer.from('be0c690b9f66575a1d766b54e368c84e', 'hex');
const RETRY_NONCE = Buffer.from('461599d35d632bf2239825bb', 'hex');

/**
 * The Retry Integrity Tag (RFC 9001 §5.8) of a Retry packet (without its tag) answering a client
 * whose first Destination Connection ID was `originalDcid`. We send no Retry; the endpoint uses this
 * only if it ever does, and the test pins it against RFC 9001 A.4.
 */
export function retryIntegrityTag(originalDcid: Uint8Array, retryWithoutTag: Uint8Array): Uint8Array {
  const cipher = createCipheriv('aes-128-gcm', RETRY_KEY, RETRY_NONCE, { authTagLength: AEAD_TAG_LENGTH });
  cipher.setAAD(Buffer.concat([Uint8Array.of(originalDcid.length), originalDcid, retryWithoutTag]));
  cipher.final();
  return cipher.getAuthTag();
}

/**
 * Secrets and packet keys (RFC 9001 §5): HKDF with TLS 1.3's labels (RFC 8446 §7.1), the Initial
 * secrets every client and server derive from the client's first Destination Connection ID, the
 * key/IV/header-protection key of each direction, and key update (RFC 9001 §6).
 *
 * Both cipher suites we negotiate hash with SHA-256, so every function here is SHA-256 only.
 */
import { createHmac } from 'node:crypto';
import type { CipherSuite, PacketKeys } from './api.ts';

/** RFC 9001 §5.2: the salt of version 1's Initial secrets. */
export const INITIAL_SALT_V1 = Uint8Array.from(
  Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex'),
);

const HASH_LENGTH = 32;

export function hkdfExtract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return createHmac('sha256', salt).update(ikm).digest();
}

/** HKDF-Expand (RFC 5869 §2.3) for SHA-256. */
export function hkdfExpand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let block = new Uint8Array(0);
  for (let i = 0, o = 0; o < length; i++) {
    block = createHmac('sha256', prk)
      .update(block)
      .update(info)
      .update(Uint8Array.of(i + 1))
      .digest();
    out.set(block.subarray(0, Math.min(HASH_LENGTH, length - o)), o);
    o += HASH_LENGTH;
  }
  return out;
}

/** HKDF-Expand-Label (RFC 8446 §7.1): the label gets TLS 1.3's "tls13 " prefix. */
export function hkdfExpandLabel(
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const fullLabel = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = new Uint8Array(4 + fullLabel.length + context.length);
  info[0] = length >> 8;
  info[1] = length & 0xff;
  info[2] = fullLabel.length;
  info.set(fullLabel, 3);
  info[3 + fullLabel.length] = context.length;
  info.set(context, 4 + fullLabel.length);
  return hkdfExpand(secret, info, length);
}

const EMPTY = new Uint8Array(0);

/** The Initial secrets (RFC 9001 §5.2), from the Destination Connection ID of the client's first Initial. */
export function initialSecrets(clientDcid: Uint8Array): { client: Uint8Array; server: Uint8Array } {
  const initial = hkdfExtract(INITIAL_SALT_V1, clientDcid);
  return {
    client: hkdfExpandLabel(initial, 'client in', EMPTY, HASH_LENGTH),
    server: hkdfExpandLabel(initial, 'server in', EMPTY, HASH_LENGTH),
  };
}

/** The AEAD key length of each suite (the IV is 12 bytes for both). */
const KEY_LENGTH: Record<CipherSuite, number> = {
  TLS_AES_128_GCM_SHA256: 16,
  TLS_CHACHA20_POLY1305_SHA256: 32,
};

/** One direction's packet keys from its traffic secret (RFC 9001 §5.1). */
export function packetKeys(suite: CipherSuite, secret: Uint8Array): PacketKeys {
  const keyLength = KEY_LENGTH[suite];
  return {
    suite,
    key: hkdfExpandLabel(secret, 'quic key', EMPTY, keyLength),
    iv: hkdfExpandLabel(secret, 'quic iv', EMPTY, 12),
    hp: hkdfExpandLabel(secret, 'quic hp', EMPTY, keyLength),
  };
}

/** Both directions of the Initial level, as a server sees them (read = client's, write = server's). */
export function initialKeys(clientDcid: Uint8Array): { read: PacketKeys; write: PacketKeys } {
  const s = initialSecrets(clientDcid);
  return {
    read: packetKeys('TLS_AES_128_GCM_SHA256', s.client),
    write: packetKeys('TLS_AES_128_GCM_SHA256', s.server),
  };
}

/** The next generation's secret (RFC 9001 §6.1, label "quic ku"). */
export function nextTrafficSecret(secret: Uint8Array): Uint8Array {
  return hkdfExpandLabel(secret, 'quic ku', EMPTY, HASH_LENGTH);
}

/**
 * Packet keys after a key update (RFC 9001 §6): a fresh key and IV from the next secret, the
 * header-protection key unchanged (it is never updated).
 */
export function updatedPacketKeys(keys: PacketKeys, nextSecret: Uint8Array): PacketKeys {
  const fresh = packetKeys(keys.suite, nextSecret);
  return { suite: keys.suite, key: fresh.key, iv: fresh.iv, hp: keys.hp };
}

/**
 * The TLS 1.3 key schedule (RFC 8446 §7.1) for a full (EC)DHE handshake without a PSK, SHA-256 only:
 * both cipher suites we negotiate use it.
 *
 *   early     = Extract(0, 0)
 *   handshake = Extract(Derive-Secret(early, "derived", ""), ECDHE)
 *   master    = Extract(Derive-Secret(handshake, "derived", ""), 0)
 */
import { createHash, createHmac } from 'node:crypto';
import { hkdfExpandLabel, hkdfExtract } from '../keys.ts';

const ZEROS = new Uint8Array(32);
const EMPTY_HASH = createHash('sha256').digest();

export function deriveSecret(secret: Uint8Array, label: string, transcriptHash: Uint8Array): Uint8Array {
  return hkdfExpandLabel(secret, label, transcriptHash, 32);
}

const EARLY_SECRET = hkdfExtract(ZEROS, ZEROS);

/** The handshake secret and both handshake traffic secrets, from ECDHE and Hash(ClientHello..ServerHello). */
export function handshakeSecrets(ecdhe: Uint8Array, helloHash: Uint8Array) {
  const secret = hkdfExtract(deriveSecret(EARLY_SECRET, 'derived', EMPTY_HASH), ecdhe);
  return {
    secret,
    client: deriveSecret(secret, 'c hs traffic', helloHash),
    server: deriveSecret(secret, 's hs traffic', helloHash),
  };
}

/** Both application traffic secrets, from the handshake secret and Hash(ClientHello..server Finished). */
export function applicationSecrets(handshakeSecret: Uint8Array, serverFinishedHash: Uint8Array) {
  const master = hkdfExtract(deriveSecret(handshakeSecret, 'derived', EMPTY_HASH), ZEROS);
  return {
    client: deriveSecret(master, 'c ap traffic', serverFinishedHash),
    server: deriveSecret(master, 's ap traffic', serverFinishedHash),
  };
}

/** Finished's verify_data (§4.4.4) from a traffic secret and the transcript hash it covers. */
export function finishedData(trafficSecret: Uint8Array, transcriptHash: Uint8Array): Uint8Array {
  const key = hkdfExpandLabel(trafficSecret, 'finished', new Uint8Array(0), 32);
  return createHmac('sha256', key).update(transcriptHash).digest();
}

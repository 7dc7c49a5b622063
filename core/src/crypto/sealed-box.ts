/**
 * Sealed boxes: anonymous public-key encryption to an X25519 key, as the architecture fixes it.
 *
 *   eph = fresh X25519 key pair
 *   key = BLAKE3-derive-key('cipherclerk v1 sealed box key', eph_pub || recipient_pub || X25519(eph, recipient))
 *   box = 0x01 || eph_pub (32) || ChaCha20-Poly1305(key, nonce = 0^12, plaintext) (ciphertext || 16-byte tag)
 *
 * A zero nonce is safe because every key is used for exactly one message: the ephemeral key is fresh
 * per box. Hashing both public keys into the key binds the box to this recipient and this ephemeral
 * key (no re-targeting). The box says nothing about the sender: whoever opens it must establish
 * provenance from what is inside (PITFALLS 5).
 */
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { concatBytes } from '../encoding/bytes.ts';
import { DreggError, fail } from '../errors.ts';
import { hashFor } from './hash.ts';

export { x25519FromEd25519Public, x25519FromEd25519Seed } from './x25519.ts';

const VERSION = 0x01;
const KEY_LENGTH = 32;
const TAG_LENGTH = 16;
const NONCE = new Uint8Array(12);
/** The smallest box: version, ephemeral key and the tag of an empty plaintext. */
export const SEALED_BOX_OVERHEAD = 1 + KEY_LENGTH + TAG_LENGTH;

function checkKey(key: unknown, what: string): asserts key is Uint8Array {
  if (!(key instanceof Uint8Array) || key.length !== KEY_LENGTH) fail('E_ARGUMENT', `${what} is 32 bytes`);
}

/**
 * X25519 that refuses low-order points: their shared secret is all zeros (or fixed), which would
 * make the box key depend on public values only. noble already rejects them; the zero check keeps
 * the rule visible here and independent of that.
 */
function sharedSecret(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array | undefined {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(secretKey, publicKey);
  } catch {
    return undefined;
  }
  return shared.some((b) => b !== 0) ? shared : undefined;
}

function boxKey(ephemeralPublic: Uint8Array, recipientPublic: Uint8Array, shared: Uint8Array): Uint8Array {
  const input = concatBytes(ephemeralPublic, recipientPublic, shared);
  const key = hashFor('sealedBoxKey', input);
  input.fill(0);
  return key;
}

/** Seals `plaintext` to an X25519 public key. `E_ARGUMENT` for a malformed or low-order key. */
export function seal(recipientX25519Public: Uint8Array, plaintext: Uint8Array): Uint8Array {
  checkKey(recipientX25519Public, 'A recipient X25519 public key');
  if (!(plaintext instanceof Uint8Array)) fail('E_ARGUMENT', 'A plaintext to seal must be bytes');
  const ephemeralSecret = x25519.utils.randomSecretKey();
  const ephemeralPublic = x25519.getPublicKey(ephemeralSecret);
  const shared = sharedSecret(ephemeralSecret, recipientX25519Public);
  ephemeralSecret.fill(0);
  if (shared === undefined) fail('E_ARGUMENT', 'The recipient key is not a usable X25519 public key');
  const key = boxKey(ephemeralPublic, recipientX25519Public, shared);
  shared.fill(0);
  const sealed = chacha20poly1305(key, NONCE).encrypt(plaintext);
  key.fill(0);
  return concatBytes(Uint8Array.of(VERSION), ephemeralPublic, sealed);
}

/**
 * Opens a sealed box with the recipient's X25519 secret key. `E_DECODE` for a malformed box (too
 * short, unknown version, low-order ephemeral key); `E_BAD_MAC` when the box was not sealed to this
 * key or was altered.
 */
export function openSealed(recipientX25519Secret: Uint8Array, box: Uint8Array): Uint8Array {
  checkKey(recipientX25519Secret, 'An X25519 secret key');
  if (!(box instanceof Uint8Array) || box.length < SEALED_BOX_OVERHEAD)
    fail('E_DECODE', 'Malformed sealed box');
  if (box[0] !== VERSION) fail('E_DECODE', `Unsupported sealed box version ${box[0]}`);
  const ephemeralPublic = box.subarray(1, 1 + KEY_LENGTH);
  const shared = sharedSecret(recipientX25519Secret, ephemeralPublic);
  if (shared === undefined) fail('E_DECODE', 'Malformed sealed box: unusable ephemeral key');
  const recipientPublic = x25519.getPublicKey(recipientX25519Secret);
  const key = boxKey(ephemeralPublic, recipientPublic, shared);
  shared.fill(0);
  try {
    return chacha20poly1305(key, NONCE).decrypt(box.subarray(1 + KEY_LENGTH));
  } catch (e) {
    throw new DreggError('E_BAD_MAC', 'Sealed box does not open with this key (wrong recipient or altered)', {
      cause: e,
    });
  } finally {
    key.fill(0);
  }
}

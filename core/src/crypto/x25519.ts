/**
 * X25519 keys from Ed25519 keys, by the birational map between edwards25519 and curve25519
 * (RFC 7748 §4.1: u = (1 + y) / (1 - y)). Anyone who knows an agent's did:key can therefore seal a
 * box to it without a separate key exchange, and the agent opens it with a key derived from the same
 * seed. The secret half is the clamped first half of SHA-512(seed), i.e. the scalar the Ed25519 key
 * signs with, as libsodium's crypto_sign_ed25519_sk_to_curve25519 computes it; the did:key test
 * vectors pin both halves.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { fail } from '../errors.ts';

/** The X25519 public key of an Ed25519 public key; `E_ARGUMENT` if it is not a usable point. */
export function x25519FromEd25519Public(publicKey: Uint8Array): Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    fail('E_ARGUMENT', 'An Ed25519 public key is 32 bytes');
  }
  try {
    return ed25519.utils.toMontgomery(publicKey);
  } catch {
    return fail('E_ARGUMENT', 'Not a valid Ed25519 public key');
  }
}

/** The X25519 secret key of a 32-byte Ed25519 private key (seed). */
export function x25519FromEd25519Seed(seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== 32)
    fail('E_ARGUMENT', 'An Ed25519 private key is 32 bytes');
  return ed25519.utils.toMontgomerySecret(seed);
}

/**
 * did:key for Ed25519 (W3C CCG did:key method): "did:key:" + multibase base58btc ("z") of the
 * multicodec varint 0xed 0x01 (ed25519-pub) followed by the 32-byte public key.
 */
import { base58 } from '@scure/base';
import { isStrictEd25519PublicKey } from '../crypto/ed25519.ts';
import { fail } from '../errors.ts';
import { concatBytes } from './bytes.ts';

const PREFIX = 'did:key:z';
const ED25519_PUB = Uint8Array.of(0xed, 0x01);
/** 34 bytes in base58 are at most 47 characters; refuse longer input before decoding it. */
const MAX_ENCODED = 47;

export function didKeyFromEd25519(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    fail('E_ARGUMENT', 'An Ed25519 public key is 32 bytes');
  }
  return PREFIX + base58.encode(concatBytes(ED25519_PUB, publicKey));
}

/**
 * The public key of an Ed25519 did:key. `E_DECODE` for anything else: another method or multibase,
 * bad base58, another key type, a wrong length, or bytes that are not a strictly valid public key
 * (non-canonical, not on the curve, or of small order), since no signature could ever verify under those.
 */
// Decoding checks the point (a square root in the field), which costs more than verifying a chain's
// structure; DIDs recur constantly, so valid ones are remembered (bounded, oldest dropped first).
const decoded = new Map<string, Uint8Array>();
const DECODED_MAX = 4096;

export function ed25519FromDidKey(did: string): Uint8Array {
  const known = typeof did === 'string' ? decoded.get(did) : undefined;
  if (known !== undefined) return known.slice();
  const publicKey = decodeDidKey(did);
  if (decoded.size >= DECODED_MAX) decoded.delete(decoded.keys().next().value!);
  decoded.set(did, publicKey);
  return publicKey.slice();
}

function decodeDidKey(did: string): Uint8Array {
  if (typeof did !== 'string' || !did.startsWith(PREFIX)) {
    fail('E_DECODE', 'Not an Ed25519 did:key (expected "did:key:z6Mk...")');
  }
  const encoded = did.slice(PREFIX.length);
  if (encoded.length > MAX_ENCODED) fail('E_DECODE', 'Malformed did:key: too long');
  let bytes: Uint8Array;
  try {
    bytes = base58.decode(encoded);
  } catch {
    return fail('E_DECODE', 'Malformed did:key: not base58btc');
  }
  if (bytes[0] !== ED25519_PUB[0] || bytes[1] !== ED25519_PUB[1]) {
    fail('E_DECODE', 'This did:key is not an Ed25519 key');
  }
  if (bytes.length !== 34) fail('E_DECODE', 'Malformed did:key: an Ed25519 key is 32 bytes');
  const publicKey = bytes.slice(2);
  if (!isStrictEd25519PublicKey(publicKey))
    fail('E_DECODE', 'Malformed did:key: not a valid Ed25519 public key');
  return publicKey;
}

/**
 * HMAC-SHA256, used only for the macaroon chain of capability tokens (seed 002). It is the innermost
 * loop of token verification, so the implementation is pluggable: `@noble/hashes` everywhere by
 * default, and the Node build installs the runtime's native one (`core/src/node/native.ts`). Every
 * implementation must agree on the RFC 4231 vectors (core/test/crypto/hmac.test.ts).
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

export type HmacSha256 = (key: Uint8Array, message: Uint8Array) => Uint8Array;

export const nobleHmacSha256: HmacSha256 = (key, message) => hmac(sha256, key, message);

let implementation: HmacSha256 = nobleHmacSha256;

export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  return implementation(key, message);
}

/** Replaces the implementation (for a runtime with a faster native one). */
export function useHmacSha256(f: HmacSha256): void {
  implementation = f;
}

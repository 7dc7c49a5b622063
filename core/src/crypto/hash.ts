import { blake3 } from '@noble/hashes/blake3.js';
import { type Context, Contexts } from './contexts.ts';

const encoder = new TextEncoder();
const contextBytes = new Map<Context, Uint8Array>();

function bytesOf(context: Context): Uint8Array {
  let bytes = contextBytes.get(context);
  if (bytes === undefined) {
    bytes = encoder.encode(Contexts[context]);
    contextBytes.set(context, bytes);
  }
  return bytes;
}

// Derive-key mode first hashes the context string into a key; that is half the cost of hashing a
// small object. One initialized hasher per (context, length) is kept and cloned for each hash.
const initialized = new Map<string, ReturnType<typeof blake3.create>>();

/** BLAKE3 in derive-key mode under a registered context: the only way cipherclerk hashes for a purpose. */
export function hashFor(context: Context, data: Uint8Array, dkLen = 32): Uint8Array {
  const k = `${context}/${dkLen}`;
  let base = initialized.get(k);
  if (base === undefined) {
    base = blake3.create({ context: bytesOf(context), dkLen });
    initialized.set(k, base);
  }
  return base.clone().update(data).digest();
}

/** Plain BLAKE3 (hash mode), for content addressing where the format itself is the domain. */
export function blake3Hash(data: Uint8Array, dkLen = 32): Uint8Array {
  return blake3(data, { dkLen });
}

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

/** BLAKE3 in derive-key mode under a registered context: the only way cipherclerk hashes for a purpose. */
export function hashFor(context: Context, data: Uint8Array, dkLen = 32): Uint8Array {
  return blake3(data, { context: bytesOf(context), dkLen });
}

/** Plain BLAKE3 (hash mode), for content addressing where the format itself is the domain. */
export function blake3Hash(data: Uint8Array, dkLen = 32): Uint8Array {
  return blake3(data, { dkLen });
}

import { blake3 } from '@noble/hashes/blake3.js';
import { CHUNK_END, CHUNK_START, compressInPlace, IV, ROOT } from '../stark/blake3.ts';
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

// Most of what cipherclerk hashes (turns, cells, receipts, caveats) fits in one 1024-byte BLAKE3
// chunk. For those, derive-key mode is a handful of compressions keyed by the context's key, which is
// computed once per context; the general hasher's per-call setup cost as much as the hashing. Longer
// inputs and outputs go to @noble/hashes. Both are pinned to the official vectors and to each other.
const DERIVE_KEY_CONTEXT = 32;
const DERIVE_KEY_MATERIAL = 64;
const CHUNK = 1024;
const block = new Uint32Array(16);

/** BLAKE3 of at most one chunk under chaining key `key` with `flags`: the root output's 8 words. */
function chunkRoot(key: Uint32Array, data: Uint8Array, flags: number): Uint32Array {
  const cv = key.slice();
  const blocks = Math.max(1, Math.ceil(data.length / 64));
  for (let b = 0; b < blocks; b++) {
    const at = b * 64;
    const n = Math.min(64, data.length - at);
    block.fill(0);
    for (let i = 0; i < n; i++) block[i >>> 2]! |= data[at + i]! << (8 * (i & 3));
    let f = flags;
    if (b === 0) f |= CHUNK_START;
    if (b === blocks - 1) f |= CHUNK_END | ROOT;
    compressInPlace(cv, block, 0, 0, n, f);
  }
  return cv;
}

/** The key derive-key mode uses for a context string (its BLAKE3 "context key"). */
export function contextKey(context: Uint8Array): Uint32Array {
  if (context.length > CHUNK) throw new RangeError('context strings longer than one chunk are not used');
  return chunkRoot(IV, context, DERIVE_KEY_CONTEXT);
}

/** Derive-key mode for inputs of at most 1024 bytes and outputs of at most 32 bytes. */
export function deriveKeySmall(key: Uint32Array, data: Uint8Array, dkLen: number): Uint8Array {
  const words = chunkRoot(key, data, DERIVE_KEY_MATERIAL);
  const out = new Uint8Array(dkLen);
  for (let i = 0; i < dkLen; i++) out[i] = words[i >>> 2]! >>> (8 * (i & 3));
  return out;
}

const contextKeys = new Map<Context, Uint32Array>();

/** BLAKE3 in derive-key mode under a registered context: the only way cipherclerk hashes for a purpose. */
export function hashFor(context: Context, data: Uint8Array, dkLen = 32): Uint8Array {
  if (data.length > CHUNK || dkLen > 32) return blake3(data, { context: bytesOf(context), dkLen });
  let key = contextKeys.get(context);
  if (key === undefined) {
    key = contextKey(bytesOf(context));
    contextKeys.set(context, key);
  }
  return deriveKeySmall(key, data, dkLen);
}

/** Plain BLAKE3 (hash mode), for content addressing where the format itself is the domain. */
export function blake3Hash(data: Uint8Array, dkLen = 32): Uint8Array {
  return blake3(data, { dkLen });
}

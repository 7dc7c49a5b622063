/**
 * SLIP-0010 private key derivation for ed25519 (https://github.com/satoshilabs/slips/blob/master/slip-0010.md):
 * master = HMAC-SHA512("ed25519 seed", seed); child = HMAC-SHA512(chain code, 0x00 || key || ser32(i)).
 * Ed25519 supports hardened children only, so every path segment must be hardened.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { utf8 } from '../encoding/bytes.ts';
import { fail } from '../errors.ts';

const HARDENED = 0x80000000;
const CURVE_KEY = utf8.encode('ed25519 seed');
/** "m" then hardened segments: decimal without leading zeros, marked ' or h. */
const PATH = /^m(\/(0|[1-9][0-9]{0,9})['hH])*$/;

/** The child indices of a path, hardened offset included; `E_ARGUMENT` for anything else. */
export function parseHardenedPath(path: string): number[] {
  if (typeof path !== 'string' || !PATH.test(path)) {
    fail('E_ARGUMENT', `Not a hardened derivation path (like m/44'/0'): ${JSON.stringify(String(path))}`);
  }
  return path
    .split('/')
    .slice(1)
    .map((segment) => {
      const index = Number(segment.slice(0, -1));
      if (index >= HARDENED) fail('E_ARGUMENT', `Path index ${index} is not below 2^31`);
      return index + HARDENED;
    });
}

function split(I: Uint8Array): { key: Uint8Array; chainCode: Uint8Array } {
  const out = { key: I.slice(0, 32), chainCode: I.slice(32) };
  I.fill(0);
  return out;
}

/** The key (an RFC 8032 private key) and chain code at `path`; the seed is 16 to 64 bytes. */
export function slip10Ed25519(seed: Uint8Array, path: string): { key: Uint8Array; chainCode: Uint8Array } {
  if (!(seed instanceof Uint8Array) || seed.length < 16 || seed.length > 64) {
    fail('E_ARGUMENT', 'A SLIP-0010 seed is 16 to 64 bytes');
  }
  const indices = parseHardenedPath(path);
  let node = split(hmac(sha512, CURVE_KEY, seed));
  const data = new Uint8Array(37);
  const view = new DataView(data.buffer);
  for (const index of indices) {
    data.set(node.key, 1);
    view.setUint32(33, index, false);
    const child = split(hmac(sha512, node.chainCode, data));
    node.key.fill(0);
    node.chainCode.fill(0);
    node = child;
  }
  data.fill(0);
  return node;
}

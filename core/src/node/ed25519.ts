/**
 * Ed25519 on Node's own OpenSSL (`node:crypto`), for the relay's hot path: the notary verifies every
 * turn's signature and signs every receipt and attested root. Signing is synchronous (a few tens of
 * microseconds, no thread-pool round trip on the ordering path); verification goes to libuv's thread
 * pool (the callback form of `crypto.verify`), so turns are checked on other cores while the main
 * thread orders. The same byte checks as the portable providers run first (`strictlyEncoded`: S < L,
 * canonical A and R, no small-order point), after which OpenSSL answers as WebCrypto does, it being
 * the same OpenSSL; the conformance tests pin it to the other providers.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { type Ed25519, strictlyEncoded } from '../crypto/ed25519.ts';
import { concatBytes, fromHex } from '../encoding/bytes.ts';
import { fail } from '../errors.ts';

/** RFC 8410 DER prefixes of a raw Ed25519 private key (PKCS#8) and public key (SPKI). */
const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420');
const SPKI_PREFIX = fromHex('302a300506032b6570032100');
/** Enough for every key in a busy relay's working set, small enough to never matter for memory. */
const PUBLIC_KEY_CACHE_LIMIT = 4096;

const publicKeys = new Map<string, KeyObject>();
// Keyed by the caller's seed array; the copy detects a seed that was overwritten in place.
const privateKeys = new WeakMap<Uint8Array, { copy: Uint8Array; key: KeyObject }>();

function publicKey(bytes: Uint8Array): KeyObject {
  const id = Buffer.from(bytes).toString('latin1');
  let key = publicKeys.get(id);
  if (key === undefined) {
    if (publicKeys.size >= PUBLIC_KEY_CACHE_LIMIT) publicKeys.delete(publicKeys.keys().next().value!);
    key = createPublicKey({ key: Buffer.from(concatBytes(SPKI_PREFIX, bytes)), format: 'der', type: 'spki' });
    publicKeys.set(id, key);
  }
  return key;
}

function privateKey(seed: Uint8Array): KeyObject {
  const cached = privateKeys.get(seed);
  if (cached?.copy.every((b, i) => b === seed[i])) return cached.key;
  const der = Buffer.from(concatBytes(PKCS8_PREFIX, seed));
  try {
    const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    privateKeys.set(seed, { copy: seed.slice(), key });
    return key;
  } finally {
    der.fill(0);
  }
}

export const nodeEd25519: Ed25519 = {
  name: 'node',
  async sign(seed, message) {
    if (!(seed instanceof Uint8Array) || seed.length !== 32)
      fail('E_ARGUMENT', 'An Ed25519 private key is 32 bytes');
    if (!(message instanceof Uint8Array)) fail('E_ARGUMENT', 'A message to sign must be bytes');
    return new Uint8Array(sign(null, message, privateKey(seed)));
  },
  verify(key, message, signature) {
    if (!strictlyEncoded(key, message, signature)) return Promise.resolve(false);
    let k: KeyObject;
    try {
      k = publicKey(key);
    } catch {
      return Promise.resolve(false); // not a point on the curve
    }
    return new Promise((resolve) =>
      verify(null, message, k, signature, (e, ok) => resolve(e === null && ok)),
    );
  },
};

/**
 * `ed` with the signatures it found valid remembered (at most `limit`, oldest forgotten first): a
 * federation relay checks a submitted turn's signature when the client sends it and again when its
 * notary settles the turn, and the second check becomes a lookup. Verification is a pure function of
 * key, message and signature, so a remembered yes is the answer; a no is not kept, so garbage cannot
 * push the valid ones out.
 */
export function rememberingVerifier(ed: Ed25519, limit = 16_384): Ed25519 {
  const valid = new Set<string>();
  const id = (key: Uint8Array, message: Uint8Array, signature: Uint8Array): string =>
    Buffer.concat([key, signature, message]).toString('latin1');
  return {
    name: ed.name,
    sign: (seed, message) => ed.sign(seed, message),
    async verify(key, message, signature) {
      if (!strictlyEncoded(key, message, signature)) return false;
      const k = id(key, message, signature);
      if (valid.has(k)) return true;
      const ok = await ed.verify(key, message, signature);
      if (ok) {
        if (valid.size >= limit) valid.delete(valid.values().next().value!);
        valid.add(k);
      }
      return ok;
    },
  };
}

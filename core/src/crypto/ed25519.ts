/**
 * Ed25519 (RFC 8032) with strict verification, through WebCrypto where the runtime has it and
 * `@noble/curves` otherwise. Both providers must give the same answer for every input, or a browser
 * with WebCrypto and one without would disagree about which delegations are valid. Three choices
 * make that so:
 *
 * 1. One set of byte checks runs in front of both providers (`strictlyEncoded`): lengths, S < L
 *    (RFC 8032 §5.1.7 step 1), y < p for A and R (§5.1.3 step 1, no non-canonical encodings), and
 *    neither A nor R is a small-order point. OpenSSL, under Node's WebCrypto, checks S but accepts
 *    small-order keys; noble's strict mode rejects small-order A but not small-order R. After the
 *    checks, neither library is asked a question on which they could differ.
 * 2. The noble provider checks the cofactorless equation [S]B = R + [k]A, which RFC 8032 §5.1.7
 *    permits and which OpenSSL, BoringSSL and NSS (the WebCrypto backends) use. noble's own
 *    `verify` is cofactored ([8][S]B = [8]R + [8][k]A): it would accept a signature whose R or A
 *    carries a torsion component that WebCrypto rejects.
 * 3. The checks are comparisons of bytes, so strictness costs next to nothing on the hot path
 *    (envelope acceptance verifies a chain of signatures per request).
 */
import { ED25519_TORSION_SUBGROUP, ed25519 } from '@noble/curves/ed25519.js';
import { bytesToNumberLE, hexToBytes } from '@noble/curves/utils.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { concatBytes } from '../encoding/bytes.ts';
import { fail } from '../errors.ts';

export interface Ed25519 {
  readonly name: 'webcrypto' | 'noble' | 'node';
  /** Signs with a 32-byte RFC 8032 private key (the seed). Throws `E_ARGUMENT` for a malformed seed. */
  sign(seed: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /** Strict verification; never throws: false for anything invalid, including wrong lengths. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian (RFC 8032 §5.1). */
const L_BYTES = hexToBytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');

/**
 * The y coordinates (sign bit cleared) of the eight points of small order. Rejecting every encoding
 * whose y is one of these rejects each small-order point under either sign bit; the non-canonical
 * spellings (y + p) are caught by the y < p check.
 */
const SMALL_ORDER_Y: readonly Uint8Array[] = (() => {
  const seen = new Map<string, Uint8Array>();
  for (const hex of ED25519_TORSION_SUBGROUP) {
    const y = hexToBytes(hex);
    y[31]! &= 0x7f;
    seen.set(y.join(','), y);
  }
  return [...seen.values()];
})();

function isBytes(x: unknown, length?: number): x is Uint8Array {
  return x instanceof Uint8Array && (length === undefined || x.length === length);
}

/** Little-endian S < L, the check that makes signatures non-malleable (RFC 8032 §5.1.7). */
function scalarIsCanonical(s: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (s[i]! < L_BYTES[i]!) return true;
    if (s[i]! > L_BYTES[i]!) return false;
  }
  return false; // S = L
}

/** y < p = 2^255 - 19, i.e. not ed ff .. ff 7f or above (ignoring the sign bit). */
function yIsCanonical(point: Uint8Array): boolean {
  if ((point[31]! & 0x7f) !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (point[i] !== 0xff) return true;
  return point[0]! < 0xed;
}

function isSmallOrderEncoding(point: Uint8Array): boolean {
  for (const y of SMALL_ORDER_Y) {
    let same = (point[31]! & 0x7f) === y[31];
    for (let i = 0; same && i < 31; i++) same = point[i] === y[i];
    if (same) return true;
  }
  return false;
}

function pointIsAcceptable(point: Uint8Array): boolean {
  return yIsCanonical(point) && !isSmallOrderEncoding(point);
}

/** The shared strictness checks, run before any provider sees the input (also core/src/node/ed25519.ts). */
export function strictlyEncoded(publicKey: unknown, message: unknown, signature: unknown): boolean {
  if (!isBytes(publicKey, 32) || !isBytes(signature, 64) || !isBytes(message)) return false;
  return (
    scalarIsCanonical(signature.subarray(32)) &&
    pointIsAcceptable(publicKey) &&
    pointIsAcceptable(signature.subarray(0, 32))
  );
}

/**
 * Whether bytes are an Ed25519 public key that strict verification can ever accept: 32 bytes, a
 * canonical encoding of a point on the curve, not of small order. For decoders of keys (did:key).
 */
export function isStrictEd25519PublicKey(publicKey: Uint8Array): boolean {
  return (
    isBytes(publicKey, 32) && pointIsAcceptable(publicKey) && ed25519.utils.isValidPublicKey(publicKey, false)
  );
}

function checkSeed(seed: unknown): asserts seed is Uint8Array {
  if (!isBytes(seed, 32)) fail('E_ARGUMENT', 'An Ed25519 private key is 32 bytes');
}

function checkMessage(message: unknown): asserts message is Uint8Array {
  if (!isBytes(message)) fail('E_ARGUMENT', 'A message to sign must be bytes');
}

const { Point } = ed25519;

/** RFC 8032 §5.1.7 with the cofactorless equation; inputs have passed `strictlyEncoded`. */
function verifyCofactorless(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const rBytes = signature.subarray(0, 32);
    const A = Point.fromBytes(publicKey, false);
    const R = Point.fromBytes(rBytes, false);
    const s = bytesToNumberLE(signature.subarray(32));
    const k = Point.Fn.create(bytesToNumberLE(sha512(concatBytes(rBytes, publicKey, message))));
    return Point.BASE.multiplyUnsafe(s).equals(R.add(A.multiplyUnsafe(k)));
  } catch {
    return false; // not a point on the curve
  }
}

export const nobleEd25519: Ed25519 = {
  name: 'noble',
  async sign(seed, message) {
    checkSeed(seed);
    checkMessage(message);
    return ed25519.sign(message, seed);
  },
  async verify(publicKey, message, signature) {
    return verifyEd25519Sync(publicKey, message, signature);
  },
};

/**
 * Strict verification, synchronously (noble). For the few checks that run inside an atomic turn,
 * where awaiting would let other work observe a half-applied state (bridge attestations).
 */
export function verifyEd25519Sync(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  return strictlyEncoded(publicKey, message, signature) && verifyCofactorless(publicKey, message, signature);
}

/**
 * Public keys already derived, by the caller's seed array. Deriving one is a scalar multiplication
 * (about a millisecond in JS), and signers such as gossip publishers name their key on every message.
 * The entry holds a digest of the seed, not a copy, and a seed changed in place misses. (SHA-256,
 * never SHA-512: SHA-512 of the seed is the expanded signing key.)
 */
const derived = new WeakMap<Uint8Array, { readonly digest: Uint8Array; readonly publicKey: Uint8Array }>();

/** Public key of a 32-byte private key (synchronous: used where identities are derived). */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  checkSeed(seed);
  const digest = sha256(seed);
  const known = derived.get(seed);
  if (known?.digest.every((b, i) => b === digest[i])) return known.publicKey.slice();
  const publicKey = ed25519.getPublicKey(seed);
  derived.set(seed, { digest, publicKey: publicKey.slice() });
  return publicKey;
}

// ---- WebCrypto ----------------------------------------------------------------------------------

const ALGORITHM = { name: 'Ed25519' } as const;
/** RFC 8410 PKCS#8 prefix for a raw Ed25519 private key: WebCrypto imports private keys only so. */
const PKCS8_PREFIX = hexToBytes('302e020100300506032b657004220420');
/** Enough for every key in a busy relay's working set, small enough to never matter for memory. */
const PUBLIC_KEY_CACHE_LIMIT = 4096;

/** WebCrypto's types want an ArrayBuffer-backed view; ours may be any Uint8Array. */
function buffer(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

function makeWebCryptoProvider(subtle: SubtleCrypto): Ed25519 {
  // Keyed by the key's bytes as a string: a Map lookup is far cheaper than an import.
  const publicKeys = new Map<string, Promise<CryptoKey>>();
  // Keyed by the caller's seed array; the copy detects a seed that was overwritten in place.
  const privateKeys = new WeakMap<Uint8Array, { copy: Uint8Array; key: Promise<CryptoKey> }>();

  function publicKey(bytes: Uint8Array): Promise<CryptoKey> {
    const id = String.fromCharCode(...bytes);
    let key = publicKeys.get(id);
    if (key === undefined) {
      if (publicKeys.size >= PUBLIC_KEY_CACHE_LIMIT) publicKeys.delete(publicKeys.keys().next().value!);
      key = subtle.importKey('raw', buffer(bytes.slice()), ALGORITHM, false, ['verify']);
      key.catch(() => publicKeys.delete(id));
      publicKeys.set(id, key);
    }
    return key;
  }

  function privateKey(seed: Uint8Array): Promise<CryptoKey> {
    const cached = privateKeys.get(seed);
    if (cached?.copy.every((b, i) => b === seed[i])) return cached.key;
    const pkcs8 = concatBytes(PKCS8_PREFIX, seed);
    // Wiped only once the import has settled: an implementation may read the bytes asynchronously.
    const key = subtle
      .importKey('pkcs8', buffer(pkcs8), ALGORITHM, false, ['sign'])
      .finally(() => pkcs8.fill(0));
    privateKeys.set(seed, { copy: seed.slice(), key });
    return key;
  }

  return {
    name: 'webcrypto',
    async sign(seed, message) {
      checkSeed(seed);
      checkMessage(message);
      return new Uint8Array(await subtle.sign(ALGORITHM, await privateKey(seed), buffer(message)));
    },
    async verify(publicKeyBytes, message, signature) {
      if (!strictlyEncoded(publicKeyBytes, message, signature)) return false;
      try {
        return await subtle.verify(
          ALGORITHM,
          await publicKey(publicKeyBytes),
          buffer(signature),
          buffer(message),
        );
      } catch {
        return false;
      }
    },
  };
}

/** A fixed probe key; only its behaviour matters, it signs nothing but the probe message. */
const PROBE_SEED = new Uint8Array(32).fill(7);
const PROBE_MESSAGE = new TextEncoder().encode('cipherclerk webcrypto ed25519 probe');
let probe: Promise<Ed25519 | undefined> | undefined;

/**
 * The WebCrypto provider, or undefined where the runtime lacks Ed25519 in WebCrypto (older
 * browsers). The probe signs and verifies once and compares with noble, so a runtime whose
 * implementation is present but disagrees is treated as absent. It runs once; the result is cached.
 */
export function webCryptoEd25519(): Promise<Ed25519 | undefined> {
  probe ??= (async () => {
    const subtle = globalThis.crypto?.subtle;
    if (subtle === undefined) return undefined;
    try {
      const provider = makeWebCryptoProvider(subtle);
      const signature = await provider.sign(PROBE_SEED, PROBE_MESSAGE);
      const expected = ed25519.sign(PROBE_MESSAGE, PROBE_SEED);
      const agrees = signature.every((b, i) => b === expected[i]);
      const verifies = await provider.verify(ed25519.getPublicKey(PROBE_SEED), PROBE_MESSAGE, signature);
      return agrees && verifies ? provider : undefined;
    } catch {
      return undefined;
    }
  })();
  return probe;
}

/** WebCrypto where present (faster), noble otherwise; both answer alike. */
export async function defaultEd25519(): Promise<Ed25519> {
  return (await webCryptoEd25519()) ?? nobleEd25519;
}

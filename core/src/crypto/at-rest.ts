/**
 * Data at rest: XChaCha20-Poly1305 under a key from scrypt (RFC 7914) over the unlock passphrase.
 *
 * Blob = deterministic CBOR {v: 1, kdf: {alg: 'scrypt', N, r, p, salt}, nonce, ct}. The KDF parameters
 * travel with the ciphertext, so they can be raised later without breaking old files, and the header
 * (everything but `ct`) is bound as associated data, so a file whose parameters were lowered by
 * someone else does not open. XChaCha's 24-byte nonce is drawn at random for every write; at that size
 * random nonces never collide in practice.
 *
 * A blob is outside input: whoever can write the file can choose N, r and p. Decoding refuses
 * parameters that would make us allocate or compute far more than our own default (`E_INVALID`)
 * before any work is done.
 */
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { utf8 } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, fail } from '../errors.ts';
import { hashFor } from './hash.ts';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/**
 * N = 2^17, r = 8, p = 1: 128 MiB per derivation, the OWASP-recommended minimum for scrypt. With
 * noble's pure-JS scrypt (the same code in browsers and Node) one unlock measured 1.7 to 2.2 s on our
 * shared 2-core build machine; native scrypt is several times faster. Unlocking happens once per
 * session, so the delay is felt once, while an attacker with a stolen keyring pays it for every
 * guess. 128 MiB still fits a browser tab and a phone; `scryptAsync` yields to the event loop, so a
 * UI stays responsive meanwhile.
 */
export const AT_REST_SCRYPT: ScryptParams = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/** What a blob may ask for: at most twice our memory and four times our work. */
const LIMITS = {
  minN: 2 ** 10,
  maxN: 2 ** 20,
  maxR: 16,
  maxP: 16,
  /** scrypt's large buffer is 128 * N * r bytes. */
  maxMemory: 256 * 1024 * 1024,
  /** Work is proportional to N * r * p. */
  maxWork: 4 * AT_REST_SCRYPT.N * AT_REST_SCRYPT.r * AT_REST_SCRYPT.p,
} as const;

const VERSION = 1;
const SALT_LENGTH = 32;
const NONCE_LENGTH = 24;
const TAG_LENGTH = 16;
const KEY_LENGTH = 32;

/** The reason parameters are out of bounds, or undefined when they are acceptable. */
function paramsProblem({ N, r, p }: ScryptParams): string | undefined {
  for (const [name, v] of [
    ['N', N],
    ['r', r],
    ['p', p],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < 1) return `scrypt ${name} must be a positive integer`;
  }
  if ((N & (N - 1)) !== 0 || N < LIMITS.minN || N > LIMITS.maxN) {
    return `scrypt N must be a power of two from 2^10 to 2^20`;
  }
  if (r > LIMITS.maxR || p > LIMITS.maxP) return `scrypt r and p must be at most ${LIMITS.maxR}`;
  if (128 * N * r > LIMITS.maxMemory) return 'scrypt parameters need too much memory';
  if (N * r * p > LIMITS.maxWork) return 'scrypt parameters need too much work';
  return undefined;
}

function header(params: ScryptParams, salt: Uint8Array, nonce: Uint8Array): CborMap {
  return { v: VERSION, kdf: { alg: 'scrypt', N: params.N, r: params.r, p: params.p, salt }, nonce };
}

/** Associated data: a digest of the header's canonical encoding, under its own context. */
function associatedData(head: CborMap): Uint8Array {
  return hashFor('keyringHeader', encodeCbor(head));
}

async function deriveKey(passphrase: string, params: ScryptParams, salt: Uint8Array): Promise<Uint8Array> {
  // NFKC so that the same passphrase typed on different keyboards (composed or decomposed accents,
  // full-width digits) gives the same key.
  const password = utf8.encode(passphrase.normalize('NFKC'));
  try {
    return await scryptAsync(password, salt, { ...params, dkLen: KEY_LENGTH, maxmem: 2 * LIMITS.maxMemory });
  } finally {
    password.fill(0);
  }
}

/** Encrypts `plaintext` under `passphrase`; `E_ARGUMENT` for unusable parameters. */
export async function encryptAtRest(
  plaintext: Uint8Array,
  passphrase: string,
  params: ScryptParams = AT_REST_SCRYPT,
): Promise<Uint8Array> {
  if (!(plaintext instanceof Uint8Array)) fail('E_ARGUMENT', 'Plaintext must be bytes');
  if (typeof passphrase !== 'string') fail('E_ARGUMENT', 'A passphrase must be text');
  const problem = paramsProblem(params);
  if (problem !== undefined) fail('E_ARGUMENT', problem);
  const kdf = { N: params.N, r: params.r, p: params.p };
  const salt = randomBytes(SALT_LENGTH);
  const nonce = randomBytes(NONCE_LENGTH);
  const head = header(kdf, salt, nonce);
  const key = await deriveKey(passphrase, kdf, salt);
  try {
    const ct = xchacha20poly1305(key, nonce, associatedData(head)).encrypt(plaintext);
    return encodeCbor({ ...head, ct });
  } finally {
    key.fill(0);
  }
}

function hasExactly(map: CborMap, keys: readonly string[]): boolean {
  const own = Object.keys(map);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(map, k));
}

function bytesField(value: CborValue | undefined, length: number | undefined, what: string): Uint8Array {
  if (!(value instanceof Uint8Array) || (length !== undefined && value.length !== length)) {
    fail('E_DECODE', `Malformed encrypted data: bad ${what}`);
  }
  return value;
}

/** An integer parameter: a bigint can only be absurdly large (or small), so it is out of bounds. */
function integerField(value: CborValue | undefined, name: string): number {
  if (typeof value === 'bigint') fail('E_INVALID', `scrypt ${name} is out of bounds`);
  if (typeof value !== 'number') fail('E_DECODE', `Malformed encrypted data: bad scrypt ${name}`);
  return value;
}

interface Parsed {
  params: ScryptParams;
  salt: Uint8Array;
  nonce: Uint8Array;
  ct: Uint8Array;
}

function parse(blob: Uint8Array): Parsed {
  if (!(blob instanceof Uint8Array)) fail('E_DECODE', 'Encrypted data must be bytes');
  const value = decodeCbor(blob, 'encrypted data');
  if (!isCborMap(value) || !hasExactly(value, ['v', 'kdf', 'nonce', 'ct'])) {
    fail('E_DECODE', 'Malformed encrypted data: unexpected structure');
  }
  if (value.v !== VERSION) fail('E_DECODE', 'Unsupported encrypted data version');
  const kdf = value.kdf!;
  if (!isCborMap(kdf) || !hasExactly(kdf, ['alg', 'N', 'r', 'p', 'salt'])) {
    fail('E_DECODE', 'Malformed encrypted data: bad key derivation');
  }
  if (kdf.alg !== 'scrypt') fail('E_DECODE', 'Unsupported key derivation');
  const params = { N: integerField(kdf.N, 'N'), r: integerField(kdf.r, 'r'), p: integerField(kdf.p, 'p') };
  const problem = paramsProblem(params);
  if (problem !== undefined) fail('E_INVALID', problem);
  return {
    params,
    salt: bytesField(kdf.salt, SALT_LENGTH, 'salt'),
    nonce: bytesField(value.nonce, NONCE_LENGTH, 'nonce'),
    ct: bytesField(value.ct, undefined, 'ciphertext'),
  };
}

/** The KDF parameters a blob was sealed with, so that re-encrypting it can keep the owner's choice. */
export function atRestParams(blob: Uint8Array): ScryptParams {
  return parse(blob).params;
}

/**
 * Decrypts a blob from `encryptAtRest`. `E_DECODE` for malformed or unsupported data, `E_INVALID`
 * for out-of-bounds KDF parameters, `E_LOCKED` for a wrong passphrase or altered data (the two are
 * indistinguishable by design).
 */
export async function decryptAtRest(blob: Uint8Array, passphrase: string): Promise<Uint8Array> {
  if (typeof passphrase !== 'string') fail('E_ARGUMENT', 'A passphrase must be text');
  const { params, salt, nonce, ct } = parse(blob);
  if (ct.length < TAG_LENGTH) fail('E_DECODE', 'Malformed encrypted data: ciphertext too short');
  const key = await deriveKey(passphrase, params, salt);
  try {
    return xchacha20poly1305(key, nonce, associatedData(header(params, salt, nonce))).decrypt(ct);
  } catch (e) {
    throw new DreggError('E_LOCKED', 'Wrong passphrase, or the encrypted data was altered', { cause: e });
  } finally {
    key.fill(0);
  }
}

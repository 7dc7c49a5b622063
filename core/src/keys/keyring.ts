/**
 * The keyring: what an agent must keep secret, encrypted at rest under the unlock passphrase
 * (crypto/at-rest.ts). The unlock passphrase only protects the file; the identity comes from the
 * mnemonic and the BIP39 passphrase stored inside it (PITFALLS 18). Changing the unlock passphrase
 * re-encrypts the same contents and changes no key.
 */
import { decryptAtRest, encryptAtRest, type ScryptParams } from '../crypto/at-rest.ts';
import { type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { type ErrorCode, fail, isDreggError } from '../errors.ts';
import { normalizeMnemonic } from './mnemonic.ts';

export interface KeyringContents {
  version: 1;
  /** Normalized BIP39 mnemonic (see `normalizeMnemonic`). */
  mnemonic: string;
  /** BIP39 passphrase ("" for none): part of the identity, unlike the unlock passphrase. */
  bip39Passphrase: string;
  account: number;
  /** Token id (lowercase hex) -> 32-byte macaroon root key of a token this agent minted. */
  rootKeys: Record<string, Uint8Array>;
}

const FIELDS = ['version', 'mnemonic', 'bip39Passphrase', 'account', 'rootKeys'] as const;
const TOKEN_ID = /^(?:[0-9a-f]{2}){1,64}$/;
const ROOT_KEY_LENGTH = 32;

/**
 * Checks the shape strictly and returns a fresh copy (root keys copied, so the caller may wipe the
 * buffer they were decoded from). `code` is E_ARGUMENT for contents we are given to lock and
 * E_INVALID for contents that decrypted but are not a keyring.
 */
function checked(value: unknown, code: ErrorCode): KeyringContents {
  const bad = (what: string): never => fail(code, `Invalid keyring: ${what}`);
  if (!isCborMap(value)) return bad('not a map');
  const keys = Object.keys(value);
  if (keys.length !== FIELDS.length || !FIELDS.every((f) => Object.hasOwn(value, f))) {
    return bad(`expected exactly the fields ${FIELDS.join(', ')}`);
  }
  const { version, mnemonic, bip39Passphrase, account, rootKeys } = value;
  if (version !== 1) bad('unsupported version');
  if (typeof mnemonic !== 'string') return bad('mnemonic is not text');
  let normalized: string;
  try {
    normalized = normalizeMnemonic(mnemonic);
  } catch (e) {
    if (!isDreggError(e)) throw e;
    return bad('mnemonic is not a valid BIP39 mnemonic');
  }
  if (normalized !== mnemonic) bad('mnemonic is not in normal form');
  if (typeof bip39Passphrase !== 'string') bad('BIP39 passphrase is not text');
  if (typeof account !== 'number' || !Number.isSafeInteger(account) || account < 0 || account >= 2 ** 31) {
    bad('account is not an integer from 0 to 2^31 - 1');
  }
  if (!isCborMap(rootKeys)) return bad('root keys are not a map');
  const copy: Record<string, Uint8Array> = {};
  for (const id of Object.keys(rootKeys)) {
    const key: CborValue | undefined = rootKeys[id];
    if (!TOKEN_ID.test(id)) bad('a token id is not lowercase hex');
    if (!(key instanceof Uint8Array) || key.length !== ROOT_KEY_LENGTH) bad('a root key is not 32 bytes');
    copy[id] = (key as Uint8Array).slice();
  }
  return {
    version: 1,
    mnemonic: normalized,
    bip39Passphrase: bip39Passphrase as string,
    account: account as number,
    rootKeys: copy,
  };
}

/** Encrypts the keyring under the unlock passphrase (scrypt parameters default to AT_REST_SCRYPT). */
export async function lockKeyring(
  contents: KeyringContents,
  unlockPassphrase: string,
  params?: ScryptParams,
): Promise<Uint8Array> {
  const valid = checked(contents, 'E_ARGUMENT');
  const plaintext = encodeCbor({ ...valid, rootKeys: { ...valid.rootKeys } });
  try {
    return await encryptAtRest(plaintext, unlockPassphrase, params);
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Decrypts and validates a keyring. Errors as `decryptAtRest` (E_DECODE, E_INVALID, E_LOCKED), and
 * `E_INVALID` when the decrypted contents are not a keyring.
 */
export async function unlockKeyring(bytes: Uint8Array, unlockPassphrase: string): Promise<KeyringContents> {
  const plaintext = await decryptAtRest(bytes, unlockPassphrase);
  try {
    let value: CborValue;
    try {
      value = decodeCbor(plaintext, 'keyring');
    } catch (e) {
      if (!isDreggError(e)) throw e;
      return fail('E_INVALID', 'Invalid keyring: contents are not canonical CBOR');
    }
    return checked(value, 'E_INVALID');
  } finally {
    plaintext.fill(0);
  }
}

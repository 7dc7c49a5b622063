/**
 * An agent's identity: BIP39 mnemonic (+ optional BIP39 passphrase) -> BIP39 seed -> SLIP-0010
 * ed25519 at IDENTITY_PATH -> Ed25519 key -> did:key. The sealed-box X25519 key pair is the same key
 * under the birational map (crypto/x25519.ts), so it needs no derivation path of its own. Every step
 * is a published standard with published vectors, so any implementation that follows them, ours in
 * the browser and in the CLI included, finds the same identity in the same words (PITFALLS 18).
 */
import { base32crockford } from '@scure/base';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { x25519FromEd25519Public, x25519FromEd25519Seed } from '../crypto/x25519.ts';
import { didKeyFromEd25519 } from '../encoding/did-key.ts';
import { fail } from '../errors.ts';
import { mnemonicToSeed } from './mnemonic.ts';
import { slip10Ed25519 } from './slip10.ts';

/**
 * SLIP-0044 coin type for cipherclerk: 0x64726567, the ASCII of "dreg". It is not registered in
 * SLIP-0044 (and was unassigned when chosen), so no coin's wallet derives keys on our path.
 */
export const CIPHERCLERK_COIN_TYPE = 0x64726567;

/**
 * m/44'/<coin>'/<account>'/0'/0': the BIP44 layout with every level hardened, as SLIP-0010 requires
 * for ed25519. `account` separates unrelated identities held in the same words.
 */
export const IDENTITY_PATH = (account: number): string => {
  if (!Number.isSafeInteger(account) || account < 0 || account >= 2 ** 31) {
    fail('E_ARGUMENT', 'An account number is an integer from 0 to 2^31 - 1');
  }
  return `m/44'/${CIPHERCLERK_COIN_TYPE}'/${account}'/0'/0'`;
};

export interface Identity {
  /** did:key of `publicKey`. */
  did: string;
  /** Ed25519 public key. */
  publicKey: Uint8Array;
  /** Ed25519 private key (RFC 8032 seed, 32 bytes). */
  seed: Uint8Array;
  /** The same key on curve25519, for sealed boxes. */
  x25519: { publicKey: Uint8Array; secretKey: Uint8Array };
}

/** The identity in a mnemonic. The unlock passphrase plays no part: only the BIP39 passphrase does. */
export function identityFromMnemonic(
  mnemonic: string,
  opts: { bip39Passphrase?: string; account?: number } = {},
): Identity {
  const path = IDENTITY_PATH(opts.account ?? 0);
  const bip39Seed = mnemonicToSeed(mnemonic, opts.bip39Passphrase ?? '');
  const { key, chainCode } = slip10Ed25519(bip39Seed, path);
  bip39Seed.fill(0);
  chainCode.fill(0);
  const publicKey = ed25519PublicKey(key);
  return {
    did: didKeyFromEd25519(publicKey),
    publicKey,
    seed: key,
    x25519: { publicKey: x25519FromEd25519Public(publicKey), secretKey: x25519FromEd25519Seed(key) },
  };
}

/**
 * A short form of a public key for people to compare aloud: 80 bits of a domain-separated hash in
 * Crockford base32 (no I, L, O or U to misread), as four groups of four, e.g. "7K3M-QX2A-9F0D-RT5B".
 */
export function fingerprint(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array)) fail('E_ARGUMENT', 'A public key must be bytes');
  const text = base32crockford.encode(hashFor('keyFingerprint', publicKey, 10));
  return text.match(/.{4}/g)!.join('-');
}

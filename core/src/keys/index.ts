/** Identity and keys: mnemonics, SLIP-0010 derivation, the agent identity and the encrypted keyring. */
export {
  CIPHERCLERK_COIN_TYPE,
  fingerprint,
  IDENTITY_PATH,
  type Identity,
  identityFromMnemonic,
} from './identity.ts';
export { type KeyringContents, lockKeyring, unlockKeyring } from './keyring.ts';
export { mnemonicToSeed, newMnemonic, normalizeMnemonic } from './mnemonic.ts';
export { parseHardenedPath, slip10Ed25519 } from './slip10.ts';

/** @cipherclerk/core: the isomorphic surface (browsers and Node). Node-only parts are under `./node`. */
export * from './agent/index.ts';
export * from './caps/index.ts';
export * from './cells/index.ts';
export * from './clock.ts';
export { Contexts } from './crypto/contexts.ts';
export {
  defaultEd25519,
  type Ed25519,
  ed25519PublicKey,
  nobleEd25519,
  webCryptoEd25519,
} from './crypto/ed25519.ts';
export { hashFor } from './crypto/hash.ts';
export { openSealed, seal, x25519FromEd25519Public } from './crypto/sealed-box.ts';
export { bytesEqual, fromHex, toHex } from './encoding/bytes.ts';
export { type CborValue, decodeCbor, encodeCbor } from './encoding/cbor.ts';
export { didKeyFromEd25519, ed25519FromDidKey } from './encoding/did-key.ts';
export * from './errors.ts';
export * as inbox from './inbox/index.ts';
export * from './keys/index.ts';
export * from './router/index.ts';
export { openIndexedDbStore } from './store/indexeddb.ts';
export type { Entry, ListOptions, Store, StoreOptions, Write } from './store/store.ts';
export * from './turns/index.ts';

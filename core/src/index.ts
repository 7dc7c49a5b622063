/** @cipherclerk/core: the isomorphic surface (browsers and Node). Node-only parts are under `./node`. */
export * from './agent/index.ts';
export * from './caps/index.ts';
export * from './clock.ts';
export * from './errors.ts';
export * from './keys/index.ts';
export { Contexts } from './crypto/contexts.ts';
export { hashFor } from './crypto/hash.ts';
export { type Ed25519, defaultEd25519, nobleEd25519, webCryptoEd25519, ed25519PublicKey } from './crypto/ed25519.ts';
export { seal, openSealed } from './crypto/sealed-box.ts';
export { didKeyFromEd25519, ed25519FromDidKey } from './encoding/did-key.ts';
export { decodeCbor, encodeCbor, type CborValue } from './encoding/cbor.ts';

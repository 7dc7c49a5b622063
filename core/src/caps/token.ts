/**
 * Capability tokens: a macaroon-style HMAC chain (seed 002).
 *
 *   tag0 = HMAC-SHA256(rootKey, identifier)        identifier = CBOR {v, n: nonce, iss: issuer DID}
 *   tag_i = HMAC-SHA256(tag_{i-1}, caveat_i bytes) caveat bytes = deterministic CBOR of the caveat
 *
 * Anyone holding a token can append caveats (narrowing it) but cannot remove one or recover an earlier
 * tag: HMAC is one-way in its key. Only the holder of the root key (the minting service) can check the
 * tag. Root keys are 32 random bytes, never derived from public data (PITFALLS 7).
 */
import { hmacSha256 } from '../crypto/hmac.ts';
import { bytesEqual, toHex } from '../encoding/bytes.ts';
import { type CborMap, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { fromText, toText } from '../encoding/text.ts';
import { DreggError } from '../errors.ts';
import { type Caveat, caveatBytes, caveatFromCbor, caveatToCbor, DID_SHAPE } from './caveats.ts';

export const TOKEN_VERSION = 1;
/** More caveats than this is not a real token; the bound keeps hostile input cheap to reject. */
export const MAX_CAVEATS = 64;

export interface Token {
  readonly v: typeof TOKEN_VERSION;
  /** 16 random bytes naming this root; the token id is its hex form. */
  readonly nonce: Uint8Array;
  /** DID of the agent that minted it and holds its root key. */
  readonly issuer: string;
  readonly caveats: readonly Caveat[];
  readonly tag: Uint8Array;
}

function identifier(nonce: Uint8Array, issuer: string): Uint8Array {
  return encodeCbor({ v: TOKEN_VERSION, n: nonce, iss: issuer });
}

function chain(tag: Uint8Array, caveats: readonly Caveat[]): Uint8Array {
  let t = tag;
  for (const c of caveats) t = hmacSha256(t, caveatBytes(c));
  return t;
}

/** The token id people and the keyring use: hex of the nonce. */
export function tokenId(token: Pick<Token, 'nonce'>): string {
  return toHex(token.nonce);
}

export function newRootKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

export function mintRootToken(args: {
  issuer: string;
  rootKey: Uint8Array;
  caveats: readonly Caveat[];
  nonce?: Uint8Array;
}): Token {
  if (args.rootKey.length !== 32) throw new DreggError('E_ARGUMENT', 'A root key is 32 bytes');
  const nonce = args.nonce ?? crypto.getRandomValues(new Uint8Array(16));
  const tag0 = hmacSha256(args.rootKey, identifier(nonce, args.issuer));
  return {
    v: TOKEN_VERSION,
    nonce,
    issuer: args.issuer,
    caveats: [...args.caveats],
    tag: chain(tag0, args.caveats),
  };
}

/** Appends caveats. The result can only be narrower (caveats are conjunctive). */
export function attenuate(token: Token, caveats: readonly Caveat[]): Token {
  if (token.caveats.length + caveats.length > MAX_CAVEATS) {
    throw new DreggError('E_ARGUMENT', `A token holds at most ${MAX_CAVEATS} caveats`);
  }
  return { ...token, caveats: [...token.caveats, ...caveats], tag: chain(token.tag, caveats) };
}

/** The minting service's check: recompute the chain from the root key (constant-time compare). */
export function verifyTag(token: Token, rootKey: Uint8Array): boolean {
  const tag0 = hmacSha256(rootKey, identifier(token.nonce, token.issuer));
  return bytesEqual(chain(tag0, token.caveats), token.tag);
}

export function tokenToCbor(token: Token): CborMap {
  return {
    v: token.v,
    n: token.nonce,
    iss: token.issuer,
    cav: token.caveats.map(caveatToCbor),
    tag: token.tag,
  };
}

export function encodeToken(token: Token): Uint8Array {
  return encodeCbor(tokenToCbor(token));
}

/** Validates a decoded value as a token; fails only with `E_INVALID`/`E_DECODE`. */
export function tokenFromCbor(value: unknown): Token {
  if (!isCborMap(value)) throw new DreggError('E_INVALID', 'A token is a map');
  const m = value;
  const keys = Object.keys(m);
  if (keys.length !== 5 || !['v', 'n', 'iss', 'cav', 'tag'].every((k) => Object.hasOwn(m, k))) {
    throw new DreggError('E_INVALID', 'A token has exactly the fields v, n, iss, cav, tag');
  }
  if (m.v !== TOKEN_VERSION) throw new DreggError('E_INVALID', `Unsupported token version ${String(m.v)}`);
  if (!(m.n instanceof Uint8Array) || m.n.length !== 16)
    throw new DreggError('E_INVALID', 'Token nonce must be 16 bytes');
  if (typeof m.iss !== 'string' || !DID_SHAPE.test(m.iss))
    throw new DreggError('E_INVALID', 'Token issuer is not a did:key');
  if (!Array.isArray(m.cav) || m.cav.length > MAX_CAVEATS)
    throw new DreggError('E_INVALID', 'Token caveats malformed');
  if (!(m.tag instanceof Uint8Array) || m.tag.length !== 32)
    throw new DreggError('E_INVALID', 'Token tag must be 32 bytes');
  return { v: TOKEN_VERSION, nonce: m.n, issuer: m.iss, caveats: m.cav.map(caveatFromCbor), tag: m.tag };
}

export function decodeToken(bytes: Uint8Array): Token {
  return tokenFromCbor(decodeCbor(bytes, 'token'));
}

export function tokenToText(token: Token): string {
  return toText('token', encodeToken(token));
}

export function tokenFromText(text: string): Token {
  return decodeToken(fromText('token', text));
}

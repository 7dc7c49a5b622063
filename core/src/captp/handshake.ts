/**
 * Mutual authentication of a session by DID. Each side sends a hello (its did:key, 32 fresh random
 * bytes, the epoch it proposes), then signs the session id (the hash of both hellos, in role order)
 * together with its own DID, under a context of its own. A signature therefore covers both DIDs, both
 * nonces and both epoch proposals, and cannot be replayed into another session (fresh nonces) or
 * reflected back as the other side's (the signer is named). The libp2p Noise identity under a stream
 * is a different key and plays no part here.
 */
import type { Ed25519 } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { encodeCbor } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import type { Hello } from './wire.ts';

export type Role = 'initiator' | 'responder';

function helloBody(h: Hello) {
  return { did: h.did, nonce: h.nonce, epoch: h.epoch };
}

/** The session id: both hellos in role order, hashed. */
export function sessionId(initiator: Hello, responder: Hello): Uint8Array {
  return hashFor(
    'captpSessionId',
    encodeCbor({ v: initiator.v, initiator: helloBody(initiator), responder: helloBody(responder) }),
  );
}

function authDigest(session: Uint8Array, signer: string): Uint8Array {
  return hashFor('captpSessionAuth', encodeCbor({ session, signer }));
}

export function signAuth(
  session: Uint8Array,
  did: string,
  seed: Uint8Array,
  ed: Ed25519,
): Promise<Uint8Array> {
  return ed.sign(seed, authDigest(session, did));
}

/** False for a bad signature; `E_DECODE` if `did` is not an Ed25519 did:key. */
export function verifyAuth(session: Uint8Array, did: string, sig: Uint8Array, ed: Ed25519): Promise<boolean> {
  return ed.verify(ed25519FromDidKey(did), authDigest(session, did), sig);
}

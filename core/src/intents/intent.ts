/**
 * An intent: a signed statement by an agent of what it offers and what it wants, in one namespace zone,
 * until an expiry. Relays gossip intents and solvers match them; neither can forge one (the signature
 * covers every field) — a relay can only censor (seed 000's trust model, "Discovery").
 *
 * `accept` is how many of the wants must be met for the agent to take part in a ring: all of them by
 * default, fewer when a partial fill is acceptable. The `nonce` makes two intents with the same terms
 * distinct, so each can be matched, settled and cancelled on its own.
 *
 * Wire form: deterministic CBOR `{v: 1, by, z, off, want, acc, exp, n, sig}`; `sig` is Ed25519 by `by`
 * over `hashFor('intentSigning', CBOR of every other field)`. The intent's id is
 * `hashFor('intentId', whole encoding)`.
 */
import { type Ed25519, ed25519PublicKey } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { toHex } from '../encoding/bytes.ts';
import { type CborMap, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { didKeyFromEd25519, ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import { type ExchangeItem, itemFromCbor, itemToCbor } from './items.ts';
import { isZone } from './zones.ts';

export const INTENT_VERSION = 1;
/** At most this many offers and this many wants: bounds matching (a bipartite match per pair). */
export const MAX_INTENT_ITEMS = 8;
/** Largest encoded intent a relay accepts. */
export const MAX_INTENT_BYTES = 8192;

export interface IntentTerms {
  readonly zone: string;
  readonly offers: readonly ExchangeItem[];
  readonly wants: readonly ExchangeItem[];
  /** How many wants must be met (1..wants.length); all of them unless given. */
  readonly accept?: number;
  /** Unix seconds: never matched at or after this time. */
  readonly expires: number;
}

export interface IntentBody extends Required<IntentTerms> {
  /** The agent's did:key. */
  readonly by: string;
  /** 16 random bytes, hex. */
  readonly nonce: string;
}

export interface Intent extends IntentBody {
  readonly signature: Uint8Array;
}

const HEX32 = /^[0-9a-f]{32}$/;

function bodyToCbor(b: IntentBody): CborMap {
  return {
    v: INTENT_VERSION,
    by: b.by,
    z: b.zone,
    off: b.offers.map(itemToCbor),
    want: b.wants.map(itemToCbor),
    acc: b.accept,
    exp: b.expires,
    n: b.nonce,
  };
}

function digest(b: IntentBody): Uint8Array {
  return hashFor('intentSigning', encodeCbor(bodyToCbor(b)));
}

function bad(why: string): never {
  throw new DreggError('E_INVALID', `Invalid intent: ${why}`);
}

/** Checks the terms an agent is about to sign (the same rules the decoder applies). */
function checkTerms(t: Required<IntentTerms>): void {
  if (!isZone(t.zone)) bad('the zone is malformed');
  if (t.offers.length < 1 || t.offers.length > MAX_INTENT_ITEMS)
    bad(`an intent offers 1 to ${MAX_INTENT_ITEMS} items`);
  if (t.wants.length < 1 || t.wants.length > MAX_INTENT_ITEMS)
    bad(`an intent wants 1 to ${MAX_INTENT_ITEMS} items`);
  if (!Number.isInteger(t.accept) || t.accept < 1 || t.accept > t.wants.length)
    bad(`accept is a whole number from 1 to the number of wants (${t.wants.length})`);
  if (!Number.isSafeInteger(t.expires) || t.expires <= 0) bad('the expiry is a time in Unix seconds');
}

/** Signs terms as the agent whose Ed25519 seed is given. `nonce` is 16 random bytes. */
export async function signIntent(
  terms: IntentTerms,
  seed: Uint8Array,
  nonce: Uint8Array,
  ed: Ed25519,
): Promise<Intent> {
  if (nonce.length !== 16) throw new DreggError('E_ARGUMENT', 'An intent nonce is 16 bytes');
  const full = { ...terms, accept: terms.accept ?? terms.wants.length };
  checkTerms(full);
  const body: IntentBody = { ...full, by: didKeyFromEd25519(ed25519PublicKey(seed)), nonce: toHex(nonce) };
  return { ...body, signature: await ed.sign(seed, digest(body)) };
}

export async function verifyIntent(i: Intent, ed: Ed25519): Promise<void> {
  if (!(await ed.verify(ed25519FromDidKey(i.by), digest(i), i.signature)))
    throw new DreggError('E_BAD_SIGNATURE', 'The intent signature does not verify');
}

export function encodeIntent(i: Intent): Uint8Array {
  return encodeCbor({ ...bodyToCbor(i), sig: i.signature });
}

/** An intent's id: the hash of its whole encoding (hex). */
export function intentId(i: Intent): string {
  return toHex(hashFor('intentId', encodeIntent(i)));
}

const FIELDS = ['acc', 'by', 'exp', 'n', 'off', 'sig', 'v', 'want', 'z'];

/** Decodes outside bytes; fails only with `E_DECODE`, `E_TOO_LARGE` or `E_INVALID`. Checks no signature. */
export function decodeIntent(bytes: Uint8Array): Intent {
  if (bytes.length > MAX_INTENT_BYTES)
    throw new DreggError('E_TOO_LARGE', `An intent is at most ${MAX_INTENT_BYTES} bytes`);
  const m = decodeCbor(bytes, 'intent');
  if (!isCborMap(m)) bad('an intent is a map');
  const keys = Object.keys(m).sort();
  if (keys.length !== FIELDS.length || keys.some((k, i) => k !== FIELDS[i])) bad('wrong fields');
  if (m.v !== INTENT_VERSION) bad('unsupported version');
  if (typeof m.by !== 'string') bad('missing agent');
  ed25519FromDidKey(m.by);
  if (!(m.sig instanceof Uint8Array) || m.sig.length !== 64) bad('the signature is 64 bytes');
  if (typeof m.n !== 'string' || !HEX32.test(m.n)) bad('the nonce is 16 bytes of hex');
  if (!Array.isArray(m.off) || !Array.isArray(m.want)) bad('offers and wants are lists');
  if (typeof m.z !== 'string' || typeof m.acc !== 'number' || typeof m.exp !== 'number')
    bad('zone, accept or expiry is missing');
  if (m.off.length > MAX_INTENT_ITEMS || m.want.length > MAX_INTENT_ITEMS)
    bad(`an intent offers and wants at most ${MAX_INTENT_ITEMS} items each`);
  const terms = {
    zone: m.z,
    offers: m.off.map(itemFromCbor),
    wants: m.want.map(itemFromCbor),
    accept: m.acc,
    expires: m.exp,
  };
  checkTerms(terms);
  return { ...terms, by: m.by, nonce: m.n, signature: m.sig };
}

/** An intent admitted to a pool: decoded, its signature checked, not expired. */
export interface OpenIntent {
  readonly id: string;
  readonly intent: Intent;
}

/** Decodes, verifies and admits an intent from outside; refuses one that has expired (`E_EXPIRED`). */
export async function admitIntent(bytes: Uint8Array, now: number, ed: Ed25519): Promise<OpenIntent> {
  const intent = decodeIntent(bytes);
  if (intent.expires <= now) throw new DreggError('E_EXPIRED', `This intent expired at ${intent.expires}`);
  await verifyIntent(intent, ed);
  return { id: intentId(intent), intent };
}

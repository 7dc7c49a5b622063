/**
 * The formats of store-and-forward inboxes: what a sender deposits, what a relay stores and returns,
 * what a recipient signs to drain and to acknowledge, and the digests those signatures cover. Every
 * object is a deterministic CBOR map with a version field `v`; every signature covers the canonical
 * encoding of every field it authorizes under its own registered context (PITFALLS 10). See
 * core/docs/inbox.md for the protocol.
 *
 * Decoders of outside input check the length first (nothing is decoded past the limit), then refuse
 * anything but the exact set of fields with `E_DECODE` (not CBOR) or `E_INVALID` (wrong shape).
 */

import { hashFor } from '../crypto/hash.ts';
import { SEALED_BOX_OVERHEAD } from '../crypto/sealed-box.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import { DIGEST_BYTES, type Frontier, type InclusionProof, isFrontier } from './merkle-queue.ts';

export const INBOX_VERSION = 1;
/** The hard cap on one sealed box on the wire (a relay's own limit may be lower). */
export const MAX_CIPHERTEXT_BYTES = 1 << 20;
/** Idempotency keys: long enough to be unguessable when random, short enough to index. */
export const MIN_IDEMPOTENCY_KEY_BYTES = 16;
export const MAX_IDEMPOTENCY_KEY_BYTES = 64;
/** No inbox reaches 2^53 messages; times are Unix seconds well below it too. */
const MAX_PATH = 64;
/** The version byte of a sealed box (core/src/crypto/sealed-box.ts). */
const SEALED_BOX_VERSION = 0x01;
const MAX_U64 = (1n << 64n) - 1n;

/** Envelope of a deposit request besides its ciphertext: map header, keys, DID, key, refund claim. */
/** The largest payment (an encoded turn) a deposit request may carry. */
export const MAX_PAYMENT_BYTES = 16 * 1024;
const DEPOSIT_OVERHEAD = 512 + MAX_PAYMENT_BYTES;
/** Drain and ack requests are a DID, a few numbers, a nonce or root and a signature. */
const MAX_SMALL_REQUEST_BYTES = 512;
/** What a drain response may add per message besides the ciphertext. */
const MESSAGE_OVERHEAD = 256;

// ---- the objects ------------------------------------------------------------------------------

/** A sender's request to leave a sealed box in `recipient`'s inbox. */
export interface DepositRequest {
  /** The recipient's did:key. */
  readonly recipient: string;
  /** A sealed box to the recipient's key (`seal` in core/src/crypto/sealed-box.ts). */
  readonly ciphertext: Uint8Array;
  /** Seconds the relay keeps it undrained. */
  readonly ttl: number;
  /** Computrons paid with the deposit, refunded when the recipient drains and acknowledges it. */
  readonly deposit: bigint;
  /** `refundClaim(secret)`: whoever reveals `secret` collects the refund. Present iff `deposit > 0`. */
  readonly refund?: Uint8Array;
  /** The sender's key for retries: the same request with the same key is one deposit. */
  readonly idempotencyKey: Uint8Array;
  /**
   * The deposit's payment, for a relay that charges: an encoded signed turn moving `deposit`
   * computrons to the relay's escrow cell (the relay's contract says how; opaque to the inbox).
   */
  readonly payment?: Uint8Array;
}

/**
 * What the relay answers to a deposit (the same answer again for a retried one). The relay signs
 * the inbox head it implies (`receiptHead`): the sender holds a signed root with its message in it.
 */
export interface DepositReceipt {
  /** The message's sequence number in the recipient's inbox (0, 1, ...). */
  readonly seq: number;
  /** Deposit time and expiry, Unix seconds on the relay's clock. */
  readonly at: number;
  readonly expires: number;
  /** Ciphertext bytes. */
  readonly size: number;
  /** The inbox root just after this message (height `seq + 1`). */
  readonly root: Uint8Array;
  /** The message's inclusion proof under `root` (index `seq`, count `seq + 1`). */
  readonly proof: InclusionProof;
  /** The relay's signature of `receiptHead(...)`. */
  readonly signature: Uint8Array;
}

/** A message as the relay stores it and a drain returns it. */
export interface InboxMessage {
  readonly seq: number;
  readonly at: number;
  readonly expires: number;
  readonly size: number;
  readonly deposit: bigint;
  readonly refund?: Uint8Array;
  /** `H_inboxCiphertext(ciphertext)`: kept after the payload is gone, so the digest stays checkable. */
  readonly ciphertextHash: Uint8Array;
  /** The sealed box; absent once the message expired and its payload was purged. */
  readonly ciphertext?: Uint8Array;
}

/** What a recipient signs to drain: issued by the relay, single-use, short-lived. */
export interface DrainChallenge {
  /** The relay's did:key, so a signature for one relay is worthless at another. */
  readonly relay: string;
  readonly recipient: string;
  readonly nonce: Uint8Array;
  /** The inbox height when the challenge was issued. */
  readonly height: number;
  readonly expires: number;
}

export interface DrainRequest {
  readonly recipient: string;
  readonly nonce: Uint8Array;
  /** The recipient's signature over `challengeDigest` of the challenge with this nonce. */
  readonly signature: Uint8Array;
  /** At most this many messages (the relay may return fewer). */
  readonly limit?: number;
}

/** The relay's signed statement: `recipient`'s inbox had root `root` at height `height`, at time `at`. */
export interface InboxHead {
  readonly relay: string;
  readonly recipient: string;
  readonly height: number;
  readonly root: Uint8Array;
  readonly at: number;
  readonly signature: Uint8Array;
}

/** The recipient's signed acknowledgement of its inbox up to `height`, whose root it checked. */
export interface AckRequest {
  readonly recipient: string;
  readonly height: number;
  readonly root: Uint8Array;
  readonly signature: Uint8Array;
}

export interface DrainResponse {
  /** The frontier at the acknowledged height, where this drain starts. */
  readonly base: Frontier;
  /** The recipient's own last acknowledgement of `base` (absent while nothing was acknowledged). */
  readonly baseAck?: AckRequest;
  /** Messages `base.count`, `base.count + 1`, ... in order. */
  readonly messages: readonly InboxMessage[];
  /** Signed head at `base.count + messages.length`. */
  readonly head: InboxHead;
  /** The inbox's whole height: more messages wait when it exceeds `head.height`. */
  readonly height: number;
}

// ---- digests ----------------------------------------------------------------------------------

export function ciphertextHash(ciphertext: Uint8Array): Uint8Array {
  return hashFor('inboxCiphertext', ciphertext);
}

/** The commitment of a refund claim secret (at least 16 bytes, chosen at random by the sender). */
export function refundClaim(secret: Uint8Array): Uint8Array {
  if (!(secret instanceof Uint8Array) || secret.length < 16)
    throw new DreggError('E_ARGUMENT', 'A refund claim secret is at least 16 random bytes');
  return hashFor('inboxRefundClaim', secret);
}

function messageBody(m: InboxMessage): CborMap {
  const body: CborMap = {
    v: INBOX_VERSION,
    at: m.at,
    exp: m.expires,
    len: m.size,
    dep: m.deposit,
    cth: m.ciphertextHash,
  };
  if (m.refund !== undefined) body.ref = m.refund;
  return body;
}

/** The digest the MerkleQueue commits to: everything about a message except the payload itself. */
export function messageDigest(m: InboxMessage): Uint8Array {
  return hashFor('inboxMessage', encodeCbor(messageBody(m)));
}

function challengeBody(c: DrainChallenge): CborMap {
  return { v: INBOX_VERSION, relay: c.relay, to: c.recipient, nonce: c.nonce, h: c.height, exp: c.expires };
}

/** What a recipient signs to drain. */
export function challengeDigest(c: DrainChallenge): Uint8Array {
  return hashFor('inboxDrainChallenge', encodeCbor(challengeBody(c)));
}

function headBody(h: Omit<InboxHead, 'signature'>): CborMap {
  return { v: INBOX_VERSION, relay: h.relay, to: h.recipient, h: h.height, root: h.root, at: h.at };
}

/** What a relay signs for a head. */
export function headDigest(h: Omit<InboxHead, 'signature'>): Uint8Array {
  return hashFor('inboxHead', encodeCbor(headBody(h)));
}

/** The inbox head a deposit receipt stands for: `recipient`'s inbox at height `seq + 1`. */
export function receiptHead(relay: string, recipient: string, r: DepositReceipt): InboxHead {
  return { relay, recipient, height: r.seq + 1, root: r.root, at: r.at, signature: r.signature };
}

/** What a recipient signs to acknowledge, at relay `relay`. */
export function ackDigest(relay: string, a: Omit<AckRequest, 'signature'>): Uint8Array {
  return hashFor(
    'inboxAck',
    encodeCbor({ v: INBOX_VERSION, relay, to: a.recipient, h: a.height, root: a.root }),
  );
}

// ---- checks shared by decoders and by the relay's API -----------------------------------------

function invalid(what: string, why: string): DreggError {
  return new DreggError('E_INVALID', `Invalid ${what}: ${why}`);
}

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isBytes(b: unknown, min: number, max = min): b is Uint8Array {
  return b instanceof Uint8Array && b.length >= min && b.length <= max;
}

/** A did:key that names an Ed25519 key; `E_DECODE` otherwise (from the did:key decoder). */
function checkDid(did: unknown, what: string): string {
  if (typeof did !== 'string') throw invalid(what, 'the recipient is not a did:key');
  ed25519FromDidKey(did);
  return did;
}

/**
 * The format rules of a deposit request (not a relay's policy: its size, TTL and deposit limits are
 * checked by the inbox). `E_INVALID` for a rule broken, `E_DECODE` for a malformed DID.
 */
export function checkDepositRequest(r: DepositRequest): DepositRequest {
  const what = 'deposit request';
  if (typeof r !== 'object' || r === null) throw invalid(what, 'not an object');
  checkDid(r.recipient, what);
  if (!isBytes(r.ciphertext, SEALED_BOX_OVERHEAD, MAX_CIPHERTEXT_BYTES))
    throw invalid(what, `the ciphertext is not ${SEALED_BOX_OVERHEAD} to ${MAX_CIPHERTEXT_BYTES} bytes`);
  if (r.ciphertext[0] !== SEALED_BOX_VERSION) throw invalid(what, 'the ciphertext is not a sealed box');
  if (!isCount(r.ttl) || r.ttl < 1) throw invalid(what, 'the TTL is not a positive number of seconds');
  if (typeof r.deposit !== 'bigint' || r.deposit < 0n || r.deposit > MAX_U64)
    throw invalid(what, 'the deposit is not a 64-bit count of computrons');
  if (r.deposit > 0n ? !isBytes(r.refund, DIGEST_BYTES) : r.refund !== undefined)
    throw invalid(what, 'a refund claim (32 bytes) comes with a deposit, and only with one');
  if (r.payment !== undefined && (r.deposit === 0n || !isBytes(r.payment, 1, MAX_PAYMENT_BYTES)))
    throw invalid(
      what,
      `a payment (at most ${MAX_PAYMENT_BYTES} bytes) comes with a deposit, and only with one`,
    );
  if (!isBytes(r.idempotencyKey, MIN_IDEMPOTENCY_KEY_BYTES, MAX_IDEMPOTENCY_KEY_BYTES))
    throw invalid(
      what,
      `the idempotency key is not ${MIN_IDEMPOTENCY_KEY_BYTES} to ${MAX_IDEMPOTENCY_KEY_BYTES} bytes`,
    );
  return r;
}

export function checkDrainRequest(r: DrainRequest): DrainRequest {
  const what = 'drain request';
  if (typeof r !== 'object' || r === null) throw invalid(what, 'not an object');
  checkDid(r.recipient, what);
  if (!isBytes(r.nonce, 32)) throw invalid(what, 'the nonce is not 32 bytes');
  if (!isBytes(r.signature, 64)) throw invalid(what, 'the signature is not 64 bytes');
  if (r.limit !== undefined && (!isCount(r.limit) || r.limit < 1))
    throw invalid(what, 'the limit is not a positive count');
  return r;
}

export function checkAckRequest(r: AckRequest): AckRequest {
  const what = 'acknowledgement';
  if (typeof r !== 'object' || r === null) throw invalid(what, 'not an object');
  checkDid(r.recipient, what);
  if (!isCount(r.height)) throw invalid(what, 'the height is not a count');
  if (!isBytes(r.root, DIGEST_BYTES)) throw invalid(what, 'the root is not 32 bytes');
  if (!isBytes(r.signature, 64)) throw invalid(what, 'the signature is not 64 bytes');
  return r;
}

// ---- encoders and decoders --------------------------------------------------------------------

/** Reads the fields of one decoded map, refusing any field not named; `v`, where named, must be ours. */
class Fields {
  constructor(
    readonly m: CborMap,
    readonly what: string,
    required: readonly string[],
    optional: readonly string[] = [],
  ) {
    for (const k of required) if (!Object.hasOwn(m, k)) throw invalid(what, `missing field "${k}"`);
    for (const k of Object.keys(m))
      if (!required.includes(k) && !optional.includes(k)) throw invalid(what, `unknown field "${k}"`);
    if (required.includes('v') && m.v !== INBOX_VERSION) throw invalid(what, 'unsupported version');
  }

  has(k: string): boolean {
    return Object.hasOwn(this.m, k);
  }

  count(k: string): number {
    const v = this.m[k];
    if (!isCount(v)) throw invalid(this.what, `"${k}" is not a non-negative integer`);
    return v;
  }

  amount(k: string): bigint {
    const v = this.m[k];
    if (isCount(v)) return BigInt(v);
    if (typeof v === 'bigint' && v >= 0n && v <= MAX_U64) return v;
    throw invalid(this.what, `"${k}" is not an amount`);
  }

  bytes(k: string, min: number, max = min): Uint8Array {
    const v = this.m[k];
    if (!isBytes(v, min, max)) throw invalid(this.what, `"${k}" is not ${min}..${max} bytes`);
    return v;
  }

  text(k: string): string {
    const v = this.m[k];
    if (typeof v !== 'string') throw invalid(this.what, `"${k}" is not text`);
    return v;
  }

  map(k: string): CborMap {
    const v = this.m[k];
    if (!isCborMap(v)) throw invalid(this.what, `"${k}" is not a map`);
    return v;
  }

  list(k: string, max: number): CborValue[] {
    const v = this.m[k];
    if (!Array.isArray(v) || v.length > max)
      throw invalid(this.what, `"${k}" is not a list of at most ${max}`);
    return v;
  }
}

/** Length check first, then CBOR, then "a map": the common entry of every decoder. */
function decodeMap(bytes: Uint8Array, what: string, maxBytes: number): CborMap {
  if (!(bytes instanceof Uint8Array)) throw new DreggError('E_DECODE', `Malformed ${what}: not bytes`);
  if (bytes.length > maxBytes)
    throw new DreggError('E_DECODE', `Malformed ${what}: longer than ${maxBytes} bytes`);
  const v = decodeCbor(bytes, what);
  if (!isCborMap(v)) throw invalid(what, 'not a map');
  return v;
}

export function encodeDepositRequest(r: DepositRequest): Uint8Array {
  const m: CborMap = {
    v: INBOX_VERSION,
    to: r.recipient,
    ct: r.ciphertext,
    ttl: r.ttl,
    dep: r.deposit,
    key: r.idempotencyKey,
  };
  if (r.refund !== undefined) m.ref = r.refund;
  if (r.payment !== undefined) m.pay = r.payment;
  return encodeCbor(m);
}

export function decodeDepositRequest(bytes: Uint8Array): DepositRequest {
  const what = 'deposit request';
  const f = new Fields(
    decodeMap(bytes, what, MAX_CIPHERTEXT_BYTES + DEPOSIT_OVERHEAD),
    what,
    ['v', 'to', 'ct', 'ttl', 'dep', 'key'],
    ['ref', 'pay'],
  );
  const r: DepositRequest = {
    recipient: f.text('to'),
    ciphertext: f.bytes('ct', 0, MAX_CIPHERTEXT_BYTES),
    ttl: f.count('ttl'),
    deposit: f.amount('dep'),
    idempotencyKey: f.bytes('key', 0, MAX_IDEMPOTENCY_KEY_BYTES),
    ...(f.has('ref') ? { refund: f.bytes('ref', 0, DIGEST_BYTES) } : {}),
    ...(f.has('pay') ? { payment: f.bytes('pay', 1, MAX_PAYMENT_BYTES) } : {}),
  };
  return checkDepositRequest(r);
}

function proofToCbor(p: InclusionProof): CborMap {
  return { i: p.index, n: p.count, path: [...p.siblings] };
}

function proofFromCbor(m: CborMap, what: string): InclusionProof {
  const f = new Fields(m, what, ['i', 'n', 'path']);
  const siblings = f.list('path', MAX_PATH).map((s) => {
    if (!isBytes(s, DIGEST_BYTES)) throw invalid(what, 'a proof step is not 32 bytes');
    return s;
  });
  return { index: f.count('i'), count: f.count('n'), siblings };
}

export function encodeDepositReceipt(r: DepositReceipt): Uint8Array {
  return encodeCbor({
    v: INBOX_VERSION,
    seq: r.seq,
    at: r.at,
    exp: r.expires,
    len: r.size,
    root: r.root,
    proof: proofToCbor(r.proof),
    sig: r.signature,
  });
}

export function decodeDepositReceipt(bytes: Uint8Array): DepositReceipt {
  const what = 'deposit receipt';
  const f = new Fields(decodeMap(bytes, what, 4096), what, [
    'v',
    'seq',
    'at',
    'exp',
    'len',
    'root',
    'proof',
    'sig',
  ]);
  return {
    seq: f.count('seq'),
    at: f.count('at'),
    expires: f.count('exp'),
    size: f.count('len'),
    root: f.bytes('root', DIGEST_BYTES),
    proof: proofFromCbor(f.map('proof'), what),
    signature: f.bytes('sig', 64),
  };
}

/** A message as a CBOR map (the stored record and the drained item are this same map). */
export function messageToCbor(m: InboxMessage): CborMap {
  const out: CborMap = { ...messageBody(m), seq: m.seq };
  if (m.ciphertext !== undefined) out.ct = m.ciphertext;
  return out;
}

export function messageFromCbor(m: CborMap, what = 'inbox message'): InboxMessage {
  const f = new Fields(m, what, ['v', 'seq', 'at', 'exp', 'len', 'dep', 'cth'], ['ref', 'ct']);
  const message: InboxMessage = {
    seq: f.count('seq'),
    at: f.count('at'),
    expires: f.count('exp'),
    size: f.count('len'),
    deposit: f.amount('dep'),
    ciphertextHash: f.bytes('cth', DIGEST_BYTES),
    ...(f.has('ref') ? { refund: f.bytes('ref', DIGEST_BYTES) } : {}),
    ...(f.has('ct') ? { ciphertext: f.bytes('ct', 0, MAX_CIPHERTEXT_BYTES) } : {}),
  };
  if (message.ciphertext !== undefined && message.ciphertext.length !== message.size)
    throw invalid(what, 'the size is not the ciphertext length');
  return message;
}

export function encodeDrainChallenge(c: DrainChallenge): Uint8Array {
  return encodeCbor(challengeBody(c));
}

export function decodeDrainChallenge(bytes: Uint8Array): DrainChallenge {
  const what = 'drain challenge';
  const f = new Fields(decodeMap(bytes, what, MAX_SMALL_REQUEST_BYTES), what, [
    'v',
    'relay',
    'to',
    'nonce',
    'h',
    'exp',
  ]);
  const c: DrainChallenge = {
    relay: checkDid(f.text('relay'), what),
    recipient: checkDid(f.text('to'), what),
    nonce: f.bytes('nonce', 32),
    height: f.count('h'),
    expires: f.count('exp'),
  };
  return c;
}

export function encodeDrainRequest(r: DrainRequest): Uint8Array {
  const m: CborMap = { v: INBOX_VERSION, to: r.recipient, nonce: r.nonce, sig: r.signature };
  if (r.limit !== undefined) m.max = r.limit;
  return encodeCbor(m);
}

export function decodeDrainRequest(bytes: Uint8Array): DrainRequest {
  const what = 'drain request';
  const f = new Fields(
    decodeMap(bytes, what, MAX_SMALL_REQUEST_BYTES),
    what,
    ['v', 'to', 'nonce', 'sig'],
    ['max'],
  );
  return checkDrainRequest({
    recipient: f.text('to'),
    nonce: f.bytes('nonce', 0, 32),
    signature: f.bytes('sig', 0, 64),
    ...(f.has('max') ? { limit: f.count('max') } : {}),
  });
}

function ackToCbor(a: AckRequest): CborMap {
  return { v: INBOX_VERSION, to: a.recipient, h: a.height, root: a.root, sig: a.signature };
}

function ackFromCbor(m: CborMap, what: string): AckRequest {
  const f = new Fields(m, what, ['v', 'to', 'h', 'root', 'sig']);
  return checkAckRequest({
    recipient: f.text('to'),
    height: f.count('h'),
    root: f.bytes('root', 0, DIGEST_BYTES),
    signature: f.bytes('sig', 0, 64),
  });
}

export function encodeAckRequest(a: AckRequest): Uint8Array {
  return encodeCbor(ackToCbor(a));
}

export function decodeAckRequest(bytes: Uint8Array): AckRequest {
  const what = 'acknowledgement';
  return ackFromCbor(decodeMap(bytes, what, MAX_SMALL_REQUEST_BYTES), what);
}

function headToCbor(h: InboxHead): CborMap {
  return { ...headBody(h), sig: h.signature };
}

function headFromCbor(m: CborMap, what: string): InboxHead {
  const f = new Fields(m, what, ['v', 'relay', 'to', 'h', 'root', 'at', 'sig']);
  return {
    relay: checkDid(f.text('relay'), what),
    recipient: checkDid(f.text('to'), what),
    height: f.count('h'),
    root: f.bytes('root', DIGEST_BYTES),
    at: f.count('at'),
    signature: f.bytes('sig', 64),
  };
}

export function encodeInboxHead(h: InboxHead): Uint8Array {
  return encodeCbor(headToCbor(h));
}

export function decodeInboxHead(bytes: Uint8Array): InboxHead {
  const what = 'inbox head';
  return headFromCbor(decodeMap(bytes, what, MAX_SMALL_REQUEST_BYTES), what);
}

export function encodeDrainResponse(r: DrainResponse): Uint8Array {
  const m: CborMap = {
    v: INBOX_VERSION,
    base: { h: r.base.count, peaks: [...r.base.peaks] },
    msgs: r.messages.map(messageToCbor),
    head: headToCbor(r.head),
    n: r.height,
  };
  if (r.baseAck !== undefined) m.ack = ackToCbor(r.baseAck);
  return encodeCbor(m);
}

/**
 * Decodes a relay's drain response. `maxBytes` bounds the whole response (a recipient sets it from
 * the limit it asked for); the default allows 64 messages of the largest size.
 */
export function decodeDrainResponse(
  bytes: Uint8Array,
  maxBytes = 64 * (MAX_CIPHERTEXT_BYTES + MESSAGE_OVERHEAD),
): DrainResponse {
  const what = 'drain response';
  const f = new Fields(decodeMap(bytes, what, maxBytes), what, ['v', 'base', 'msgs', 'head', 'n'], ['ack']);
  const b = new Fields(f.map('base'), what, ['h', 'peaks']);
  const base: Frontier = {
    count: b.count('h'),
    peaks: b.list('peaks', MAX_PATH).map((p) => {
      if (!isBytes(p, DIGEST_BYTES)) throw invalid(what, 'a peak is not 32 bytes');
      return p;
    }),
  };
  if (!isFrontier(base)) throw invalid(what, 'the base is not a frontier');
  const messages = f.list('msgs', bytes.length).map((m) => {
    if (!isCborMap(m)) throw invalid(what, 'a message is not a map');
    return messageFromCbor(m, what);
  });
  return {
    base,
    ...(f.has('ack') ? { baseAck: ackFromCbor(f.map('ack'), what) } : {}),
    messages,
    head: headFromCbor(f.map('head'), what),
    height: f.count('n'),
  };
}

/**
 * Store-and-forward: letters to a vat that is offline. A letter is a send-only call on a sturdy
 * reference, signed by its sender, sealed to the receiving vat's key and deposited in that vat's relay
 * inbox; the relay sees a sealed box and its size, never the reference, the method or the arguments.
 * When the vat comes online it drains its inbox and receives each letter: the signature, then the
 * swiss table's checks for the sender (as `enliven` makes them: the reference is live, unexpired, has
 * uses left and is bound to the sender or a bearer one), then the call, with the sender as the peer.
 *
 * Order: each sender numbers its letters to one vat from 0 (a durable counter in the sender's store).
 * The receiver keeps the next number it expects from each sender; an earlier one is a replay
 * (`E_REPLAYED`), a later one is held (durably) until the gap before it is filled, and delivering a
 * letter releases the held letters that follow it. A letter that is refused (the reference expired,
 * the method is not allowed) still takes its turn, so one bad letter does not stall the rest.
 *
 * Delivery is at most once: the use of the reference and the sender's next number are written in one
 * transaction before the method runs, so a crash between the two loses that call rather than running
 * it twice.
 */
import { base64urlnopad } from '@scure/base';
import { DID_SHAPE } from '../caps/caveats.ts';
import { type Clock, nowSeconds } from '../clock.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { openSealed, seal, x25519FromEd25519Public, x25519FromEd25519Seed } from '../crypto/sealed-box.ts';
import { utf8 } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import type { InboxPoint } from '../inbox/client.ts';
import type { Drainer, RelayClient } from '../net/client.ts';
import type { Store, Write } from '../store/store.ts';
import type { Signer } from './handoff.ts';
import { asDreggError, invokeLocal, isRef, type LocalObject } from './refs.ts';
import { parseSturdyRef, type SturdyRef } from './sturdy.ts';
import { LETTERS } from './swiss-table.ts';
import { MAX_ARGS } from './wire.ts';

export const LETTER_PREFIX = 'ccletter_';
const PREFIX_BYTES = utf8.encode(LETTER_PREFIX);
/** A letter's text must fit one inbox message comfortably (the inbox's default limit is 64 KiB). */
export const MAX_LETTER_TEXT = 32 * 1024;
const METHOD = /^[a-z][a-z0-9_-]{0,63}$/;

export interface Letter {
  readonly from: string;
  /** The receiving vat's DID: the letter is sealed to it and numbered in its sequence from `from`. */
  readonly to: string;
  /** The sturdy reference the call goes to (`dregg://…`, one of `to`'s). */
  readonly ref: string;
  readonly seq: number;
  readonly method: string;
  /** Data only: references cannot travel in a letter (there is no session to import them into). */
  readonly args: readonly CborValue[];
  /** When it was written (Unix seconds). */
  readonly at: number;
  readonly sig: Uint8Array;
}

type Body = Omit<Letter, 'sig'>;

function bodyCbor(b: Body): CborMap {
  return { v: 1, from: b.from, to: b.to, ref: b.ref, seq: b.seq, m: b.method, a: [...b.args], at: b.at };
}

/** What the sender signs: every field but the signature, under its own context. */
export function letterDigest(b: Body): Uint8Array {
  return hashFor('captpLetter', encodeCbor(bodyCbor(b)));
}

export async function signLetter(sender: Signer, body: Omit<Body, 'from'>): Promise<Letter> {
  ed25519FromDidKey(body.to);
  parseSturdyRef(body.ref);
  if (!METHOD.test(body.method)) throw new DreggError('E_ARGUMENT', 'A method name is a lowercase name');
  if (body.args.length > MAX_ARGS) throw new DreggError('E_ARGUMENT', `At most ${MAX_ARGS} arguments`);
  const full: Body = { ...body, from: sender.did };
  const letter = { ...full, sig: await sender.ed.sign(sender.seed, letterDigest(full)) };
  if (letterToText(letter).length > MAX_LETTER_TEXT)
    throw new DreggError('E_TOO_LARGE', `A letter is at most ${MAX_LETTER_TEXT} characters`);
  return letter;
}

export function letterToText(l: Letter): string {
  return LETTER_PREFIX + base64urlnopad.encode(encodeCbor({ ...bodyCbor(l), sig: l.sig }));
}

function bad(why: string): never {
  throw new DreggError('E_INVALID', `Malformed letter: ${why}`);
}

export function isLetterText(text: string): boolean {
  return text.startsWith(LETTER_PREFIX);
}

/** Parses the text form; `E_DECODE` or `E_INVALID`. The signature is checked by the receiver. */
export function letterFromText(text: string): Letter {
  if (typeof text !== 'string' || text.length > MAX_LETTER_TEXT || !isLetterText(text))
    throw new DreggError('E_DECODE', `Expected a letter (text starting with "${LETTER_PREFIX}")`);
  let bytes: Uint8Array;
  try {
    bytes = base64urlnopad.decode(text.slice(LETTER_PREFIX.length));
  } catch {
    throw new DreggError('E_DECODE', 'Malformed letter: not base64url');
  }
  const v = decodeCbor(bytes, 'letter');
  if (!isCborMap(v)) return bad('not a map');
  const keys = ['v', 'from', 'to', 'ref', 'seq', 'm', 'a', 'at', 'sig'];
  if (Object.keys(v).length !== keys.length || !keys.every((k) => Object.hasOwn(v, k))) bad('wrong fields');
  const { from, to, ref, seq, m, a, at, sig } = v;
  if (v.v !== 1) bad('unknown version');
  if (typeof from !== 'string' || !DID_SHAPE.test(from)) bad('sender');
  if (typeof to !== 'string' || !DID_SHAPE.test(to)) bad('recipient');
  if (typeof ref !== 'string') bad('reference');
  parseSturdyRef(ref);
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) bad('sequence number');
  if (typeof m !== 'string' || !METHOD.test(m)) bad('method');
  if (!Array.isArray(a) || a.length > MAX_ARGS) bad('arguments');
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) bad('time');
  if (!(sig instanceof Uint8Array) || sig.length !== 64) bad('signature');
  return { from, to, ref, seq, method: m, args: a, at, sig };
}

/** `E_BAD_SIGNATURE` unless the sender signed the letter. */
export async function verifyLetter(l: Letter, ed: Ed25519): Promise<void> {
  if (!(await ed.verify(ed25519FromDidKey(l.from), letterDigest(l), l.sig)))
    throw new DreggError('E_BAD_SIGNATURE', 'The letter is not signed by its sender');
}

/** The sealed box for the letter's recipient: what goes into its relay inbox. */
export function sealLetter(l: Letter): Uint8Array {
  return seal(x25519FromEd25519Public(ed25519FromDidKey(l.to)), utf8.encode(letterToText(l)));
}

/**
 * Deposits a letter in its recipient's inbox at `client`'s relay. Retrying the same letter is one
 * deposit (the idempotency key is derived from the letter). A relay that charges deposits takes the
 * `deposit` fields of `paid` (core/src/net/deposits.ts `paidDeposit`).
 */
export async function postLetter(
  client: RelayClient,
  l: Letter,
  o: { ttl?: number; paid?: { deposit: bigint; refund: Uint8Array; payment: Uint8Array } } = {},
): Promise<void> {
  await client.deposit({
    recipient: l.to,
    ciphertext: sealLetter(l),
    ttl: o.ttl ?? 7 * 24 * 3600,
    deposit: o.paid?.deposit ?? 0n,
    ...(o.paid === undefined ? {} : { refund: o.paid.refund, payment: o.paid.payment }),
    idempotencyKey: letterDigest(l).slice(0, 16),
  });
}

/** What became of one letter at its receiver. */
export type LetterOutcome =
  | { readonly from: string; readonly seq: number; readonly status: 'delivered'; readonly result: CborValue }
  | { readonly from: string; readonly seq: number; readonly status: 'held' }
  | { readonly from: string; readonly seq: number; readonly status: 'refused'; readonly error: DreggError };

/** The receiver's side, implemented by the vat (./vat.ts). */
export interface LetterBox {
  readonly did: string;
  /** Receives one letter (text form); returns its outcome and those of the held letters it released. */
  receiveLetter(text: string): Promise<LetterOutcome[]>;
}

/**
 * Drains one page of `who`'s inbox at `client`'s relay: letters go to `vat`, everything else (a
 * delegation, a file) is handed back unsealed, in order. The caller keeps `head` as its new `acked`.
 * A message that cannot be unsealed, or a letter that is malformed or not signed by its sender, is
 * reported in `unreadable` with its inbox position and why; nothing in the inbox makes this throw.
 */
export async function drainLetters(
  vat: LetterBox,
  client: RelayClient,
  who: Drainer,
): Promise<{
  head: InboxPoint;
  more: boolean;
  outcomes: LetterOutcome[];
  others: { seq: number; plaintext: Uint8Array }[];
  unreadable: { seq: number; error: DreggError }[];
}> {
  if (who.did !== vat.did) throw new DreggError('E_ARGUMENT', 'Drain the inbox of the vat that receives');
  const page = await client.drain(who);
  const secret = x25519FromEd25519Seed(who.seed);
  const outcomes: LetterOutcome[] = [];
  const others: { seq: number; plaintext: Uint8Array }[] = [];
  const unreadable: { seq: number; error: DreggError }[] = [];
  for (const m of page.delivered) {
    try {
      const plaintext = openSealed(secret, m.ciphertext!);
      if (!PREFIX_BYTES.every((b, i) => plaintext[i] === b)) {
        others.push({ seq: m.seq, plaintext });
        continue;
      }
      let text: string;
      try {
        text = utf8.decode(plaintext);
      } catch {
        throw new DreggError('E_DECODE', 'Malformed letter: not UTF-8 text');
      }
      outcomes.push(...(await vat.receiveLetter(text)));
    } catch (e) {
      if (!(e instanceof DreggError)) throw e;
      unreadable.push({ seq: m.seq, error: e });
    }
  }
  secret.fill(0);
  return { head: page.head, more: page.more, outcomes, others, unreadable };
}

/** How far ahead of the next expected letter a sender may be; later ones are refused, not held. */
export const MAX_LETTER_GAP = 1024;

const counterKey = (dir: 'in' | 'out', did: string): string => `${dir}/${did}`;
const heldKey = (from: string, seq: number): string => `held/${from}/${String(seq).padStart(16, '0')}`;

function counter(bytes: Uint8Array | undefined): number {
  if (bytes === undefined) return 0;
  const n = decodeCbor(bytes, 'letter counter');
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new DreggError('E_INVALID', 'Corrupt letter counter');
  return n;
}

export interface MailroomOptions {
  readonly signer: Signer;
  readonly store: Store;
  readonly clock: Clock;
  /**
   * Resolves a letter's reference for its sender as `enliven` would (claiming one use, with `also`
   * written in the same transaction) and returns the facet to call; throws the refusal.
   */
  claim(ref: SturdyRef, sender: string, also: readonly Write[]): Promise<LocalObject>;
}

/** The letters of one vat: numbering what it writes, ordering and delivering what it receives. */
export function createMailroom(o: MailroomOptions): {
  write(body: { to: string; ref: string; method: string; args?: readonly CborValue[] }): Promise<Letter>;
  receive(text: string): Promise<LetterOutcome[]>;
} {
  const { store, signer } = o;
  // One letter at a time, written or received: a counter read and the write after it never interleave.
  let tail: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<T>): Promise<T> => {
    const run = tail.then(f, f);
    tail = run.catch(() => undefined);
    return run;
  };
  const put = (key: string, value: Uint8Array): Write => ({ op: 'put', collection: LETTERS, key, value });

  const deliver = async (l: Letter): Promise<LetterOutcome> => {
    const advance: Write[] = [
      put(counterKey('in', l.from), encodeCbor(l.seq + 1)),
      { op: 'delete', collection: LETTERS, key: heldKey(l.from, l.seq) },
    ];
    let target: LocalObject;
    try {
      target = await o.claim(parseSturdyRef(l.ref), l.from, advance);
    } catch (e) {
      await store.transact(advance);
      return { from: l.from, seq: l.seq, status: 'refused', error: asDreggError(e) };
    }
    try {
      const result = await invokeLocal(target, l.method, l.args, l.from);
      return { from: l.from, seq: l.seq, status: 'delivered', result: isRef(result) ? null : result };
    } catch (e) {
      return { from: l.from, seq: l.seq, status: 'refused', error: asDreggError(e) };
    }
  };

  const receiveInOrder = async (l: Letter): Promise<LetterOutcome[]> => {
    const next = counter(await store.get(LETTERS, counterKey('in', l.from)));
    if (l.seq < next)
      return [
        {
          from: l.from,
          seq: l.seq,
          status: 'refused',
          error: new DreggError('E_REPLAYED', `Letter ${l.seq} from this sender was already received`),
        },
      ];
    if (l.seq > next + MAX_LETTER_GAP)
      throw new DreggError('E_INVALID', `Letter ${l.seq} is too far ahead of ${next}`);
    if (l.seq > next) {
      await store.transact([put(heldKey(l.from, l.seq), utf8.encode(letterToText(l)))]);
      return [{ from: l.from, seq: l.seq, status: 'held' }];
    }
    const outcomes = [await deliver(l)];
    for (let seq = l.seq + 1; ; seq++) {
      const held = await store.get(LETTERS, heldKey(l.from, seq));
      if (held === undefined) return outcomes;
      outcomes.push(await deliver(letterFromText(utf8.decode(held))));
    }
  };

  return {
    write: (body) =>
      serial(async () => {
        const key = counterKey('out', body.to);
        const seq = counter(await store.get(LETTERS, key));
        const letter = await signLetter(signer, {
          to: body.to,
          ref: body.ref,
          seq,
          method: body.method,
          args: [...(body.args ?? [])],
          at: nowSeconds(o.clock),
        });
        await store.transact([put(key, encodeCbor(seq + 1))]);
        return letter;
      }),
    async receive(text) {
      const letter = letterFromText(text);
      if (letter.to !== signer.did) throw new DreggError('E_AUDIENCE', 'This letter is for another vat');
      await verifyLetter(letter, signer.ed);
      return serial(() => receiveInOrder(letter));
    },
  };
}

/**
 * A small world for inbox tests: a relay's inbox on a manual clock over some `Store`, people with
 * keys, sealed boxes to them, and the client steps (deposit, drain and check, acknowledge).
 */
import { manualClock } from '../../src/clock.ts';
import { ed25519PublicKey, nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { seal, x25519FromEd25519Public } from '../../src/crypto/sealed-box.ts';
import { toHex, utf8 } from '../../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import {
  INBOX_ORIGIN,
  type InboxPoint,
  signAck,
  signDrainRequest,
  type VerifiedDrain,
  verifyDrain,
} from '../../src/inbox/client.ts';
import { INBOX_COLLECTIONS, type Inbox, type InboxLimits, openInbox } from '../../src/inbox/inbox.ts';
import {
  type DepositReceipt,
  type DepositRequest,
  type DrainResponse,
  decodeDepositReceipt,
  decodeDrainResponse,
  encodeDepositReceipt,
  encodeDrainResponse,
  refundClaim,
} from '../../src/inbox/wire.ts';
import type { Store } from '../../src/store/store.ts';

/** 2026-11-20T00:00:00Z, in seconds. */
export const T0 = Date.UTC(2026, 10, 20) / 1000;
export const ed = nobleEd25519;

export interface Person {
  readonly did: string;
  readonly seed: Uint8Array;
  readonly x25519: Uint8Array;
}

export function person(i: number): Person {
  const seed = new Uint8Array(32).fill(i);
  const publicKey = ed25519PublicKey(seed);
  return { did: didKeyFromEd25519(publicKey), seed, x25519: x25519FromEd25519Public(publicKey) };
}

export const relaySeed = new Uint8Array(32).fill(100);
export const alice = person(1);
export const bob = person(2);
export const carol = person(3);
export const eve = person(4);

/** A reopenable place for a store: each `open` after a `close` sees what was committed before. */
export interface StoreLocation {
  open(): Promise<Store>;
}

export interface World {
  readonly store: Store;
  readonly inbox: Inbox;
  readonly clock: ReturnType<typeof manualClock>;
  /** Closes the store and opens the inbox again on the same location (a restart). */
  restart(): Promise<World>;
}

export async function world(
  location: StoreLocation,
  limits: Partial<InboxLimits> = {},
  clock = manualClock(T0 * 1000),
): Promise<World> {
  const store = await location.open();
  const inbox = await openInbox({ store, clock, ed, seed: relaySeed, limits });
  return {
    store,
    inbox,
    clock,
    async restart() {
      await store.close();
      return world(location, limits, clock);
    },
  };
}

let keys = 0;

/** A deposit request for `to` of a real sealed box holding `text`; a fresh idempotency key each time. */
export function request(to: Person, text: string, extra: Partial<DepositRequest> = {}): DepositRequest {
  const deposit = extra.deposit ?? 0n;
  const key = new Uint8Array(16);
  new DataView(key.buffer).setUint32(0, ++keys);
  return {
    recipient: to.did,
    ciphertext: seal(to.x25519, utf8.encode(text)),
    ttl: 3600,
    deposit,
    ...(deposit > 0n ? { refund: refundClaim(utf8.encode(`refund secret of ${text}!`)) } : {}),
    idempotencyKey: key,
    ...extra,
  };
}

/** Deposits, with the receipt passed through its wire form as a sender would receive it. */
export async function deposit(w: World, req: DepositRequest): Promise<DepositReceipt> {
  return decodeDepositReceipt(encodeDepositReceipt(await w.inbox.deposit(req)));
}

/** Challenge, sign, drain: the response as the recipient receives it (through the wire form). */
export async function drainResponse(
  w: Pick<World, 'inbox'>,
  who: Person,
  limit?: number,
): Promise<DrainResponse> {
  const challenge = await w.inbox.challenge(who.did);
  const res = await w.inbox.drain(await signDrainRequest(challenge, who.seed, ed, limit));
  return decodeDrainResponse(encodeDrainResponse(res));
}

export async function drain(
  w: Pick<World, 'inbox'>,
  who: Person,
  acked: InboxPoint = INBOX_ORIGIN,
  limit?: number,
): Promise<VerifiedDrain> {
  return verifyDrain(await drainResponse(w, who, limit), {
    ed,
    relay: w.inbox.relay,
    recipient: who.did,
    acked,
  });
}

export async function ack(w: Pick<World, 'inbox'>, who: Person, point: InboxPoint) {
  return w.inbox.ack(await signAck(w.inbox.relay, who.did, point, who.seed, ed));
}

/** Everything the inbox keeps, as hex, for "nothing changed" checks. */
export async function snapshot(store: Store): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const c of INBOX_COLLECTIONS) {
    out[c] = {};
    for (const { key, value } of await store.list(c)) out[c][key] = toHex(value);
  }
  return out;
}

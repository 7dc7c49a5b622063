/**
 * The light node's inbox at its relay. A sender seals a capability's text to the recipient's key
 * (X25519 from their did:key) and deposits the box; the recipient drains its inbox, checks the relay's
 * answer against its own acknowledged history, opens each box here in the worker (the keys never
 * leave it) and keeps what it read in IndexedDB, because a drain is acknowledged at once and the relay
 * then forgets the payload. Accepting a message is the same check as accepting a scanned QR.
 *
 * An inbox reference (`ccinbox:1/<relay>/<recipient>/<seq>/<ciphertext hash>`) names one deposited
 * message: what a QR carries when the capability itself is too long for a QR that reads reliably.
 * Scanning it drains the inbox and shows that message; the hash makes sure it is the one meant.
 */
import {
  type Agent,
  DreggError,
  ed25519FromDidKey,
  inbox,
  inspect,
  isDreggError,
  openSealed,
  type Store,
  seal,
  toHex,
  x25519FromEd25519Public,
} from '@cipherclerk/core';
import type { RelayClient } from '@cipherclerk/core/net';
import type { InboxMessageView, MessageState, WireError } from './api.ts';
import { errorToWire } from './errors.ts';

export const INBOX_COLLECTIONS = ['inbox', 'relays'] as const;

/** How long a deposited capability waits for its recipient (seconds). */
export const INBOX_TTL = 7 * 24 * 3600;

/** What the node remembers about one relay: its inbox history and its revocation log place. */
export interface RelayMemory {
  readonly inbox: { readonly height: number; readonly root: string };
  readonly revocations: number;
}

export interface InboxReference {
  readonly relay: string;
  readonly recipient: string;
  readonly seq: number;
  /** Hex of the message's ciphertext hash. */
  readonly hash: string;
}

const REFERENCE =
  /^ccinbox:1\/(did:key:z[1-9A-HJ-NP-Za-km-z]+)\/(did:key:z[1-9A-HJ-NP-Za-km-z]+)\/(\d{1,15})\/([0-9a-f]{64})$/;

export const referenceToText = (r: InboxReference): string =>
  `ccinbox:1/${r.relay}/${r.recipient}/${r.seq}/${r.hash}`;

export const isReferenceText = (text: string): boolean => text.trim().startsWith('ccinbox:');

/** `E_DECODE` for anything that is not exactly a reference to an Ed25519 recipient at a relay. */
export function referenceFromText(text: string): InboxReference {
  const m = REFERENCE.exec(text.trim());
  if (m === null) throw new DreggError('E_DECODE', 'That is not an inbox reference this app can read');
  for (const did of [m[1]!, m[2]!]) {
    try {
      ed25519FromDidKey(did);
    } catch {
      throw new DreggError('E_DECODE', 'The inbox reference names a key that is not an Ed25519 did:key');
    }
  }
  return { relay: m[1]!, recipient: m[2]!, seq: Number(m[3]), hash: m[4]! };
}

const unhex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
const encoder = new TextEncoder();
const json = (v: unknown): Uint8Array => encoder.encode(JSON.stringify(v));
const messageKey = (relay: string, seq: number) => `${relay}/${String(seq).padStart(12, '0')}`;

/** Seals `text` to `recipient` and deposits it; returns the reference to the message. */
export async function deposit(client: RelayClient, recipient: string, text: string): Promise<InboxReference> {
  let key: Uint8Array;
  try {
    key = ed25519FromDidKey(recipient);
  } catch {
    throw new DreggError('E_ARGUMENT', 'The recipient must be an Ed25519 did:key');
  }
  const ciphertext = seal(x25519FromEd25519Public(key), encoder.encode(text));
  const receipt = await client.deposit({
    recipient,
    ciphertext,
    ttl: INBOX_TTL,
    deposit: 0n,
    idempotencyKey: crypto.getRandomValues(new Uint8Array(16)),
  });
  return {
    relay: client.info.relay,
    recipient,
    seq: receipt.seq,
    hash: toHex(inbox.ciphertextHash(ciphertext)),
  };
}

interface StoredMessage {
  readonly relay: string;
  readonly seq: number;
  readonly at: number;
  readonly size: number;
  readonly hash: string;
  readonly state: MessageState;
  /** The opened text, or why the box could not be read. */
  readonly text?: string;
  readonly error?: WireError;
}

/** A message as the page sees it: what it is, decoded for display (nothing is trusted yet). */
export function messageView(m: StoredMessage): InboxMessageView {
  const base = {
    id: messageKey(m.relay, m.seq),
    relay: m.relay,
    seq: m.seq,
    at: m.at,
    size: m.size,
    state: m.state,
  };
  if (m.text === undefined) return { ...base, kind: 'unreadable', error: m.error! };
  try {
    const inspection = inspect(m.text);
    return { ...base, kind: inspection.kind, text: m.text, inspection };
  } catch (e) {
    return { ...base, kind: 'unreadable', error: errorToWire(e) };
  }
}

/** Opens one box: anyone can deposit anything in anyone's inbox, so a failure is recorded, not thrown. */
function open(agent: Agent, relay: string, m: inbox.InboxMessage): StoredMessage {
  const base = {
    relay,
    seq: m.seq,
    at: m.at,
    size: m.size,
    hash: toHex(m.ciphertextHash),
    state: 'new' as const,
  };
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(
      openSealed(agent.identity.x25519.secretKey, m.ciphertext!),
    );
    return { ...base, text };
  } catch {
    return {
      ...base,
      error: { code: 'E_DECODE', message: 'This message is not a sealed box for you, or is not text' },
    };
  }
}

export async function readMemory(store: Store, relay: string): Promise<RelayMemory> {
  const bytes = await store.get('relays', relay);
  const origin = { inbox: { height: 0, root: toHex(inbox.INBOX_ORIGIN.root) }, revocations: 0 };
  if (bytes === undefined) return origin;
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as RelayMemory;
    if (
      Number.isSafeInteger(v.inbox.height) &&
      /^[0-9a-f]{64}$/.test(v.inbox.root) &&
      Number.isSafeInteger(v.revocations)
    )
      return v;
  } catch {
    // falls through
  }
  throw new DreggError('E_INVALID', 'What this browser remembers about the relay is malformed');
}

export async function writeMemory(store: Store, relay: string, memory: RelayMemory): Promise<void> {
  await store.transact([{ op: 'put', collection: 'relays', key: relay, value: json(memory) }]);
}

export interface DrainResult {
  readonly fresh: number;
  readonly expired: number;
}

/**
 * Drains every page of this agent's inbox at the relay, keeping each opened message and the new
 * acknowledged point together (one transaction per page), so a crash between pages loses nothing.
 * `progress` hears the count so far.
 */
export async function drainAll(
  store: Store,
  client: RelayClient,
  agent: Agent,
  progress?: (drained: number) => void,
): Promise<DrainResult> {
  const relay = client.info.relay;
  let fresh = 0;
  let expired = 0;
  for (;;) {
    const memory = await readMemory(store, relay);
    const acked = { height: memory.inbox.height, root: unhex(memory.inbox.root) };
    const page = await client.drain({ did: agent.did, seed: agent.identity.seed, acked });
    const kept = page.delivered.map((m) => open(agent, relay, m));
    await store.transact([
      ...kept.map((m) => ({
        op: 'put' as const,
        collection: 'inbox',
        key: messageKey(relay, m.seq),
        value: json(m),
      })),
      {
        op: 'put',
        collection: 'relays',
        key: relay,
        value: json({ ...memory, inbox: { height: page.head.height, root: toHex(page.head.root) } }),
      },
    ]);
    fresh += kept.length;
    expired += page.expired.length;
    progress?.(fresh);
    if (!page.more) return { fresh, expired };
  }
}

async function readMessage(store: Store, id: string): Promise<StoredMessage> {
  const bytes = await store.get('inbox', id);
  if (bytes === undefined) throw new DreggError('E_NOT_FOUND', 'There is no such message in your inbox');
  return JSON.parse(new TextDecoder().decode(bytes)) as StoredMessage;
}

export async function listMessages(store: Store): Promise<InboxMessageView[]> {
  const entries = await store.list('inbox');
  return entries
    .map((e) => messageView(JSON.parse(new TextDecoder().decode(e.value)) as StoredMessage))
    .sort((a, b) => b.at - a.at || b.seq - a.seq);
}

export async function message(store: Store, id: string): Promise<InboxMessageView> {
  return messageView(await readMessage(store, id));
}

export async function setState(store: Store, id: string, state: MessageState): Promise<InboxMessageView> {
  const m = { ...(await readMessage(store, id)), state };
  await store.transact([{ op: 'put', collection: 'inbox', key: id, value: json(m) }]);
  return messageView(m);
}

/** The message a reference names, once drained; `E_NOT_FOUND` if it has not arrived (or is another). */
export async function referenced(store: Store, r: InboxReference): Promise<InboxMessageView> {
  const m = await readMessage(store, messageKey(r.relay, r.seq)).catch((e) => {
    if (isDreggError(e, 'E_NOT_FOUND'))
      throw new DreggError('E_NOT_FOUND', `Message ${r.seq} has not reached your inbox at this relay`);
    throw e;
  });
  if (m.hash !== r.hash)
    throw new DreggError('E_INVALID', `Message ${r.seq} in your inbox is not the one this reference names`);
  return messageView(m);
}

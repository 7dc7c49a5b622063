/**
 * What the light node keeps in the browser, in a `Store` (IndexedDB through core's backend):
 * the keyring sealed under the unlock passphrase, the agent's public state, and the node's settings.
 * Nothing here is secret in the clear: the keyring is XChaCha20-Poly1305 under scrypt (core at-rest);
 * the pledges of approved rings are sealed boxes to the agent's own key (pledges.ts).
 */
import { type AgentState, DreggError, type LockedAgent, parseState, type Store } from '@cipherclerk/core';

import { CELL_COLLECTIONS } from './cells.ts';
import { INBOX_COLLECTIONS } from './inbox.ts';
import { PLEDGE_COLLECTIONS } from './pledges.ts';
import { PROOF_COLLECTIONS } from './proving.ts';

export const COLLECTIONS = [
  'vault',
  'settings',
  ...INBOX_COLLECTIONS,
  ...CELL_COLLECTIONS,
  ...PROOF_COLLECTIONS,
  ...PLEDGE_COLLECTIONS,
] as const;

export interface Settings {
  readonly autoLockMinutes: number;
  /** The relay multiaddrs the person configured; the node dials nothing else. */
  readonly relays: readonly string[];
}

export const DEFAULT_SETTINGS: Settings = { autoLockMinutes: 5, relays: [] };

const text = new TextEncoder();
const json = (v: unknown): Uint8Array => text.encode(JSON.stringify(v));

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (e) {
    throw new DreggError('E_DECODE', `The stored ${what} is not readable JSON`, { cause: e });
  }
}

export async function readLocked(store: Store): Promise<LockedAgent | undefined> {
  const [keyring, state] = await Promise.all([store.get('vault', 'keyring'), store.get('vault', 'state')]);
  if (keyring === undefined || state === undefined) return undefined;
  return { keyring, state: parseState(parseJson(state, 'agent state')) };
}

/** Writes the sealed keyring (when it changed) and the state in one transaction. */
export async function writeLocked(store: Store, state: AgentState, keyring?: Uint8Array): Promise<void> {
  await store.transact([
    ...(keyring === undefined
      ? []
      : [{ op: 'put' as const, collection: 'vault', key: 'keyring', value: keyring }]),
    { op: 'put', collection: 'vault', key: 'state', value: json(state) },
  ]);
}

export async function readSettings(store: Store): Promise<Settings> {
  const bytes = await store.get('settings', 'node');
  if (bytes === undefined) return DEFAULT_SETTINGS;
  const v = parseJson(bytes, 'settings');
  const ok =
    typeof v === 'object' &&
    v !== null &&
    Number.isFinite((v as Settings).autoLockMinutes) &&
    Array.isArray((v as Settings).relays) &&
    (v as Settings).relays.every((r) => typeof r === 'string');
  if (!ok) throw new DreggError('E_INVALID', 'The stored settings are malformed');
  return v as Settings;
}

export async function writeSettings(store: Store, settings: Settings): Promise<void> {
  await store.transact([{ op: 'put', collection: 'settings', key: 'node', value: json(settings) }]);
}

/**
 * The background's durable state, all of it in `chrome.storage.local`: an MV3 service worker may be
 * stopped between any two messages (PITFALLS 23), so nothing that matters lives only in a variable.
 * Pending requests carry the nonce their approval must quote; grants are kept per site; a short log
 * of what sites did feeds the popup.
 */
import type { WireError } from '@cipherclerk/worker/node/api';
import { browser } from '../browser.ts';
import type { Ask, Granted } from '../protocol.ts';

export interface Pending {
  readonly id: string;
  readonly origin: string;
  readonly ask: Ask;
  /** Minted here; a decision must quote it, once. */
  readonly nonce: string;
  /** Unix ms. */
  readonly at: number;
  readonly window?: number;
  /** Set once decided; the site collects it with `awaitRequest`, which removes the record. */
  readonly outcome?: { readonly granted: Granted } | { readonly error: WireError };
}

/** A grant as the background keeps it: what the site got, and the delegation's hash (for revoke). */
export interface SiteGrant extends Granted {
  readonly hash: string;
  readonly from: string;
  /** Unix ms. */
  readonly at: number;
}

export interface Site {
  readonly origin: string;
  readonly did: string;
  /** Tabs that connected, for events. */
  readonly tabs: readonly number[];
  readonly grants: readonly SiteGrant[];
}

export interface Activity {
  readonly at: number;
  readonly origin: string;
  readonly what: string;
}

const ACTIVITY_KEPT = 50;
const store = browser.storage.local;

export async function getPending(id: string): Promise<Pending | undefined> {
  return (await store.get(`pending/${id}`))[`pending/${id}`] as Pending | undefined;
}

export async function putPending(p: Pending): Promise<void> {
  await store.set({ [`pending/${p.id}`]: p });
}

export async function removePending(id: string): Promise<void> {
  await store.remove(`pending/${id}`);
}

export async function allPending(): Promise<Pending[]> {
  const all = await store.get(null);
  return Object.entries(all)
    .filter(([k]) => k.startsWith('pending/'))
    .map(([, v]) => v as Pending)
    .sort((a, b) => a.at - b.at);
}

export async function getSite(origin: string): Promise<Site | undefined> {
  return (await store.get(`site/${origin}`))[`site/${origin}`] as Site | undefined;
}

export async function putSite(s: Site): Promise<void> {
  await store.set({ [`site/${s.origin}`]: s });
}

export async function removeSite(origin: string): Promise<void> {
  await store.remove(`site/${origin}`);
}

export async function allSites(): Promise<Site[]> {
  const all = await store.get(null);
  return Object.entries(all)
    .filter(([k]) => k.startsWith('site/'))
    .map(([, v]) => v as Site)
    .sort((a, b) => a.origin.localeCompare(b.origin));
}

export async function activity(): Promise<Activity[]> {
  return ((await store.get('activity')).activity as Activity[] | undefined) ?? [];
}

export async function log(origin: string, what: string): Promise<void> {
  const kept = await activity();
  await store.set({ activity: [{ at: Date.now(), origin, what }, ...kept].slice(0, ACTIVITY_KEPT) });
}

let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `work` after every earlier one: read-modify-write of storage must not interleave (a decision
 * racing a second copy of itself, say). A stopped worker loses the queue, not the state.
 */
export function serial<T>(work: () => Promise<T>): Promise<T> {
  const run = queue.then(work);
  queue = run.catch(() => undefined);
  return run;
}

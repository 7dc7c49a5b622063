/**
 * What a web page may do, decided here from the origin the browser reports for the message's sender
 * (never from the message). Every call re-checks that the node is unlocked and, for `invoke`, that
 * this origin holds the grant it names, unexpired, and that the request is inside it.
 */
import { DreggError, toHex } from '@cipherclerk/core';
import { browser, type Sender } from '../browser.ts';
import { isRecord, SITE_METHODS, type SiteMethod } from '../protocol.ts';
import { checkAsk } from './approve.ts';
import { node } from './node.ts';
import {
  getPending,
  getSite,
  log,
  type Pending,
  putPending,
  putSite,
  removePending,
  removeSite,
  serial,
} from './state.ts';

/** A request nobody decided within this long is refused. */
export const REQUEST_TIMEOUT_MS = 10 * 60_000;
export const APPROVAL_PAGE = 'approval/approval.html';

export const randomId = (bytes: number): string => toHex(crypto.getRandomValues(new Uint8Array(bytes)));

/** The web origin of a message from a content script in a tab, as the browser reports it. */
export function siteOrigin(sender: Sender): { origin: string; tab: number } {
  const tab = sender.tab?.id;
  if (sender.id !== browser.runtime.id || tab === undefined || sender.frameId !== 0)
    throw new DreggError('E_DENIED', 'Only a page in a tab may call window.cipherclerk');
  const origin = sender.origin ?? (sender.url === undefined ? undefined : new URL(sender.url).origin);
  if (origin === undefined || !/^https?:\/\/[^/]+$/.test(origin))
    throw new DreggError('E_DENIED', 'Only http and https pages may call window.cipherclerk');
  return { origin, tab };
}

async function unlocked(): Promise<void> {
  const { status } = await node('overview');
  if (status !== 'unlocked') throw new DreggError('E_LOCKED', 'The cipherclerk wallet is locked');
}

async function connected(origin: string) {
  const site = await getSite(origin);
  if (site === undefined) throw new DreggError('E_DENIED', 'Call connect() first');
  return site;
}

async function connect(origin: string, tab: number) {
  await unlocked();
  // The node allocates the session account; the DID is derived, so asking again gives the same one.
  const { did } = await node('siteSession', origin);
  return serial(async () => {
    const site = await getSite(origin);
    const tabs = [...new Set([...(site?.tabs ?? []), tab])].slice(-16);
    await putSite({ origin, did, tabs, grants: site?.did === did ? site.grants : [] });
    if (site === undefined) await log(origin, 'connected');
    return { did };
  });
}

async function requestCapability(origin: string, params: unknown) {
  await unlocked();
  await connected(origin);
  const ask = checkAsk(params);
  const pending: Pending = { id: randomId(16), origin, ask, nonce: randomId(32), at: Date.now() };
  await putPending(pending);
  const win = await browser.windows.create({
    url: browser.runtime.getURL(`${APPROVAL_PAGE}?request=${pending.id}`),
    type: 'popup',
    width: 420,
    height: 640,
  });
  await serial(async () => {
    const now = await getPending(pending.id);
    if (now && win.id !== undefined) await putPending({ ...now, window: win.id });
  });
  await log(origin, `asked for ${ask.actions.join(', ')} on ${ask.service}`);
  return { request: pending.id };
}

/** The site collects its request's outcome (its own requests only); pending until decided. */
async function awaitRequest(origin: string, params: unknown) {
  const id = isRecord(params) ? params.request : undefined;
  if (typeof id !== 'string') throw new DreggError('E_ARGUMENT', 'awaitRequest takes {request}');
  return serial(async () => {
    const p = await getPending(id);
    if (p === undefined || p.origin !== origin) throw new DreggError('E_NOT_FOUND', 'No such request');
    if (p.outcome === undefined) {
      if (Date.now() - p.at < REQUEST_TIMEOUT_MS) return { state: 'pending' as const };
      await removePending(id);
      throw new DreggError('E_EXPIRED', 'Nobody answered the request in time');
    }
    await removePending(id);
    if ('error' in p.outcome) throw new DreggError(p.outcome.error.code, p.outcome.error.message);
    return { state: 'granted' as const, granted: p.outcome.granted };
  });
}

async function invoke(origin: string, params: unknown) {
  await unlocked();
  const site = await connected(origin);
  if (!isRecord(params) || typeof params.handle !== 'string')
    throw new DreggError('E_ARGUMENT', 'invoke takes (handle, request)');
  const grant = site.grants.find((g) => g.handle === params.handle);
  if (grant === undefined) throw new DreggError('E_NOT_FOUND', 'This site holds no grant with that handle');
  const request = isRecord(params.request) ? params.request : {};
  if (grant.expiry * 1000 <= Date.now()) throw new DreggError('E_EXPIRED', 'This grant has expired');
  if (request.service !== grant.service || !grant.actions.includes(String(request.action)))
    throw new DreggError('E_DENIED', 'The request is outside what this site was granted');
  const invocation = await node('invokeForSite', origin, grant.delegation, {
    service: grant.service,
    action: String(request.action),
    cost: (request.cost ?? 0) as number,
  });
  await log(origin, `signed ${invocation.action} on ${invocation.service} (cost ${invocation.cost})`);
  return invocation;
}

/** Revokes every grant the site holds and forgets its session DID. */
export async function revokeSite(origin: string): Promise<{ revoked: number }> {
  await unlocked();
  return serial(async () => {
    const site = await getSite(origin);
    for (const g of site?.grants ?? []) await node('revoke', g.hash);
    await node('forgetSite', origin);
    await removeSite(origin);
    await log(origin, 'all grants revoked');
    for (const tab of site?.tabs ?? [])
      browser.tabs
        .sendMessage(tab, { kind: 'event', origin, event: { type: 'revoked' } })
        .catch(() => undefined);
    return { revoked: site?.grants.length ?? 0 };
  });
}

export async function siteCall(method: unknown, params: unknown, sender: Sender): Promise<unknown> {
  const { origin, tab } = siteOrigin(sender);
  if (!SITE_METHODS.includes(method as SiteMethod))
    throw new DreggError('E_DENIED', 'A page may not call that');
  switch (method as SiteMethod) {
    case 'connect':
      return connect(origin, tab);
    case 'requestCapability':
      return requestCapability(origin, params);
    case 'awaitRequest':
      return awaitRequest(origin, params);
    case 'invoke':
      return invoke(origin, params);
    case 'revokeSite':
      return revokeSite(origin);
  }
}

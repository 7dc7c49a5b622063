/**
 * What the extension's own pages (popup, approval window) may ask of the background. The sender must
 * be a page of this extension; approval decisions only from the approval page, quoting the nonce the
 * background minted for that request, once.
 */
import { DreggError } from '@cipherclerk/core';
import { browser, type Sender } from '../browser.ts';
import { type Granted, isRecord } from '../protocol.ts';
import { checkGrant } from './approve.ts';
import { node } from './node.ts';
import { APPROVAL_PAGE, REQUEST_TIMEOUT_MS, randomId, revokeSite } from './site.ts';
import {
  activity,
  allPending,
  allSites,
  getPending,
  getSite,
  log,
  putPending,
  putSite,
  serial,
} from './state.ts';

/** Light node methods the popup uses as they are. */
const NODE_METHODS = [
  'overview',
  'create',
  'confirm',
  'restore',
  'unlock',
  'identity',
  'capabilities',
  'accept',
  'inspect',
  'setAutoLock',
  'touch',
] as const;
type NodeMethod = (typeof NODE_METHODS)[number];

function fromExtensionPage(sender: Sender, page = ''): void {
  const url = sender.url ?? '';
  if (sender.id !== browser.runtime.id || !url.startsWith(browser.runtime.getURL(page)))
    throw new DreggError('E_DENIED', 'Only the extension’s own pages may do that');
}

function text(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 512)
    throw new DreggError('E_ARGUMENT', `Expected ${what}`);
  return v;
}

async function tellSites(event: { type: string }): Promise<void> {
  for (const site of await allSites())
    for (const tab of site.tabs)
      browser.tabs.sendMessage(tab, { kind: 'event', origin: site.origin, event }).catch(() => undefined);
}

async function decide(params: Record<string, unknown>): Promise<{ decided: 'granted' | 'denied' }> {
  const id = text(params.request, 'a request id');
  const nonce = text(params.nonce, 'the request’s nonce');
  return serial(async () => {
    const p = await getPending(id);
    if (p === undefined) throw new DreggError('E_NOT_FOUND', 'No such request (already collected?)');
    if (p.outcome !== undefined) throw new DreggError('E_REPLAYED', 'This request was already decided');
    if (p.nonce !== nonce)
      throw new DreggError('E_DENIED', 'This decision does not quote the request’s nonce');
    if (Date.now() - p.at > REQUEST_TIMEOUT_MS) throw new DreggError('E_EXPIRED', 'The request timed out');
    if (params.approve !== true) {
      await putPending({ ...p, outcome: { error: { code: 'E_DENIED', message: 'The person declined' } } });
      await log(p.origin, `declined: ${p.ask.actions.join(', ')} on ${p.ask.service}`);
      return { decided: 'denied' };
    }
    const grant = checkGrant(p.ask, params.grant, Math.floor(Date.now() / 1000));
    const site = await getSite(p.origin);
    const { did } = await node('siteSession', p.origin);
    if (site === undefined || site.did !== did)
      throw new DreggError('E_NOT_FOUND', 'The site disconnected meanwhile');
    const d = await node('delegate', {
      from: grant.from,
      recipient: did,
      services: [p.ask.service],
      actions: grant.actions,
      ...(grant.budget === undefined ? {} : { budget: grant.budget }),
      ttl: grant.ttl,
    });
    const granted: Granted = {
      handle: randomId(16),
      delegation: d.text,
      did,
      service: p.ask.service,
      actions: grant.actions,
      budget: d.inspection.effective.budget,
      expiry: d.inspection.effective.expiry!,
    };
    await putSite({
      ...site,
      grants: [...site.grants, { ...granted, hash: d.hash, from: grant.from, at: Date.now() }],
    });
    await putPending({ ...p, outcome: { granted } });
    await log(
      p.origin,
      `granted ${grant.actions.join(', ')} on ${p.ask.service}${grant.budget ? `, budget ${grant.budget}` : ''}`,
    );
    return { decided: 'granted' };
  });
}

async function revokeGrant(params: Record<string, unknown>) {
  const origin = text(params.origin, 'a site');
  const handle = text(params.handle, 'a grant handle');
  return serial(async () => {
    const site = await getSite(origin);
    const grant = site?.grants.find((g) => g.handle === handle);
    if (site === undefined || grant === undefined) throw new DreggError('E_NOT_FOUND', 'No such grant');
    await node('revoke', grant.hash);
    await putSite({ ...site, grants: site.grants.filter((g) => g !== grant) });
    await log(origin, `grant revoked: ${grant.actions.join(', ')} on ${grant.service}`);
    return { revoked: 1 };
  });
}

export async function uiCall(method: unknown, params: unknown, sender: Sender): Promise<unknown> {
  fromExtensionPage(sender);
  const args = Array.isArray(params) ? params : [];
  if (NODE_METHODS.includes(method as NodeMethod)) {
    const f = node as (m: string, ...a: unknown[]) => Promise<unknown>;
    return f(method as string, ...args);
  }
  const p = isRecord(params) ? params : {};
  switch (method) {
    case 'lock': {
      const overview = await node('lock');
      await tellSites({ type: 'locked' });
      return overview;
    }
    case 'pending':
      return (await allPending()).filter((r) => r.outcome === undefined).map(({ nonce: _, ...r }) => r);
    case 'approvalRequest': {
      fromExtensionPage(sender, APPROVAL_PAGE);
      const r = await getPending(text(p.request, 'a request id'));
      if (r === undefined || r.outcome !== undefined) throw new DreggError('E_NOT_FOUND', 'No open request');
      return r;
    }
    case 'decide':
      fromExtensionPage(sender, APPROVAL_PAGE);
      return decide(p);
    case 'sites':
      return allSites();
    case 'activity':
      return activity();
    case 'revokeGrant':
      return revokeGrant(p);
    case 'revokeSite':
      return revokeSite(text(p.origin, 'a site'));
    default:
      throw new DreggError('E_UNSUPPORTED', `No method ${String(method)}`);
  }
}

/** The person closed the approval window without deciding: the site hears "declined". */
export async function windowClosed(windowId: number): Promise<void> {
  await serial(async () => {
    for (const p of await allPending())
      if (p.window === windowId && p.outcome === undefined)
        await putPending({
          ...p,
          outcome: { error: { code: 'E_DENIED', message: 'The approval window was closed' } },
        });
  });
}

/**
 * Per-site session identities for the browser extension. Each web origin that connects gets its own
 * did:key, derived from the person's words at an account number of its own (SLIP-0010, hardened: a
 * site's DID says nothing about the person's DID or about other sites' DIDs). Nothing secret is
 * stored: only which account an origin uses, so the same site sees the same session DID after a
 * restart, and a fresh one after `forgetSite`.
 */
import { type Agent, DreggError, type Identity, identityFromMnemonic, type Store } from '@cipherclerk/core';

/** Site accounts start far above the ones a person picks for their own identities (0, 1, 2, ...). */
export const FIRST_SITE_ACCOUNT = 2 ** 30;
const MAX_ORIGIN = 512;

const text = new TextEncoder();
const json = (v: unknown): Uint8Array => text.encode(JSON.stringify(v));
const parse = (b: Uint8Array): unknown => JSON.parse(new TextDecoder().decode(b));

/** A web origin as the browser serializes it: scheme, host, optional port; nothing else. */
export function checkOrigin(origin: unknown): string {
  if (typeof origin !== 'string' || origin.length > MAX_ORIGIN)
    throw new DreggError('E_ARGUMENT', 'A site is named by its origin');
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw new DreggError('E_ARGUMENT', 'A site is named by its origin');
  }
  if (url.origin !== origin || !['http:', 'https:'].includes(url.protocol))
    throw new DreggError('E_ARGUMENT', `Not a web origin: ${origin}`);
  return origin;
}

async function readAccount(store: Store, origin: string): Promise<number | undefined> {
  const b = await store.get('settings', `site:${origin}`);
  if (b === undefined) return undefined;
  const v = parse(b) as { account?: unknown };
  if (!Number.isSafeInteger(v.account)) throw new DreggError('E_INVALID', 'A stored site entry is malformed');
  return v.account as number;
}

/** The account `origin` uses, allocating the next free one on its first connect. */
async function accountOf(store: Store, origin: string): Promise<number> {
  const known = await readAccount(store, origin);
  if (known !== undefined) return known;
  const counter = await store.get('settings', 'sites');
  const next = counter === undefined ? FIRST_SITE_ACCOUNT : (parse(counter) as { next: number }).next;
  if (!Number.isSafeInteger(next) || next < FIRST_SITE_ACCOUNT || next >= 2 ** 31)
    throw new DreggError('E_INVALID', 'The stored site counter is malformed or used up');
  await store.transact([
    { op: 'put', collection: 'settings', key: 'sites', value: json({ next: next + 1 }) },
    { op: 'put', collection: 'settings', key: `site:${origin}`, value: json({ account: next }) },
  ]);
  return next;
}

/** The session identities derived while unlocked; wiped with the agent when the node locks. */
export function siteSessions(store: Store) {
  const cache = new Map<string, Identity>();
  return {
    async identity(agent: Agent, origin: string): Promise<Identity> {
      const o = checkOrigin(origin);
      const cached = cache.get(o);
      if (cached) return cached;
      const id = identityFromMnemonic(agent.secrets.mnemonic, {
        bip39Passphrase: agent.secrets.bip39Passphrase,
        account: await accountOf(store, o),
      });
      cache.set(o, id);
      return id;
    },
    /** The next connect from `origin` gets a new account, so a new DID nobody holds anything for. */
    async forget(origin: string): Promise<void> {
      const o = checkOrigin(origin);
      const id = cache.get(o);
      if (id) wipeIdentity(id);
      cache.delete(o);
      await store.transact([{ op: 'delete', collection: 'settings', key: `site:${o}` }]);
    },
    wipe(): void {
      for (const id of cache.values()) wipeIdentity(id);
      cache.clear();
    },
  };
}

function wipeIdentity(id: Identity): void {
  id.seed.fill(0);
  id.x25519.secretKey.fill(0);
}

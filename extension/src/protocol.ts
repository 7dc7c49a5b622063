/**
 * The messages between the parts of the extension. Every hop answers `Answer`: a result, or a
 * `WireError` (a `DreggError`'s code and sentence) — the same shape the light node's worker uses.
 *
 *   page (provider, MAIN world) --window.postMessage--> content script (ISOLATED world)
 *     --runtime.sendMessage {kind: 'site'}--> background --{kind: 'node'}--> offscreen -> worker
 *   popup / approval window --runtime.sendMessage {kind: 'ui'}--> background
 *
 * The content script forwards whatever the page says, unchanged: the background decides everything
 * from `sender` (which the browser fills in), never from a field of the message.
 */
import { DreggError, type ErrorCode, isDreggError } from '@cipherclerk/core';
import type { WireError } from '@cipherclerk/worker/node/api';
import { browser, type Sender } from './browser.ts';

/** What the page may call (`window.cipherclerk`); anything else is refused by the background. */
export const SITE_METHODS = ['connect', 'requestCapability', 'awaitRequest', 'invoke', 'revokeSite'] as const;
export type SiteMethod = (typeof SITE_METHODS)[number];

/** What a site asks for. */
export interface Ask {
  readonly service: string;
  readonly actions: readonly string[];
  /** Units; none means the site asks for no budget limit of its own. */
  readonly budget?: number;
  /** Seconds. */
  readonly ttl: number;
  readonly reason?: string;
}

/** What the person grants: never more than the ask, checked with core's lattice in the background. */
export interface Grant {
  /** The capability it is delegated from: a minted token id or a held delegation hash. */
  readonly from: string;
  readonly actions: readonly string[];
  readonly budget?: number;
  readonly ttl: number;
}

/** What the site receives once the person approved. */
export interface Granted {
  readonly handle: string;
  /** The delegation (`ccdel_…`) bound to the site's session DID. */
  readonly delegation: string;
  readonly did: string;
  readonly service: string;
  readonly actions: readonly string[];
  readonly budget: number | null;
  readonly expiry: number;
}

export type Answer =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: WireError };

export function wire(e: unknown): WireError {
  if (isDreggError(e)) return { code: e.code, message: e.message };
  console.error('cipherclerk extension:', e);
  return { code: 'E_INTERNAL', message: 'The extension failed unexpectedly' };
}

export function unwire(answer: unknown): unknown {
  const a = answer as Answer | undefined;
  if (a?.ok === true) return a.result;
  if (a?.ok === false && typeof a.error?.code === 'string')
    throw new DreggError(a.error.code as ErrorCode, String(a.error.message));
  throw new DreggError('E_UNREACHABLE', 'The extension did not answer');
}

/**
 * Listens for runtime messages; `handle` returns undefined for messages that are not for this part
 * (another listener answers them), else the answer's promise. Failures cross as `WireError`.
 */
export function serve(handle: (message: unknown, sender: Sender) => Promise<unknown> | undefined): void {
  browser.runtime.onMessage.addListener((message, sender, respond) => {
    const running = handle(message, sender);
    if (running === undefined) return false;
    running.then(
      (result) => respond({ ok: true, result } satisfies Answer),
      (e) => respond({ ok: false, error: wire(e) } satisfies Answer),
    );
    return true;
  });
}

/** Sends to the background (or offscreen) and unwraps the answer. */
export async function ask(message: unknown): Promise<unknown> {
  return unwire(await browser.runtime.sendMessage(message));
}

export const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

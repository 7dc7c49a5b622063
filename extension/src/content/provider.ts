/**
 * `window.cipherclerk`, injected into the page's own world. It only turns calls into messages for the
 * content script and answers back into promises; it holds nothing secret (there is nothing secret in
 * this world to hold). The object is frozen and the property can be neither replaced nor deleted.
 */
import { PAGE_CHANNEL } from '../channel.ts';

type Answer = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };
type Listener = (event: unknown) => void;

/** How often a site's pending request is asked about while the person decides. */
const POLL_MS = 250;

const waiting = new Map<number, (a: Answer) => void>();
const listeners = new Set<Listener>();
let next = 1;

window.addEventListener('message', (e: MessageEvent) => {
  const m = e.data as {
    channel?: unknown;
    dir?: unknown;
    id?: unknown;
    answer?: Answer;
    event?: unknown;
  } | null;
  if (e.source !== window || m?.channel !== PAGE_CHANNEL || m.dir !== 'to-page') return;
  if (typeof m.id === 'number') {
    const done = waiting.get(m.id);
    waiting.delete(m.id);
    if (done && m.answer) done(m.answer);
  } else if (m.event !== undefined) {
    for (const l of listeners) l(m.event);
  }
});

class CipherclerkError extends Error {
  override readonly name = 'CipherclerkError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function call(method: string, params?: unknown): Promise<unknown> {
  const id = next++;
  return new Promise((resolve, reject) => {
    waiting.set(id, (a) =>
      a.ok ? resolve(a.result) : reject(new CipherclerkError(a.error.code, a.error.message)),
    );
    window.postMessage({ channel: PAGE_CHANNEL, dir: 'to-extension', id, method, params }, location.origin);
  });
}

async function requestCapability(ask: unknown): Promise<unknown> {
  const { request } = (await call('requestCapability', ask)) as { request: string };
  for (;;) {
    const r = (await call('awaitRequest', { request })) as { state: string; granted?: unknown };
    if (r.state === 'granted') return r.granted;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

const cipherclerk = Object.freeze({
  /** This site's session DID (created for it on first connect); needs the wallet unlocked. */
  connect: () => call('connect'),
  /** Asks the person for a capability; resolves with the grant, or rejects (declined, locked, ...). */
  requestCapability,
  /** Signs `request` with this site's session key using the grant `handle`; returns the invocation. */
  invoke: (handle: string, request: unknown) => call('invoke', { handle, request }),
  /** Revokes everything this site was granted, and forgets its session DID. */
  revokeSite: () => call('revokeSite'),
  /** Events about this site only: {type: 'locked'} and {type: 'revoked'}. */
  on: (listener: Listener) => {
    if (typeof listener === 'function') listeners.add(listener);
  },
  off: (listener: Listener) => {
    listeners.delete(listener);
  },
});

Object.defineProperty(window, 'cipherclerk', { value: cipherclerk, enumerable: true });

/**
 * The content script (isolated world): a pipe between the page's provider and the background. It
 * forwards what the page says unchanged and decides nothing; the background takes the origin from
 * the browser's own record of who sent the message. Events come back only when the background
 * addressed them to this page's origin.
 */
import { browser } from '../browser.ts';
import { PAGE_CHANNEL } from '../channel.ts';

interface FromPage {
  readonly channel: typeof PAGE_CHANNEL;
  readonly dir: 'to-extension';
  readonly id: number;
  readonly method: unknown;
  readonly params: unknown;
}

const toPage = (data: object) =>
  window.postMessage({ channel: PAGE_CHANNEL, dir: 'to-page', ...data }, location.origin);

window.addEventListener('message', (e: MessageEvent) => {
  const m = e.data as Partial<FromPage> | null;
  if (e.source !== window || m?.channel !== PAGE_CHANNEL || m.dir !== 'to-extension') return;
  if (typeof m.id !== 'number') return;
  browser.runtime.sendMessage({ kind: 'site', method: m.method, params: m.params }).then(
    (answer) => toPage({ id: m.id, answer }),
    () =>
      toPage({
        id: m.id,
        answer: { ok: false, error: { code: 'E_UNREACHABLE', message: 'The extension did not answer' } },
      }),
  );
});

browser.runtime.onMessage.addListener((message) => {
  const m = message as { kind?: unknown; origin?: unknown; event?: unknown } | null;
  if (m?.kind === 'event' && m.origin === location.origin) toPage({ event: m.event });
  return false;
});

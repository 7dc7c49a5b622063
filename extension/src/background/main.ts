/**
 * The background: the Chromium service worker, or Firefox's background page. It routes messages and
 * decides; its state is in storage (state.ts), so being stopped and restarted mid-flow loses nothing.
 * Listeners are registered synchronously at the top level, as a restarted service worker requires.
 */
import { DreggError } from '@cipherclerk/core';
import { browser } from '../browser.ts';
import { isRecord, serve } from '../protocol.ts';
import { siteCall } from './site.ts';
import { uiCall, windowClosed } from './ui.ts';

serve((message, sender) => {
  if (!isRecord(message)) return undefined;
  switch (message.kind) {
    case 'site':
      return siteCall(message.method, message.params, sender);
    case 'ui':
      return uiCall(message.method, message.params, sender);
    case 'node':
      return undefined; // for the offscreen document
    default:
      return Promise.reject(new DreggError('E_UNSUPPORTED', 'Unknown message'));
  }
});

browser.windows.onRemoved.addListener((id) => {
  windowClosed(id).catch((e) => console.error('cipherclerk: closing a request failed', e));
});

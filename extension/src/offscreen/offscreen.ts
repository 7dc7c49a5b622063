/**
 * The offscreen document (Chromium): hosts the light node's Web Worker and answers the background's
 * `{kind: 'node'}` messages with it. Only the extension's own service worker is answered: a message
 * from a tab (a content script, the popup, the approval window) is refused, so the background stays
 * the one place that decides what reaches the node.
 */
import { DreggError } from '@cipherclerk/core';
import { type LightNodeApi, startLightNode } from '@cipherclerk/worker/node';
import { browser } from '../browser.ts';
import { isRecord, serve } from '../protocol.ts';

const lightNode = startLightNode();
const BACKGROUND = browser.runtime.getURL('background.js');

serve((message, sender) => {
  if (!isRecord(message) || message.kind !== 'node') return undefined;
  if (sender.id !== browser.runtime.id || sender.url !== BACKGROUND)
    return Promise.reject(new DreggError('E_DENIED', 'Only the extension background talks to the node'));
  const { method, args } = message;
  if (typeof method !== 'string' || method === 'subscribe' || !Array.isArray(args))
    return Promise.reject(new DreggError('E_ARGUMENT', 'Malformed call'));
  const f = lightNode[method as keyof LightNodeApi] as (...a: unknown[]) => Promise<unknown>;
  return f(...args);
});

/**
 * The background's handle on the light node. On Chromium the node's Web Worker lives in the
 * offscreen document (an MV3 service worker cannot start a Web Worker), which outlives the service
 * worker's restarts: keys stay unlocked and long work goes on. On Firefox the background is a page,
 * which starts the worker itself.
 */
import { type LightNodeApi, startLightNode } from '@cipherclerk/worker/node';
import { browser } from '../browser.ts';
import { ask } from '../protocol.ts';

export const OFFSCREEN_PAGE = 'offscreen/offscreen.html';

type Method = Exclude<keyof LightNodeApi, 'subscribe'>;
type Call = <M extends Method>(
  method: M,
  ...args: Parameters<LightNodeApi[M]>
) => Promise<Awaited<ReturnType<LightNodeApi[M]>>>;

let opening: Promise<void> | undefined;

async function offscreenReady(): Promise<void> {
  const open = await browser.runtime.getContexts?.({ contextTypes: ['OFFSCREEN_DOCUMENT'] });
  if (open !== undefined && open.length > 0) return;
  opening ??= browser
    .offscreen!.createDocument({
      url: OFFSCREEN_PAGE,
      reasons: ['WORKERS'],
      justification: 'Hosts the cipherclerk light node (keys, capabilities) in a Web Worker',
    })
    .finally(() => {
      opening = undefined;
    });
  await opening;
}

let local: LightNodeApi | undefined;

export const node: Call = async (method, ...args) => {
  if (browser.offscreen === undefined) {
    local ??= startLightNode();
    return (local[method] as (...a: unknown[]) => Promise<never>)(...args);
  }
  await offscreenReady();
  return (await ask({ kind: 'node', method, args })) as never;
};

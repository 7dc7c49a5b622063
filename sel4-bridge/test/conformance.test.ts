/**
 * The router conformance suite (core/test/router/conformance.ts) against firmament objects: the same
 * cases the local and relay cell backings pass, with the kernel under QEMU behind the bridge.
 */
import {
  connectFirmament,
  createRouter,
  firmamentBacking,
  manualClock,
  nowSeconds,
  type SocketConstructor,
} from '@cipherclerk/core';
import { afterAll } from 'vitest';
import WebSocket from 'ws';
import { routerConformance } from '../../core/test/router/conformance.ts';
import { type Launch, launch } from '../src/launch.ts';

const clock = manualClock(Date.now());
let shared: Promise<{ fw: Launch; client: Awaited<ReturnType<typeof connectFirmament>> }> | undefined;

afterAll(async () => {
  if (shared === undefined) return;
  const { fw, client } = await shared;
  client.close();
  await fw.stop();
});

routerConformance('firmament objects', async () => {
  shared ??= (async () => {
    const fw = await launch();
    const client = await connectFirmament(fw.bridge.url, fw.bridge.token, {
      WebSocket: WebSocket as unknown as SocketConstructor,
    });
    return { fw, client };
  })();
  const { client } = await shared;
  const backing = firmamentBacking(client);
  const router = createRouter({ now: () => nowSeconds(clock) });
  router.register(backing);
  const root = await backing.create('ep', 0);
  const handle = await router.attenuateAndGrant(
    root,
    [
      { t: 'actions', actions: ['grant', 'recv', 'send'] },
      { t: 'exp', at: nowSeconds(clock) + 24 * 3600 },
    ],
    'cnode/0',
  );
  return {
    router,
    backing,
    handle,
    allowed: { action: 'send', args: { word: 1 } },
    denied: { action: 'signal', args: { bits: 1 } },
    recipient: 'cnode/1',
    narrowTo: 'send',
    expiresIn: 24 * 3600,
    advance: (s) => clock.advance(s * 1000),
  };
});

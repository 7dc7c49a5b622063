/**
 * The light node's firmament link, against a real launcher (the kernel under QEMU and its bridge):
 * connect with the printed URL and token, see every CNode's capabilities with their parents, mint,
 * have a widening refused by the kernel, invoke, revoke a subtree; the bridge is remembered in the
 * worker's store across a reload, and forgotten on request.
 */
import { manualClock, type SocketConstructor, type Store } from '@cipherclerk/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { codeOf } from '../../core/test/caps/fixtures.ts';
import { type Launch, launch } from '../../sel4-bridge/src/launch.ts';
import type { LightNodeApi } from '../src/node/api.ts';
import { freshStore, lightNode, newWallet, PASS } from './wallets.ts';

const firmamentSocket = WebSocket as unknown as SocketConstructor;

let fw: Launch;
let store: Store;
let node: LightNodeApi;

const reload = () => lightNode(store, { clock: manualClock(Date.now()), firmamentSocket });

beforeAll(async () => {
  [fw, store] = await Promise.all([launch(), freshStore()]);
  ({ node } = await newWallet({ store, clock: manualClock(Date.now()), firmamentSocket }));
});
afterAll(async () => {
  await node?.lock();
  await fw?.stop();
});

it('needs the node unlocked, and says so when no bridge is known', async () => {
  await node.lock();
  expect(await codeOf(node.firmament())).toBe('E_LOCKED');
  await node.unlock(PASS);
  expect(await node.firmament()).toEqual({ state: 'off', caps: [] });
  expect(await codeOf(node.firmamentNew('ep', 0))).toBe('E_UNREACHABLE');
});

it('refuses a wrong token and remembers nothing', async () => {
  expect(await codeOf(node.connectFirmament(fw.bridge.url, 'f'.repeat(64)))).toBe('E_UNREACHABLE');
  expect(await codeOf(node.connectFirmament('ws://example.com:80', fw.bridge.token))).toBe('E_ARGUMENT');
  expect((await node.firmament()).state).toBe('off');
});

it('connects, lists capabilities per CNode with parents, and passes the kernel refusals through', async () => {
  const connected = await node.connectFirmament(fw.bridge.url, fw.bridge.token);
  expect(connected).toMatchObject({ state: 'connected', bridge: fw.bridge.url, caps: [] });
  expect(connected.bootMs).toBeCloseTo(fw.kernel.bootMs, 0);
  expect(connected.latencyMs).toBeGreaterThan(0);

  const root = await node.firmamentNew('ep', 0);
  expect(root).toMatchObject({ cnode: 0, kind: 'ep', parent: null, budget: null, expiry: null });
  expect(root.rights).toEqual(['grant', 'send', 'recv', 'signal', 'wait', 'read', 'write', 'run', 'forward']);
  const child = await node.firmamentMint({ from: root.ref, cnode: 1, actions: ['grant', 'send'], budget: 5 });
  expect(child).toMatchObject({ cnode: 1, parent: root.slot, rights: ['grant', 'send'], budget: 5 });
  // Wider than its parent: recv is not the child's, and neither is a larger budget.
  expect(await codeOf(node.firmamentMint({ from: child.ref, cnode: 2, actions: ['recv'] }))).toBe(
    'E_WIDENING',
  );
  expect(await codeOf(node.firmamentMint({ from: child.ref, cnode: 2, actions: ['send'], budget: 6 }))).toBe(
    'E_WIDENING',
  );
  const grandchild = await node.firmamentMint({ from: child.ref, cnode: 2, actions: ['send'] });
  expect(grandchild).toMatchObject({ parent: child.slot, budget: 5 });

  expect(await node.firmamentInvoke(grandchild.ref, 'send', [7])).toMatchObject({ queued: '1' });
  expect(await codeOf(node.firmamentInvoke(grandchild.ref, 'recv', []))).toBe('E_DENIED');
  expect(await node.firmamentInvoke(root.ref, 'recv', [])).toMatchObject({ word: '7' });

  const listed = (await node.firmament()).caps;
  expect(listed.map((c) => [c.ref, c.cnode, c.parent])).toEqual([
    [root.ref, 0, null],
    [child.ref, 1, root.slot],
    [grandchild.ref, 2, child.slot],
  ]);

  // Revoking the root's subtree leaves the root; deleting takes it too.
  expect(await node.firmamentRevoke(root.ref, false)).toBe(2);
  expect((await node.firmament()).caps.map((c) => c.ref)).toEqual([root.ref]);
  expect(await codeOf(node.firmamentInvoke(child.ref, 'send', [1]))).toBe('E_REVOKED');
  expect(await node.firmamentRevoke(root.ref, true)).toBe(1);
  expect((await node.firmament()).caps).toEqual([]);
});

it('reconnects after a lock and a reload from the remembered bridge, and forgets it on request', async () => {
  const kept = await node.firmamentNew('ntfn', 3);
  await node.lock();
  node = await reload();
  await node.unlock(PASS);
  const again = await node.firmament();
  expect(again.state).toBe('connected');
  expect(again.caps.map((c) => c.ref)).toEqual([kept.ref]);
  expect(await node.forgetFirmament()).toEqual({ state: 'off', caps: [] });
  node = await reload();
  await node.unlock(PASS);
  expect((await node.firmament()).state).toBe('off');
});

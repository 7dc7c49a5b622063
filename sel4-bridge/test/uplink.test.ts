/**
 * Uplinks reach a real relay: a kernel uplink to a relay cell, invoked through the bridge, becomes a
 * turn by the launcher's own agent at the relay, which the relay's executor checks against the
 * capability the cell's owner granted the launcher's cell. Each side refuses on its own: the kernel an
 * uplink capability without `forward`, the relay a launcher that holds no fitting handle.
 */
import {
  type Caveat,
  connectFirmament,
  type FirmamentClient,
  type SocketConstructor,
} from '@cipherclerk/core';
import type { RelayClient } from '@cipherclerk/core/net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectRelay } from '../../core/src/net/client.ts';
import type { Relay } from '../../core/src/node/relay/relay.ts';
import { codeOf } from '../../core/test/caps/fixtures.ts';
import { person, saltOf, tempHome, testRelay, turnOn } from '../../core/test/relay/fixtures.ts';
import { type Launch, launch } from '../src/launch.ts';
import { type RelayUplink, relayUplink, UPLINK_FIELD } from '../src/uplink.ts';

const home = tempHome();
let relay: Relay;
let owner: RelayClient;
let uplink: RelayUplink;
let fw: Launch;
let client: FirmamentClient;

beforeAll(async () => {
  relay = await testRelay(home.dir);
  [owner, uplink] = await Promise.all([connectRelay(relay.multiaddrs), relayUplink(relay.multiaddrs)]);
  fw = await launch({ forward: uplink.forward });
  client = await connectFirmament(fw.bridge.url, fw.bridge.token, {
    WebSocket: WebSocket as unknown as SocketConstructor,
  });
});
afterAll(async () => {
  client?.close();
  await fw?.stop();
  await Promise.all([uplink?.close(), owner?.close()]);
  await relay?.stop();
  home.remove();
});

/** Alice opens a cell and grants the launcher's cell `actions` on it. */
async function grantedCell(i: number, actions: string[]): Promise<string> {
  const alice = person(60 + i);
  const cell = (await owner.openCell(alice.did, saltOf(70 + i))).id;
  const caveats: Caveat[] = [{ t: 'actions', actions }];
  await owner.submitTurn(
    await turnOn(owner, alice, cell, [
      { type: 'grant-capability', source: { cell }, to: uplink.cell, caveats },
    ]),
  );
  return cell;
}

const ref = (r: Record<string, string>) => `${r.slot}:${r.gen}`;

it('the launcher acts at the relay as its own agent, with its own cell', async () => {
  expect(uplink.did).toMatch(/^did:key:z/);
  expect(uplink.relay).toBe(relay.did);
  expect((await owner.cell(uplink.cell))?.owner).toBe(uplink.did);
});

it('an uplink invocation the kernel allowed sets the word on the relay cell', async () => {
  const cell = await grantedCell(1, ['set-field']);
  const up = await client.call('new', ['uplink', '3', cell]);
  const reply = await client.call('invoke', [ref(up), 'forward', '7']);
  expect(reply.forward).toBe(cell);
  expect((await owner.cell(cell))?.fields[UPLINK_FIELD]).toBe(7);
  // A second word goes as a second turn on the same chain.
  await client.call('invoke', [ref(up), 'forward', '8']);
  expect((await owner.cell(cell))?.fields[UPLINK_FIELD]).toBe(8);
});

it('the kernel refuses an uplink capability without forward; the relay never hears of it', async () => {
  const cell = await grantedCell(2, ['set-field']);
  const up = await client.call('new', ['uplink', '3', cell]);
  const grantOnly = await client.call('mint', [ref(up), '3', '1', '-', '0', '-']);
  expect(await codeOf(client.call('invoke', [ref(grantOnly), 'forward', '9']))).toBe('E_DENIED');
  expect((await owner.cell(cell))?.fields[UPLINK_FIELD]).toBeUndefined();
});

it('the relay refuses what the launcher holds no fitting handle for', async () => {
  const transferOnly = await grantedCell(3, ['transfer']);
  const up = await client.call('new', ['uplink', '3', transferOnly]);
  expect(await codeOf(client.call('invoke', [ref(up), 'forward', '5']))).toBe('E_DENIED');
  expect((await owner.cell(transferOnly))?.fields[UPLINK_FIELD]).toBeUndefined();

  const stranger = (await owner.openCell(person(69).did, saltOf(79))).id;
  const none = await client.call('new', ['uplink', '3', stranger]);
  expect(await codeOf(client.call('invoke', [ref(none), 'forward', '5']))).toBe('E_NOT_FOUND');
});

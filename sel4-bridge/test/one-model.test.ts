/**
 * The one-model test (seed 001): one backing-agnostic function invokes, attenuates and delegates a
 * firmament object (the kernel under QEMU, through the bridge) and a cell on a real relay, through
 * one router and the one handle type; the same widening is refused with the same code at both, by the
 * router, by each backing, and by the far side itself (the kernel's mint, the relay's executor).
 */
import {
  type Caveat,
  connectFirmament,
  createRouter,
  firmamentBacking,
  type Handle,
  handleRights,
  type Invocation,
  manualClock,
  narrows,
  nobleEd25519,
  nowSeconds,
  type Router,
  type SocketConstructor,
} from '@cipherclerk/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { connectRelay, type RelayClient, relayCellBacking } from '../../core/src/net/client.ts';
import type { Relay } from '../../core/src/node/relay/relay.ts';
import { codeOf } from '../../core/test/caps/fixtures.ts';
import { person, saltOf, tempHome, testRelay, turnOn } from '../../core/test/relay/fixtures.ts';
import { type Launch, launch } from '../src/launch.ts';

interface Use {
  readonly allowed: Invocation;
  readonly narrowTo: string;
  readonly recipient: string;
}

/** What the one app function saw; it never looks at which backing serves the handle. */
async function exercise(router: Router, held: Handle, use: Use) {
  const result = await router.invoke(held, use.allowed);
  const delegated = await router.attenuateAndGrant(
    held,
    [{ t: 'actions', actions: [use.narrowTo] }],
    use.recipient,
  );
  const exp = handleRights(held).expiry!;
  const widenings: Caveat[][] = [
    [{ t: 'exp', at: exp + 3600 }],
    [{ t: 'actions', actions: [use.narrowTo, 'zzz'] }],
  ];
  const refused = await Promise.all(
    widenings.map((w) => codeOf(router.attenuateAndGrant(held, w, use.recipient))),
  );
  return { result, delegated, refused };
}

const clock = manualClock(Date.now());
const home = tempHome();
let relay: Relay;
let relayClient: RelayClient;
let fw: Launch;
let fwClient: Awaited<ReturnType<typeof connectFirmament>>;

beforeAll(async () => {
  [relay, fw] = await Promise.all([testRelay(home.dir, { clock }), launch()]);
  relayClient = await connectRelay(relay.multiaddrs, { relay: relay.did, clock });
  fwClient = await connectFirmament(fw.bridge.url, fw.bridge.token, {
    WebSocket: WebSocket as unknown as SocketConstructor,
  });
});
afterAll(async () => {
  fwClient.close();
  await relayClient.close();
  await Promise.all([relay.stop(), fw.stop()]);
  home.remove();
});

it('one function, one router, one handle type: a firmament object and a relay cell behave alike', async () => {
  const router = createRouter({ now: () => nowSeconds(clock) });
  const now = nowSeconds(clock);
  const exp = now + 24 * 3600;

  // A relay cell: Alice grants Bob's cell set-field and transfer on hers, for a day.
  const [alice, bob, carol] = [41, 42, 43].map(person) as [
    ReturnType<typeof person>,
    ReturnType<typeof person>,
    ReturnType<typeof person>,
  ];
  const [aliceCell, bobCell, carolCell] = await Promise.all(
    [alice, bob, carol].map(async (p, i) => (await relayClient.openCell(p.did, saltOf(50 + i))).id),
  );
  const remoteCaveats: Caveat[] = [
    { t: 'actions', actions: ['grant-capability', 'set-field', 'transfer'] },
    { t: 'exp', at: exp },
  ];
  await relayClient.submitTurn(
    await turnOn(relayClient, alice, aliceCell!, [
      { type: 'grant-capability', source: { cell: aliceCell! }, to: bobCell!, caveats: remoteCaveats },
    ]),
  );
  const remote = (await relayClient.cell(bobCell!))!.clist.get(0)!;
  const relayBacking = relayCellBacking(relayClient, { ed: nobleEd25519, clock, agent: bob, cell: bobCell! });
  router.register(relayBacking);

  // A firmament endpoint, held with send/recv/grant for the same day.
  const firmament = firmamentBacking(fwClient);
  router.register(firmament);
  const root = await firmament.create('ep', 0);
  const local = await router.attenuateAndGrant(
    root,
    [
      { t: 'actions', actions: ['grant', 'recv', 'send'] },
      { t: 'exp', at: exp },
    ],
    'cnode/0',
  );

  const atRelay = await exercise(router, remote, {
    allowed: { action: 'set-field', args: { key: 'note', value: 'one model' } },
    narrowTo: 'set-field',
    recipient: carolCell!,
  });
  const atFirmament = await exercise(router, local, {
    allowed: { action: 'send', args: { word: 7 } },
    narrowTo: 'send',
    recipient: 'cnode/1',
  });

  // Invoked: the field is set on the relay; the word is queued in the kernel.
  expect((await relayClient.cell(aliceCell!))!.fields.note).toBe('one model');
  expect((await router.invoke(local, { action: 'recv' })) as object).toMatchObject({ word: 7 });
  // Attenuated and delegated: each child narrows its parent and sits with its recipient.
  for (const [parent, { delegated }] of [
    [remote, atRelay],
    [local, atFirmament],
  ] as const) {
    expect(narrows(handleRights(delegated), handleRights(parent))).toBe(true);
  }
  expect([...(await relayClient.cell(carolCell!))!.clist.values()]).toContainEqual(atRelay.delegated);
  expect((await router.resolve(atFirmament.delegated)).held).toMatch(/^slot (3[2-9]|[4-5]\d|6[0-3])$/);
  // The same widenings, refused with the same code at both.
  expect(atRelay.refused).toEqual(['E_WIDENING', 'E_WIDENING']);
  expect(atFirmament.refused).toEqual(atRelay.refused);

  // Past the router: each backing, called directly, refuses the same wider child.
  const widerOf = (h: Handle): Handle => ({
    target: h.target,
    caveats: [...h.caveats.filter((c) => c.t !== 'exp'), { t: 'exp', at: exp + 3600 }],
  });
  expect(await codeOf(relayBacking.grant(remote, widerOf(remote), carolCell!))).toBe('E_WIDENING');
  expect(await codeOf(firmament.grant(local, widerOf(local), 'cnode/1'))).toBe('E_WIDENING');

  // And at the far side itself: the relay's executor and the kernel's mint, asked for a wider child.
  const farRelay = await codeOf(
    (async () =>
      relayClient.submitTurn(
        await turnOn(relayClient, bob, bobCell!, [
          {
            type: 'grant-capability',
            source: { slot: 0 },
            to: carolCell!,
            caveats: [{ t: 'exp', at: exp + 3600 }],
          },
        ]),
      ))(),
  );
  const farKernel = await codeOf(
    fwClient.call('mint', [firmament.slotOf(local)!, '1', '7', '-', '0', String(exp + 3600)]),
  );
  expect(farRelay).toBe('E_WIDENING');
  expect(farKernel).toBe('E_WIDENING');
});

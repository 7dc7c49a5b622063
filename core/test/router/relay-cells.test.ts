/**
 * The router conformance suite against cells held on a relay: the same backing as local cells, over
 * the relay client and a real relay on loopback instead of the local executor. One relay serves every
 * case; each case gets fresh people and cells.
 */
import { afterAll } from 'vitest';
import { manualClock, nowSeconds } from '../../src/clock.ts';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { connectRelay, type RelayClient, relayCellBacking } from '../../src/net/client.ts';
import type { Relay } from '../../src/node/relay/relay.ts';
import { createRouter } from '../../src/router/router.ts';
import { person, saltOf, tempHome, testRelay, turnOn } from '../relay/fixtures.ts';
import { routerConformance } from './conformance.ts';

const clock = manualClock(Date.now());
const home = tempHome();
let shared: Promise<{ relay: Relay; client: RelayClient }> | undefined;
let next = 10;

afterAll(async () => {
  if (shared !== undefined) {
    const { relay, client } = await shared;
    await client.close();
    await relay.stop();
  }
  home.remove();
});

routerConformance('cells on a relay', async () => {
  shared ??= (async () => {
    const relay = await testRelay(home.dir, { clock });
    return { relay, client: await connectRelay(relay.multiaddrs, { relay: relay.did, clock }) };
  })();
  const { client } = await shared;
  const [alice, bob, carol] = [next++, next++, next++].map(person) as [
    ReturnType<typeof person>,
    ReturnType<typeof person>,
    ReturnType<typeof person>,
  ];
  const [aliceCell, bobCell, carolCell] = await Promise.all(
    [alice, bob, carol].map(async (p, i) => (await client.openCell(p.did, saltOf(next + i))).id),
  );
  const now = nowSeconds(clock);
  // Alice lets Bob's cell set fields on and transfer from her cell, for a day.
  await client.submitTurn(
    await turnOn(
      client,
      alice,
      aliceCell!,
      [
        {
          type: 'grant-capability',
          source: { cell: aliceCell! },
          to: bobCell!,
          caveats: [
            { t: 'actions', actions: ['grant-capability', 'set-field', 'transfer'] },
            { t: 'exp', at: now + 24 * 3600 },
          ],
        },
      ],
      now + 600,
    ),
  );
  const handle = (await client.cell(bobCell!))!.clist.get(0)!;
  const backing = relayCellBacking(client, { ed: nobleEd25519, clock, agent: bob, cell: bobCell! });
  const router = createRouter({ now: () => nowSeconds(clock) });
  router.register(backing);
  return {
    router,
    backing,
    handle,
    allowed: { action: 'set-field', args: { key: 'note', value: 'from bob' } },
    denied: { action: 'burn', args: { amount: 1 } },
    recipient: carolCell!,
    narrowTo: 'set-field',
    expiresIn: 24 * 3600,
    advance: (s) => clock.advance(s * 1000),
  };
});

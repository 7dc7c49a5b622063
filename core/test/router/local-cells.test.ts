import { nowSeconds } from '../../src/clock.ts';
import { localCellBacking } from '../../src/router/cells.ts';
import { createRouter } from '../../src/router/router.ts';
import { T0 } from '../caps/fixtures.ts';
import { world } from '../turns/fixtures.ts';
import { routerConformance } from './conformance.ts';

routerConformance('local cells', async () => {
  const w = await world();
  // Alice lets Bob's cell set fields on and transfer from her cell, for a day.
  await w.act(w.alice, [
    {
      type: 'grant-capability',
      source: { cell: w.alice.cell },
      to: w.bob.cell,
      caveats: [
        { t: 'actions', actions: ['grant-capability', 'set-field', 'transfer'] },
        { t: 'exp', at: T0 + 24 * 3600 },
      ],
    },
  ]);
  const handle = w.executor.cell(w.bob.cell)!.clist.get(0)!;
  const backing = localCellBacking({
    executor: w.executor,
    ed: w.ed,
    clock: w.clock,
    agent: w.bob,
    cell: w.bob.cell,
  });
  const router = createRouter({ now: () => nowSeconds(w.clock) });
  router.register(backing);
  return {
    router,
    backing,
    handle,
    allowed: { action: 'set-field', args: { key: 'note', value: 'from bob' } },
    denied: { action: 'burn', args: { amount: 1 } },
    recipient: w.carol.cell,
    narrowTo: 'set-field',
    expiresIn: 24 * 3600,
    advance: (s) => w.clock.advance(s * 1000),
  };
});

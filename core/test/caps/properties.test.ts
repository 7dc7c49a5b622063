import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Attenuation, delegate } from '../../src/agent/delegate.ts';
import { mintToken } from '../../src/agent/mint.ts';
import { receiveSignedDelegation } from '../../src/agent/receive.ts';
import { verifyRequest } from '../../src/agent/verify.ts';
import { TrustedKey } from '../../src/caps/trust.ts';
import { isDreggError } from '../../src/errors.ts';
import { cast } from './fixtures.ts';

const ACTIONS = ['read', 'write', 'delete', 'list'];

const attenuation: fc.Arbitrary<Attenuation> = fc.record(
  {
    actions: fc.uniqueArray(fc.constantFrom(...ACTIONS), { minLength: 1, maxLength: 4 }),
    maxBudget: fc.nat(2000),
    maxTtl: fc.integer({ min: 1, max: 7200 }),
  },
  { requiredKeys: [] },
);

describe('attenuation chains (property)', () => {
  it('never admit a request that their narrowest step would refuse', async () => {
    const { alice, bob, carol, mallory, clock } = await cast();
    const start = clock.now();
    const holders = [bob, carol, mallory];
    await fc.assert(
      fc.asyncProperty(
        fc.array(attenuation, { minLength: 1, maxLength: 3 }),
        fc.record({ action: fc.constantFrom(...ACTIONS), cost: fc.nat(2500), later: fc.nat(8000) }),
        async (steps, req) => {
          clock.set(start);
          const root = mintToken(alice, { service: 'storage', actions: ACTIONS, budget: 1500 });
          let ref = root.id;
          let text = root.text;
          const granted: Attenuation[] = [{ actions: ACTIONS, maxBudget: 1500 }];
          for (let i = 0; i < steps.length; i++) {
            const from = i === 0 ? alice : holders[i - 1]!;
            const to = holders[i]!;
            try {
              const d = await delegate(from, ref, to.did, steps[i]!);
              const held = await receiveSignedDelegation(to, d.text, TrustedKey(from.did));
              ref = held.id;
              text = d.text;
              granted.push({ ...steps[i]!, maxTtl: steps[i]!.maxTtl ?? 86_400 });
            } catch (e) {
              // Asking for more than the parent has is refused; nothing else may fail here.
              expect(isDreggError(e, 'E_WIDENING')).toBe(true);
              break;
            }
          }
          clock.advance(req.later * 1000);
          const r = await verifyRequest(alice, text, {
            service: 'storage',
            action: req.action,
            cost: req.cost,
          });
          const refusedBySomeStep = granted.some(
            (g) =>
              (g.actions !== undefined && !g.actions.includes(req.action)) ||
              (g.maxBudget !== undefined && req.cost > g.maxBudget) ||
              (g.maxTtl !== undefined && req.later >= g.maxTtl),
          );
          // And nothing else refuses it: the chain grants exactly the intersection of its steps.
          expect(r.allowed).toBe(!refusedBySomeStep);
        },
      ),
      { numRuns: 60 },
    );
  });
});

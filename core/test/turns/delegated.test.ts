/**
 * Authority by delegation chain: the owner of a cell mints a token for the `cells` service, delegates
 * it (attenuated, signed, bound to the recipient) with the agent SDK, and the recipient exercises it
 * in a turn with `via: {chain}`. The executor verifies the chain before the turn (issuer = the cell's
 * owner, delivered to the acting agent) and reads its caveats as a handle.
 */
import { describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent/agent.ts';
import { delegate } from '../../src/agent/delegate.ts';
import { mintToken } from '../../src/agent/mint.ts';
import { signTurn } from '../../src/turns/turn.ts';
import { codeOf } from '../caps/fixtures.ts';
import { saltOf, T0, world } from './fixtures.ts';

async function setup() {
  const w = await world();
  const [owner, holder, stranger] = await Promise.all(
    [1, 2, 3].map(() => createAgent({ clock: w.clock, ed: w.ed })),
  );
  const cellOf = async (a: typeof owner) => (await w.executor.genesis(a!.did, saltOf(70), 100n)).id;
  const ownerCell = await cellOf(owner);
  const holderCell = await cellOf(holder);
  const strangerCell = await cellOf(stranger);
  const token = mintToken(owner!, {
    service: 'cells',
    actions: ['set-field', 'transfer'],
    budget: 30,
    ttl: 3600,
  });
  const submit = async (
    who: typeof owner,
    cell: string,
    chain: string,
    effect: 'set-field' | 'transfer' | 'burn',
  ) =>
    w.executor.submit(
      await signTurn(
        {
          ledger: w.executor.ledger,
          agent: who!.did,
          cell,
          nonce: w.executor.cell(cell)!.nonce,
          prev: w.executor.head(who!.did).prev,
          effects: [
            effect === 'set-field'
              ? { type: 'set-field', cell: ownerCell, key: 'by', value: 'holder', via: { chain } }
              : effect === 'transfer'
                ? { type: 'transfer', from: ownerCell, to: cell, amount: 20n, via: { chain } }
                : { type: 'burn', cell: ownerCell, amount: 1n, via: { chain } },
          ],
          fee: 0n,
          validUntil: T0 + 600,
        },
        who!.identity.seed,
        w.ed,
      ),
    );
  return {
    w,
    owner: owner!,
    holder: holder!,
    stranger: stranger!,
    ownerCell,
    holderCell,
    strangerCell,
    token,
    submit,
  };
}

describe('authority by delegation chain', () => {
  it('lets the holder of a chain from the owner act within its caveats, budget included', async () => {
    const t = await setup();
    const { text } = await delegate(t.owner, t.token.id, t.holder.did, {
      actions: ['set-field', 'transfer'],
    });
    await t.submit(t.holder, t.holderCell, text, 'set-field');
    expect(t.w.executor.cell(t.ownerCell)!.fields.by).toBe('holder');
    await t.submit(t.holder, t.holderCell, text, 'transfer');
    expect(t.w.executor.cell(t.holderCell)!.balance).toBe(120n);
    // The token's budget of 30 is metered by the ledger: a second 20 would exceed it.
    expect(await codeOf(t.submit(t.holder, t.holderCell, text, 'transfer'))).toBe('E_BUDGET');
    // An effect outside the chain's actions is refused.
    expect(await codeOf(t.submit(t.holder, t.holderCell, text, 'burn'))).toBe('E_DENIED');
  });

  it('refuses a chain presented by someone it was not delegated to', async () => {
    const t = await setup();
    const { text } = await delegate(t.owner, t.token.id, t.holder.did);
    expect(await codeOf(t.submit(t.stranger, t.strangerCell, text, 'set-field'))).toBe('E_AUDIENCE');
  });

  it('refuses a chain whose issuer does not own the cell', async () => {
    const t = await setup();
    const foreign = mintToken(t.stranger, { service: 'cells', actions: ['set-field'] });
    const { text } = await delegate(t.stranger, foreign.id, t.holder.did);
    expect(await codeOf(t.submit(t.holder, t.holderCell, text, 'set-field'))).toBe('E_UNTRUSTED');
  });

  it('refuses an expired chain', async () => {
    const t = await setup();
    const { text } = await delegate(t.owner, t.token.id, t.holder.did, { maxTtl: 60 });
    t.w.clock.advance(120_000);
    expect(['E_EXPIRED']).toContain(await codeOf(t.submit(t.holder, t.holderCell, text, 'set-field')));
  });
});

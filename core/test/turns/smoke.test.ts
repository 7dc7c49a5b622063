import { describe, expect, it } from 'vitest';
import { world } from './fixtures.ts';

describe('smoke', () => {
  it('set-field and transfer', async () => {
    const w = await world();
    const r = await w.act(w.alice, [
      { type: 'set-field', cell: w.alice.cell, key: 'name', value: 'alice' },
      { type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 10n },
    ]);
    expect(r.seq).toBe(0);
    expect(w.executor.cell(w.bob.cell)!.balance).toBe(1010n);
    expect(w.executor.cell(w.alice.cell)!.fields.name).toBe('alice');
    expect(w.executor.audit().held).toBe(w.executor.audit().expected);
    const r2 = await w.act(w.alice, [{ type: 'transfer', from: w.alice.cell, to: w.bob.cell, amount: 10n }]);
    expect(r2.seq).toBe(1);
  });
});

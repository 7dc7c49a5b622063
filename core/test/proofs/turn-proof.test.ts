import { describe, expect, it } from 'vitest';
import { proveTurn, turnTrace, verifyTurnProof } from '../../src/proofs/turn-proof.ts';
import { world } from '../turns/fixtures.ts';

const SECRET = new Uint8Array(32).fill(7);

describe('turn proofs', () => {
  it('a valid turn proves and verifies', async () => {
    const w = await world();
    const cell = w.executor.cell(w.alice.cell)!;
    const turn = await w.turn(w.alice, [
      { type: 'set-field', cell: cell.id, key: 'name', value: 'alice' },
      { type: 'transfer', from: cell.id, to: w.bob.cell, amount: 250n },
    ]);
    const t0 = performance.now();
    const { trace, logRows } = turnTrace(cell, turn, SECRET);
    console.log('rows', logRows, 'cols', trace.length);
    const { statement, proof } = await proveTurn(cell, turn, { secret: SECRET });
    console.log('prove ms', performance.now() - t0, 'bytes', proof.length);
    verifyTurnProof(statement, proof);
  });
});

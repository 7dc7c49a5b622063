import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { turnWorkload } from '../../core/bench/turnproof.ts';
import { proveTurn, verifyTurnProof } from '../../core/src/proofs/turn-proof.ts';
import { P } from '../../core/src/stark/field.ts';
import type { RandomElements } from '../../core/src/stark/random.ts';
import { createNodeKernelPool } from '../src/node.ts';
import type { SharedKernelPool } from '../src/shared-pool.ts';

/** A seeded source of uniform field elements (xorshift32, rejection of 31-bit draws >= p). */
function seeded(seed: number): RandomElements {
  let s = seed | 0 || 1;
  return (count) => {
    const out = new Uint32Array(count);
    for (let i = 0; i < count; ) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const x = (s >>> 0) >>> 1;
      if (x < P) out[i++] = x;
    }
    return out;
  };
}

let pool: SharedKernelPool;
beforeAll(async () => {
  pool = await createNodeKernelPool(2);
});
afterAll(() => pool.terminate());

describe('turn proofs on the shared-memory worker pool', () => {
  it('verify, and are the bytes the TypeScript kernels give for the same randomness', async () => {
    const { cell, turn, secret } = await turnWorkload();
    const phases = new Set<string>();
    const inPool = await proveTurn(cell, turn, {
      secret,
      kernels: pool,
      random: seeded(11),
      onProgress: (p) => phases.add(p),
    });
    expect(() => verifyTurnProof(inPool.statement, inPool.proof)).not.toThrow();
    expect(phases).toEqual(new Set(['trace', 'quotient', 'deep', 'fri', 'queries']));
    const inTs = await proveTurn(cell, turn, { secret, random: seeded(11) });
    expect(inPool.proof).toEqual(inTs.proof);
    const otherMasks = await proveTurn(cell, turn, { secret, kernels: pool });
    expect(otherMasks.proof).not.toEqual(inPool.proof);
    expect(() => verifyTurnProof(otherMasks.statement, otherMasks.proof)).not.toThrow();
  });
});

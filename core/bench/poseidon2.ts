/**
 * Poseidon2 benchmarks (`npm run bench -w core -- poseidon2`). One JSON object per line; never a test.
 *
 *   poseidon2_perm         one width-16 permutation (pure TypeScript, one thread)
 *   poseidon2_hash         the sponge hash of 16 field elements (3 permutations with the padding block)
 *   poseidon2_chain_prove  prove the hash-chain AIR at 2^8 rows (255 permutations), TypeScript
 *                          kernels on one thread; extra proof_kib, columns
 *   poseidon2_chain_verify verify that proof
 */
import { poseidon2ChainAir, poseidon2ChainTrace } from '../src/stark/airs/poseidon2-chain.ts';
import { permuteInPlace, poseidon2BabyBear16 } from '../src/stark/poseidon2/permutation.ts';
import { poseidon2Hash } from '../src/stark/poseidon2/sponge.ts';
import { prove } from '../src/stark/prover.ts';
import { verify } from '../src/stark/verifier.ts';
import { emit, medianMs, rate } from './measure.ts';

export async function poseidon2Benches(): Promise<void> {
  const instance = poseidon2BabyBear16();
  const state = Uint32Array.from({ length: 16 }, (_, i) => i);
  emit('poseidon2_perm', await rate(() => permuteInPlace(state, instance)));

  const input = Array.from({ length: 16 }, (_, i) => 1000 + i);
  emit('poseidon2_hash', { ...(await rate(() => poseidon2Hash('cellState', input))), elements: 16 });

  const logN = 8;
  const air = poseidon2ChainAir(logN);
  const { trace, publicInputs } = poseidon2ChainTrace(
    logN,
    Array.from({ length: 16 }, (_, i) => i),
  );
  let proof: Uint8Array = new Uint8Array(0);
  const proveMs = await medianMs(async () => {
    proof = await prove(air, trace, publicInputs);
  }, 3);
  emit('poseidon2_chain_prove', {
    median_ms: proveMs,
    runs: 3,
    rows: 2 ** logN,
    permutations: 2 ** logN - 1,
    columns: air.width,
    proof_kib: Math.round((proof.length / 1024) * 10) / 10,
  });
  emit('poseidon2_chain_verify', {
    median_ms: await medianMs(() => verify(air, publicInputs, proof), 9),
    runs: 9,
  });
}

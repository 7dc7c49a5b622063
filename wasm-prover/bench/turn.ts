/**
 * The turn-proof workload of issue 7 for `npm run bench:prover`: a signed turn with SetField +
 * Transfer on a cell with 3 fields, proved with the given kernels and verified from its statement
 * (the workload is core/bench/turnproof.ts `turnWorkload`; wasm-prover/test/turn.test.ts proves the
 * same turn in the pool).
 */

import { turnWorkload } from '../../core/bench/turnproof.ts';
import { TURN_AIR_WIDTH } from '../../core/src/proofs/turn-air.ts';
import { type ProvedTurn, proveTurn, verifyTurnProof } from '../../core/src/proofs/turn-proof.ts';
import type { StarkKernels } from '../../core/src/stark/kernels.ts';

type Timer = (f: () => unknown, runs: number) => Promise<number>;
type Line = (bench: string, medianMs: number, runs: number, extra?: Record<string, unknown>) => void;

export async function benchTurn(
  kernels: StarkKernels,
  workers: number,
  runs: number,
  time: Timer,
  line: Line,
): Promise<void> {
  const { cell, turn, secret } = await turnWorkload();
  let proved: ProvedTurn | undefined;
  const ms = await time(async () => {
    proved = await proveTurn(cell, turn, { secret, kernels });
  }, runs);
  const { statement, proof } = proved!;
  line('turn_prove', ms, runs, {
    proof_kib: Number(((proof.length - 1) / 1024).toFixed(1)),
    rows: 2 ** proof[0]!,
    columns: TURN_AIR_WIDTH,
    workers,
    backend: kernels.name,
  });
  line('turn_verify', await time(() => verifyTurnProof(statement, proof), 4 * runs), 4 * runs, { cores: 1 });
}

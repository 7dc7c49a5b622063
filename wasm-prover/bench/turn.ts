/**
 * The turn-proof workload of issue 7 for `npm run bench:prover`: a signed turn with SetField +
 * Transfer on a cell with 3 fields, proved with the given kernels and verified from its statement
 * (wasm-prover/test/turn.test.ts proves the same turn in the pool).
 */
import { type Cell, newCell } from '../../core/src/cells/cell.ts';
import { ed25519PublicKey, nobleEd25519 } from '../../core/src/crypto/ed25519.ts';
import { toHex } from '../../core/src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../../core/src/encoding/did-key.ts';
import { TURN_AIR_WIDTH } from '../../core/src/proofs/turn-air.ts';
import { type ProvedTurn, proveTurn, verifyTurnProof } from '../../core/src/proofs/turn-proof.ts';
import type { StarkKernels } from '../../core/src/stark/kernels.ts';
import { signTurn, type Turn } from '../../core/src/turns/turn.ts';

type Timer = (f: () => unknown, runs: number) => Promise<number>;
type Line = (bench: string, medianMs: number, runs: number, extra?: Record<string, unknown>) => void;

/** The cell, the signed turn and the owner's proof secret of the workload. */
export async function turnWorkload(): Promise<{ cell: Cell; turn: Turn; secret: Uint8Array }> {
  const seed = new Uint8Array(32).fill(1);
  const owner = didKeyFromEd25519(ed25519PublicKey(seed));
  const cell = {
    ...newCell(owner, toHex(new Uint8Array(32).fill(2)), 10_000n),
    fields: { a: 1, b: 'two', c: true },
  };
  const to = newCell(owner, toHex(new Uint8Array(32).fill(3))).id;
  const turn = await signTurn(
    {
      ledger: 'local',
      agent: owner,
      cell: cell.id,
      nonce: 0,
      prev: null,
      effects: [
        { type: 'set-field', cell: cell.id, key: 'b', value: 'three' },
        { type: 'transfer', from: cell.id, to, amount: 1234n },
      ],
      fee: 1n,
      validUntil: 2_000_000_000,
    },
    seed,
    nobleEd25519,
  );
  return { cell, turn, secret: new Uint8Array(32).fill(9) };
}

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

/**
 * Turn proof benchmarks (`npm run bench -w core -- turnproof`). One JSON object per line; never a test.
 *
 *   turn_prove   prove a signed turn with SetField + Transfer on a cell with 3 fields (TypeScript
 *                kernels, one thread); extra proof_kib, rows, columns
 *   turn_verify  verify that proof from its public statement
 */
import { type Cell, newCell } from '../src/cells/cell.ts';
import { ed25519PublicKey, nobleEd25519 } from '../src/crypto/ed25519.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../src/encoding/did-key.ts';
import { TURN_AIR_WIDTH } from '../src/proofs/turn-air.ts';
import { proveTurn, verifyTurnProof } from '../src/proofs/turn-proof.ts';
import { signTurn, type Turn } from '../src/turns/turn.ts';
import { emit, medianMs } from './measure.ts';

/**
 * The turn-proof workload of issue 7, shared with `npm run bench:prover` (wasm-prover/bench/turn.ts)
 * and wasm-prover/test/turn.test.ts: a signed turn with SetField + Transfer on a cell with 3 fields,
 * and the owner's proof secret.
 */
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

export async function turnProofBenches(): Promise<void> {
  const { cell, turn, secret } = await turnWorkload();
  let proved = await proveTurn(cell, turn, { secret });
  const runs = 5;
  emit('turn_prove', {
    median_ms: await medianMs(async () => {
      proved = await proveTurn(cell, turn, { secret });
    }, runs),
    runs,
    proof_kib: Math.round(((proved.proof.length - 1) / 1024) * 10) / 10,
    rows: 2 ** proved.proof[0]!,
    columns: TURN_AIR_WIDTH,
    kernels: 'ts',
  });
  emit('turn_verify', {
    median_ms: await medianMs(() => verifyTurnProof(proved.statement, proved.proof), 9),
    runs: 9,
  });
}

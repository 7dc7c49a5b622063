/**
 * Proving a built turn in the light node (issue 7): the turn AIR's proof that the turn moved its
 * acting cell from one Poseidon2 commitment to the next, made here with the owner's proof secret (it
 * never leaves this module's caller, the worker), verified here before anyone else sees it, and kept
 * with the built turn for the submit step.
 *
 * After a proved turn the relay holds only commitments, so the node keeps the plaintext state of each
 * cell it proves for (`proved-cells`: cell id → the cell's canonical CBOR) and builds the next turn on
 * that state rather than on the relay's view.
 */
import {
  type Cell,
  DreggError,
  decodeCell,
  encodeCell,
  isDreggError,
  type Store,
  toHex,
} from '@cipherclerk/core';
import type { ProvedTurn, TurnStatement } from '@cipherclerk/core/proofs';
import type { StarkKernels } from '@cipherclerk/core/stark';
import type { ProofPhase, ProofView, TurnStatementView } from './api.ts';
import type { Built } from './cells.ts';

export const PROOF_COLLECTIONS = ['proved-cells'] as const;

/** The kernels a proof runs on, and how they are described to the person. */
export interface TurnProver {
  readonly kernels: StarkKernels;
  /** E.g. "pool-2x + webgpu (…)" or "typescript". */
  readonly description: string;
  /** Whether WebGPU takes part (the LDE and the leaf hashing). */
  readonly gpu: boolean;
}

/** In Node (tests, the CLI's process) the TypeScript kernels prove; the browser worker passes its pool. */
export async function typescriptProver(): Promise<TurnProver> {
  const { tsKernels } = await import('@cipherclerk/core/stark');
  return { kernels: tsKernels, description: 'typescript', gpu: false };
}

/** A digest of 8 field elements as 32 bytes (each element a little-endian 32-bit word), in hex. */
export function digestHex(d: Uint32Array): string {
  const bytes = new Uint8Array(4 * d.length);
  const view = new DataView(bytes.buffer);
  for (const [i, x] of d.entries()) view.setUint32(4 * i, x, true);
  return toHex(bytes);
}

export function statementView(s: TurnStatement): TurnStatementView {
  return {
    oldCommitment: digestHex(s.oldCommitment),
    newCommitment: digestHex(s.newCommitment),
    nullifier: digestHex(s.nullifier),
    turnHash: toHex(s.turnHash),
  };
}

/**
 * Proves `built` against `cell` (the acting cell's state before the turn) with the owner's proof
 * secret, then verifies the proof. Progress goes to `onProgress`, ending with ('verified', 1). A turn
 * the AIR does not cover is refused with E_INVALID in words a person understands.
 */
export async function proveBuilt(
  built: Built,
  secret: Uint8Array,
  prover: TurnProver,
  onProgress: (phase: ProofPhase, fraction: number) => void,
): Promise<{ proved: ProvedTurn; view: ProofView }> {
  const { proveTurn, verifyTurnProof } = await import('@cipherclerk/core/proofs');
  const started = performance.now();
  let proved: ProvedTurn;
  try {
    proved = await proveTurn(built.cell, built.turn, {
      secret,
      kernels: prover.kernels,
      onProgress,
    });
  } catch (e) {
    if (isDreggError(e) && (e.code === 'E_INVALID' || e.code === 'E_INSUFFICIENT'))
      throw new DreggError(e.code, `This turn cannot be proved yet: ${e.message}`, { cause: e });
    throw e;
  }
  const proveMs = performance.now() - started;
  verifyTurnProof(proved.statement, proved.proof);
  onProgress('verified', 1);
  return {
    proved,
    view: {
      turn: built.preview.turn,
      statement: statementView(proved.statement),
      bytes: proved.proof.length,
      rows: 2 ** proved.proof[0]!,
      proveMs: Math.round(proveMs),
      verified: true,
      prover: prover.description,
      gpu: prover.gpu,
    },
  };
}

/** The state this node keeps for a cell it proves for, if any. */
export async function readProvedCell(store: Store, id: string): Promise<Cell | undefined> {
  const bytes = await store.get('proved-cells', id);
  if (bytes === undefined) return undefined;
  try {
    return decodeCell(bytes);
  } catch (e) {
    throw new DreggError('E_DECODE', 'The stored state of a proved cell is unreadable', { cause: e });
  }
}

/** Keeps `cell` as the state of its id (after the relay accepted a proved turn that produced it). */
export async function writeProvedCell(store: Store, cell: Cell): Promise<void> {
  await store.transact([{ op: 'put', collection: 'proved-cells', key: cell.id, value: encodeCell(cell) }]);
}

/** Forgets a cell's kept state, so the relay's view is used again. */
export async function forgetProvedCell(store: Store, id: string): Promise<void> {
  await store.transact([{ op: 'delete', collection: 'proved-cells', key: id }]);
}

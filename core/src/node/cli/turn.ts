/**
 * `dregg turn submit --cell ID --effects FILE`: reads an effects file, builds the turn (nonce and
 * previous receipt from the local ledger), signs it with the identity's key, applies it with the local
 * executor, and prints the signed receipt (and writes its text form to `--out FILE`).
 *
 * Effects file: JSON `{"effects": [...], "fee"?: N, "validUntil"?: UNIX_SECONDS}`. Each effect is read by
 * `effectsFromValue(..., 'json')`: amounts are integers or decimal strings, bytes hex strings or
 * {"hex": "..."}. A rule broken is `E_INVALID` naming the field (`effects[1].amount: ...`); text that
 * is not JSON is `E_DECODE`. See docs/cli.md and core/docs/effects.md.
 *
 * `--prove` also proves the turn's effect on its acting cell (core/docs/stark.md §"Turn proofs"): in
 * this process, against the local ledger's cell as it is before the turn, with the salts from the
 * identity's proof secret. It proves before applying, so a turn the turn AIR does not cover fails with
 * the prover's E_INVALID and nothing is applied or written. The proof file (`--proof FILE`, default
 * `<turn hash>.proof` here) is the binary format of core/src/proofs/submission.ts `encodeProofFile`.
 * `dregg turn verify-proof FILE` checks one: its statement (exit 0) or the typed error (exit 1).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { nowSeconds } from '../../clock.ts';
import type { CborValue } from '../../encoding/cbor.ts';
import { DreggError, isDreggError } from '../../errors.ts';
import { proofSecret } from '../../proofs/state.ts';
import {
  checkProof,
  decodeProofFile,
  encodeProofFile,
  type ProofFile,
  statementJson,
} from '../../proofs/submission.ts';
import { proveTurn } from '../../proofs/turn-proof.ts';
import { type Effect, effectsFromValue, MAX_AMOUNT } from '../../turns/effects.ts';
import type { Receipt } from '../../turns/receipt.ts';
import { signTurn } from '../../turns/turn.ts';
import { atomicWrite } from '../home.ts';
import { hasLedger, matchCellId, openLedger } from '../ledger.ts';
import { unlockedAgent } from './cell.ts';
import { type Invocation, print, required } from './main.ts';
import { receiptJson, receiptToText, renderReceipt } from './receipt.ts';

/** How long a turn stays valid when its effects file does not say (seconds). */
export const DEFAULT_TURN_VALIDITY = 600;

export interface EffectsFile {
  readonly effects: Effect[];
  readonly fee: bigint;
  readonly validUntil: number | undefined;
}

const FILE_FIELDS = ['effects', 'fee', 'validUntil'];

/** Validates a parsed effects file; fails only with `E_INVALID` naming the field. */
export function effectsFileFromJson(value: unknown): EffectsFile {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new DreggError('E_INVALID', 'An effects file is a JSON object {"effects": [...]}');
  const v = value as Record<string, unknown>;
  for (const k of Object.keys(v))
    if (!FILE_FIELDS.includes(k))
      throw new DreggError(
        'E_INVALID',
        `${k}: is not a field of an effects file (${FILE_FIELDS.join(', ')})`,
      );
  const effects = effectsFromValue(v.effects as CborValue | undefined, 'json');
  let fee = 0n;
  if (v.fee !== undefined) {
    const f = v.fee;
    const n =
      typeof f === 'number' && Number.isSafeInteger(f)
        ? BigInt(f)
        : typeof f === 'string' && /^[0-9]{1,20}$/.test(f)
          ? BigInt(f)
          : undefined;
    if (n === undefined || n < 0n || n > MAX_AMOUNT)
      throw new DreggError('E_INVALID', 'fee: must be a non-negative whole number of computrons below 2^64');
    fee = n;
  }
  const until = v.validUntil;
  if (until !== undefined && !(typeof until === 'number' && Number.isSafeInteger(until) && until >= 0))
    throw new DreggError('E_INVALID', 'validUntil: must be Unix seconds (a whole number)');
  return { effects, fee, validUntil: until as number | undefined };
}

export function readEffectsFile(path: string): EffectsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new DreggError('E_NOT_FOUND', `Cannot read the effects file ${path}`, { cause: e });
    throw new DreggError('E_IO', `Cannot read the effects file ${path}`, { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DreggError('E_DECODE', `The effects file ${path} is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return effectsFileFromJson(value);
}

async function submit(inv: Invocation): Promise<number> {
  const cellText = required(inv, 'cell');
  const file = readEffectsFile(required(inv, 'effects'));
  if (!hasLedger(inv.home))
    throw new DreggError(
      'E_NOT_FOUND',
      `No local ledger in ${inv.home}: create a cell first ("dregg cell new")`,
    );
  const prove = inv.flags.prove === true;
  if (inv.flags.proof !== undefined && !prove)
    throw new DreggError('E_ARGUMENT', '--proof goes with --prove');
  const agent = await unlockedAgent(inv);
  const ledger = await openLedger(inv.home, agent);
  let receipt: Receipt;
  let proved: { file: ProofFile; ms: number } | undefined;
  try {
    const { executor } = ledger;
    const id = matchCellId(
      cellText,
      executor.cells().map((c) => c.id),
    );
    const cell = executor.cell(id);
    if (cell === undefined) throw new DreggError('E_NOT_FOUND', `No cell ${id} in the local ledger`);
    const turn = await signTurn(
      {
        ledger: executor.ledger,
        agent: agent.did,
        cell: id,
        nonce: cell.nonce,
        prev: executor.head(agent.did).prev,
        effects: file.effects,
        fee: file.fee,
        validUntil: file.validUntil ?? nowSeconds(agent.clock) + DEFAULT_TURN_VALIDITY,
      },
      agent.identity.seed,
      agent.ed,
    );
    if (prove) {
      const started = performance.now();
      const p = await proveTurn(cell, turn, { secret: proofSecret(agent.identity.seed) });
      proved = { file: p, ms: Math.round(performance.now() - started) };
    }
    receipt = await executor.submit(turn);
  } finally {
    await ledger.close();
  }
  let proofPath: string | undefined;
  if (proved !== undefined) {
    proofPath = resolve(inv.flags.proof ?? `${receipt.turn}.proof`);
    try {
      writeFileSync(proofPath, encodeProofFile(proved.file));
    } catch (e) {
      throw new DreggError('E_IO', `The turn was applied, but writing ${proofPath} failed`, { cause: e });
    }
  }
  const text = receiptToText(receipt);
  let out: string | undefined;
  if (inv.flags.out !== undefined) {
    out = resolve(inv.flags.out);
    try {
      atomicWrite(out, `${text}\n`);
    } catch (e) {
      throw new DreggError('E_IO', `The turn was applied, but writing ${out} failed`, { cause: e });
    }
  }
  print(
    inv,
    {
      ...receiptJson(receipt),
      text,
      ...(out === undefined ? {} : { out }),
      ...(proved === undefined
        ? {}
        : {
            proof: { file: proofPath, statement: statementJson(proved.file.statement), proveMs: proved.ms },
          }),
    },
    [
      renderReceipt(receipt),
      out === undefined ? `\n${text}` : `\nReceipt written to ${out} (check it with "dregg receipt verify")`,
      ...(proved === undefined
        ? []
        : [
            `\nProved in ${proved.ms} ms; proof (${proved.file.proof.length} bytes) written to ${proofPath}`,
            renderStatement(proved.file),
          ]),
    ].join('\n'),
  );
  return 0;
}

function renderStatement(f: ProofFile): string {
  const s = statementJson(f.statement);
  return [
    `  old commitment  ${s.oldCommitment}`,
    `  new commitment  ${s.newCommitment}`,
    `  turn hash       ${s.turnHash}`,
    `  nullifier       ${s.nullifier}`,
  ].join('\n');
}

/** Verifies a proof file: prints its statement (exit 0) or the typed error (exit 1). */
async function verifyProof(inv: Invocation, path: string | undefined): Promise<number> {
  if (path === undefined) throw new DreggError('E_ARGUMENT', 'Usage: dregg turn verify-proof FILE');
  try {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
      throw new DreggError(missing ? 'E_NOT_FOUND' : 'E_IO', `Cannot read the proof file ${path}`, {
        cause: e,
      });
    }
    const file = decodeProofFile(bytes);
    const started = performance.now();
    checkProof(file.statement, file.proof);
    const ms = Math.round(performance.now() - started);
    print(
      inv,
      { valid: true, statement: statementJson(file.statement), verifyMs: ms },
      `The proof verifies (${ms} ms). Statement:\n${renderStatement(file)}`,
    );
    return 0;
  } catch (e) {
    if (!isDreggError(e)) throw e;
    inv.io.stderr(
      inv.json ? `${JSON.stringify({ error: e.toJSON() })}\n` : `dregg: ${e.message} [${e.code}]\n`,
    );
    return 1;
  }
}

export async function turnCommand(inv: Invocation): Promise<number> {
  const [verb] = inv.positionals;
  if (verb === 'submit') return submit(inv);
  if (verb === 'verify-proof') return verifyProof(inv, inv.positionals[1]);
  throw new DreggError(
    'E_ARGUMENT',
    'Usage: dregg turn submit --cell ID --effects FILE.json [--out FILE] [--prove [--proof FILE]] | turn verify-proof FILE',
  );
}

/**
 * `dregg receipt verify|list`, and the receipt's text form: `ccrcpt_` + base64url (no padding) of its
 * canonical CBOR encoding, one line, like tokens (`cctok_`) and delegations (`ccdel_`).
 */
import { readFileSync } from 'node:fs';
import { base64urlnopad } from '@scure/base';
import { defaultEd25519 } from '../../crypto/ed25519.ts';
import { toHex } from '../../encoding/bytes.ts';
import type { CborValue } from '../../encoding/cbor.ts';
import { ed25519FromDidKey } from '../../encoding/did-key.ts';
import { DreggError } from '../../errors.ts';
import {
  decodeReceipt,
  encodeReceipt,
  type Receipt,
  receiptHashHex,
  receiptSigningDigest,
  verifyReceiptChain,
} from '../../turns/receipt.ts';
import { readState } from '../home.ts';
import { hasLedger, localExecutorDid, readLedger, readReceipts } from '../ledger.ts';
import { type Invocation, print } from './main.ts';

export const RECEIPT_PREFIX = 'ccrcpt_';
const RECEIPT_TEXT = /ccrcpt_[A-Za-z0-9_-]+/g;

export function receiptToText(r: Receipt): string {
  return RECEIPT_PREFIX + base64urlnopad.encode(encodeReceipt(r));
}

/** One receipt from its text form; fails only with `E_DECODE` or `E_INVALID`. */
export function receiptFromText(text: string): Receipt {
  const t = text.trim();
  if (!t.startsWith(RECEIPT_PREFIX))
    throw new DreggError('E_DECODE', `Expected a receipt (text starting with "${RECEIPT_PREFIX}")`);
  let bytes: Uint8Array;
  try {
    bytes = base64urlnopad.decode(t.slice(RECEIPT_PREFIX.length));
  } catch (e) {
    throw new DreggError('E_DECODE', 'Malformed receipt: not base64url', { cause: e });
  }
  return decodeReceipt(bytes);
}

/** A CBOR value as JSON: bytes as {"hex"}, integers beyond 2^53 as decimal strings. */
export function jsonValue(v: CborValue): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Uint8Array) return { hex: toHex(v) };
  if (Array.isArray(v)) return v.map(jsonValue);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonValue(x)]));
  return v;
}

/** A receipt for `--json`: every field, amounts as decimal strings, bytes as hex. */
export function receiptJson(r: Receipt): Record<string, unknown> {
  return {
    hash: receiptHashHex(r),
    turn: r.turn,
    agent: r.agent,
    cell: r.cell,
    seq: r.seq,
    prev: r.prev,
    oldState: toHex(r.oldState),
    newState: toHex(r.newState),
    effects: toHex(r.effects),
    events: r.events.map((e) => ({ cell: e.cell, topic: e.topic, data: jsonValue(e.data) })),
    results: r.results.map(jsonValue),
    fee: r.fee.toString(),
    burned: r.burned.toString(),
    at: r.at,
    executor: r.executor,
    signature: toHex(r.signature),
  };
}

/** What a receipt attests, in words. */
export function renderReceipt(r: Receipt): string {
  const results = r.results.map((x) => JSON.stringify(jsonValue(x))).join(', ');
  return [
    `Receipt ${receiptHashHex(r)}`,
    `  executor  ${r.executor} signed that it applied`,
    `  turn      ${r.turn}`,
    `  by agent  ${r.agent}`,
    `  as cell   ${r.cell}`,
    `  at        ${new Date(r.at * 1000).toISOString()}`,
    `  seq       ${r.seq}, ${r.prev === null ? "the agent's first receipt" : `after receipt ${r.prev}`}`,
    `  effects   list hash ${toHex(r.effects)}; results [${results}]`,
    ...r.events.map((e) => `  event     ${e.topic} on ${e.cell}: ${JSON.stringify(jsonValue(e.data))}`),
    `  fee       ${r.fee} computrons; ${r.burned} taken out of circulation`,
    `  state     ${toHex(r.oldState)}`,
    `         -> ${toHex(r.newState)}  (commitments to every record the turn touched)`,
  ].join('\n');
}

/** Every receipt text form in `text`, in order (files may hold one per line, or JSON output). */
function receiptsIn(text: string, where: string): Receipt[] {
  const found = text.match(RECEIPT_TEXT) ?? [];
  if (found.length === 0)
    throw new DreggError('E_DECODE', `No receipt (text starting with "${RECEIPT_PREFIX}") in ${where}`);
  return found.map((t) => receiptFromText(t));
}

function readInput(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new DreggError('E_NOT_FOUND', `Cannot read the receipt file ${path}`, { cause: e });
    throw new DreggError('E_IO', `Cannot read the receipt file ${path}`, { cause: e });
  }
}

async function verify(inv: Invocation, files: readonly string[]): Promise<number> {
  const receipts: Receipt[] = [];
  if (files.length === 0) receipts.push(...receiptsIn(await inv.io.readStdin(), 'standard input'));
  for (const f of files) receipts.push(...receiptsIn(readInput(f), f));

  const local = hasLedger(inv.home) ? localExecutorDid(inv.home) : undefined;
  const given = inv.flags.executor ?? [];
  for (const d of given) ed25519FromDidKey(d); // E_DECODE / E_INVALID for a malformed did:key
  const executors = given.length > 0 ? given : local === undefined ? [] : [local];
  if (executors.length === 0)
    throw new DreggError(
      'E_UNTRUSTED',
      'No executor to trust: pass --executor DID, or verify in the home whose ledger signed the receipt',
    );

  const ed = await defaultEd25519();
  // The signature first, so an altered receipt says so even when its executor is also untrusted.
  for (const [i, r] of receipts.entries()) {
    if (!(await ed.verify(ed25519FromDidKey(r.executor), receiptSigningDigest(r), r.signature)))
      throw new DreggError(
        'E_BAD_SIGNATURE',
        `The executor's signature on receipt ${i} does not verify: it was altered or not signed by ${r.executor}`,
      );
  }
  // Trust, and for several receipts: one agent, consecutive, each following the one before.
  const head = await verifyReceiptChain(receipts, { ed, executors });

  let chain: { agent: string; length: number; head: string } | undefined;
  if (inv.flags.chain === true) {
    if (local === undefined)
      throw new DreggError('E_NOT_FOUND', `No local ledger in ${inv.home} to check the chain against`);
    const agent = receipts[0]!.agent;
    const all = await readLedger(inv.home, (store) => readReceipts(store, agent));
    if (all.length === 0)
      throw new DreggError('E_NOT_FOUND', `The local ledger holds no receipts of ${agent}`);
    const localHead = await verifyReceiptChain(all, { ed, executors: [local], after: null });
    for (const [i, r] of receipts.entries()) {
      const mine = all[r.seq];
      if (mine === undefined || receiptHashHex(mine) !== receiptHashHex(r))
        throw new DreggError('E_NOT_FOUND', `Receipt ${i} is not in the local chain of ${agent}`);
    }
    chain = { agent, length: all.length, head: localHead };
  }

  const trust = given.length > 0 ? 'given with --executor' : "this home's local executor";
  const summary =
    receipts.length === 1
      ? `Verified: signed by ${receipts[0]!.executor} (${trust})`
      : `Verified a chain of ${receipts.length} receipts of ${receipts[0]!.agent}, seq ${receipts[0]!.seq} to ${receipts[receipts.length - 1]!.seq}, head ${head} (executor ${trust})`;
  const chainLine =
    chain === undefined
      ? []
      : [
          `Part of the local chain of ${chain.agent}: ${chain.length} receipt${chain.length === 1 ? '' : 's'} from the first, all verified, head ${chain.head}`,
        ];
  print(
    inv,
    {
      valid: true,
      head,
      trusted: executors,
      receipts: receipts.map(receiptJson),
      ...(chain === undefined ? {} : { chain }),
    },
    [summary, ...chainLine, ...receipts.map(renderReceipt)].join('\n'),
  );
  return 0;
}

async function list(inv: Invocation): Promise<number> {
  const agent = inv.flags.agent ?? readState(inv.home).did;
  const all = await readLedger(inv.home, (store) => readReceipts(store, agent));
  const rows = all.map((r) => ({ seq: r.seq, hash: receiptHashHex(r), text: receiptToText(r) }));
  print(
    inv,
    { agent, receipts: rows },
    rows.length === 0
      ? `No receipts of ${agent} in the local ledger`
      : rows.map((r) => `# seq ${r.seq}, receipt ${r.hash}\n${r.text}`).join('\n'),
  );
  return 0;
}

export async function receiptCommand(inv: Invocation): Promise<number> {
  const [verb, ...args] = inv.positionals;
  switch (verb) {
    case 'verify':
      return verify(inv, args);
    case 'list':
      return list(inv);
    default:
      throw new DreggError(
        'E_ARGUMENT',
        'Usage: dregg receipt verify [FILE...] [--executor DID] [--chain] | receipt list [--agent DID]',
      );
  }
}

/**
 * `dregg cell new|show|list`: cells in the home's local ledger. `new` needs the passphrase (the cell
 * is the identity's, and the local executor's key comes from it); `show` and `list` read public data.
 */
import { webcrypto } from 'node:crypto';
import type { Agent } from '../../agent/agent.ts';
import { describeCaveat } from '../../caps/caveats.ts';
import { type Handle, handleRights } from '../../caps/handle.ts';
import { type Cell, stateCommitment } from '../../cells/cell.ts';
import { toHex } from '../../encoding/bytes.ts';
import { DreggError } from '../../errors.ts';
import type { FieldValue } from '../../turns/effects.ts';
import { openAgent } from '../home.ts';
import { openLedger, readCell, readCells, readLedger, resolveCellId } from '../ledger.ts';
import { parseAmount } from './args.ts';
import { unlockPassphrase } from './io.ts';
import { type Invocation, print } from './main.ts';
import { jsonValue } from './receipt.ts';

export async function unlockedAgent(inv: Invocation): Promise<Agent> {
  return openAgent(inv.home, await unlockPassphrase(inv.io));
}

/** A handle's caveat in words, read as cells read it (actions are effects, budgets computrons). */
function describeCellCaveat(c: Handle['caveats'][number]): string {
  if (c.t === 'actions') return `only these effects: ${c.actions.join(', ')}`;
  if (c.t === 'budget') return `moves at most ${c.max} computrons in total (budget ${c.id})`;
  return describeCaveat(c);
}

function fieldWords(v: FieldValue): string {
  if (v instanceof Uint8Array) return `bytes ${toHex(v)}`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

/** Every public part of a cell, for `--json`: amounts as decimal strings, bytes as {"hex"}. */
export function cellJson(c: Cell): Record<string, unknown> {
  return {
    id: c.id,
    owner: c.owner,
    balance: c.balance.toString(),
    nonce: c.nonce,
    fields: Object.fromEntries(Object.entries(c.fields).map(([k, v]) => [k, jsonValue(v)])),
    clist: [...c.clist.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([slot, h]) => {
        const { actions } = handleRights(h);
        return {
          slot,
          target: { ...h.target },
          caveats: h.caveats.map((cv) => ({ ...cv, words: describeCellCaveat(cv) })),
          effects: actions === 'all' ? 'all' : [...actions].sort(),
        };
      }),
    permissions: { ...c.permissions },
    vk: c.vk,
    lifecycle: c.lifecycle,
    stateCommitment: toHex(stateCommitment(c)),
  };
}

export function renderCell(c: Cell): string {
  const j = cellJson(c);
  const fields = Object.entries(c.fields);
  const exceptions = Object.entries(c.permissions);
  const lines = [
    `Cell ${c.id}`,
    `  owner        ${c.owner}`,
    `  balance      ${c.balance} computrons`,
    `  nonce        ${c.nonce} (the next turn acting as this cell carries it)`,
    `  lifecycle    ${c.lifecycle}`,
    `  acts for it  the owner${c.vk === null ? '' : ` and ${c.vk} (verification key)`}`,
    `  permissions  ${
      exceptions.length === 0
        ? 'every effect needs the owner or a handle'
        : `the owner's or a handle's, except ${exceptions.map(([e, p]) => `${e}: ${p === 'anyone' ? 'anyone' : 'nobody'}`).join(', ')}`
    }`,
    `  fields (${fields.length})${fields.length === 0 ? '' : ':'}`,
    ...fields.map(([k, v]) => `    ${k} = ${fieldWords(v)}`),
    `  c-list (${c.clist.size})${c.clist.size === 0 ? '' : ':'}`,
  ];
  for (const h of j.clist as { slot: number; target: Handle['target']; effects: unknown }[]) {
    const handle = c.clist.get(h.slot)!;
    const effects = h.effects === 'all' ? 'every effect' : (h.effects as string[]).join(', ');
    lines.push(`    slot ${h.slot}: ${h.target.kind} ${h.target.id}; may cause ${effects}`);
    for (const cv of handle.caveats) lines.push(`      - ${describeCellCaveat(cv)}`);
  }
  lines.push(`  state commitment  ${j.stateCommitment}`);
  return lines.join('\n');
}

async function create(inv: Invocation): Promise<number> {
  const balance = parseAmount(inv.flags.balance ?? '0', '--balance');
  const salt = (inv.flags.salt ?? toHex(webcrypto.getRandomValues(new Uint8Array(32)))).toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(salt)) throw new DreggError('E_ARGUMENT', '--salt takes 32 bytes in hex');
  const agent = await unlockedAgent(inv);
  const ledger = await openLedger(inv.home, agent);
  let cell: Cell;
  let genesis: bigint;
  try {
    cell = await ledger.executor.genesis(agent.did, salt, balance);
    genesis = ledger.executor.supply().genesis;
  } finally {
    await ledger.close();
  }
  const demo =
    balance === 0n
      ? []
      : [
          `  ${balance} computrons are a LOCAL DEMO genesis allowance: created from nothing by this home's`,
          `  local executor, recorded in its supply ledger (demo genesis so far: ${genesis}). They exist`,
          '  only in this local ledger; no network knows of them.',
        ];
  print(
    inv,
    {
      ...cellJson(cell),
      salt,
      genesis: { amount: balance.toString(), localDemo: true, total: genesis.toString() },
    },
    [
      `Created cell ${cell.id}`,
      `  owner    ${cell.owner}`,
      `  balance  ${cell.balance}`,
      `  salt     ${salt}`,
      ...demo,
    ].join('\n'),
  );
  return 0;
}

async function show(inv: Invocation, idText: string | undefined): Promise<number> {
  if (idText === undefined) throw new DreggError('E_ARGUMENT', 'Usage: dregg cell show ID');
  const cell = await readLedger(inv.home, async (store) =>
    readCell(store, await resolveCellId(store, idText)),
  );
  print(inv, cellJson(cell), renderCell(cell));
  return 0;
}

async function list(inv: Invocation): Promise<number> {
  const cells = await readLedger(inv.home, readCells);
  const rows = cells.map((c) => ({
    id: c.id,
    owner: c.owner,
    balance: c.balance.toString(),
    nonce: c.nonce,
  }));
  print(
    inv,
    { cells: rows },
    rows.length === 0
      ? 'No cells in the local ledger'
      : rows.map((r) => `${r.id}  balance ${r.balance}  nonce ${r.nonce}  owner ${r.owner}`).join('\n'),
  );
  return 0;
}

export async function cellCommand(inv: Invocation): Promise<number> {
  const [verb, ...args] = inv.positionals;
  switch (verb) {
    case 'new':
      return create(inv);
    case 'show':
      return show(inv, args[0]);
    case 'list':
      return list(inv);
    default:
      throw new DreggError('E_ARGUMENT', 'Usage: dregg cell new [--balance N] [--salt HEX] | show ID | list');
  }
}

/**
 * Cells and turns for the dashboard. The cells live on the relay's ledger (opened with `cell/open`);
 * the node remembers which are its own. A turn is built from a form, signed to continue the agent's
 * receipt chain (`nextTurn`), executed here first on the slice of the ledger it touches (a dry run
 * with the real executor, so a refusal is shown before anything is sent), then submitted; the
 * relay's receipt is compared with the local run's state commitments. Receipts are shown with
 * their chain checked and each one's inclusion under the relay's signed root (`verifyInclusion`).
 *
 * A cell this node proves for is built on the state the node keeps for it (proving.ts), since after a
 * proved turn the relay knows only its commitments; other cells come from the relay's view.
 */
import {
  type Agent,
  applyTurn,
  bytesEqual,
  type Cell,
  cellsOf,
  DreggError,
  type Effect,
  ledgerSlice,
  nextTurn,
  nowSeconds,
  type Receipt,
  receiptHashHex,
  type Store,
  type Turn,
  toHex,
  turnHashHex,
  verifyReceiptChain,
} from '@cipherclerk/core';
import type { RelayClient } from '@cipherclerk/core/net';
import type { ProvedTurn } from '@cipherclerk/core/proofs';
import type { CellView, EffectForm, ReceiptChain, ReceiptView, TurnPreview } from './api.ts';
import { errorToWire } from './errors.ts';
import { readProvedCell } from './proving.ts';

export const CELL_COLLECTIONS = ['cells'] as const;

/** How long a built turn stays valid for submission (seconds). */
const TURN_VALIDITY = 600;
const HEX64 = /^[0-9a-f]{64}$/;

const encoder = new TextEncoder();

export function cellView(
  cell: Cell,
  me: string,
  holdings: ReadonlyMap<string, bigint> = new Map(),
): CellView {
  return {
    id: cell.id,
    owner: cell.owner,
    mine: cell.owner === me,
    balance: cell.balance.toString(),
    assets: [...holdings].map(([asset, amount]) => ({ asset, amount: amount.toString() })),
    nonce: cell.nonce,
    lifecycle: cell.lifecycle,
    fields: Object.entries(cell.fields).map(([name, v]) => ({
      name,
      value: v instanceof Uint8Array ? `0x${toHex(v)}` : String(v),
    })),
    clist: [...cell.clist.entries()].map(([slot, h]) => ({
      slot,
      target: `${h.target.kind} ${h.target.id.slice(0, 16)}…`,
      caveats: h.caveats.length,
    })),
  };
}

/**
 * The node's own cells at this relay, in the order they were opened (or bought). A cell remembered
 * here that the ledger says has changed hands (a name sold in a ring) is not listed: it is listed
 * again should it come back (an aborted ring returns it).
 */
export async function ownCells(store: Store, client: RelayClient, me: string): Promise<CellView[]> {
  const entries = await store.list('cells', { prefix: `${client.info.relay}/` });
  const ordered = entries
    .map((e) => JSON.parse(new TextDecoder().decode(e.value)) as { id: string; at: number })
    .sort((a, b) => a.at - b.at);
  const cells = await Promise.all(
    ordered.map(async (c) => {
      // A proved cell's record at the relay is frozen at registration; its state is the one kept here.
      const kept = await readProvedCell(store, c.id);
      if (kept !== undefined) return { ...cellView(kept, me), proved: true };
      const [cell, holdings] = await Promise.all([client.cell(c.id), client.holdings(c.id)]);
      return cell === undefined || cell.owner !== me ? undefined : cellView(cell, me, holdings);
    }),
  );
  return cells.filter((c) => c !== undefined);
}

/** Remembers `id` among this node's cells at the relay (a cell it came to own); idempotent. */
export async function rememberCell(store: Store, client: RelayClient, id: string): Promise<void> {
  const key = `${client.info.relay}/${id}`;
  if ((await store.get('cells', key)) !== undefined) return;
  await store.transact([
    { op: 'put', collection: 'cells', key, value: encoder.encode(JSON.stringify({ id, at: Date.now() })) },
  ]);
}

/** Opens a fresh cell for this agent on the relay's ledger, with a random salt, and remembers it. */
export async function openCell(store: Store, client: RelayClient, agent: Agent): Promise<CellView> {
  const salt = toHex(crypto.getRandomValues(new Uint8Array(32)));
  const cell = await client.openCell(agent.did, salt);
  await store.transact([
    {
      op: 'put',
      collection: 'cells',
      key: `${client.info.relay}/${cell.id}`,
      value: encoder.encode(JSON.stringify({ id: cell.id, salt, at: Date.now() })),
    },
  ]);
  return cellView(cell, agent.did);
}

function amount(text: string): bigint {
  if (!/^\d{1,19}$/.test(text.trim()))
    throw new DreggError('E_ARGUMENT', 'An amount is a whole number of computrons');
  return BigInt(text.trim());
}

/** The effects a form describes, acting as `cell`; `E_ARGUMENT` for anything ill-formed. */
export function effectsOf(cell: string, forms: readonly EffectForm[]): Effect[] {
  if (!Array.isArray(forms) || forms.length === 0 || forms.length > 16)
    throw new DreggError('E_ARGUMENT', 'A turn has between 1 and 16 effects');
  return forms.map((f): Effect => {
    switch (f?.type) {
      case 'set-field':
        if (typeof f.key !== 'string' || f.key.trim() === '' || typeof f.value !== 'string')
          throw new DreggError('E_ARGUMENT', 'Setting a field needs its name and a value');
        return { type: 'set-field', cell, key: f.key.trim(), value: f.value };
      case 'transfer':
        if (typeof f.to !== 'string' || !HEX64.test(f.to.trim()))
          throw new DreggError('E_ARGUMENT', 'A transfer goes to a cell id: 64 hex characters');
        return { type: 'transfer', from: cell, to: f.to.trim(), amount: amount(f.amount) };
      case 'increment-nonce':
        return { type: 'increment-nonce', cell };
      default:
        throw new DreggError('E_ARGUMENT', 'Choose set field, transfer or increment nonce');
    }
  });
}

/** The cells a turn reads or writes: the acting one, and where its transfers go. */
const touched = (cell: string, effects: readonly Effect[]): string[] => [
  ...new Set([cell, ...effects.flatMap((e) => (e.type === 'transfer' ? [e.to] : []))]),
];

export interface Built {
  readonly turn: Turn;
  /** The acting cell before the turn: the state a proof starts from. */
  readonly cell: Cell;
  readonly preview: TurnPreview;
  /** The local run's state commitments, which the relay's receipt must repeat. */
  readonly oldState: Uint8Array;
  readonly newState: Uint8Array;
}

/**
 * Builds, signs and runs a turn locally against the cells it touches: the acting cell as `kept` (the
 * state this node keeps for a cell it proves for) when given, else as the relay sees it now. A
 * refusal by the executor (`E_INSUFFICIENT`, `E_DENIED`, …) is thrown as is: nothing was sent.
 */
export async function buildTurn(
  client: RelayClient,
  agent: Agent,
  cell: string,
  forms: readonly EffectForm[],
  kept?: Cell,
): Promise<Built> {
  if (!HEX64.test(cell)) throw new DreggError('E_ARGUMENT', 'Choose one of your cells');
  const effects = effectsOf(cell, forms);
  const now = nowSeconds(agent.clock);
  const relayView = client.ledger();
  const cellOf = async (id: string) => (id === kept?.id ? kept : client.cell(id));
  const ledger = { ...relayView, cell: cellOf };
  const signer = { did: agent.did, seed: agent.identity.seed };
  const turn = await nextTurn(ledger, signer, cell, effects, agent.ed, now + TURN_VALIDITY);
  const ids = touched(cell, effects);
  const [head, ...cells] = await Promise.all([client.head(agent.did), ...ids.map(cellOf)]);
  const missing = ids.find((_, i) => cells[i] === undefined);
  if (missing !== undefined)
    throw new DreggError('E_NOT_FOUND', `There is no cell ${missing.slice(0, 16)}… on the relay's ledger`);
  const before = cells as Cell[];
  const state = ledgerSlice(before, agent.did, head);
  const { body } = applyTurn(state, turn, {
    executor: client.info.relay,
    federation: ledger.ledger,
    federations: new Map(),
    now,
    turnHash: turnHashHex(turn),
  });
  const after = cellsOf(state).find((c) => c.id === cell)!;
  return {
    turn,
    cell: before[0]!,
    oldState: body.oldState,
    newState: body.newState,
    preview: {
      turn: turnHashHex(turn),
      cell,
      seq: body.seq,
      before: cellView(before[0]!, agent.did),
      after: cellView(after, agent.did),
      effects: forms.length,
    },
  };
}

/**
 * Submits a built turn and checks its receipt's inclusion. Whether the relay's state commitments
 * repeat the local run is reported, not thrown: the turn is on the ledger either way, and they differ
 * exactly when a cell it touches changed between the two runs (someone paid into it meanwhile).
 */
export async function submitBuilt(client: RelayClient, built: Built): Promise<ReceiptView> {
  const r = (await client.submitTurn(built.turn)).receipt;
  const matchesLocal = bytesEqual(r.oldState, built.oldState) && bytesEqual(r.newState, built.newState);
  return { ...receiptView(r, await inclusion(client, r)), matchesLocal };
}

/**
 * Submits a proved turn: the relay sees its statement and proof, never the turn's effects or the
 * cell's fields and balance. A cell the relay does not know as proved is registered first, from its
 * nonce-0 state (the relay computes that commitment itself from the cell it holds and the nonce-0
 * salt); from then on the relay refuses plaintext turns on it. The receipt is checked against the
 * statement by the client, then its inclusion under the attested root. A turn with a transfer is
 * refused (`E_UNSUPPORTED`): the receiving side of a proved transfer does not exist yet (stark.md).
 */
export async function submitProvedBuilt(
  client: RelayClient,
  agent: Agent,
  built: Built,
  proved: Pick<ProvedTurn, 'statement' | 'proof'>,
  secret: Uint8Array,
): Promise<ReceiptView> {
  // The proof hides the amount, so the relay could credit no recipient: the value would vanish.
  if (built.turn.effects.some((e) => e.type === 'transfer'))
    throw new DreggError(
      'E_UNSUPPORTED',
      'A transfer cannot go as a proof yet: the relay would not learn the amount, so the recipient would never be credited. Submit it from a cell that is not private, or leave the transfer out',
    );
  // Loaded with the prover, not with the worker: most sessions never prove.
  const { digestBytes, signProvedRegistration, signProvedSubmission, stateSalt } = await import(
    '@cipherclerk/core/proofs'
  );
  const signer = { did: agent.did, seed: agent.identity.seed };
  const ledger = client.ledger().ledger;
  const cell = built.cell;
  let head = await client.provedHead(cell.id);
  if (head === undefined) {
    if (cell.nonce !== 0)
      throw new DreggError(
        'E_INVALID',
        'Only a cell with no turns yet can become private: this one already has a public history at the relay',
      );
    const reg = await signProvedRegistration(
      ledger,
      signer,
      cell.id,
      stateSalt(secret, cell.id, 0),
      agent.ed,
    );
    head = await client.registerProvedCell(reg);
  }
  if (!bytesEqual(digestBytes(head), digestBytes(proved.statement.oldCommitment)))
    throw new DreggError(
      'E_STALE',
      'The relay holds another state of this cell than the one proved: run the turn again and prove it',
    );
  const sub = await signProvedSubmission(ledger, signer, cell.id, proved, agent.ed);
  const r = (await client.submitProvedTurn(sub)).receipt;
  return { ...receiptView(r, await inclusion(client, r)), matchesLocal: true, proved: true };
}

async function inclusion(client: RelayClient, r: Receipt): Promise<ReceiptView['inclusion']> {
  try {
    const root = await client.verifyInclusion(r);
    return { verified: true, height: root.height, at: root.at, logRoot: toHex(root.logRoot) };
  } catch (e) {
    return { verified: false, error: errorToWire(e) };
  }
}

function receiptView(r: Receipt, inc: ReceiptView['inclusion']): ReceiptView {
  return {
    hash: receiptHashHex(r),
    turn: r.turn,
    seq: r.seq,
    cell: r.cell,
    at: r.at,
    fee: r.fee.toString(),
    results: r.results.length,
    inclusion: inc,
  };
}

/** The agent's whole receipt chain at the relay: the chain checked, then each receipt's inclusion. */
export async function receiptChain(client: RelayClient, agent: Agent): Promise<ReceiptChain> {
  const receipts = await client.receipts(agent.did);
  let chain: ReceiptChain['chain'] = { ok: true };
  if (receipts.length > 0) {
    try {
      await verifyReceiptChain(receipts, { ed: agent.ed, executors: [client.info.relay], after: null });
    } catch (e) {
      chain = { ok: false, ...errorToWire(e) };
    }
  }
  const views = await Promise.all(receipts.map(async (r) => receiptView(r, await inclusion(client, r))));
  return { receipts: views.reverse(), chain };
}

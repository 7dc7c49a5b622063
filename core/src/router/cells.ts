/**
 * The router's backing for cells: every verb becomes a signed turn by the holding agent, acting as its
 * own cell, submitted to the ledger that holds the cells — the local executor, or a relay's notary
 * through the relay client. Either checks authority again (it derives with the same `attenuateHandle`
 * and authorizes with the same lattice), so local and remote cells are one backing over two views.
 *
 * A handle is "held" by the agent when it sits in a slot of the acting cell's c-list, or when it is
 * the owner's handle (no caveats) to a cell the agent owns.
 */
import { assertHandleNarrows, type Handle, sameHandle } from '../caps/handle.ts';
import type { Cell } from '../cells/cell.ts';
import { actsAsOwner } from '../cells/cell.ts';
import { type Clock, nowSeconds } from '../clock.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import type { CborMap, CborValue } from '../encoding/cbor.ts';
import { DreggError } from '../errors.ts';
import { type Effect, type EffectType, effectFromValue, VIA_TARGET } from '../turns/effects.ts';
import type { Executor } from '../turns/executor.ts';
import type { Receipt } from '../turns/receipt.ts';
import { signTurn, type Turn } from '../turns/turn.ts';
import type { Backing, Invocation } from './router.ts';

/** What the backing needs of a ledger: read a cell and an agent's receipt head, submit a turn. */
export interface LedgerView {
  /** The ledger's name, which every turn carries. */
  readonly ledger: string;
  cell(id: string): Promise<Cell | undefined>;
  head(agent: string): Promise<{ readonly prev: string | null; readonly seq: number }>;
  submit(turn: Turn): Promise<Receipt>;
}

/** An agent's key: its did:key and Ed25519 seed. */
export interface Signer {
  readonly did: string;
  readonly seed: Uint8Array;
}

/**
 * A turn by `agent` acting as `cell`, signed to continue the agent's receipt chain and the cell's nonce
 * as `ledger` reports them now, valid until `validUntil` (Unix seconds); fee 0.
 */
export async function nextTurn(
  ledger: Pick<LedgerView, 'ledger' | 'cell' | 'head'>,
  agent: Signer,
  cell: string,
  effects: readonly Effect[],
  ed: Ed25519,
  validUntil: number,
): Promise<Turn> {
  const [head, acting] = await Promise.all([ledger.head(agent.did), ledger.cell(cell)]);
  return signTurn(
    {
      ledger: ledger.ledger,
      agent: agent.did,
      cell,
      nonce: acting?.nonce ?? 0,
      prev: head.prev,
      effects,
      fee: 0n,
      validUntil,
    },
    agent.seed,
    ed,
  );
}

/** The local executor as a ledger view. */
export function executorView(executor: Executor): LedgerView {
  return {
    ledger: executor.ledger,
    cell: async (id) => executor.cell(id),
    head: async (agent) => executor.head(agent),
    submit: (turn) => executor.submit(turn),
  };
}

export interface CellBackingOptions {
  readonly ledger: LedgerView;
  readonly ed: Ed25519;
  readonly clock: Clock;
  /** The holding agent and its signing key (the backing lives where the key already is). */
  readonly agent: Signer;
  /** The agent's cell whose c-list holds its handles, and which acts in every turn. */
  readonly cell: string;
  /** How long a turn this backing signs stays valid (seconds). */
  readonly validFor?: number;
}

export function cellBacking(options: CellBackingOptions): Backing {
  const { ledger, ed, clock, agent, cell } = options;

  /** Where the agent holds `h`: its c-list slot, or ownership. */
  async function locate(h: Handle): Promise<{ slot: number } | { owner: true }> {
    const acting = await ledger.cell(cell);
    if (acting === undefined) throw new DreggError('E_NOT_FOUND', `No cell ${cell}`);
    for (const [slot, held] of acting.clist) if (sameHandle(held, h)) return { slot };
    const target = await ledger.cell(h.target.id);
    if (h.caveats.length === 0 && target !== undefined && actsAsOwner(target, agent.did))
      return { owner: true };
    throw new DreggError('E_NOT_FOUND', 'This agent holds no such handle');
  }

  async function run(effects: Effect[]): Promise<CborValue[]> {
    const validUntil = nowSeconds(clock) + (options.validFor ?? 300);
    const turn = await nextTurn(ledger, agent, cell, effects, ed, validUntil);
    return [...(await ledger.submit(turn)).results];
  }

  return {
    kind: 'cell',
    async resolve(h) {
      const where = await locate(h);
      const target = await ledger.cell(h.target.id);
      if (target === undefined) throw new DreggError('E_NOT_FOUND', `No cell ${h.target.id}`);
      return {
        kind: 'cell',
        id: target.id,
        held: 'slot' in where ? `slot ${where.slot}` : 'owner',
        summary: { owner: target.owner, nonce: target.nonce, lifecycle: target.lifecycle },
      };
    },
    async invoke(h, request: Invocation) {
      const where = await locate(h);
      const param = (VIA_TARGET as Partial<Record<EffectType, string>>)[request.action as EffectType];
      if (param === undefined)
        throw new DreggError('E_DENIED', `${request.action} is not an effect a handle can cause on a cell`);
      const raw: CborMap = { ...request.args, type: request.action, [param]: h.target.id };
      if ('slot' in where) raw.via = { slot: where.slot };
      const [result] = await run([effectFromValue(raw, 'invocation')]);
      return result ?? null;
    },
    async grant(parent, child, recipient) {
      assertHandleNarrows(child, parent);
      const appended = child.caveats.slice(parent.caveats.length);
      if (
        !sameHandle({ target: child.target, caveats: child.caveats.slice(0, parent.caveats.length) }, parent)
      ) {
        throw new DreggError('E_WIDENING', 'A derived handle must keep every caveat of its parent, in order');
      }
      const where = await locate(parent);
      const source = 'slot' in where ? { slot: where.slot } : { cell: parent.target.id };
      await run([{ type: 'grant-capability', source, to: recipient, caveats: appended }]);
      return child;
    },
    async revoke(h) {
      const where = await locate(h);
      if (!('slot' in where))
        throw new DreggError('E_INVALID', 'Ownership of a cell is not a handle that can be revoked');
      const channel = h.caveats.find((c) => c.t === 'rev' && c.owner === agent.did);
      await run([
        channel?.t === 'rev'
          ? { type: 'revoke-delegation', channel: channel.channel }
          : { type: 'revoke-capability', cell, slot: where.slot },
      ]);
    },
  };
}

/** The backing for cells of the local executor. */
export function localCellBacking(
  options: Omit<CellBackingOptions, 'ledger'> & { executor: Executor },
): Backing {
  return cellBacking({ ...options, ledger: executorView(options.executor) });
}

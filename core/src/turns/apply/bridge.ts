/**
 * Bridge: moving computrons between federations. The source side locks (BridgeLock); the destination
 * mints a wrapped claim on seeing the source federation's attestation of the lock (BridgeMint, once per
 * lock); the source then either finalizes — the value has left this ledger — on the destination's
 * attestation that it minted (BridgeFinalize), or cancels and refunds (BridgeCancel) after the lock
 * expires or on the destination's attestation that it refused.
 *
 * What a mint credits is the destination's choice: computrons by default, or the wrapped asset its
 * genesis names for the source federation (`ExecEnv.wrapped`: e.g. `w-avt-a`), held and supplied apart
 * (../assets.ts). Sending a wrapped asset back (a burn here releasing the lock there) is not built.
 *
 * An attestation is an Ed25519 signature by a federation key this executor was configured to trust,
 * over `H_bridgeAttestation(CBOR {kind, from, to, lock, amount, recipient})`.
 */
import type { Ed25519 } from '../../crypto/ed25519.ts';
import { verifyEd25519Sync } from '../../crypto/ed25519.ts';
import { hashFor } from '../../crypto/hash.ts';
import { type CborMap, encodeCbor } from '../../encoding/cbor.ts';
import { DreggError } from '../../errors.ts';
import { authorizeCell, chargeBudget } from '../authority.ts';
import type { TurnContext } from '../context.ts';
import type { EffectOf } from '../effects.ts';
import { getCell } from '../state.ts';
import { countSupply, credit, debit, exists } from './common.ts';

export interface BridgeEvent {
  /** `locked`: the source locked; `minted`: the destination minted; `refused`: the destination will not. */
  readonly kind: 'locked' | 'minted' | 'refused';
  /** Source federation (where the lock is). */
  readonly from: string;
  /** Destination federation. */
  readonly to: string;
  readonly lock: string;
  readonly amount: bigint;
  /** The agent (did:key) that receives the wrapped claim. */
  readonly recipient: string;
  /** When the lock expires on the source side (Unix seconds): after it the locker may cancel. */
  readonly expires: number;
}

/**
 * A destination mints only while the lock is at least this far from expiring, and a locker cancels
 * only after it expired: with clocks of the two federations within this margin, value never exists
 * on both sides at once.
 */
export const BRIDGE_MARGIN_S = 600;

export function attestationDigest(a: BridgeEvent): Uint8Array {
  return hashFor('bridgeAttestation', encodeCbor({ ...a } as unknown as CborMap));
}

/** What a federation runs to attest a bridge event (tests and relays use it). */
export function signAttestation(
  a: BridgeEvent,
  federationSeed: Uint8Array,
  ed: Ed25519,
): Promise<Uint8Array> {
  return ed.sign(federationSeed, attestationDigest(a));
}

function federationKey(ctx: TurnContext, name: string): Uint8Array {
  const key = ctx.env.federations.get(name);
  if (key === undefined || name === ctx.env.federation) {
    throw new DreggError('E_UNTRUSTED', `Federation ${name} is not one this ledger bridges with`);
  }
  return key;
}

function checkAttestation(ctx: TurnContext, by: string, a: BridgeEvent, signature: Uint8Array): void {
  if (!verifyEd25519Sync(federationKey(ctx, by), attestationDigest(a), signature)) {
    throw new DreggError(
      'E_BAD_SIGNATURE',
      `The attestation is not ${by}'s signature on this ${a.kind} event`,
    );
  }
}

function lockRecord(ctx: TurnContext, id: string): CborMap {
  const lock = ctx.tx.get(`lock:${id}`) as CborMap | undefined;
  if (lock === undefined) throw new DreggError('E_NOT_FOUND', `No bridge lock ${id}`);
  if (lock.state !== 'locked')
    throw new DreggError('E_INVALID', `Bridge lock ${id} is already ${String(lock.state)}`);
  return lock;
}

function eventOf(ctx: TurnContext, kind: BridgeEvent['kind'], id: string, lock: CborMap): BridgeEvent {
  return {
    kind,
    from: ctx.env.federation,
    to: lock.federation as string,
    lock: id,
    amount: BigInt(lock.amount as bigint | number),
    recipient: lock.recipient as string,
    expires: lock.expires as number,
  };
}

export function bridgeLock(ctx: TurnContext, e: EffectOf<'bridge-lock'>): string {
  const from = ctx.cellId(e.from);
  federationKey(ctx, e.federation);
  if (e.expires <= ctx.env.now + 2 * BRIDGE_MARGIN_S) {
    throw new DreggError(
      'E_INVALID',
      `A bridge lock must expire more than ${2 * BRIDGE_MARGIN_S} s from now`,
    );
  }
  const auth = authorizeCell(ctx, from, 'bridge-lock', e.via);
  chargeBudget(ctx, auth, e.amount);
  debit(ctx, from, e.amount);
  const id = ctx.objectId();
  ctx.tx.put(`lock:${id}`, {
    owner: ctx.agent,
    cell: from,
    amount: e.amount,
    federation: e.federation,
    recipient: e.recipient,
    expires: e.expires,
    state: 'locked',
  });
  return id;
}

export function bridgeFinalize(ctx: TurnContext, e: EffectOf<'bridge-finalize'>): null {
  const lock = lockRecord(ctx, e.lock);
  const event = eventOf(ctx, 'minted', e.lock, lock);
  checkAttestation(ctx, event.to, event, e.attestation);
  ctx.tx.put(`lock:${e.lock}`, { ...lock, state: 'finalized' });
  ctx.updateSupply((s) => {
    s.bridgedOut += event.amount;
  });
  return null;
}

export function bridgeCancel(ctx: TurnContext, e: EffectOf<'bridge-cancel'>): null {
  const lock = lockRecord(ctx, e.lock);
  const event = eventOf(ctx, 'refused', e.lock, lock);
  if (e.attestation !== undefined) checkAttestation(ctx, event.to, event, e.attestation);
  else if (lock.owner !== ctx.agent || ctx.env.now < (lock.expires as number)) {
    throw new DreggError(
      'E_DENIED',
      'Without a refusal from the other side, only the locker may cancel, once the lock expires',
    );
  }
  ctx.tx.put(`lock:${e.lock}`, { ...lock, state: 'cancelled' });
  credit(ctx, lock.cell as string, event.amount);
  return null;
}

export function bridgeMint(ctx: TurnContext, e: EffectOf<'bridge-mint'>): null {
  const to = ctx.cellId(e.to);
  if (!exists(ctx, to)) throw new DreggError('E_NOT_FOUND', `No cell ${to}`);
  const key = `minted:${e.federation}/${e.lock}`;
  if (ctx.tx.get(key) !== undefined)
    throw new DreggError('E_EXISTS', `Lock ${e.lock} of ${e.federation} was already minted`);
  if (ctx.env.now + BRIDGE_MARGIN_S >= e.expires) {
    throw new DreggError('E_EXPIRED', 'The lock expires too soon to mint against it (its locker may cancel)');
  }
  const event: BridgeEvent = {
    kind: 'locked',
    from: e.federation,
    to: ctx.env.federation,
    lock: e.lock,
    amount: e.amount,
    recipient: getCell(ctx.tx, to).owner,
    expires: e.expires,
  };
  checkAttestation(ctx, e.federation, event, e.attestation);
  const asset = ctx.env.wrapped?.get(e.federation);
  ctx.tx.put(key, { amount: e.amount, cell: to, ...(asset === undefined ? {} : { asset }) });
  credit(ctx, to, e.amount, asset);
  countSupply(ctx, 'bridgedIn', e.amount, asset);
  return null;
}

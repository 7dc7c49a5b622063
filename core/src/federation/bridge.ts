/**
 * Bridges between federations, checked by committees rather than by one federation key.
 *
 * - **Lock (on A).** A turn on federation A with one `bridge-lock` effect: `amount` of cell `from`,
 *   for `recipient` on federation `federation` (B), with `expires` read here as a *height of B's
 *   settlement log*, the deadline (clocks of two federations do not agree; B's log height is a point
 *   every member of B places the same way). The lock's id, its nonce, is the turn's hash.
 * - **Mint (on B).** A claim carries the lock turn and A's federated receipt of it with its inclusion
 *   proof under an attested root of A (./receipts.ts). B accepts it only when the root is signed by
 *   more than 2/3 of B's pinned copy of A's committee, the receipt says A accepted that very turn, the
 *   lock names B, and B's log is still below the deadline. Each lock mints once: the nullifier
 *   `A/lock` is spent by the mint.
 * - **Cancel.** Chosen form: a non-mint statement by B. After the deadline, anyone may ask B to void
 *   the lock; B voids it only if it was not minted, which spends the same nullifier, so a later mint
 *   is refused and an earlier mint makes the void fail. B's members then sign the `refused` bridge
 *   event (`attestationDigest` of core/src/turns/apply/bridge.ts, the registered bridge context), and A
 *   releases the lock back to its cell on that statement signed by more than 2/3 of A's pinned copy of
 *   B's committee. "Deadline and no mint proof" alone was not enough: A cannot see that B did not mint.
 *
 * The books are deterministic state machines: each side applies mints, voids, locks and releases in
 * its final order, so every member ends in the same state. The ledger (debit on lock, credit on mint
 * and release) stays the caller's, as in settle.ts.
 */
import { fail } from '../errors.ts';
import { attestationDigest, type BridgeEvent } from '../turns/apply/bridge.ts';
import { type Turn, turnHashHex } from '../turns/turn.ts';
import { countSignatures, type RootCheck, type RootSignature } from './attest.ts';
import type { Signer } from './block.ts';
import type { Committee } from './committee.ts';
import { type ReceiptBundle, verifyFederatedReceipt } from './receipts.ts';

export interface BridgeLock {
  /** The lock turn's hash: the lock's id and nonce. */
  readonly id: string;
  readonly source: string;
  readonly cell: string;
  readonly amount: bigint;
  readonly target: { readonly federation: string; readonly recipient: string; readonly deadline: number };
}

/** The lock a turn of federation `source` makes, or `E_INVALID` if it is not a lock turn. */
export function lockOf(turn: Turn, source: string): BridgeLock {
  const fx = turn.effects;
  const e = fx[0];
  if (fx.length !== 1 || e?.type !== 'bridge-lock')
    fail('E_INVALID', 'A bridge lock turn has one bridge-lock effect');
  if (turn.ledger !== source) fail('E_INVALID', `The lock turn is for ${turn.ledger}, not ${source}`);
  if (typeof e.from !== 'string' || e.from !== turn.cell) fail('E_INVALID', 'A lock locks the acting cell');
  return {
    id: turnHashHex(turn),
    source,
    cell: e.from,
    amount: e.amount,
    target: { federation: e.federation, recipient: e.recipient, deadline: e.expires },
  };
}

/** What B is shown to mint (or void): the lock turn and A's receipt of it under an attested root. */
export interface LockClaim {
  readonly turn: Turn;
  readonly proof: ReceiptBundle;
}

/** The event B's committee signs when it voids a lock. */
export function voidEvent(lock: BridgeLock): BridgeEvent {
  return {
    kind: 'refused',
    from: lock.source,
    to: lock.target.federation,
    lock: lock.id,
    amount: lock.amount,
    recipient: lock.target.recipient,
    expires: lock.target.deadline,
  };
}

export interface VoidStatement {
  readonly event: BridgeEvent;
  readonly signatures: readonly RootSignature[];
}

export async function signVoid(lock: BridgeLock, signer: Uint8Array, sign: Signer): Promise<RootSignature> {
  return { signer, signature: await sign(attestationDigest(voidEvent(lock))) };
}

/** B's side: the committees of the federations it bridges with, pinned, and the nullifiers spent. */
export function createMintBook(federation: string, pinned: ReadonlyMap<string, Committee>) {
  const spent = new Map<string, { readonly kind: 'minted' | 'voided'; readonly height: number }>();

  function verified(claim: LockClaim): BridgeLock {
    const source = claim.turn.ledger;
    const committee = pinned.get(source);
    if (committee === undefined || source === federation)
      fail('E_UNTRUSTED', `Federation ${source} is not one this federation bridges with`);
    const lock = lockOf(claim.turn, source);
    if (lock.target.federation !== federation) fail('E_INVALID', `The lock is for ${lock.target.federation}`);
    const { receipt, proof, root } = claim.proof;
    const check = verifyFederatedReceipt(receipt, proof, root, committee);
    if (!check.ok) fail('E_UNTRUSTED', `The lock is not proven on ${source}: ${check.reason}`);
    if (receipt.turn !== lock.id) fail('E_INVALID', 'The receipt is for another turn');
    if (receipt.outcome !== 'accepted')
      fail('E_INVALID', `${source} did not take the lock (${receipt.outcome})`);
    return lock;
  }

  function spend(lock: BridgeLock, kind: 'minted' | 'voided', height: number): BridgeLock {
    const key = `${lock.source}/${lock.id}`;
    const before = spent.get(key);
    if (before !== undefined)
      fail('E_EXISTS', `Lock ${lock.id} of ${lock.source} was already ${before.kind}`);
    spent.set(key, { kind, height });
    return lock;
  }

  return {
    /** Mints at B's log height `height`: returns the lock to credit `amount` to its recipient. */
    mint(claim: LockClaim, height: number): BridgeLock {
      const lock = verified(claim);
      if (height >= lock.target.deadline)
        fail(
          'E_EXPIRED',
          `The lock's deadline (height ${lock.target.deadline}) has passed; it can only be voided`,
        );
      return spend(lock, 'minted', height);
    },
    /** Voids an unminted lock at or after its deadline; B's members then sign `voidEvent(lock)`. */
    voidLock(claim: LockClaim, height: number): BridgeLock {
      const lock = verified(claim);
      if (height < lock.target.deadline)
        fail('E_DENIED', `The lock may be minted until height ${lock.target.deadline}`);
      return spend(lock, 'voided', height);
    },
    state: (source: string, lock: string) => spent.get(`${source}/${lock}`)?.kind,
  };
}

/** A's side: its locks, and the committees of the federations they go to, pinned. */
export function createLockBook(federation: string, pinned: ReadonlyMap<string, Committee>) {
  const locks = new Map<string, { readonly lock: BridgeLock; state: 'locked' | 'released' }>();
  return {
    /** Records a lock turn A's settlement took (the caller's ledger debited the cell). */
    lock(turn: Turn): BridgeLock {
      const lock = lockOf(turn, federation);
      if (!pinned.has(lock.target.federation))
        fail('E_UNTRUSTED', `Federation ${lock.target.federation} is not one this federation bridges with`);
      if (locks.has(lock.id)) fail('E_EXISTS', `Lock ${lock.id} exists`);
      locks.set(lock.id, { lock, state: 'locked' });
      return lock;
    },
    /** Releases a lock on B's signed void statement: returns the lock to credit back to its cell. */
    release(id: string, statement: VoidStatement): BridgeLock {
      const entry = locks.get(id);
      if (entry === undefined) fail('E_NOT_FOUND', `No bridge lock ${id}`);
      if (entry.state !== 'locked') fail('E_EXISTS', `Lock ${id} was already released`);
      const expected = voidEvent(entry.lock);
      const e = statement.event;
      if (
        e.kind !== expected.kind ||
        e.from !== expected.from ||
        e.to !== expected.to ||
        e.lock !== expected.lock ||
        e.amount !== expected.amount ||
        e.recipient !== expected.recipient ||
        e.expires !== expected.expires
      )
        fail('E_INVALID', 'The statement is not the void of this lock');
      const check: RootCheck = countSignatures(
        attestationDigest(expected),
        statement.signatures,
        pinned.get(entry.lock.target.federation)!,
      );
      if (!check.accepted) fail('E_UNTRUSTED', `The void is not ${expected.to}'s: ${check.reason}`);
      entry.state = 'released';
      return entry.lock;
    },
    state: (id: string) => locks.get(id)?.state,
  };
}

/**
 * Bridges between federations, checked by committees rather than by one federation key.
 *
 * - **Lock (on A).** A turn on federation A with one `bridge-lock` effect: `amount` of cell `from`,
 *   for `recipient` on federation `federation` (B), with `expires` the deadline read on *B's settled
 *   clock*: the latest block time in B's final order (Unix seconds), a point every member of B places
 *   the same way. (A's executor also reads `expires` as Unix seconds: it takes a lock only when it
 *   expires more than 2 × `BRIDGE_MARGIN_S` after A's own settled time.) The lock's id is the turn's
 *   hash; the executor's record of it is `lock:<lockObjectId>`.
 * - **Mint (on B).** A claim carries the lock turn and A's federated receipt of it with its inclusion
 *   proof under an attested root of A (./receipts.ts). B accepts it only when the root is signed by
 *   more than 2/3 of B's pinned copy of A's committee, the receipt says A accepted that very turn, the
 *   lock names B, and B's clock is still more than `BRIDGE_MARGIN_S` before the deadline (the margin
 *   B's executor applies to a mint). Each lock mints once: the nullifier `A/lock` is spent by it.
 * - **Cancel.** Chosen form: a non-mint statement by B. At or after the deadline, anyone may ask B to
 *   void the lock; B voids it only if it was not minted, which spends the same nullifier, so a later
 *   mint is refused and an earlier mint makes the void fail. B's members then sign the `refused`
 *   bridge event (`voidEvent`, `attestationDigest` of core/src/turns/apply/bridge.ts), and A
 *   releases the lock back to its cell on that statement signed by more than 2/3 of A's pinned copy
 *   of B's committee. "Deadline and no mint proof" alone was not enough: A cannot see that B did not
 *   mint.
 *
 * The books are deterministic state machines: each side applies mints, voids, locks and releases in
 * its final order, so every member ends in the same state. A relay checks a claim (`admit`), applies
 * its ledger effect, and only then spends the nullifier (`spend`), so a claim the ledger refuses
 * spends nothing. The ledger (debit on lock, credit on mint and release) stays the caller's.
 *
 * Claims travel as block payload (block.ts `{t: 'bridge', b}`) in deterministic CBOR:
 * `{v, op: 'mint', lock, rcpt, to}`, `{v, op: 'void', lock, rcpt}` (`lock` the encoded lock turn,
 * `rcpt` A's encoded receipt bundle, `to` the recipient's 32-byte cell id on B) and
 * `{v, op: 'release', id, sigs: [[signer, signature], ...]}` (`id` the lock turn's hash).
 */
import { hashFor } from '../crypto/hash.ts';
import { fromHex, toHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, decoding, fail } from '../errors.ts';
import { attestationDigest, BRIDGE_MARGIN_S, type BridgeEvent } from '../turns/apply/bridge.ts';
import { decodeTurn, encodeTurn, type Turn, turnHashHex, turnSigningDigest } from '../turns/turn.ts';
import { countSignatures, MAX_ROOT_SIGNATURES, type RootCheck, type RootSignature } from './attest.ts';
import { MAX_TURN_BYTES, type Signer } from './block.ts';
import type { Committee } from './committee.ts';
import {
  decodeReceiptBundle,
  encodeReceiptBundle,
  type ReceiptBundle,
  verifyFederatedReceipt,
} from './receipts.ts';

export interface BridgeLock {
  /** The lock turn's hash: the lock's id and nonce. */
  readonly id: string;
  /** The id of the lock's record in the source ledger (the executor's `lock:<id>`). */
  readonly object: string;
  readonly source: string;
  readonly cell: string;
  readonly amount: bigint;
  /** `deadline`: Unix seconds on the target federation's settled clock. */
  readonly target: { readonly federation: string; readonly recipient: string; readonly deadline: number };
}

/**
 * The id the executor gives the lock a turn's first effect makes: its `ctx.objectId()`
 * (core/src/turns/context.ts), BLAKE3 of the turn's signing digest, effect index 0 and counter 0.
 */
export function lockObjectId(turn: Turn): string {
  return toHex(hashFor('ledgerObjectId', new Uint8Array([...turnSigningDigest(turn), 0, 0, 0, 0]), 16));
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
    object: lockObjectId(turn),
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

/** B's members' signatures on `voidEvent(lock)`: what A releases a lock on. */
export interface VoidStatement {
  readonly signatures: readonly RootSignature[];
}

export async function signVoid(lock: BridgeLock, signer: Uint8Array, sign: Signer): Promise<RootSignature> {
  return { signer, signature: await sign(attestationDigest(voidEvent(lock))) };
}

type Spent = { readonly kind: 'minted' | 'voided'; readonly time: number; readonly lock: BridgeLock };

/** B's side: the committees of the federations it bridges with, pinned, and the nullifiers spent. */
export function createMintBook(federation: string, pinned: ReadonlyMap<string, Committee>) {
  const spent = new Map<string, Spent>();

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

  /** Checks a mint or a void at B's settled time `time` without spending the nullifier. */
  function admit(kind: 'mint' | 'void', claim: LockClaim, time: number): BridgeLock {
    const lock = verified(claim);
    const before = spent.get(`${lock.source}/${lock.id}`);
    if (before !== undefined)
      fail('E_EXISTS', `Lock ${lock.id} of ${lock.source} was already ${before.kind}`);
    const deadline = lock.target.deadline;
    if (kind === 'mint' && time + BRIDGE_MARGIN_S >= deadline)
      fail('E_EXPIRED', `The lock's deadline (${deadline}) is too near or past; it can only be voided`);
    if (kind === 'void' && time < deadline) fail('E_DENIED', `The lock may be minted until ${deadline}`);
    return lock;
  }

  function spend(lock: BridgeLock, kind: 'minted' | 'voided', time: number): BridgeLock {
    const key = `${lock.source}/${lock.id}`;
    const before = spent.get(key);
    if (before !== undefined)
      fail('E_EXISTS', `Lock ${lock.id} of ${lock.source} was already ${before.kind}`);
    spent.set(key, { kind, time, lock });
    return lock;
  }

  return {
    admit,
    spend,
    /** Mints at B's settled time: returns the lock to credit `amount` to its recipient. */
    mint: (claim: LockClaim, time: number): BridgeLock => spend(admit('mint', claim, time), 'minted', time),
    /** Voids an unminted lock at or after its deadline; B's members then sign `voidEvent(lock)`. */
    voidLock: (claim: LockClaim, time: number): BridgeLock =>
      spend(admit('void', claim, time), 'voided', time),
    state: (source: string, lock: string) => spent.get(`${source}/${lock}`)?.kind,
    /** The voided lock, for signing its statement. */
    voided(source: string, lock: string): BridgeLock | undefined {
      const s = spent.get(`${source}/${lock}`);
      return s?.kind === 'voided' ? s.lock : undefined;
    },
    /** Amounts minted per source federation. */
    minted(): Map<string, bigint> {
      const sums = new Map<string, bigint>();
      for (const s of spent.values())
        if (s.kind === 'minted') sums.set(s.lock.source, (sums.get(s.lock.source) ?? 0n) + s.lock.amount);
      return sums;
    },
  };
}

/** A's side: its locks, and the committees of the federations they go to, pinned. */
export function createLockBook(federation: string, pinned: ReadonlyMap<string, Committee>) {
  const locks = new Map<string, { readonly lock: BridgeLock; state: 'locked' | 'released' }>();

  /** Checks B's void statement for lock `id` without releasing it. */
  function admitRelease(id: string, statement: VoidStatement): BridgeLock {
    const entry = locks.get(id);
    if (entry === undefined) fail('E_NOT_FOUND', `No bridge lock ${id}`);
    if (entry.state !== 'locked') fail('E_EXISTS', `Lock ${id} was already released`);
    const event = voidEvent(entry.lock);
    const check: RootCheck = countSignatures(
      attestationDigest(event),
      statement.signatures,
      pinned.get(entry.lock.target.federation)!,
    );
    if (!check.accepted) fail('E_UNTRUSTED', `The void is not ${event.to}'s: ${check.reason}`);
    return entry.lock;
  }

  function released(id: string): void {
    const entry = locks.get(id);
    if (entry?.state !== 'locked') fail('E_EXISTS', `Lock ${id} is not held`);
    entry.state = 'released';
  }

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
    admitRelease,
    released,
    /** Releases a lock on B's signed void statement: returns the lock to credit back to its cell. */
    release(id: string, statement: VoidStatement): BridgeLock {
      const lock = admitRelease(id, statement);
      released(id);
      return lock;
    },
    state: (id: string) => locks.get(id)?.state,
    /** Amounts still locked per target federation. */
    locked(): Map<string, bigint> {
      const sums = new Map<string, bigint>();
      for (const { lock, state } of locks.values())
        if (state === 'locked')
          sums.set(lock.target.federation, (sums.get(lock.target.federation) ?? 0n) + lock.amount);
      return sums;
    },
  };
}

// ---- claims on the wire ----------------------------------------------------------------------------

export const CLAIM_VERSION = 1;

export type Claim =
  | { readonly op: 'mint'; readonly claim: LockClaim; readonly to: string }
  | { readonly op: 'void'; readonly claim: LockClaim }
  | { readonly op: 'release'; readonly lock: string; readonly statement: VoidStatement };

/** What a claim is about: one mint, one void, one release per lock. */
export function claimKey(c: Claim): string {
  return c.op === 'release'
    ? `release/${c.lock}`
    : `${c.op}/${c.claim.turn.ledger}/${turnHashHex(c.claim.turn)}`;
}

export function encodeClaim(c: Claim): Uint8Array {
  let body: CborMap;
  if (c.op === 'release')
    body = {
      v: CLAIM_VERSION,
      op: c.op,
      id: fromHex(c.lock),
      sigs: c.statement.signatures.map((s) => [s.signer, s.signature]),
    };
  else
    body = {
      v: CLAIM_VERSION,
      op: c.op,
      lock: encodeTurn(c.claim.turn),
      rcpt: encodeReceiptBundle(c.claim.proof),
      ...(c.op === 'mint' ? { to: fromHex(c.to) } : {}),
    };
  return encodeCbor(body).slice();
}

function bad(message: string): never {
  throw new DreggError('E_INVALID', `Invalid bridge claim: ${message}`);
}

function exact(v: CborMap, names: readonly string[]): void {
  if (Object.keys(v).length !== names.length || !names.every((k) => Object.hasOwn(v, k)))
    bad(`fields are {${names.join(', ')}}`);
}

function bytes32(x: CborValue | undefined, name: string): Uint8Array {
  if (!(x instanceof Uint8Array) || x.length !== 32) bad(`${name} is 32 bytes`);
  return x;
}

function claimFromCbor(v: CborValue): Claim {
  if (!isCborMap(v)) bad('not a map');
  if (v.v !== CLAIM_VERSION) bad('unknown version');
  if (v.op === 'release') {
    exact(v, ['id', 'op', 'sigs', 'v']);
    if (!Array.isArray(v.sigs) || v.sigs.length > MAX_ROOT_SIGNATURES)
      bad(`sigs is a list of at most ${MAX_ROOT_SIGNATURES}`);
    const signatures = v.sigs.map((pair) => {
      if (!Array.isArray(pair) || pair.length !== 2) bad('a signature is a [signer, signature] pair');
      const [signer, signature] = pair;
      if (!(signature instanceof Uint8Array) || signature.length !== 64) bad('a signature is 64 bytes');
      return { signer: bytes32(signer, 'a signer'), signature };
    });
    return { op: 'release', lock: toHex(bytes32(v.id, 'id')), statement: { signatures } };
  }
  if (v.op !== 'mint' && v.op !== 'void') bad('op is mint, void or release');
  exact(v, v.op === 'mint' ? ['lock', 'op', 'rcpt', 'to', 'v'] : ['lock', 'op', 'rcpt', 'v']);
  if (!(v.lock instanceof Uint8Array) || v.lock.length > MAX_TURN_BYTES) bad('lock is an encoded turn');
  if (!(v.rcpt instanceof Uint8Array)) bad('rcpt is an encoded receipt bundle');
  const claim = { turn: decodeTurn(v.lock), proof: decodeReceiptBundle(v.rcpt) };
  return v.op === 'mint' ? { op: 'mint', claim, to: toHex(bytes32(v.to, 'to')) } : { op: 'void', claim };
}

/** Decodes a claim from outside; fails only with `E_DECODE` or `E_INVALID`. Checks no signature. */
export function decodeClaim(bytes: Uint8Array): Claim {
  return decoding('bridge claim', () => claimFromCbor(decodeCbor(bytes, 'bridge claim')));
}

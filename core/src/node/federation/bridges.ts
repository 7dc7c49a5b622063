/**
 * Bridges in relay mode (core/docs/federation.md, "Bridges"): a federation relay whose genesis pins
 * other federations' committees (`bridges`) takes bridge claims as block payload and applies them to
 * its ledger where the final order puts them, so every member does the same thing in the same place.
 *
 * The ledger is the executor's (core/src/turns/apply/bridge.ts), whose bridge effects check one
 * Ed25519 key per federation. Here that key is the federation's *bridge module*: a key derived from
 * the federation's name, public by design, like a chain's module account. It acts only through
 * claims: the module turns that credit a mint (`bridge-mint`) or release a lock (`bridge-cancel`) are
 * made by every member alike after the books (core/src/federation/bridge.ts) checked the claim
 * against the other federation's pinned committee, and an ordinary turn that is the module's, or
 * that carries `bridge-mint`, `bridge-finalize` or `bridge-cancel`, is refused (`E_DENIED`) before
 * the ledger sees it. So what the executor's signature check stands for is "a supermajority of the
 * other committee said so", checked once, in order. A user's `bridge-lock` turn is an ordinary turn.
 *
 * A claim's outcome is not a turn and gets no federated receipt; the lock turn (on A) and the module
 * turns (their ledger effects) are in the ledger like any other.
 */
import type { Libp2p } from '@libp2p/interface';
import { cellId } from '../../cells/cell.ts';
import { type Ed25519, ed25519PublicKey } from '../../crypto/ed25519.ts';
import { hashFor } from '../../crypto/hash.ts';
import { toHex, utf8 } from '../../encoding/bytes.ts';
import { didKeyFromEd25519 } from '../../encoding/did-key.ts';
import { DreggError, fail } from '../../errors.ts';
import type { RootSignature } from '../../federation/attest.ts';
import type { PayloadItem } from '../../federation/block.ts';
import {
  type BridgeLock,
  type Claim,
  createLockBook,
  createMintBook,
  decodeClaim,
  lockOf,
  signVoid,
} from '../../federation/bridge.ts';
import type { Ordered } from '../../federation/order.ts';
import type { ApplyInOrder } from '../../federation/settle.ts';
import {
  type ClaimAnswer,
  type ClaimOutcome,
  decodeVoidRequest,
  encodeClaimAnswer,
  encodeVoidSignature,
  FEDERATION_OPS,
} from '../../net/federation.ts';
import { type ServeRpcOptions, serveRpc } from '../../net/rpc.ts';
import type { Notary } from '../../notary/index.ts';
import { attestationDigest, type BridgeEvent } from '../../turns/apply/bridge.ts';
import type { Effect } from '../../turns/effects.ts';
import { signTurn, type Turn } from '../../turns/turn.ts';
import type { Log } from '../relay/log.ts';
import type { Genesis } from './genesis.ts';

/** Effects only the bridge module may cause in a bridged federation. */
const MODULE_EFFECTS: ReadonlySet<string> = new Set(['bridge-mint', 'bridge-finalize', 'bridge-cancel']);
/** How long a module turn is valid after the settled time it is made at (it is applied at once). */
const MODULE_TURN_VALID_S = 60;

export interface BridgeModule {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly did: string;
  readonly cell: string;
}

/** The bridge module of federation `federation`: the same on every member, and on every reader. */
export function bridgeModule(federation: string): BridgeModule {
  const seed = hashFor('federationBridgeModule', utf8.encode(federation));
  const publicKey = ed25519PublicKey(seed);
  const did = didKeyFromEd25519(publicKey);
  return { seed, publicKey, did, cell: cellId(did, toHex(seed)) };
}

export interface BridgesOptions {
  readonly genesis: Genesis;
  readonly ed: Ed25519;
  /** This member's signing seed: it signs the voids it settled. */
  readonly seed: Uint8Array;
  readonly log: Log;
}

export interface BridgeStatus {
  /** Amount still locked here, per federation it is locked for. */
  readonly locked: Readonly<Record<string, string>>;
  /** Amount minted here, per federation it was locked on. */
  readonly minted: Readonly<Record<string, string>>;
}

export interface Bridges {
  /** For the notary: every bridged federation -> this federation's module key (see above). */
  readonly federations: ReadonlyMap<string, Uint8Array>;
  /** For the notary: bridged federations whose mints credit a wrapped asset (the genesis's pins). */
  readonly wrapped: ReadonlyMap<string, string>;
  /** Issues the module's cell (after the genesis cells): the cell its turns act as. */
  open(notary: Notary): Promise<void>;
  /** Wraps the settlement's ledger: refuses module-only turns, records the locks taken. */
  screen(inOrder: ApplyInOrder): ApplyInOrder;
  /** Applies the bridge claims of newly ordered blocks at the settled time `time` (Unix seconds). */
  settle(ordered: readonly Ordered[], time: number): Promise<void>;
  /**
   * Decodes a claim from outside: the answer once it is settled, and the item to order unless these
   * bytes are settled or queued already.
   */
  claim(bytes: Uint8Array): { item?: PayloadItem; answer: Promise<ClaimAnswer> };
  /** This member's signature on the void of lock `lock` (hex) of `source`; `E_NOT_FOUND` before it. */
  voidSignature(source: string, lock: string): Promise<RootSignature>;
  status(): BridgeStatus;
  /** Fails every waiting claim (the relay is stopping). */
  close(): void;
}

const sums = (m: Map<string, bigint>): Record<string, string> =>
  Object.fromEntries([...m].map(([k, v]) => [k, v.toString()]));

export function createBridges(o: BridgesOptions): Bridges {
  const { genesis, ed } = o;
  const federation = genesis.federation;
  const pinned = new Map(genesis.bridges.map((c) => [c.federation, c]));
  const module = bridgeModule(federation);
  const mints = createMintBook(federation, pinned);
  const locks = createLockBook(federation, pinned);
  const me = { publicKey: ed25519PublicKey(o.seed), sign: (d: Uint8Array) => ed.sign(o.seed, d) };
  const answers = new Map<string, { ok: ClaimOutcome } | { refused: DreggError }>();
  const waiters = new Map<string, { resolve: (a: ClaimAnswer) => void; reject: (e: unknown) => void }[]>();
  let notary: Notary | undefined;

  const claimId = (bytes: Uint8Array): string => toHex(hashFor('federationBridgeClaim', bytes));

  function answer(id: string, a: { ok: ClaimOutcome } | { refused: DreggError }): void {
    if (answers.has(id)) return;
    answers.set(id, a);
    const list = waiters.get(id) ?? [];
    waiters.delete(id);
    for (const w of list) 'ok' in a ? w.resolve({ outcome: a.ok, duplicate: false }) : w.reject(a.refused);
  }

  /** A turn of the module, made identically by every member from the ledger they share. */
  async function moduleTurn(effect: Effect, time: number): Promise<Turn> {
    const n = notary!;
    const cell = n.cell(module.cell);
    if (cell === undefined) fail('E_INTERNAL', 'The bridge module has no cell');
    return signTurn(
      {
        ledger: federation,
        agent: module.did,
        cell: module.cell,
        nonce: cell.nonce,
        prev: n.head(module.did).prev,
        effects: [effect],
        fee: 0n,
        validUntil: time + MODULE_TURN_VALID_S,
      },
      module.seed,
      ed,
    );
  }

  async function apply(effect: Effect, time: number): Promise<void> {
    const [result] = await notary!.submitInOrder([await moduleTurn(effect, time)]);
    if (result instanceof DreggError) throw result;
  }

  /** What the executor checks a module effect's attestation against: this lock's event. */
  const attest = (event: BridgeEvent): Promise<Uint8Array> => ed.sign(module.seed, attestationDigest(event));

  async function mint(c: Extract<Claim, { op: 'mint' }>, time: number): Promise<BridgeLock> {
    const lock = mints.admit('mint', c.claim, time);
    const to = notary!.cell(c.to);
    if (to === undefined) fail('E_NOT_FOUND', `No cell ${c.to} here to mint into`);
    if (to.owner !== lock.target.recipient) fail('E_INVALID', 'The cell is not the lock recipient’s');
    const event: BridgeEvent = {
      kind: 'locked',
      from: lock.source,
      to: federation,
      lock: lock.object,
      amount: lock.amount,
      recipient: lock.target.recipient,
      expires: lock.target.deadline,
    };
    await apply(
      {
        type: 'bridge-mint',
        federation: lock.source,
        lock: lock.object,
        amount: lock.amount,
        to: c.to,
        expires: lock.target.deadline,
        attestation: await attest(event),
      },
      time,
    );
    return mints.spend(lock, 'minted', time);
  }

  async function release(c: Extract<Claim, { op: 'release' }>, time: number): Promise<void> {
    const lock = locks.admitRelease(c.lock, c.statement);
    const event: BridgeEvent = {
      kind: 'refused',
      from: federation,
      to: lock.target.federation,
      lock: lock.object,
      amount: lock.amount,
      recipient: lock.target.recipient,
      expires: lock.target.deadline,
    };
    await apply({ type: 'bridge-cancel', lock: lock.object, attestation: await attest(event) }, time);
    locks.released(c.lock);
  }

  async function settleClaim(bytes: Uint8Array, time: number): Promise<void> {
    const id = claimId(bytes);
    if (answers.has(id)) return; // these very bytes again: the first settlement is the answer
    try {
      const c = decodeClaim(bytes);
      if (c.op === 'mint') await mint(c, time);
      else if (c.op === 'void') mints.spend(mints.admit('void', c.claim, time), 'voided', time);
      else await release(c, time);
      answer(id, { ok: c.op === 'mint' ? 'minted' : c.op === 'void' ? 'voided' : 'released' });
      o.log('info', 'bridge claim settled', { id });
    } catch (e) {
      o.log('info', 'bridge claim refused', { id, error: String(e) });
      if (!(e instanceof DreggError)) throw e;
      answer(id, { refused: e });
    }
  }

  /** Why an ordinary turn may not reach the ledger here, if it may not. */
  function screenOne(turn: Turn): DreggError | undefined {
    if (turn.agent === module.did || turn.effects.some((e) => MODULE_EFFECTS.has(e.type)))
      return new DreggError('E_DENIED', 'Bridge mints and releases come only from settled bridge claims');
    if (!turn.effects.some((e) => e.type === 'bridge-lock')) return undefined;
    // A lock the book could not hold could never be released: refused before it debits anything.
    try {
      const lock = lockOf(turn, federation);
      if (!pinned.has(lock.target.federation))
        fail('E_UNTRUSTED', `Federation ${lock.target.federation} is not one this federation bridges with`);
    } catch (e) {
      if (e instanceof DreggError) return e;
      throw e;
    }
    return undefined;
  }

  return {
    federations: new Map([...pinned.keys()].map((f) => [f, module.publicKey])),
    wrapped: genesis.wrapped,
    async open(n) {
      notary = n;
      await n.genesis(module.did, toHex(module.seed), 0n);
    },
    screen(inOrder) {
      return async (turns) => {
        const refused = turns.map(({ turn }) => screenOne(turn));
        const asked = turns.filter((_, i) => refused[i] === undefined);
        const results = asked.length === 0 ? [] : await inOrder(asked);
        let k = 0;
        return turns.map(({ turn }, i) => {
          if (refused[i] !== undefined) return refused[i];
          const r = results[k++];
          if (r === undefined && turn.effects[0]?.type === 'bridge-lock') locks.lock(turn);
          return r;
        });
      };
    },
    async settle(ordered, time) {
      for (const o of ordered) {
        if (!o.delivered) continue;
        for (const item of o.node.block.payload)
          if (item.kind === 'bridge') await settleClaim(item.claim, time);
      }
    },
    claim(bytes) {
      const c = decodeClaim(bytes);
      if (c.op !== 'release' && !pinned.has(c.claim.turn.ledger))
        fail('E_UNTRUSTED', `Federation ${c.claim.turn.ledger} is not one this federation bridges with`);
      const id = claimId(bytes);
      const done = answers.get(id);
      if (done !== undefined)
        return {
          answer:
            'ok' in done
              ? Promise.resolve({ outcome: done.ok, duplicate: true })
              : Promise.reject(done.refused),
        };
      const queued = waiters.has(id);
      const answer = new Promise<ClaimAnswer>((resolve, reject) => {
        const list = waiters.get(id) ?? [];
        waiters.set(id, list);
        list.push({ resolve, reject });
      });
      return queued ? { answer } : { item: { kind: 'bridge', claim: bytes }, answer };
    },
    async voidSignature(source, lock) {
      const voided = mints.voided(source, lock);
      if (voided === undefined) fail('E_NOT_FOUND', `This relay has not settled a void of ${source}/${lock}`);
      return signVoid(voided, me.publicKey, me.sign);
    },
    status: () => ({ locked: sums(locks.locked()), minted: sums(mints.minted()) }),
    close() {
      for (const list of waiters.values())
        for (const w of list)
          w.reject(new DreggError('E_UNREACHABLE', 'The relay stopped before settling the claim'));
      waiters.clear();
    },
  };
}

/** Serves `federation/bridge-claim` and `federation/bridge-void` for a bridged federation relay. */
export async function serveBridges(
  node: Libp2p,
  bridges: Bridges,
  propose: (item: PayloadItem) => void,
  opts: ServeRpcOptions,
): Promise<void> {
  await serveRpc(
    node,
    FEDERATION_OPS.bridgeClaim,
    async (request) => {
      const { item, answer } = bridges.claim(request);
      if (item !== undefined) propose(item);
      return encodeClaimAnswer(await answer);
    },
    opts,
  );
  await serveRpc(
    node,
    FEDERATION_OPS.bridgeVoid,
    async (request) => {
      const q = decodeVoidRequest(request);
      return encodeVoidSignature(await bridges.voidSignature(q.source, toHex(q.lock)));
    },
    opts,
  );
}

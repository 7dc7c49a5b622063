/**
 * A bridge between two federations of real relays (`dregg relay --federation`, three child processes
 * each, on loopback), each genesis pinning the other's committee. Locks settle on A; mints, voids and
 * releases are claims ordered through the blocks of the federation that applies them. B's relays run
 * with their clock an hour ahead (the test-only skew), so a lock A takes with a deadline 2000 s out
 * has passed its deadline on B's clock: the cancel path without waiting out the executor's margin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { fromHex } from '../../src/encoding/bytes.ts';
import { DreggError } from '../../src/errors.ts';
import {
  type Claim,
  encodeClaim,
  type LockClaim,
  lockOf,
  type VoidStatement,
} from '../../src/federation/bridge.ts';
import { decodeReceiptBundle, type ReceiptBundle } from '../../src/federation/receipts.ts';
import type { RelayClient } from '../../src/net/client.ts';
import {
  type ClaimAnswer,
  decodeClaimAnswer,
  decodeVoidSignature,
  encodeReceiptRequest,
  encodeVoidRequest,
  FEDERATION_OPS,
} from '../../src/net/federation.ts';
import type { RpcOp } from '../../src/net/rpc.ts';
import type { Effect } from '../../src/turns/effects.ts';
import { signTurn, type Turn, turnHashHex } from '../../src/turns/turn.ts';
import { BALANCE, converged, type Fed, federation, type Payer, submitPatiently } from './relays-fixtures.ts';

const SKEW_S = 3600;
const RELAYS = [0, 1, 2];

let a: Fed;
let b: Fed;

beforeAll(async () => {
  a = await federation(3, 2, { federation: 'fed-a', ledger: 'fed-a' });
  b = await federation(3, 2, { federation: 'fed-b', ledger: 'fed-b' });
  a.bridge([b]);
  b.bridge([a]);
  await Promise.all([
    ...RELAYS.map((i) => a.start(i)),
    ...RELAYS.map((i) => b.start(i, { CIPHERCLERK_TEST_CLOCK_SKEW_S: String(SKEW_S) })),
  ]);
}, 180_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
}, 60_000);

/** A call sent again while it times out (settlement can outlast one call on a loaded machine). */
async function patiently(client: RelayClient, op: RpcOp, request: Uint8Array): Promise<Uint8Array> {
  for (;;) {
    try {
      return await client.call(op, request);
    } catch (e) {
      if (!(e instanceof DreggError) || e.code !== 'E_TIMEOUT') throw e;
    }
  }
}

/** Asks again while the answer is `E_NOT_FOUND` (a root or a settlement still on its way). */
async function once<T>(ask: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await ask();
    } catch (e) {
      if (!(e instanceof DreggError) || e.code !== 'E_NOT_FOUND' || Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function claim(fed: Fed, c: Claim, relay = 0): Promise<ClaimAnswer> {
  return decodeClaimAnswer(
    await patiently(await fed.client(relay), FEDERATION_OPS.bridgeClaim, encodeClaim(c)),
  );
}

async function refusal(answer: Promise<unknown>): Promise<string> {
  try {
    await answer;
  } catch (e) {
    if (e instanceof DreggError) return e.code;
    throw e;
  }
  throw new Error('expected a refusal');
}

/** A turn by `p` on `fed`'s ledger, continuing its chain as relay 0 reports it. */
async function turnOf(fed: Fed, p: Payer, effect: Effect): Promise<Turn> {
  const client = await fed.client(0);
  const [head, cell] = await Promise.all([client.ledger().head(p.did), client.ledger().cell(p.cell)]);
  return signTurn(
    {
      ledger: fed.ledger,
      agent: p.did,
      cell: p.cell,
      nonce: cell!.nonce,
      prev: head.prev,
      effects: [effect],
      fee: 0n,
      validUntil: Math.floor(Date.now() / 1000) + 600,
    },
    p.seed,
    nobleEd25519,
  );
}

/** `p`'s balance on every relay of `fed`, once they have settled alike. */
async function balances(fed: Fed, p: Payer): Promise<bigint[]> {
  await converged(fed, RELAYS);
  return Promise.all(RELAYS.map(async (i) => (await (await fed.client(i)).ledger().cell(p.cell))!.balance));
}

/** The same proof with its root's signatures in another order: other bytes, as valid. */
const reordered = (proof: ReceiptBundle): ReceiptBundle => ({
  ...proof,
  root: { ...proof.root, signatures: [...proof.root.signatures].reverse() },
});

describe('a bridge between two federations of relays', () => {
  let alice: Payer;
  let bob: Payer;
  let toMint: Turn;
  let toVoid: Turn;
  let mintProof: LockClaim;
  let voidProof: LockClaim;

  it('A takes two locks and serves their receipts under roots of its committee', async () => {
    [alice, bob] = a.payers as [Payer, Payer];
    const now = Math.floor(Date.now() / 1000);
    const lock = (amount: bigint, expires: number): Effect => ({
      type: 'bridge-lock',
      from: alice.cell,
      amount,
      federation: 'fed-b',
      recipient: bob.did,
      expires,
    });
    toMint = await turnOf(a, alice, lock(100n, now + 100_000));
    await submitPatiently(await a.client(0), toMint);
    toVoid = await turnOf(a, alice, lock(40n, now + 2000));
    await submitPatiently(await a.client(1), toVoid);
    const proof = async (turn: Turn): Promise<LockClaim> => {
      const client = await a.client(2);
      const bundle = await once(async () =>
        decodeReceiptBundle(
          await client.call(FEDERATION_OPS.receipt, encodeReceiptRequest(fromHex(turnHashHex(turn)))),
        ),
      );
      return { turn, proof: bundle };
    };
    mintProof = await proof(toMint);
    voidProof = await proof(toVoid);
    expect(mintProof.proof.receipt.outcome).toBe('accepted');
    expect(await balances(a, alice)).toEqual([BALANCE - 140n, BALANCE - 140n, BALANCE - 140n]);
  }, 120_000);

  it('B refuses a void before the deadline and a mint under a root too few of A signed, then mints once', async () => {
    expect(await refusal(claim(b, { op: 'void', claim: mintProof }))).toBe('E_DENIED');
    const weak = {
      ...mintProof,
      proof: {
        ...mintProof.proof,
        root: { ...mintProof.proof.root, signatures: mintProof.proof.root.signatures.slice(0, 2) },
      },
    };
    expect(await refusal(claim(b, { op: 'mint', claim: weak, to: bob.cell }))).toBe('E_UNTRUSTED');
    // Into a cell that is not the recipient's: refused, and nothing is spent.
    expect(await refusal(claim(b, { op: 'mint', claim: mintProof, to: alice.cell }))).toBe('E_INVALID');
    // An ordinary turn cannot act as the bridge module.
    const forged = await turnOf(b, alice, {
      type: 'bridge-mint',
      federation: 'fed-a',
      lock: lockOf(toMint, 'fed-a').object,
      amount: 1000n,
      to: alice.cell,
      expires: Math.floor(Date.now() / 1000) + 100_000,
      attestation: new Uint8Array(64),
    });
    expect(await refusal(submitPatiently(await b.client(1), forged))).toBe('E_DENIED');

    const mint: Claim = { op: 'mint', claim: mintProof, to: bob.cell };
    expect(await claim(b, mint, 1)).toEqual({ outcome: 'minted', duplicate: false });
    expect(await balances(b, bob)).toEqual([BALANCE + 100n, BALANCE + 100n, BALANCE + 100n]);
    // The same claim again is answered as settled; another claim of the same lock is refused.
    expect(await claim(b, mint, 2)).toEqual({ outcome: 'minted', duplicate: true });
    const again: Claim = {
      op: 'mint',
      claim: { ...mintProof, proof: reordered(mintProof.proof) },
      to: bob.cell,
    };
    expect(await refusal(claim(b, again, 0))).toBe('E_EXISTS');
    expect(await balances(b, bob)).toEqual([BALANCE + 100n, BALANCE + 100n, BALANCE + 100n]);
  }, 120_000);

  it('B voids a lock past its deadline, A releases it on B’s statement, and no mint follows', async () => {
    const lock = lockOf(toVoid, 'fed-a');
    // Past the deadline on B's clock: too late to mint.
    expect(await refusal(claim(b, { op: 'mint', claim: voidProof, to: bob.cell }))).toBe('E_EXPIRED');
    expect(await claim(b, { op: 'void', claim: voidProof }, 2)).toEqual({
      outcome: 'voided',
      duplicate: false,
    });
    const late: Claim = {
      op: 'mint',
      claim: { ...voidProof, proof: reordered(voidProof.proof) },
      to: bob.cell,
    };
    expect(await refusal(claim(b, late))).toBe('E_EXISTS');

    // Each member of B signs the void once it has settled it; the client gathers the statement.
    const signatures = await Promise.all(
      RELAYS.map(async (i) => {
        const client = await b.client(i);
        const request = encodeVoidRequest({ source: 'fed-a', lock: fromHex(lock.id) });
        return once(async () => decodeVoidSignature(await client.call(FEDERATION_OPS.bridgeVoid, request)));
      }),
    );
    const statement = (n: number): VoidStatement => ({ signatures: signatures.slice(0, n) });
    expect(await refusal(claim(a, { op: 'release', lock: lock.id, statement: statement(2) }))).toBe(
      'E_UNTRUSTED',
    );
    // B's signatures on another lock's void do not release this one.
    expect(
      await refusal(claim(a, { op: 'release', lock: lockOf(toMint, 'fed-a').id, statement: statement(3) })),
    ).toBe('E_UNTRUSTED');
    expect(await claim(a, { op: 'release', lock: lock.id, statement: statement(3) }, 1)).toEqual({
      outcome: 'released',
      duplicate: false,
    });
    expect(await balances(a, alice)).toEqual([BALANCE - 100n, BALANCE - 100n, BALANCE - 100n]);
    const twice: VoidStatement = { signatures: [...signatures].reverse() };
    expect(await refusal(claim(a, { op: 'release', lock: lock.id, statement: twice }))).toBe('E_EXISTS');
  }, 120_000);

  it('every relay of each federation ends with one ledger root, the audits balance, and A’s locks match B’s mints', async () => {
    // A member of each side restarted replays its blocks, claims included, to the same ledger.
    await a.relays[2]!.stop(5000);
    await b.relays[2]!.stop(5000);
    await a.start(2);
    await b.start(2, { CIPHERCLERK_TEST_CLOCK_SKEW_S: String(SKEW_S) });
    for (const fed of [a, b]) {
      const statuses = await converged(fed, RELAYS);
      for (const i of RELAYS) expect((await fed.health(i)).supplyDelta).toBe('0');
      for (const s of statuses) expect(s.ledgerRoot).toBe(statuses[0]!.ledgerRoot);
    }
    for (const i of RELAYS) {
      const onA = (await a.health(i)).federation as unknown as {
        bridges: { locked: object; minted: object };
      };
      const onB = (await b.health(i)).federation as unknown as {
        bridges: { locked: object; minted: object };
      };
      // What A still holds locked for B is exactly what B minted against A.
      expect(onA.bridges).toEqual({ locked: { 'fed-b': '100' }, minted: {} });
      expect(onB.bridges).toEqual({ locked: {}, minted: { 'fed-a': '100' } });
    }
  }, 180_000);
});

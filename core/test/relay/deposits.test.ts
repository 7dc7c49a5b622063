/**
 * Inbox deposits in computrons against a real relay (libp2p, SQLite) through the real client: a
 * relay with a minimum deposit charges each new deposit once, by the sender's own transfer turn to its
 * escrow cell, and pays the deposit back — once — to whoever reveals the refund secret after the
 * recipient drained the message. The supply audit balances throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cellId } from '../../src/cells/cell.ts';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { seal, x25519FromEd25519Public } from '../../src/crypto/sealed-box.ts';
import { ed25519FromDidKey } from '../../src/encoding/did-key.ts';
import { INBOX_ORIGIN, type InboxPoint } from '../../src/inbox/client.ts';
import type { DepositRequest } from '../../src/inbox/wire.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import { paidDeposit } from '../../src/net/deposits.ts';
import { ESCROW_SALT } from '../../src/node/relay/deposits.ts';
import { relayKeys } from '../../src/node/relay/keys.ts';
import type { Relay } from '../../src/node/relay/relay.ts';
import { encodeTurn, signTurn } from '../../src/turns/turn.ts';
import { codeOf } from '../caps/fixtures.ts';
import { person, saltOf, tempHome, testRelay } from './fixtures.ts';

const MIN = 5n;
const alice = person(11);
const bob = person(12);
let home: ReturnType<typeof tempHome>;
let relay: Relay;
let client: RelayClient;
let aliceCell: string;
let escrow: string;
let keyCounter = 0;

const balance = async (id: string) => (await client.cell(id))!.balance;
const message = (deposit: bigint, text = 'sealed for bob'): Omit<DepositRequest, 'payment' | 'refund'> => ({
  recipient: bob.did,
  ciphertext: seal(x25519FromEd25519Public(ed25519FromDidKey(bob.did)), new TextEncoder().encode(text)),
  ttl: 3600,
  deposit,
  idempotencyKey: new Uint8Array(16).fill(++keyCounter),
});
const payer = () => ({ did: alice.did, seed: alice.seed, cell: aliceCell });
const secret = (n: number) => new Uint8Array(32).fill(n);
let bobAcked: InboxPoint = INBOX_ORIGIN;
/** Bob drains (and acknowledges) what is waiting for him. */
const drainBob = async () => {
  const page = await client.drain({ did: bob.did, seed: bob.seed, acked: bobAcked });
  bobAcked = page.head;
  return page;
};

beforeAll(async () => {
  home = tempHome();
  relay = await testRelay(home.dir, { inboxLimits: { minDeposit: MIN } });
  client = await connectRelay(relay.multiaddrs, { relay: relay.did });
  aliceCell = (await client.openCell(alice.did, saltOf(11))).id;
  escrow = client.info.escrow;
}, 60_000);

afterAll(async () => {
  await client?.close();
  await relay?.stop();
  home?.remove();
});

describe('relay: inbox deposits are paid in computrons', () => {
  it('names its escrow cell and its minimum deposit', () => {
    expect(client.info).toMatchObject({ escrow: cellId(relay.did, ESCROW_SALT), minDeposit: MIN });
  });

  it('refuses a deposit below the minimum, or one without its payment', async () => {
    expect(await codeOf(client.deposit({ ...message(0n) }))).toBe('E_INVALID');
    const unpaid = { ...(await paidDeposit(client, message(MIN), payer(), secret(1), nobleEd25519)) };
    delete (unpaid as { payment?: Uint8Array }).payment;
    await expect(client.deposit(unpaid)).rejects.toMatchObject({
      code: 'E_INVALID',
      message: expect.stringMatching(/needs its payment/),
    });
    expect(await balance(aliceCell)).toBe(1000n);
  });

  it('refuses a payment of another amount or to another cell, and moves nothing', async () => {
    const request = await paidDeposit(client, message(MIN + 1n), payer(), secret(2), nobleEd25519);
    const refused = { code: 'E_INVALID', message: expect.stringMatching(/one transfer of exactly 5 to/) };
    await expect(client.deposit({ ...request, deposit: MIN })).rejects.toMatchObject(refused);
    const head = await client.head(alice.did);
    const elsewhere = await signTurn(
      {
        ledger: 'main',
        agent: alice.did,
        cell: aliceCell,
        nonce: (await client.cell(aliceCell))!.nonce,
        prev: head.prev,
        effects: [{ type: 'transfer', from: aliceCell, to: aliceCell, amount: MIN }],
        fee: 0n,
        validUntil: Math.floor(Date.now() / 1000) + 60,
      },
      alice.seed,
      nobleEd25519,
    );
    await expect(
      client.deposit({ ...message(MIN), refund: secret(3), payment: encodeTurn(elsewhere) }),
    ).rejects.toMatchObject(refused);
    expect(await balance(aliceCell)).toBe(1000n);
  });

  it('charges a new deposit once: a retry is the same deposit, and the payment pays for nothing else', async () => {
    const request = await paidDeposit(client, message(MIN), payer(), secret(4), nobleEd25519);
    const receipt = await client.deposit(request);
    expect(await balance(aliceCell)).toBe(1000n - MIN);
    expect(await balance(escrow)).toBe(MIN);
    expect(await client.deposit(request)).toEqual(receipt);
    expect(await balance(aliceCell)).toBe(1000n - MIN);
    const other = { ...message(MIN, 'another'), refund: request.refund, payment: request.payment };
    expect(await codeOf(client.deposit(other))).toBe('E_EXISTS');
    expect(await balance(aliceCell)).toBe(1000n - MIN);
    expect((await relay.notary.audit()).delta).toBe(0n);
  });

  it('refunds a drained deposit once, to whoever reveals the secret, and only after the drain', async () => {
    const s = secret(5);
    const before = await balance(aliceCell);
    const request = await paidDeposit(client, message(MIN, 'refund me'), payer(), s, nobleEd25519);
    const { seq } = await client.deposit(request);
    const claim = { recipient: bob.did, seq, secret: s, cell: aliceCell };
    expect(await codeOf(client.claimRefund(claim, MIN))).toBe('E_NOT_FOUND'); // not drained yet

    const page = await drainBob();
    expect(page.ack.refunds).toBeGreaterThanOrEqual(1);
    expect(await codeOf(client.claimRefund({ ...claim, secret: secret(6) }, MIN))).toBe('E_DENIED');

    const paid = await client.claimRefund(claim, MIN);
    await client.verifyInclusion(paid.receipt);
    expect(await balance(aliceCell)).toBe(before);
    expect(await codeOf(client.claimRefund(claim, MIN))).toBe('E_NOT_FOUND');
    expect(await balance(aliceCell)).toBe(before);
    expect((await relay.notary.audit()).delta).toBe(0n);
  });

  it('pays a refund whose payout was written and ordered before a crash exactly once', async () => {
    const s = secret(7);
    const request = await paidDeposit(client, message(MIN, 'crash'), payer(), s, nobleEd25519);
    const { seq } = await client.deposit(request);
    await drainBob();
    const owed = (await relay.inbox.refund(bob.did, seq))!;
    // What a relay killed between ordering the payout and settling the refund leaves behind.
    const signing = relayKeys(home.dir).signing;
    const payout = await signTurn(
      {
        ledger: 'main',
        agent: relay.did,
        cell: escrow,
        nonce: relay.notary.cell(escrow)!.nonce,
        prev: relay.notary.head(relay.did).prev,
        effects: [{ type: 'transfer', from: escrow, to: aliceCell, amount: owed.amount }],
        fee: 0n,
        validUntil: Math.floor(Date.now() / 1000) + 600,
      },
      signing,
      nobleEd25519,
    );
    await relay.inbox.notePayout(owed.id, encodeTurn(payout));
    await relay.notary.submit(payout);
    const credited = await balance(aliceCell);

    const paid = await client.claimRefund({ recipient: bob.did, seq, secret: s, cell: aliceCell }, MIN);
    expect(paid.duplicate).toBe(true);
    expect(await balance(aliceCell)).toBe(credited);
    expect(await relay.inbox.refund(bob.did, seq)).toBeUndefined();
  });

  it('rebuilds a payout that was written but never ordered, and pays once', async () => {
    const s = secret(8);
    const { seq } = await client.deposit(
      await paidDeposit(client, message(MIN, 'lost payout'), payer(), s, nobleEd25519),
    );
    await drainBob();
    const owed = (await relay.inbox.refund(bob.did, seq))!;
    const stale = await signTurn(
      {
        ledger: 'main',
        agent: relay.did,
        cell: escrow,
        nonce: relay.notary.cell(escrow)!.nonce + 5, // never valid: its place is not next
        prev: relay.notary.head(relay.did).prev,
        effects: [{ type: 'transfer', from: escrow, to: aliceCell, amount: owed.amount }],
        fee: 0n,
        validUntil: Math.floor(Date.now() / 1000) + 600,
      },
      relayKeys(home.dir).signing,
      nobleEd25519,
    );
    await relay.inbox.notePayout(owed.id, encodeTurn(stale));
    const before = await balance(aliceCell);
    const paid = await client.claimRefund({ recipient: bob.did, seq, secret: s, cell: aliceCell }, MIN);
    expect(paid.duplicate).toBe(false);
    expect(await balance(aliceCell)).toBe(before + MIN);
    expect((await relay.notary.audit()).delta).toBe(0n);
  });
});

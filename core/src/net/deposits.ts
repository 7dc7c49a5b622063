/**
 * The sender's side of a paid inbox deposit: a deposit request that carries its payment (a turn of
 * the payer's cell moving exactly the deposit to the relay's escrow cell) and the refund claim of a
 * secret the sender keeps. With the secret and the deposit receipt's place, the sender (or anyone it
 * hands them to) later claims the refund: `client.claimRefund`.
 */
import { type Clock, nowSeconds, systemClock } from '../clock.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { type DepositRequest, refundClaim } from '../inbox/wire.ts';
import { nextTurn, type Signer } from '../router/cells.ts';
import { encodeTurn } from '../turns/turn.ts';
import type { RelayClient } from './client.ts';

/** Who pays: an agent's key and the cell on the relay's ledger it pays from. */
export interface Payer extends Signer {
  readonly cell: string;
}

/** How long the payment turn stays valid (the relay accepts at most an hour). */
const PAYMENT_VALIDITY_SECONDS = 300;

/** `request` with its payment and the refund claim of `secret` (32 random bytes the sender keeps). */
export async function paidDeposit(
  client: RelayClient,
  request: Omit<DepositRequest, 'payment' | 'refund'>,
  payer: Payer,
  secret: Uint8Array,
  ed: Ed25519,
  clock: Clock = systemClock,
): Promise<DepositRequest> {
  const payment = await nextTurn(
    client.ledger(),
    payer,
    payer.cell,
    [{ type: 'transfer', from: payer.cell, to: client.info.escrow, amount: request.deposit }],
    ed,
    nowSeconds(clock) + PAYMENT_VALIDITY_SECONDS,
  );
  return { ...request, refund: refundClaim(secret), payment: encodeTurn(payment) };
}

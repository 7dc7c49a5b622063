/**
 * Inbox deposits in computrons, the relay's side. A deposit is paid by a turn of the sender's that
 * moves exactly the deposit to the relay's escrow cell; the relay submits it to its notary before it
 * stores the message (only for a new deposit that fits the quotas: a retry is not charged again),
 * and one payment pays for one deposit. Once the recipient acknowledges the message, whoever reveals
 * the deposit's refund secret gets it back: the relay pays from its escrow cell in a turn it signs.
 *
 * A refund is paid exactly once, across crashes: the payout turn is written into the refund record
 * before it is submitted (write-ahead). A later claim resubmits that same turn — the notary answers a
 * turn already in its log as a duplicate, so nothing moves twice — and builds a new one only if the
 * old one was refused (never applied: its place in the escrow cell's chain was taken, or it lapsed).
 * Payouts run one at a time, since each continues the escrow cell's nonce and the relay's chain.
 */
import { type Clock, nowSeconds } from '../../clock.ts';
import type { Ed25519 } from '../../crypto/ed25519.ts';
import { bytesEqual, toHex, utf8 } from '../../encoding/bytes.ts';
import { DreggError, fail } from '../../errors.ts';
import type { Inbox, Payment } from '../../inbox/inbox.ts';
import { type DepositRequest, refundClaim } from '../../inbox/wire.ts';
import type { RefundClaim, Submitted } from '../../net/contract.ts';
import type { Notary } from '../../notary/index.ts';
import { nextTurn } from '../../router/cells.ts';
import { decodeTurn, encodeTurn, type Turn, turnHash } from '../../turns/turn.ts';

/** The salt of the relay's escrow cell (a label, zero-padded to 32 bytes): its id is `cellId(relay, ESCROW_SALT)`. */
export const ESCROW_SALT = toHex(
  ((label) => Uint8Array.from({ length: 32 }, (_, i) => label[i] ?? 0))(
    utf8.encode('cipherclerk inbox escrow'),
  ),
);
/** A payment turn may be valid for at most this long: the inbox remembers it that long. */
export const MAX_PAYMENT_VALIDITY_SECONDS = 3600;
/** How long a payout turn is valid: a payout not ordered by then is rebuilt on the next claim. */
const PAYOUT_VALIDITY_SECONDS = 600;

export interface Deposits {
  /** The escrow cell's id. */
  readonly escrow: string;
  /** The payment of `request` (required when it carries a deposit); undefined for a free deposit. */
  payment(request: DepositRequest): Payment | undefined;
  /** Pays a refund to the claim's cell, once. */
  claim(c: RefundClaim): Promise<Submitted>;
}

export interface DepositsOptions {
  readonly notary: Notary;
  readonly inbox: Inbox;
  readonly ed: Ed25519;
  readonly clock: Clock;
  /** The relay's signing seed: the escrow cell is the relay's own. */
  readonly seed: Uint8Array;
}

/** Opens (idempotently: a genesis of 0 computrons) the relay's escrow cell and serves deposits. */
export async function openDeposits(o: DepositsOptions): Promise<Deposits> {
  const { notary, inbox } = o;
  const escrow = (await notary.genesis(notary.relay, ESCROW_SALT, 0n)).id;

  let payouts: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const run = payouts.then(work, work);
    payouts = run.catch(() => undefined);
    return run;
  };

  function checkPayment(turn: Turn, amount: bigint): void {
    const now = nowSeconds(o.clock);
    const [effect, ...more] = turn.effects;
    if (
      effect === undefined ||
      more.length > 0 ||
      effect.type !== 'transfer' ||
      effect.from === undefined ||
      effect.to !== escrow ||
      effect.amount !== amount
    )
      fail(
        'E_INVALID',
        `A deposit's payment is one transfer of exactly ${amount} to the escrow cell ${escrow}`,
      );
    if (turn.validUntil <= now) fail('E_EXPIRED', "The deposit's payment has expired");
    if (turn.validUntil > now + MAX_PAYMENT_VALIDITY_SECONDS)
      fail('E_INVALID', `A payment may be valid for at most ${MAX_PAYMENT_VALIDITY_SECONDS} seconds`);
  }

  // The relay's own chain and the escrow cell's nonce, as its notary has them now.
  const own = {
    ledger: notary.ledger,
    cell: async (id: string) => notary.cell(id),
    head: async (agent: string) => notary.head(agent),
  };
  const relay = { did: notary.relay, seed: o.seed };
  const payout = (to: string, amount: bigint): Promise<Turn> =>
    nextTurn(
      own,
      relay,
      escrow,
      [{ type: 'transfer', from: escrow, to, amount }],
      o.ed,
      nowSeconds(o.clock) + PAYOUT_VALIDITY_SECONDS,
    );

  return {
    escrow,

    payment(request) {
      if (request.deposit === 0n) return undefined;
      if (request.payment === undefined)
        fail('E_INVALID', `This deposit needs its payment: a transfer of ${request.deposit} to ${escrow}`);
      const turn = decodeTurn(request.payment);
      checkPayment(turn, request.deposit);
      return {
        id: turnHash(turn),
        until: turn.validUntil,
        // Already in the log (a retry after a crash between payment and deposit) is paid all the same.
        charge: async () => void (await notary.submit(turn)),
      };
    },

    claim(c) {
      return oneAtATime(async () => {
        const owed = await inbox.refund(c.recipient, c.seq);
        if (owed === undefined)
          fail(
            'E_NOT_FOUND',
            'No refund is owed for this message: its recipient has not acknowledged it, it expired, or it was paid',
          );
        if (!bytesEqual(refundClaim(c.secret), owed.claim))
          fail('E_DENIED', 'This secret does not claim the refund of that message');
        if (owed.payout !== undefined) {
          const earlier = await notary.submit(decodeTurn(owed.payout)).catch((e: unknown) => {
            if (e instanceof DreggError) return undefined; // refused: never applied, so build a new one
            throw e;
          });
          if (earlier !== undefined) {
            await inbox.settleRefunds([owed.id]);
            return earlier;
          }
        }
        const turn = await payout(c.cell, owed.amount);
        await inbox.notePayout(owed.id, encodeTurn(turn));
        const paid = await notary.submit(turn);
        await inbox.settleRefunds([owed.id]);
        return paid;
      });
    },
  };
}

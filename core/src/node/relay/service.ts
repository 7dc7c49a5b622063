/**
 * The relay's side of the contract (core/src/net/contract.ts): one handler per operation, over the
 * notary and the inboxes. Handlers take the request's bytes and return the response's bytes; the RPC
 * layer frames them, enforces sizes and turns a thrown `DreggError` into an error answer. Nothing here
 * knows about libp2p, so the same handlers are tested directly and over the network.
 */

import { decodeRevocation, type RevocationRecord, verifyRevocation } from '../../caps/revocation.ts';
import type { Ed25519 } from '../../crypto/ed25519.ts';
import type { Inbox } from '../../inbox/inbox.ts';
import {
  decodeAckRequest,
  decodeDepositRequest,
  decodeDrainRequest,
  encodeDepositReceipt,
  encodeDrainChallenge,
  encodeDrainResponse,
} from '../../inbox/wire.ts';
import {
  CONTRACT_VERSION,
  decodeAgentQuery,
  decodeCellQuery,
  decodeEmpty,
  decodeOpenRequest,
  decodeReceiptsQuery,
  decodeRecipientQuery,
  decodeRefundClaim,
  decodeSinceQuery,
  decodeTurnQuery,
  encodeAckAnswer,
  encodeCellAnswer,
  encodeEmpty,
  encodeHead,
  encodeHeadAnswer,
  encodeHoldingsAnswer,
  encodeInfo,
  encodeReceiptList,
  encodeRevocationPage,
  encodeSubmitted,
  MAX_RECEIPTS_PER_CALL,
  MAX_REVOCATIONS_PER_CALL,
  type OpName,
} from '../../net/contract.ts';
import { encodeAttestedRoot, encodeInclusion, type Notary } from '../../notary/index.ts';
import { decodeProvedRegistration, decodeProvedSubmission } from '../../proofs/submission.ts';
import { encodeReceipt } from '../../turns/receipt.ts';
import { decodeTurn } from '../../turns/turn.ts';
import type { Deposits } from './deposits.ts';
import type { RevocationLog } from './revocations.ts';

export const RELAY_VERSION = 'cipherclerk-relay/0.1.0';

export interface ServiceOptions {
  readonly notary: Notary;
  readonly inbox: Inbox;
  readonly deposits: Deposits;
  readonly ed: Ed25519;
  /** Computrons each cell opened through `cell/open` starts with (issued, recorded in the log). */
  readonly grant: bigint;
  /** Every verified revocation, kept for light nodes that were offline (`revocation/since`). */
  readonly revocations: RevocationLog;
  /** Gossips a verified revocation record to the revocations topic. */
  readonly publishRevocation: (record: RevocationRecord, bytes: Uint8Array) => Promise<void>;
}

export type Handler = (request: Uint8Array) => Promise<Uint8Array>;

export function relayService(o: ServiceOptions): Record<OpName, Handler> {
  const { notary, inbox, ed } = o;
  return {
    async info(request) {
      decodeEmpty(request, 'info request');
      return encodeInfo({
        relay: notary.relay,
        ledger: notary.ledger,
        version: RELAY_VERSION,
        contract: CONTRACT_VERSION,
        escrow: o.deposits.escrow,
        minDeposit: inbox.limits.minDeposit,
      });
    },
    async 'turn/submit'(request) {
      const n = await notary.submit(decodeTurn(request));
      return encodeSubmitted(n, encodeReceipt(n.receipt));
    },
    async 'turn/receipts'(request) {
      const q = decodeReceiptsQuery(request);
      const receipts = await notary.receipts(q.agent, q.from, MAX_RECEIPTS_PER_CALL);
      return encodeReceiptList(receipts.map(encodeReceipt));
    },
    async 'turn/inclusion'(request) {
      return encodeInclusion(await notary.inclusion(decodeTurnQuery(request)));
    },
    async 'root/latest'(request) {
      decodeEmpty(request, 'root request');
      return encodeAttestedRoot(notary.latestRoot());
    },
    async 'cell/get'(request) {
      return encodeCellAnswer(notary.cell(decodeCellQuery(request)));
    },
    async 'cell/holdings'(request) {
      return encodeHoldingsAnswer(notary.holdings(decodeCellQuery(request)));
    },
    async 'cell/open'(request) {
      const r = decodeOpenRequest(request);
      return encodeCellAnswer(await notary.genesis(r.owner, r.salt, o.grant));
    },
    async 'agent/head'(request) {
      return encodeHead(notary.head(decodeAgentQuery(request)));
    },
    async 'inbox/deposit'(request) {
      const req = decodeDepositRequest(request);
      return encodeDepositReceipt(await inbox.deposit(req, o.deposits.payment(req)));
    },
    async 'inbox/challenge'(request) {
      return encodeDrainChallenge(await inbox.challenge(decodeRecipientQuery(request)));
    },
    async 'inbox/drain'(request) {
      return encodeDrainResponse(await inbox.drain(decodeDrainRequest(request)));
    },
    async 'inbox/ack'(request) {
      const a = await inbox.ack(decodeAckRequest(request));
      return encodeAckAnswer({ height: a.height, refunds: a.refunds, refunded: a.refunded });
    },
    async 'inbox/refund'(request) {
      const paid = await o.deposits.claim(decodeRefundClaim(request));
      return encodeSubmitted(paid, encodeReceipt(paid.receipt));
    },
    async 'revocation/publish'(request) {
      const record = decodeRevocation(request);
      await verifyRevocation(record, ed);
      // Logged before it is gossiped: once the publisher hears "done", a late joiner can catch up.
      await o.revocations.record(record, request);
      await o.publishRevocation(record, request);
      return encodeEmpty();
    },
    async 'revocation/since'(request) {
      const from = decodeSinceQuery(request);
      return encodeRevocationPage(await o.revocations.since(from, MAX_REVOCATIONS_PER_CALL));
    },
    async 'proved/register'(request) {
      return encodeHeadAnswer(await notary.registerProved(decodeProvedRegistration(request)));
    },
    async 'proved/submit'(request) {
      const n = await notary.submitProved(decodeProvedSubmission(request));
      return encodeSubmitted(n, encodeReceipt(n.receipt));
    },
    async 'proved/head'(request) {
      return encodeHeadAnswer(notary.provedHead(decodeCellQuery(request)));
    },
  };
}

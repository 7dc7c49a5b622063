/**
 * `connectRelay`: the light node's (and the CLI's) side of the contract, in the browser and in Node.
 * Every answer that a relay signs is checked here before it is returned — attested roots, receipt
 * inclusion, deposit receipts, drained inboxes — against the relay's did:key learned at connection
 * (or pinned by the caller, which is what a wallet should do once it has met a relay). The client is
 * also the router's backing for cells held on the relay (`relayCellBacking`).
 */
import type { Libp2p, PeerId } from '@libp2p/interface';
import type { RevocationRecord } from '../caps/revocation.ts';
import { decodeRevocation, encodeRevocation, verifyRevocation } from '../caps/revocation.ts';
import type { Cell } from '../cells/cell.ts';
import { type Clock, nowSeconds, systemClock } from '../clock.ts';
import { defaultEd25519, type Ed25519 } from '../crypto/ed25519.ts';
import { bytesEqual, toHex } from '../encoding/bytes.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import {
  type InboxPoint,
  signAck,
  signDrainRequest,
  type VerifiedDrain,
  verifyDepositReceipt,
  verifyDrain,
} from '../inbox/client.ts';
import {
  type DepositReceipt,
  type DepositRequest,
  decodeDepositReceipt,
  decodeDrainChallenge,
  decodeDrainResponse,
  encodeAckRequest,
  encodeDepositRequest,
  encodeDrainRequest,
} from '../inbox/wire.ts';
import {
  type AttestedRoot,
  decodeAttestedRoot,
  decodeInclusion,
  type Inclusion,
  verifyAttestedRoot,
  verifyReceiptInclusion,
} from '../notary/index.ts';
import type { Digest } from '../proofs/state.ts';
import {
  digestBytes,
  encodeProvedRegistration,
  encodeProvedSubmission,
  type ProvedRegistration,
  type ProvedSubmission,
  proofHash,
} from '../proofs/submission.ts';
import { type CellBackingOptions, cellBacking, type LedgerView } from '../router/cells.ts';
import type { Backing } from '../router/router.ts';
import type { Receipt } from '../turns/receipt.ts';
import { receiptHashHex, receiptSigningDigest, sameEffects } from '../turns/receipt.ts';
import { encodeTurn, type Turn, turnHashHex } from '../turns/turn.ts';
import {
  type AckAnswer,
  decodeAckAnswer,
  decodeCellAnswer,
  decodeEmpty,
  decodeHead,
  decodeHeadAnswer,
  decodeHoldingsAnswer,
  decodeInfo,
  decodeReceiptList,
  decodeRevocationPage,
  decodeSubmitted,
  encodeAgentQuery,
  encodeCellQuery,
  encodeEmpty,
  encodeOpenRequest,
  encodeReceiptsQuery,
  encodeRecipientQuery,
  encodeRefundClaim,
  encodeSinceQuery,
  encodeTurnQuery,
  MAX_RECEIPTS_PER_CALL,
  OPS,
  type RefundClaim,
  type RelayInfo,
  type Submitted,
} from './contract.ts';
import { subscribeSigned, TOPICS } from './gossip.ts';
import type { NetLimits } from './limits.ts';
import { createLightNode, dialRelay, type LightServices } from './node.ts';
import { callRpc, type RpcOp } from './rpc.ts';

export interface ConnectOptions {
  /** The relay's did:key, if the caller already trusts one; the connection fails if it differs. */
  readonly relay?: string;
  /** Reuse a libp2p node (a light node talking to several relays); otherwise one is created and owned. */
  readonly node?: Libp2p<LightServices>;
  readonly ed?: Ed25519;
  readonly clock?: Clock;
  readonly limits?: Partial<NetLimits>;
  readonly signal?: AbortSignal;
}

/** A recipient's side of a drain: its key, and what it last acknowledged at this relay. */
export interface Drainer {
  readonly did: string;
  readonly seed: Uint8Array;
  readonly acked: InboxPoint;
  /** At most this many messages per page. */
  readonly limit?: number;
}

export interface Drained extends VerifiedDrain {
  /** The relay's answer to the acknowledgement of `head` (refunds it recorded). */
  readonly ack: AckAnswer;
}

export interface PeerInfo {
  readonly peer: string;
  readonly addresses: readonly string[];
  /** Whether this is the relay the client talks to. */
  readonly relay: boolean;
  readonly latencyMs?: number;
}

export interface RelayClient {
  readonly info: RelayInfo;
  readonly peerId: string;
  submitTurn(turn: Turn): Promise<Submitted>;
  /** The agent's receipts from chain position `from`, all of them (paged under the hood). */
  receipts(agent: string, from?: number): Promise<Receipt[]>;
  /** The relay's latest attested root, its signature checked. */
  latestRoot(): Promise<AttestedRoot>;
  /**
   * Proves that `receipt` is in the relay's log: fetches its inclusion, checks the root's signature,
   * the proof, and that the logged event is this receipt. Returns the root it is included under.
   */
  verifyInclusion(receipt: Receipt): Promise<AttestedRoot>;
  cell(id: string): Promise<Cell | undefined>;
  /** The wrapped assets cell `id` holds, by asset id (none, or no such cell: empty). */
  holdings(id: string): Promise<Map<string, bigint>>;
  head(agent: string): Promise<{ prev: string | null; seq: number }>;
  /** Opens a cell for `owner` on the relay's ledger (with the relay's opening grant, if any). */
  openCell(owner: string, salt: string): Promise<Cell>;
  /** Deposits a sealed box; the receipt's signature and inclusion are checked. */
  deposit(request: DepositRequest): Promise<DepositReceipt>;
  /** One page of the recipient's inbox, verified against its history, then acknowledged. */
  drain(who: Drainer): Promise<Drained>;
  /**
   * Claims the refund of a drained message's deposit (`amount`, what the deposit paid) to `claim.cell`.
   * The answer is the relay's payout: its receipt is checked to be the relay's, from its escrow cell,
   * paying exactly `amount` to that cell.
   */
  claimRefund(claim: RefundClaim, amount: bigint): Promise<Submitted>;
  /** Hands a signed revocation to the relay, which gossips it. */
  publishRevocation(record: RevocationRecord): Promise<void>;
  /**
   * The revocations the relay logged from place `from` on (every signature checked), and the place
   * to ask from next time: how a light node that was offline learns what it missed.
   */
  revocationsSince(from: number): Promise<{ records: RevocationRecord[]; next: number }>;
  /** Calls `handler` with each revocation gossiped (signature checked); returns the unsubscribe. */
  onRevocation(handler: (record: RevocationRecord) => void): () => void;
  /** Calls `handler` with each attested root this relay gossips (signature checked). */
  onRoot(handler: (root: AttestedRoot) => void): () => void;
  /**
   * The peers this client's libp2p node is connected to (the relay among them), each pinged once:
   * the round trip in milliseconds, or none when it did not answer within `timeoutMs`.
   */
  peers(timeoutMs?: number): Promise<PeerInfo[]>;
  /** Makes a cell proved at the relay (the private path); returns its head commitment. */
  registerProvedCell(reg: ProvedRegistration): Promise<Digest>;
  /**
   * Submits a proved turn. The answer's receipt is checked to be the relay's, for this turn, carrying
   * the statement's commitments and the proof's hash.
   */
  submitProvedTurn(sub: ProvedSubmission): Promise<Submitted>;
  /** A proved cell's current head commitment (undefined when the cell is not proved). */
  provedHead(cell: string): Promise<Digest | undefined>;
  /** The relay's ledger as the router's cell backing sees it. */
  ledger(): LedgerView;
  /** One call of an operation served beside the contract's (the intent desk's `INTENT_OPS`). */
  call(op: RpcOp, request: Uint8Array): Promise<Uint8Array>;
  close(): Promise<void>;
}

export async function connectRelay(
  multiaddrs: readonly string[],
  o: ConnectOptions = {},
): Promise<RelayClient> {
  const ed = o.ed ?? (await defaultEd25519());
  const clock = o.clock ?? systemClock;
  const owned = o.node === undefined;
  const node = o.node ?? (await createLightNode({ limits: o.limits }));
  try {
    const connection = await dialRelay(node, multiaddrs, { signal: o.signal, limits: o.limits });
    const peer: PeerId = connection.remotePeer;
    const call = (op: RpcOp, request: Uint8Array) => callRpc(node, peer, op, request, { signal: o.signal });
    const info = decodeInfo(await call(OPS.info, encodeEmpty()));
    if (o.relay !== undefined && info.relay !== o.relay)
      throw new DreggError('E_UNTRUSTED', `The relay at that address is ${info.relay}, not ${o.relay}`);
    const relay = info.relay;

    const checkedRoot = async (root: AttestedRoot): Promise<AttestedRoot> => {
      if (root.relay !== relay || root.ledger !== info.ledger)
        throw new DreggError('E_INVALID', 'The attested root names another relay or ledger');
      if (!(await verifyAttestedRoot(root, ed)))
        throw new DreggError('E_BAD_SIGNATURE', 'The attested root is not signed by the relay');
      return root;
    };

    const client: RelayClient = {
      info,
      peerId: peer.toString(),
      async submitTurn(turn) {
        const s = decodeSubmitted(await call(OPS.submitTurn, encodeTurn(turn)));
        if (s.receipt.turn !== turnHashHex(turn) || s.receipt.executor !== relay)
          throw new DreggError('E_INVALID', 'The relay answered with a receipt for another turn');
        return s;
      },
      async receipts(agent, from = 0) {
        const all: Receipt[] = [];
        for (;;) {
          const page = decodeReceiptList(
            await call(OPS.receipts, encodeReceiptsQuery({ agent, from: from + all.length })),
          );
          all.push(...page);
          if (page.length < MAX_RECEIPTS_PER_CALL) return all;
        }
      },
      async latestRoot() {
        return checkedRoot(decodeAttestedRoot(await call(OPS.latestRoot, encodeEmpty())));
      },
      async verifyInclusion(receipt) {
        const inclusion: Inclusion = decodeInclusion(
          await call(OPS.inclusion, encodeTurnQuery(receipt.turn)),
        );
        const root = await checkedRoot(inclusion.root);
        if (!verifyReceiptInclusion(receipt, inclusion))
          throw new DreggError(
            'E_INVALID',
            `Receipt ${receiptHashHex(receipt)} is not in the relay's log under its attested root`,
          );
        return root;
      },
      async cell(id) {
        return decodeCellAnswer(await call(OPS.cell, encodeCellQuery(id)));
      },
      async holdings(id) {
        return decodeHoldingsAnswer(await call(OPS.holdings, encodeCellQuery(id)));
      },
      async head(agent) {
        return decodeHead(await call(OPS.head, encodeAgentQuery(agent)));
      },
      async openCell(owner, salt) {
        const cell = decodeCellAnswer(await call(OPS.open, encodeOpenRequest({ owner, salt })));
        if (cell === undefined || cell.owner !== owner)
          throw new DreggError('E_INVALID', 'The relay did not open the cell asked for');
        return cell;
      },
      async deposit(request) {
        const receipt = decodeDepositReceipt(await call(OPS.deposit, encodeDepositRequest(request)));
        await verifyDepositReceipt(receipt, request, relay, ed);
        return receipt;
      },
      async drain(who) {
        const challenge = decodeDrainChallenge(await call(OPS.challenge, encodeRecipientQuery(who.did)));
        if (challenge.relay !== relay || challenge.recipient !== who.did)
          throw new DreggError('E_INVALID', 'The drain challenge names another relay or recipient');
        const request = await signDrainRequest(challenge, who.seed, ed, who.limit);
        const response = decodeDrainResponse(await call(OPS.drain, encodeDrainRequest(request)));
        const verified = await verifyDrain(response, {
          ed,
          relay,
          recipient: who.did,
          acked: who.acked,
          now: nowSeconds(clock),
        });
        const ack = decodeAckAnswer(
          await call(OPS.ack, encodeAckRequest(await signAck(relay, who.did, verified.head, who.seed, ed))),
        );
        return { ...verified, ack };
      },
      async claimRefund(claim, amount) {
        const paid = decodeSubmitted(await call(OPS.refund, encodeRefundClaim(claim)));
        const r = paid.receipt;
        if (
          r.executor !== relay ||
          r.agent !== relay ||
          r.cell !== info.escrow ||
          !sameEffects(r, [{ type: 'transfer', from: info.escrow, to: claim.cell, amount }])
        )
          throw new DreggError('E_INVALID', 'The relay answered the refund claim with another payment');
        if (!(await ed.verify(ed25519FromDidKey(relay), receiptSigningDigest(r), r.signature)))
          throw new DreggError('E_BAD_SIGNATURE', 'The refund receipt is not signed by the relay');
        return paid;
      },
      async publishRevocation(record) {
        decodeEmpty(await call(OPS.revoke, encodeRevocation(record)), 'revocation answer');
      },
      async revocationsSince(from) {
        const records: RevocationRecord[] = [];
        for (let at = from; ; ) {
          const page = decodeRevocationPage(await call(OPS.revocationsSince, encodeSinceQuery(at)));
          // A log shorter than the caller's place was started afresh: read it from its beginning
          // (applying a revocation twice changes nothing).
          if (at > page.total) {
            at = 0;
            continue;
          }
          if (page.records.length === 0 && at < page.total)
            throw new DreggError('E_INVALID', 'The relay withheld revocations it says it holds');
          for (const bytes of page.records) {
            const record = decodeRevocation(bytes);
            await verifyRevocation(record, ed);
            records.push(record);
          }
          at += page.records.length;
          if (at >= page.total) return { records, next: at };
        }
      },
      onRevocation(handler) {
        return subscribeSigned(
          node,
          TOPICS.revocations,
          (envelope) => handler(decodeRevocation(envelope.body)),
          {
            ed,
            clock,
            validateBody: async (body) => {
              await verifyRevocation(decodeRevocation(body), ed);
              return 'accept' as const;
            },
          },
        );
      },
      onRoot(handler) {
        return subscribeSigned(
          node,
          TOPICS.roots,
          async (envelope) => handler(await checkedRoot(decodeAttestedRoot(envelope.body))),
          { ed, clock, validateBody: (_body, envelope) => (envelope.from === relay ? 'accept' : 'ignore') },
        );
      },
      async peers(timeoutMs = 2000) {
        const byPeer = new Map<string, { remote: PeerId; addresses: string[] }>();
        for (const c of node.getConnections()) {
          const id = c.remotePeer.toString();
          const known = byPeer.get(id) ?? { remote: c.remotePeer, addresses: [] };
          byPeer.set(id, { ...known, addresses: [...known.addresses, c.remoteAddr.toString()] });
        }
        return Promise.all(
          [...byPeer].map(async ([id, { remote, addresses }]) => {
            let latencyMs: number | undefined;
            try {
              // By peer id, so the ping rides the open connection rather than dialing anew.
              latencyMs = await node.services.ping.ping(remote, {
                signal: AbortSignal.timeout(timeoutMs),
              });
            } catch {
              // A peer that does not answer a ping is still a peer; it is shown without a latency.
            }
            return {
              peer: id,
              addresses,
              relay: id === peer.toString(),
              ...(latencyMs === undefined ? {} : { latencyMs: Math.round(latencyMs) }),
            };
          }),
        );
      },
      async registerProvedCell(reg) {
        const head = decodeHeadAnswer(await call(OPS.provedRegister, encodeProvedRegistration(reg)));
        if (head === undefined)
          throw new DreggError('E_INVALID', 'The relay answered a registration with no head');
        return head;
      },
      async submitProvedTurn(sub) {
        const s = decodeSubmitted(await call(OPS.provedSubmit, encodeProvedSubmission(sub)));
        const r = s.receipt;
        if (
          r.turn !== toHex(sub.statement.turnHash) ||
          r.executor !== relay ||
          r.agent !== sub.agent ||
          r.cell !== sub.cell ||
          !bytesEqual(r.oldState, digestBytes(sub.statement.oldCommitment)) ||
          !bytesEqual(r.newState, digestBytes(sub.statement.newCommitment)) ||
          !bytesEqual(r.effects, proofHash(sub.proof))
        )
          throw new DreggError('E_INVALID', 'The relay answered with a receipt for another proved turn');
        return s;
      },
      async provedHead(cell) {
        return decodeHeadAnswer(await call(OPS.provedHead, encodeCellQuery(cell)));
      },
      ledger() {
        return {
          ledger: info.ledger,
          cell: (id) => client.cell(id),
          head: (agent) => client.head(agent),
          submit: async (turn) => (await client.submitTurn(turn)).receipt,
        };
      },
      call,
      async close() {
        if (owned) await node.stop();
        else await Promise.resolve(connection.close()).catch(() => undefined);
      },
    };
    return client;
  } catch (e) {
    if (owned) await Promise.resolve(node.stop()).catch(() => undefined);
    throw e;
  }
}

/** The router's backing for cells held on a relay: the one cell backing over the relay's ledger. */
export function relayCellBacking(client: RelayClient, options: Omit<CellBackingOptions, 'ledger'>): Backing {
  return cellBacking({ ...options, ledger: client.ledger() });
}

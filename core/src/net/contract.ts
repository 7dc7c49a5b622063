/**
 * The client<->relay contract, version 1: every operation a light node, the CLI or a test asks of a
 * relay, with its size limits and its request and response formats. The relay serves exactly these
 * (core/src/node/relay/service.ts) and the client calls exactly these (./client.ts); there is no
 * second API (PITFALLS 22). Each operation is one libp2p protocol, `/cipherclerk/1/<name>`
 * (./rpc.ts frames it); core/docs/relay-protocol.md is the reference.
 *
 * Bodies that already have a wire format keep it (a turn, an inbox deposit, a drain request...); the
 * small ones defined here are deterministic CBOR maps with `v: 1`, decoded strictly: a decoder of these
 * fails only with `E_DECODE` (not canonical CBOR) or `E_INVALID` (a missing, extra or ill-typed field).
 */

import { type Cell, cellFromCbor, cellToCbor } from '../cells/cell.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { invalidWire as bad, exactFields } from '../encoding/fields.ts';
import { decoding } from '../errors.ts';
import { MAX_CIPHERTEXT_BYTES, MAX_PAYMENT_BYTES } from '../inbox/wire.ts';
import type { Digest } from '../proofs/state.ts';
import {
  digestBytes,
  elementsFromBytes,
  MAX_REGISTRATION_BYTES,
  MAX_SUBMISSION_BYTES,
} from '../proofs/submission.ts';
import { isAssetId } from '../turns/assets.ts';
import { MAX_AMOUNT } from '../turns/effects.ts';
import { type Receipt, receiptFromCbor } from '../turns/receipt.ts';
import type { RpcOp } from './rpc.ts';

export const CONTRACT_VERSION = 1;

const KiB = 1024;
const MiB = 1024 * KiB;

/** A turn: effects are bounded by the executor; 256 KiB holds the largest (a range proof per note). */
export const TURN_BYTES = 256 * KiB;
/** At most this many receipts per `turn/receipts` answer; a client pages with `from`. */
export const MAX_RECEIPTS_PER_CALL = 64;
/** At most this many revocation records per `revocation/since` answer; a client pages with `from`. */
export const MAX_REVOCATIONS_PER_CALL = 64;
/** An encoded revocation record: a map of a few did:keys and hashes and a 64-byte signature. */
const REVOCATION_BYTES = 1 * KiB;

/** Every operation of the contract. */
export const OPS = {
  /** {v} -> RelayInfo: who the relay is and which ledger it notarizes. */
  info: { name: 'info', maxRequest: 64, maxResponse: 4 * KiB },
  /** encodeTurn bytes -> Submitted. */
  submitTurn: { name: 'turn/submit', maxRequest: TURN_BYTES, maxResponse: TURN_BYTES },
  /** ReceiptsQuery -> {v, receipts: [...]} — an agent's receipts from a chain position. */
  receipts: { name: 'turn/receipts', maxRequest: 512, maxResponse: 4 * MiB },
  /** {v, turn: hex} -> the notary's inclusion encoding: a turn's log event, proof and attested root. */
  inclusion: { name: 'turn/inclusion', maxRequest: 256, maxResponse: 64 * KiB },
  /** {v} -> the latest attested root (the notary's encoding). */
  latestRoot: { name: 'root/latest', maxRequest: 64, maxResponse: 4 * KiB },
  /** {v, id} -> {v, cell: cell | null}. */
  cell: { name: 'cell/get', maxRequest: 256, maxResponse: 512 * KiB },
  /** {v, id} -> {v, holdings: [[asset, amount], ...]}: the wrapped assets a cell holds, by asset id. */
  holdings: { name: 'cell/holdings', maxRequest: 256, maxResponse: 64 * KiB },
  /**
   * {v, owner, salt} -> {v, cell}: opens a cell on the relay's ledger for `owner`, with the relay's
   * opening grant (`dregg relay --grant N`, 0 unless the operator runs a demo faucet) recorded in the
   * log as issued. Opening it again is the same event (a retry answers the cell as it is now).
   */
  open: { name: 'cell/open', maxRequest: 512, maxResponse: 512 * KiB },
  /** {v, agent} -> {v, prev, seq}: where the agent's next turn continues its receipt chain. */
  head: { name: 'agent/head', maxRequest: 256, maxResponse: 256 },
  /** encodeDepositRequest bytes -> encodeDepositReceipt bytes. */
  deposit: {
    name: 'inbox/deposit',
    maxRequest: MAX_CIPHERTEXT_BYTES + MAX_PAYMENT_BYTES + 4 * KiB,
    maxResponse: 8 * KiB,
  },
  /** {v, to} -> encodeDrainChallenge bytes. */
  challenge: { name: 'inbox/challenge', maxRequest: 256, maxResponse: 512 },
  /** encodeDrainRequest bytes -> encodeDrainResponse bytes (at most 4 MiB of messages per drain). */
  drain: { name: 'inbox/drain', maxRequest: 512, maxResponse: 5 * MiB },
  /** encodeAckRequest bytes -> AckAnswer. */
  ack: { name: 'inbox/ack', maxRequest: 512, maxResponse: 256 },
  /**
   * RefundClaim -> Submitted: the relay pays a drained message's deposit back, from its escrow cell
   * to the cell the claim names, in a turn of its own (the answer carries that turn's receipt).
   */
  refund: { name: 'inbox/refund', maxRequest: 512, maxResponse: TURN_BYTES },
  /** encodeRevocation bytes -> {v}: the relay checks the signature and gossips it on the revocations topic. */
  revoke: { name: 'revocation/publish', maxRequest: 4 * KiB, maxResponse: 64 },
  /**
   * {v, from} -> RevocationPage: the revocations the relay has verified, in the order it first saw
   * them, from place `from`; a light node that was offline catches up with it (and keeps `next`).
   */
  revocationsSince: {
    name: 'revocation/since',
    maxRequest: 64,
    maxResponse: MAX_REVOCATIONS_PER_CALL * (REVOCATION_BYTES + 8) + 64,
  },
  /**
   * encodeProvedRegistration bytes -> HeadAnswer: makes a cell proved (the private path); the answer
   * is its head commitment, which the relay computed itself.
   */
  provedRegister: { name: 'proved/register', maxRequest: MAX_REGISTRATION_BYTES, maxResponse: 256 },
  /**
   * encodeProvedSubmission bytes (a proof of up to 120 KiB) -> Submitted: the relay verifies the proof,
   * then orders the turn; its receipt carries the commitments and the proof's hash.
   */
  provedSubmit: { name: 'proved/submit', maxRequest: MAX_SUBMISSION_BYTES, maxResponse: 16 * KiB },
  /** {v, id} -> HeadAnswer: a proved cell's current head commitment (null when the cell is not proved). */
  provedHead: { name: 'proved/head', maxRequest: 256, maxResponse: 256 },
} as const satisfies Record<string, RpcOp>;

export type OpName = (typeof OPS)[keyof typeof OPS]['name'];

/**
 * The intent operations (core/docs/intents.md; formats in core/src/intents/wire.ts). A table of their
 * own: a relay serves them beside `OPS` from its intent desk (core/src/node/relay/intents.ts), over the
 * same RPC layer and limits.
 */
export const INTENT_OPS = {
  /** encodeIntent bytes -> {v, id}: admits a signed intent to the pool of the zone that carries it. */
  post: { name: 'intent/post', maxRequest: 8 * KiB, maxResponse: 256 },
  /** {v, zone, after?} -> {v, intents: [...], more}: the zone's open intents, by id, 64 a page. */
  list: { name: 'intent/list', maxRequest: 512, maxResponse: 64 * 8 * KiB + 4 * KiB },
  /** {v, id, sig} -> {v}: the intent's agent takes it out of the pool. */
  withdraw: { name: 'intent/withdraw', maxRequest: 512, maxResponse: 64 },
  /** {v, agent} -> {v, rings: [...]}: the rings the agent's intents are in, with their settlement. */
  rings: { name: 'ring/list', maxRequest: 256, maxResponse: 4 * MiB },
  /** A signed commitment -> {v}. */
  commit: { name: 'ring/commit', maxRequest: 1 * KiB, maxResponse: 64 },
  /**
   * {v, ring, intent, turn, salt} -> {v}: the escrow turn that opens the commitment. Answered once
   * the escrow executed, which on a federation waits for finality behind the ring's other reveals:
   * a longer deadline than a query's.
   */
  reveal: { name: 'ring/reveal', maxRequest: TURN_BYTES, maxResponse: 64, timeoutMs: 60_000 },
} as const satisfies Record<string, RpcOp>;

export type IntentOpName = (typeof INTENT_OPS)[keyof typeof INTENT_OPS]['name'];

// ---- small formats ------------------------------------------------------------------------------

export interface RelayInfo {
  /** The relay's did:key: it signs receipts, attested roots, inbox heads and its gossip. */
  readonly relay: string;
  /** The ledger it notarizes (every turn submitted to it carries this name). */
  readonly ledger: string;
  /** Software and contract version, for operators. */
  readonly version: string;
  readonly contract: number;
  /** The cell deposits are paid to (a transfer turn carried in the deposit request). */
  readonly escrow: string;
  /** The smallest inbox deposit this relay accepts, in computrons (0: deposits are optional). */
  readonly minDeposit: bigint;
}

/** Whoever knows the deposit's refund secret claims its refund, to a cell of their choosing. */
export interface RefundClaim {
  /** The message: its recipient and its place in that inbox (from the deposit receipt). */
  readonly recipient: string;
  readonly seq: number;
  /** The 32-byte secret whose `refundClaim` digest the deposit carried. */
  readonly secret: Uint8Array;
  /** The cell the refund is paid to. */
  readonly cell: string;
}

export interface Submitted {
  /** The turn's place in the relay's log. */
  readonly seq: number;
  readonly receipt: Receipt;
  /** True when this turn had been notarized before (the same seq and receipt, no second event). */
  readonly duplicate: boolean;
}

export interface ReceiptsQuery {
  readonly agent: string;
  /** The first receipt-chain position wanted (default 0). */
  readonly from: number;
}

/** One page of the relay's revocation log. */
export interface RevocationPage {
  /** Encoded revocation records (`decodeRevocation`), places `from` .. `from + records.length - 1`. */
  readonly records: readonly Uint8Array[];
  /** How many records the log holds: the client is caught up when `from + records.length` reaches it. */
  readonly total: number;
}

export interface AckAnswer {
  readonly height: number;
  readonly refunds: number;
  readonly refunded: bigint;
}

/** Decodes a map with exactly the fields `required` (plus any of `optional`) and `v: 1`. */
function decodeMap(
  bytes: Uint8Array,
  what: string,
  required: readonly string[],
  optional: readonly string[] = [],
): CborMap {
  return exactFields(decodeCbor(bytes, what), what, required, optional, CONTRACT_VERSION);
}

const encode = (m: Record<string, CborValue>): Uint8Array => encodeCbor({ v: CONTRACT_VERSION, ...m });

const HEX64 = /^[0-9a-f]{64}$/;
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function didKey(x: unknown, what: string): string {
  if (typeof x !== 'string') bad(what, 'expected a did:key');
  try {
    ed25519FromDidKey(x);
  } catch {
    bad(what, 'expected an Ed25519 did:key');
  }
  return x;
}

function hex64(x: unknown, what: string): string {
  if (typeof x !== 'string' || !HEX64.test(x)) bad(what, 'expected 64 hex digits');
  return x;
}

/** An empty request: the operations that take no argument. */
export const encodeEmpty = (): Uint8Array => encode({});
export function decodeEmpty(bytes: Uint8Array, what: string): void {
  decoding(what, () => decodeMap(bytes, what, []));
}

export const encodeInfo = (i: RelayInfo): Uint8Array =>
  encode({
    relay: i.relay,
    ledger: i.ledger,
    version: i.version,
    contract: i.contract,
    escrow: i.escrow,
    dep: i.minDeposit,
  });
export function decodeInfo(bytes: Uint8Array): RelayInfo {
  return decoding('relay info', () => {
    const m = decodeMap(bytes, 'relay info', ['relay', 'ledger', 'version', 'contract', 'escrow', 'dep']);
    const dep = typeof m.dep === 'number' ? BigInt(m.dep) : m.dep;
    if (
      typeof m.ledger !== 'string' ||
      typeof m.version !== 'string' ||
      !isCount(m.contract) ||
      typeof dep !== 'bigint' ||
      dep < 0n
    )
      bad('relay info', 'ill-typed field');
    return {
      relay: didKey(m.relay, 'relay info'),
      ledger: m.ledger,
      version: m.version,
      contract: m.contract,
      escrow: hex64(m.escrow, 'relay info'),
      minDeposit: dep,
    };
  });
}

export const encodeRefundClaim = (c: RefundClaim): Uint8Array =>
  encode({ to: c.recipient, seq: c.seq, secret: c.secret, cell: c.cell });
export function decodeRefundClaim(bytes: Uint8Array): RefundClaim {
  const what = 'refund claim';
  return decoding(what, () => {
    const m = decodeMap(bytes, what, ['to', 'seq', 'secret', 'cell']);
    if (!isCount(m.seq)) bad(what, 'seq must be a whole number');
    if (!(m.secret instanceof Uint8Array) || m.secret.length !== 32) bad(what, 'the secret is 32 bytes');
    return { recipient: didKey(m.to, what), seq: m.seq, secret: m.secret, cell: hex64(m.cell, what) };
  });
}

export const encodeSubmitted = (s: Submitted, receipt: Uint8Array): Uint8Array =>
  encode({ seq: s.seq, dup: s.duplicate, receipt });
export function decodeSubmitted(bytes: Uint8Array): Submitted {
  return decoding('submitted turn', () => {
    const m = decodeMap(bytes, 'submitted turn', ['seq', 'dup', 'receipt']);
    if (!isCount(m.seq) || typeof m.dup !== 'boolean' || !(m.receipt instanceof Uint8Array))
      bad('submitted turn', 'ill-typed field');
    return { seq: m.seq, duplicate: m.dup, receipt: receiptFromCbor(decodeCbor(m.receipt, 'receipt')) };
  });
}

export const encodeReceiptsQuery = (q: ReceiptsQuery): Uint8Array => encode({ agent: q.agent, from: q.from });
export function decodeReceiptsQuery(bytes: Uint8Array): ReceiptsQuery {
  return decoding('receipts query', () => {
    const m = decodeMap(bytes, 'receipts query', ['agent', 'from']);
    if (!isCount(m.from)) bad('receipts query', 'from must be a whole number');
    return { agent: didKey(m.agent, 'receipts query'), from: m.from };
  });
}

export const encodeReceiptList = (receipts: readonly Uint8Array[]): Uint8Array =>
  encode({ receipts: [...receipts] });
export function decodeReceiptList(bytes: Uint8Array): Receipt[] {
  return decoding('receipt list', () => {
    const m = decodeMap(bytes, 'receipt list', ['receipts']);
    if (!Array.isArray(m.receipts) || m.receipts.length > MAX_RECEIPTS_PER_CALL)
      bad('receipt list', 'receipts must be a list of at most 64');
    return m.receipts.map((r) => {
      if (!(r instanceof Uint8Array)) bad('receipt list', 'a receipt must be bytes');
      return receiptFromCbor(decodeCbor(r, 'receipt'));
    });
  });
}

export const encodeTurnQuery = (turnHash: string): Uint8Array => encode({ turn: turnHash });
export function decodeTurnQuery(bytes: Uint8Array): string {
  return decoding('turn query', () => hex64(decodeMap(bytes, 'turn query', ['turn']).turn, 'turn query'));
}

export const encodeCellQuery = (id: string): Uint8Array => encode({ id });
export function decodeCellQuery(bytes: Uint8Array): string {
  return decoding('cell query', () => hex64(decodeMap(bytes, 'cell query', ['id']).id, 'cell query'));
}

export const encodeCellAnswer = (cell: Cell | undefined): Uint8Array =>
  encode({ cell: cell === undefined ? null : cellToCbor(cell) });
export function decodeCellAnswer(bytes: Uint8Array): Cell | undefined {
  return decoding('cell answer', () => {
    const m = decodeMap(bytes, 'cell answer', ['cell']);
    return m.cell === null ? undefined : cellFromCbor(m.cell as CborValue);
  });
}

/** Most holdings one answer lists (by asset id): more would pass the answer's size limit. */
export const MAX_HOLDINGS = 512;

export const encodeHoldingsAnswer = (holdings: ReadonlyMap<string, bigint>): Uint8Array =>
  encode({ holdings: [...holdings].slice(0, MAX_HOLDINGS).map(([asset, amount]) => [asset, amount]) });
export function decodeHoldingsAnswer(bytes: Uint8Array): Map<string, bigint> {
  return decoding('holdings answer', () => {
    const what = 'holdings answer';
    const list = decodeMap(bytes, what, ['holdings']).holdings;
    if (!Array.isArray(list) || list.length > MAX_HOLDINGS)
      bad(what, `expected at most ${MAX_HOLDINGS} holdings`);
    const out = new Map<string, bigint>();
    let last = '';
    for (const h of list) {
      if (!Array.isArray(h) || h.length !== 2 || !isAssetId(h[0]) || h[0] <= last)
        bad(what, 'expected [asset id, amount] pairs, by ascending asset id');
      const amount = typeof h[1] === 'number' && Number.isSafeInteger(h[1]) ? BigInt(h[1]) : h[1];
      if (typeof amount !== 'bigint' || amount <= 0n || amount > MAX_AMOUNT)
        bad(what, 'expected an amount from 1 to 2^64 - 1');
      out.set(h[0], amount);
      last = h[0];
    }
    return out;
  });
}

export interface OpenRequest {
  readonly owner: string;
  /** 32 bytes, hex: the owner's choice, so one owner can hold several cells. */
  readonly salt: string;
}

export const encodeOpenRequest = (r: OpenRequest): Uint8Array => encode({ owner: r.owner, salt: r.salt });
export function decodeOpenRequest(bytes: Uint8Array): OpenRequest {
  return decoding('open request', () => {
    const m = decodeMap(bytes, 'open request', ['owner', 'salt']);
    return { owner: didKey(m.owner, 'open request'), salt: hex64(m.salt, 'open request') };
  });
}

export const encodeAgentQuery = (agent: string): Uint8Array => encode({ agent });
export function decodeAgentQuery(bytes: Uint8Array): string {
  return decoding('agent query', () =>
    didKey(decodeMap(bytes, 'agent query', ['agent']).agent, 'agent query'),
  );
}

export const encodeHead = (h: { prev: string | null; seq: number }): Uint8Array =>
  encode({ prev: h.prev, seq: h.seq });
export function decodeHead(bytes: Uint8Array): { prev: string | null; seq: number } {
  return decoding('agent head', () => {
    const m = decodeMap(bytes, 'agent head', ['prev', 'seq']);
    if (!isCount(m.seq)) bad('agent head', 'seq must be a whole number');
    return { prev: m.prev === null ? null : hex64(m.prev, 'agent head'), seq: m.seq };
  });
}

export const encodeRecipientQuery = (to: string): Uint8Array => encode({ to });
export function decodeRecipientQuery(bytes: Uint8Array): string {
  return decoding('recipient query', () =>
    didKey(decodeMap(bytes, 'recipient query', ['to']).to, 'recipient'),
  );
}

export const encodeAckAnswer = (a: AckAnswer): Uint8Array =>
  encode({ h: a.height, refunds: a.refunds, refunded: a.refunded });
export function decodeAckAnswer(bytes: Uint8Array): AckAnswer {
  return decoding('ack answer', () => {
    const m = decodeMap(bytes, 'ack answer', ['h', 'refunds', 'refunded']);
    const refunded = typeof m.refunded === 'number' ? BigInt(m.refunded) : m.refunded;
    if (!isCount(m.h) || !isCount(m.refunds) || typeof refunded !== 'bigint' || refunded < 0n)
      bad('ack answer', 'ill-typed field');
    return { height: m.h, refunds: m.refunds, refunded };
  });
}

/** A proved cell's head commitment (32 bytes on the wire), or none. */
export const encodeHeadAnswer = (head: Digest | undefined): Uint8Array =>
  encode({ head: head === undefined ? null : digestBytes(head) });
export function decodeHeadAnswer(bytes: Uint8Array): Digest | undefined {
  return decoding('head answer', () => {
    const m = decodeMap(bytes, 'head answer', ['head']);
    if (m.head === null) return undefined;
    if (!(m.head instanceof Uint8Array)) bad('head answer', 'head must be 32 bytes or null');
    return elementsFromBytes(m.head, 8, 'head answer');
  });
}

export const encodeSinceQuery = (from: number): Uint8Array => encode({ from });
export function decodeSinceQuery(bytes: Uint8Array): number {
  return decoding('revocations query', () => {
    const m = decodeMap(bytes, 'revocations query', ['from']);
    if (!isCount(m.from)) bad('revocations query', 'from must be a whole number');
    return m.from;
  });
}

export const encodeRevocationPage = (p: RevocationPage): Uint8Array =>
  encode({ records: [...p.records], total: p.total });
export function decodeRevocationPage(bytes: Uint8Array): RevocationPage {
  const what = 'revocation page';
  return decoding(what, () => {
    const m = decodeMap(bytes, what, ['records', 'total']);
    if (!isCount(m.total)) bad(what, 'total must be a whole number');
    if (!Array.isArray(m.records) || m.records.length > MAX_REVOCATIONS_PER_CALL)
      bad(what, `records must be a list of at most ${MAX_REVOCATIONS_PER_CALL}`);
    const records = m.records.map((r) => {
      if (!(r instanceof Uint8Array) || r.length > REVOCATION_BYTES)
        bad(what, 'a record is bytes, at most 1 KiB');
      return r;
    });
    return { records, total: m.total };
  });
}

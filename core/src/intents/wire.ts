/**
 * The wire forms of the relay's intent operations (`INTENT_OPS` in core/src/net/contract.ts): posting,
 * listing and withdrawing intents, and a ring's settlement as a participant sees it. Deterministic CBOR
 * maps with `v: 1`; every decoder of outside bytes fails only with `E_DECODE` (not canonical CBOR),
 * `E_TOO_LARGE` or `E_INVALID` (a missing, extra or ill-typed field).
 *
 * A ring view carries everything a participant needs to judge it alone: the ring's legs, the signed
 * intents (their signatures can be checked, so a relay cannot show terms nobody signed), what each
 * intent owes, which have committed and escrowed, and the outcome — the settling receipt, or the
 * abort's reason, refund receipt and blame with the blamed participant's own signed commitment.
 */
import type { Ed25519 } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { fromHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { invalidWire as bad, exactFields } from '../encoding/fields.ts';
import { DreggError, decoding, type ErrorCode, ErrorCodes } from '../errors.ts';
import { encodeReceipt, type Receipt, receiptFromCbor } from '../turns/receipt.ts';
import { decodeIntent, encodeIntent, type Intent, intentId, MAX_INTENT_BYTES } from './intent.ts';
import type { Blame, Custody, SettlementState, SignedCommitment } from './settle.ts';
import type { Ring } from './solver.ts';
import { isZone } from './zones.ts';

export const INTENT_WIRE_VERSION = 1;
/** Intents per `intent/list` page; a client pages with `after`. */
export const MAX_INTENTS_PER_PAGE = 64;
/** Rings per `ring/list` answer (the newest first). */
export const MAX_RINGS_PER_CALL = 32;
/** Longest ring a relay settles: bounds a ring view. */
export const MAX_RING_LENGTH = 8;

/** Decodes a map with exactly the fields `required` (plus any of `optional`); `v: 1` if present. */
function decodeMap(
  bytes: Uint8Array,
  what: string,
  required: readonly string[],
  optional: readonly string[] = [],
) {
  return checkMap(decodeCbor(bytes, what), what, required, optional);
}

function checkMap(
  m: CborValue | undefined,
  what: string,
  required: readonly string[],
  optional: readonly string[] = [],
): CborMap {
  return exactFields(m, what, required, optional, INTENT_WIRE_VERSION, 'optional');
}

const encode = (m: Record<string, CborValue>): Uint8Array => encodeCbor({ v: INTENT_WIRE_VERSION, ...m });

const HEX64 = /^[0-9a-f]{64}$/;
function hex64(x: unknown, what: string): string {
  if (typeof x !== 'string' || !HEX64.test(x)) bad(what, 'expected 64 hex digits');
  return x;
}
function didKey(x: unknown, what: string): string {
  if (typeof x !== 'string') bad(what, 'expected a did:key');
  try {
    ed25519FromDidKey(x);
  } catch {
    bad(what, 'expected an Ed25519 did:key');
  }
  return x;
}
function bytes(x: unknown, what: string, length?: number): Uint8Array {
  if (!(x instanceof Uint8Array) || (length !== undefined && x.length !== length))
    bad(what, length === undefined ? 'expected bytes' : `expected ${length} bytes`);
  return x;
}
function count(x: unknown, what: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) bad(what, 'expected a whole number');
  return x;
}
function text(x: unknown, what: string, max = 1024): string {
  if (typeof x !== 'string' || x.length > max) bad(what, `expected text of at most ${max} characters`);
  return x;
}
function list(x: unknown, what: string, max: number): CborValue[] {
  if (!Array.isArray(x) || x.length > max) bad(what, `expected a list of at most ${max}`);
  return x;
}

// ---- intent/post ---------------------------------------------------------------------------------
// The request is the intent's own encoding (`encodeIntent`); the answer names its id.

export const encodePosted = (id: string): Uint8Array => encode({ id });
export function decodePosted(b: Uint8Array): string {
  return decoding('posted intent', () => hex64(decodeMap(b, 'posted intent', ['id']).id, 'posted intent'));
}

// ---- intent/list ---------------------------------------------------------------------------------

export interface IntentQuery {
  readonly zone: string;
  /** Intents with ids above this one (the last of the previous page); none: from the start. */
  readonly after?: string;
}

export const encodeIntentQuery = (q: IntentQuery): Uint8Array =>
  encode({ zone: q.zone, ...(q.after === undefined ? {} : { after: q.after }) });
export function decodeIntentQuery(b: Uint8Array): IntentQuery {
  const what = 'intent query';
  return decoding(what, () => {
    const m = decodeMap(b, what, ['zone'], ['after']);
    if (!isZone(m.zone)) bad(what, 'the zone is malformed');
    return { zone: m.zone, ...(m.after === undefined ? {} : { after: hex64(m.after, what) }) };
  });
}

export interface IntentPage {
  /** Encoded intents, ordered by id. */
  readonly intents: readonly Uint8Array[];
  /** There are more after the last one. */
  readonly more: boolean;
}

export const encodeIntentPage = (p: IntentPage): Uint8Array =>
  encode({ intents: [...p.intents], more: p.more });
export function decodeIntentPage(b: Uint8Array): IntentPage {
  const what = 'intent page';
  return decoding(what, () => {
    const m = decodeMap(b, what, ['intents', 'more']);
    if (typeof m.more !== 'boolean') bad(what, 'more is a boolean');
    const intents = list(m.intents, what, MAX_INTENTS_PER_PAGE).map((i) => {
      const x = bytes(i, what);
      if (x.length > MAX_INTENT_BYTES) bad(what, `an intent is at most ${MAX_INTENT_BYTES} bytes`);
      return x;
    });
    return { intents, more: m.more };
  });
}

// ---- intent/withdraw -----------------------------------------------------------------------------

export interface Withdrawal {
  readonly id: string;
  /** Ed25519 by the intent's agent over `hashFor('intentWithdrawSigning', id bytes)`. */
  readonly signature: Uint8Array;
}

const withdrawDigest = (id: string): Uint8Array => hashFor('intentWithdrawSigning', fromHex(id));

export async function signWithdrawal(id: string, seed: Uint8Array, ed: Ed25519): Promise<Withdrawal> {
  return { id, signature: await ed.sign(seed, withdrawDigest(hex64(id, 'withdrawal'))) };
}

export async function verifyWithdrawal(w: Withdrawal, agent: string, ed: Ed25519): Promise<void> {
  if (!(await ed.verify(ed25519FromDidKey(agent), withdrawDigest(w.id), w.signature)))
    throw new DreggError('E_BAD_SIGNATURE', "The withdrawal is not signed by the intent's agent");
}

export const encodeWithdrawal = (w: Withdrawal): Uint8Array => encode({ id: w.id, sig: w.signature });
export function decodeWithdrawal(b: Uint8Array): Withdrawal {
  const what = 'withdrawal';
  return decoding(what, () => {
    const m = decodeMap(b, what, ['id', 'sig']);
    return { id: hex64(m.id, what), signature: bytes(m.sig, what, 64) };
  });
}

// ---- ring/commit, ring/reveal --------------------------------------------------------------------

function commitmentToCbor(c: SignedCommitment): CborMap {
  return { ring: c.ring, intent: c.intent, cell: c.cell, c: c.commitment, sig: c.signature };
}
function commitmentFromCbor(m: CborValue | undefined, what: string): SignedCommitment {
  const x = checkMap(m, what, ['ring', 'intent', 'cell', 'c', 'sig']);
  return {
    ring: hex64(x.ring, what),
    intent: hex64(x.intent, what),
    cell: hex64(x.cell, what),
    commitment: bytes(x.c, what, 32),
    signature: bytes(x.sig, what, 64),
  };
}

export const encodeCommitment = (c: SignedCommitment): Uint8Array =>
  encode(commitmentToCbor(c) as Record<string, CborValue>);
export function decodeCommitment(b: Uint8Array): SignedCommitment {
  return decoding('commitment', () => commitmentFromCbor(decodeCbor(b, 'commitment'), 'commitment'));
}

export interface Reveal {
  readonly ring: string;
  readonly intent: string;
  /** The escrow turn's encoding (`encodeTurn`); the relay decodes it. */
  readonly turn: Uint8Array;
  readonly salt: Uint8Array;
}

export const encodeReveal = (r: Reveal): Uint8Array =>
  encode({ ring: r.ring, intent: r.intent, turn: r.turn, salt: r.salt });
export function decodeReveal(b: Uint8Array, maxTurnBytes: number): Reveal {
  const what = 'reveal';
  return decoding(what, () => {
    const m = decodeMap(b, what, ['ring', 'intent', 'turn', 'salt']);
    const turn = bytes(m.turn, what);
    if (turn.length > maxTurnBytes) bad(what, `the turn is at most ${maxTurnBytes} bytes`);
    return { ring: hex64(m.ring, what), intent: hex64(m.intent, what), turn, salt: bytes(m.salt, what, 32) };
  });
}

/** A salt for a commitment: 32 random bytes. */
export const commitmentSalt = (): Uint8Array => crypto.getRandomValues(new Uint8Array(32));

// ---- ring/list -----------------------------------------------------------------------------------

/** A ring's settlement as every participant reads it. */
export interface RingView {
  readonly id: string;
  /** The coordinator's did:key: it signs the escrow cell's turns. */
  readonly coordinator: string;
  readonly escrowCell: string;
  readonly deadline: number;
  readonly cutoff: number;
  readonly ring: Ring;
  /** The ring's intents, by id (signed by their agents). */
  readonly intents: ReadonlyMap<string, Intent>;
  /** Computrons each intent escrows and the ring pays on. */
  readonly owed: ReadonlyMap<string, bigint>;
  /** Intents that have committed (their signed commitments) and escrowed. */
  readonly committed: readonly SignedCommitment[];
  readonly escrowed: readonly string[];
  /** Names' entry cells the coordinator took into custody, by giving intent (a hint: the ledger is the judge). */
  readonly custody: readonly Custody[];
  readonly state: SettlementState;
}

export const encodeRingQuery = (agent: string): Uint8Array => encode({ agent });
export function decodeRingQuery(b: Uint8Array): string {
  return decoding('ring query', () => didKey(decodeMap(b, 'ring query', ['agent']).agent, 'ring query'));
}

function stateToCbor(s: SettlementState): CborMap {
  switch (s.phase) {
    case 'committing':
      return { phase: s.phase, n: s.committed };
    case 'revealing':
      return { phase: s.phase, n: s.escrowed };
    case 'settled':
      return { phase: s.phase, receipt: encodeReceipt(s.receipt) };
    case 'aborted':
      return {
        phase: s.phase,
        reason: s.reason,
        ...(s.blame
          ? {
              blame: {
                intent: s.blame.intent,
                agent: s.blame.agent,
                code: s.blame.code,
                commitment: commitmentToCbor(s.blame.commitment),
              },
            }
          : {}),
        ...(s.refund ? { refund: encodeReceipt(s.refund) } : {}),
      };
  }
}

const receiptOf = (x: unknown, what: string): Receipt =>
  receiptFromCbor(decodeCbor(bytes(x, what), 'receipt'));

function stateFromCbor(v: CborValue | undefined, what: string): SettlementState {
  if (!isCborMap(v)) bad(what, 'the state is a map');
  switch (v.phase) {
    case 'committing':
    case 'revealing': {
      const m = checkMap(v, what, ['phase', 'n']);
      const n = count(m.n, what);
      return v.phase === 'committing'
        ? { phase: 'committing', committed: n }
        : { phase: 'revealing', escrowed: n };
    }
    case 'settled':
      return { phase: 'settled', receipt: receiptOf(checkMap(v, what, ['phase', 'receipt']).receipt, what) };
    case 'aborted': {
      const m = checkMap(v, what, ['phase', 'reason'], ['blame', 'refund']);
      let blame: Blame | undefined;
      if (m.blame !== undefined) {
        const b = checkMap(m.blame, what, ['intent', 'agent', 'code', 'commitment']);
        if (typeof b.code !== 'string' || !Object.hasOwn(ErrorCodes, b.code))
          bad(what, 'the blame names no error code');
        blame = {
          intent: hex64(b.intent, what),
          agent: didKey(b.agent, what),
          code: b.code as ErrorCode,
          commitment: commitmentFromCbor(b.commitment, what),
        };
      }
      return {
        phase: 'aborted',
        reason: text(m.reason, what),
        ...(blame ? { blame } : {}),
        ...(m.refund === undefined ? {} : { refund: receiptOf(m.refund, what) }),
      };
    }
    default:
      return bad(what, 'unknown phase');
  }
}

function ringToCbor(r: RingView): CborMap {
  return {
    id: r.id,
    coord: r.coordinator,
    escrow: r.escrowCell,
    deadline: r.deadline,
    cutoff: r.cutoff,
    legs: r.ring.legs.map((l) => [l.from, l.to, l.gives.map((g) => [g.offer, g.want])]),
    intents: [...r.intents.values()].map(encodeIntent),
    owed: [...r.owed].map(([id, amount]) => [id, amount]),
    committed: r.committed.map(commitmentToCbor),
    escrowed: [...r.escrowed],
    // Left out when empty, so a ring without names encodes as before.
    ...(r.custody.length > 0 ? { custody: r.custody.map((c) => [c.intent, c.cell]) } : {}),
    state: stateToCbor(r.state),
  };
}

function ringFromCbor(v: CborValue | undefined): RingView {
  const what = 'ring view';
  const m = checkMap(
    v,
    what,
    [
      'id',
      'coord',
      'escrow',
      'deadline',
      'cutoff',
      'legs',
      'intents',
      'owed',
      'committed',
      'escrowed',
      'state',
    ],
    ['custody'],
  );
  const legs = list(m.legs, what, MAX_RING_LENGTH).map((l) => {
    const [from, to, gives] = list(l, what, 3);
    return {
      from: hex64(from, what),
      to: hex64(to, what),
      gives: list(gives, what, 8).map((g) => {
        const [offer, want] = list(g, what, 2);
        return { offer: count(offer, what), want: count(want, what) };
      }),
    };
  });
  const intents = new Map<string, Intent>();
  for (const b of list(m.intents, what, MAX_RING_LENGTH)) {
    const intent = decodeIntent(bytes(b, what));
    intents.set(intentId(intent), intent);
  }
  const owed = new Map<string, bigint>();
  for (const pair of list(m.owed, what, MAX_RING_LENGTH)) {
    const [id, amount] = list(pair, what, 2);
    const a = typeof amount === 'number' ? BigInt(amount) : amount;
    if (typeof a !== 'bigint' || a < 0n) bad(what, 'an amount owed is a whole number');
    owed.set(hex64(id, what), a);
  }
  for (const l of legs)
    if (!intents.has(l.from) || !owed.has(l.from)) bad(what, 'a leg names an intent the view does not carry');
  return {
    id: hex64(m.id, what),
    coordinator: didKey(m.coord, what),
    escrowCell: hex64(m.escrow, what),
    deadline: count(m.deadline, what),
    cutoff: count(m.cutoff, what),
    ring: { legs, wants: legs.reduce((a, l) => a + l.gives.length, 0) },
    intents,
    owed,
    committed: list(m.committed, what, MAX_RING_LENGTH).map((c) => commitmentFromCbor(c, what)),
    escrowed: list(m.escrowed, what, MAX_RING_LENGTH).map((x) => hex64(x, what)),
    custody:
      m.custody === undefined
        ? []
        : list(m.custody, what, MAX_RING_LENGTH * 8).map((c) => {
            const [intent, cell] = list(c, what, 2);
            return { intent: hex64(intent, what), cell: hex64(cell, what) };
          }),
    state: stateFromCbor(m.state, what),
  };
}

export const encodeRingList = (rings: readonly RingView[]): Uint8Array =>
  encode({ rings: rings.map(ringToCbor) });
export function decodeRingList(b: Uint8Array): RingView[] {
  const what = 'ring list';
  return decoding(what, () =>
    list(decodeMap(b, what, ['rings']).rings, what, MAX_RINGS_PER_CALL).map(ringFromCbor),
  );
}

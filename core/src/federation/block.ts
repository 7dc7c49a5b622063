/**
 * A block of the blocklace (Keidar, Naor, Poupko, Shapiro, "Cordial Miners", DISC 2023): a relay's
 * signed statement "I, `creator`, in my `seq`-th block, have seen the blocks `acks` and add `payload`".
 * Its id is the BLAKE3 hash of its whole signed encoding, so acknowledging a block commits to its
 * entire causal past.
 *
 * Wire form (deterministic CBOR map): {v, fed, ep, c, n, a, p, sig}. The creator signs
 * H_federationBlockSigning(CBOR of every field but sig). `a` (the acks) is sorted ascending with no
 * repeats, so one block has one encoding. Payload items are {t: 'turn', b} (an encoded turn, opaque
 * here), {t: 'equivocation', c, x, y} (evidence: two blocks of creator c that do not observe each
 * other), {t: 'member', op, k, a?} (a committee change proposal, with an added member's multiaddrs, ./membership.ts), {t: 'bridge', b} (an
 * encoded bridge claim, opaque here like a turn: ./bridge.ts `decodeClaim`).
 */
import { type Ed25519, verifyEd25519Sync } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { toHex } from '../encoding/bytes.ts';
import { type CborMap, type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, decoding } from '../errors.ts';

export const BLOCK_VERSION = 1;
/** Limits a decoder enforces before anything else looks at a block from outside. */
export const MAX_ACKS = 256;
export const MAX_PAYLOAD_ITEMS = 4096;
export const MAX_TURN_BYTES = 64 * 1024;
/** A bridge claim: a lock turn and a receipt bundle of the other federation, or a void statement. */
export const MAX_CLAIM_BYTES = 160 * 1024;

export type PayloadItem =
  | { readonly kind: 'turn'; readonly turn: Uint8Array }
  | {
      readonly kind: 'equivocation';
      readonly creator: Uint8Array;
      readonly first: Uint8Array;
      readonly second: Uint8Array;
    }
  | {
      readonly kind: 'member';
      readonly op: 'add' | 'remove';
      readonly member: Uint8Array;
      /** Where an added member listens, as its endorser's operator gave it: every relay dials it. */
      readonly multiaddrs?: readonly string[];
    }
  | { readonly kind: 'bridge'; readonly claim: Uint8Array };

export interface BlockBody {
  /** The federation's id: a block is valid in one federation only. */
  readonly federation: string;
  /** The committee epoch the block belongs to (./membership.ts). */
  readonly epoch: number;
  /** The creator's Ed25519 public key (a committee member). */
  readonly creator: Uint8Array;
  /** 0 for the creator's first block in the epoch; every later block acks the creator's previous one. */
  readonly seq: number;
  /** Ids of the acknowledged blocks (all tips the creator knew), ascending, no repeats. */
  readonly acks: readonly Uint8Array[];
  readonly payload: readonly PayloadItem[];
  /**
   * The creator's clock (Unix seconds) when it made the block, if it says. Relays settle turns at the
   * latest time the ordered blocks carry, so every relay checks deadlines against the same time.
   */
  readonly time?: number;
}

export interface Block extends BlockBody {
  readonly signature: Uint8Array;
}

const FED = /^[a-z0-9][a-z0-9.-]{0,62}$/;
/** Multiaddrs a `member` item names, at most (as a proposal: net/federation.ts MAX_PROPOSAL_ADDRS). */
export const MAX_MEMBER_ADDRS = 8;

function itemToCbor(item: PayloadItem): CborMap {
  switch (item.kind) {
    case 'turn':
      return { t: 'turn', b: item.turn };
    case 'equivocation':
      return { t: 'equivocation', c: item.creator, x: item.first, y: item.second };
    case 'member':
      return item.multiaddrs === undefined || item.multiaddrs.length === 0
        ? { t: 'member', op: item.op, k: item.member }
        : { t: 'member', op: item.op, k: item.member, a: [...item.multiaddrs] };
    case 'bridge':
      return { t: 'bridge', b: item.claim };
  }
}

function bodyToCbor(b: BlockBody): CborMap {
  return {
    v: BLOCK_VERSION,
    fed: b.federation,
    ep: b.epoch,
    c: b.creator,
    n: b.seq,
    a: [...b.acks],
    p: b.payload.map(itemToCbor),
    ...(b.time === undefined ? {} : { t: b.time }),
  };
}

/**
 * A block's encoding, kept with the object: a decoded block's wire bytes (the strict decoder takes
 * only the bytes `encodeBlock` makes, so they are its encoding) and a made block's first encoding.
 * A relay hashes, stores, serves and publishes a block without encoding it again; block objects are
 * never changed (a changed block is a new object, with nothing cached).
 */
const wires = new WeakMap<Block, Uint8Array>();
const digests = new WeakMap<BlockBody, Uint8Array>();

/** The CBOR head of the `sig` entry: text(3) "sig", bytes(64). The signature follows. */
const SIG_ENTRY = Uint8Array.of(0x63, 0x73, 0x69, 0x67, 0x58, 0x40);

/**
 * The body's encoding read off the block's encoding, when it has one: `sig` sorts last among the
 * keys (deterministic CBOR orders keys by their encoding: shorter first, then bytewise, and "fed" <
 * "sig"), so the body is the same map less its last entry, with one entry fewer in the head.
 * Undefined when the bytes are not laid out so (then the body is encoded).
 */
function bodyFromWire(wire: Uint8Array, signature: Uint8Array): Uint8Array | undefined {
  const head = wire[0]!;
  const tail = wire.length - SIG_ENTRY.length - signature.length;
  if (head < 0xa1 || head > 0xb7 || tail < 1) return undefined;
  for (let i = 0; i < SIG_ENTRY.length; i++) if (wire[tail + i] !== SIG_ENTRY[i]) return undefined;
  for (let i = 0; i < signature.length; i++)
    if (wire[tail + SIG_ENTRY.length + i] !== signature[i]) return undefined;
  const body = wire.slice(0, tail);
  body[0] = head - 1;
  return body;
}

export function blockSigningDigest(b: BlockBody): Uint8Array {
  let d = digests.get(b);
  if (d === undefined) {
    const signed = b as Partial<Block>;
    const wire = signed.signature === undefined ? undefined : wires.get(b as Block);
    const body = wire === undefined ? undefined : bodyFromWire(wire, signed.signature!);
    d = hashFor('federationBlockSigning', body ?? encodeCbor(bodyToCbor(b)));
    digests.set(b, d);
  }
  return d;
}

export function encodeBlock(b: Block): Uint8Array {
  let wire = wires.get(b);
  if (wire === undefined) {
    wire = encodeCbor({ ...bodyToCbor(b), sig: b.signature }).slice();
    wires.set(b, wire);
  }
  return wire;
}

const ids = new WeakMap<Block, Uint8Array>();

/** The block's id: BLAKE3 (derive-key, federationBlockHash) of its signed encoding. */
export function blockId(b: Block): Uint8Array {
  let id = ids.get(b);
  if (id === undefined) {
    id = hashFor('federationBlockHash', encodeBlock(b));
    ids.set(b, id);
  }
  return id.slice();
}

export function blockIdHex(b: Block): string {
  return toHex(blockId(b));
}

/** Compares byte strings, shorter first on a common prefix: the order of `acks`. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export type Signer = (digest: Uint8Array) => Uint8Array | Promise<Uint8Array>;

/** Signs a body; `acks` are sorted and deduplicated here, so callers may pass them in any order. */
export async function signBlock(body: BlockBody, sign: Signer): Promise<Block> {
  const acks = [...body.acks]
    .sort(compareBytes)
    .filter((a, i, all) => i === 0 || compareBytes(all[i - 1]!, a) !== 0);
  const sorted = { ...body, acks };
  const digest = blockSigningDigest(sorted);
  const block = { ...sorted, signature: await sign(digest) };
  // The signed block has the body's fields, hence its digest (checking its own block is then a
  // verification, not an encoding).
  digests.set(block, digest);
  return block;
}

/**
 * Blocks whose signature verified, by object: one decoded block is handed to the blocklace, its
 * store and its gossip, and a simulation hands one block to every member. Blocks are immutable.
 */
const verified = new WeakSet<Block>();

/** Whether the creator's signature is valid. Never throws. */
export function verifyBlockSignature(b: Block): boolean {
  if (verified.has(b)) return true;
  const ok = verifyEd25519Sync(b.creator, blockSigningDigest(b), b.signature);
  if (ok) verified.add(b);
  return ok;
}

/**
 * Whether the creator's signature is valid, checked with `ed` (a native implementation off the event
 * loop where there is one, about ten times faster than the synchronous check); the block then counts
 * as verified for `verifyBlockSignature`. Never throws.
 */
export async function verifyBlockSignatureWith(b: Block, ed: Ed25519): Promise<boolean> {
  if (verified.has(b)) return true;
  const ok = await ed.verify(b.creator, blockSigningDigest(b), b.signature).catch(() => false);
  if (ok) verified.add(b);
  return ok;
}

function bad(message: string): never {
  throw new DreggError('E_INVALID', `Invalid block: ${message}`);
}

function fields(v: CborMap, names: readonly string[], what: string): void {
  if (Object.keys(v).length !== names.length || !names.every((k) => Object.hasOwn(v, k)))
    bad(`${what} fields are {${names.join(', ')}}`);
}

function bytesField(v: CborValue | undefined, length: number, name: string): Uint8Array {
  if (!(v instanceof Uint8Array) || v.length !== length) bad(`${name} must be ${length} bytes`);
  return v;
}

function whole(v: CborValue | undefined, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) bad(`${name} must be a whole number`);
  return v;
}

function itemFromCbor(v: CborValue): PayloadItem {
  if (!isCborMap(v)) bad('a payload item must be a map');
  switch (v.t) {
    case 'turn': {
      fields(v, ['b', 't'], 'turn item');
      if (!(v.b instanceof Uint8Array) || v.b.length === 0 || v.b.length > MAX_TURN_BYTES)
        bad(`a turn item holds 1 to ${MAX_TURN_BYTES} bytes`);
      return { kind: 'turn', turn: v.b };
    }
    case 'equivocation': {
      fields(v, ['c', 't', 'x', 'y'], 'equivocation item');
      const first = bytesField(v.x, 32, 'x');
      const second = bytesField(v.y, 32, 'y');
      if (compareBytes(first, second) >= 0) bad('equivocation evidence names two blocks in ascending order');
      return { kind: 'equivocation', creator: bytesField(v.c, 32, 'c'), first, second };
    }
    case 'member': {
      const a = v.a;
      fields(v, a === undefined ? ['k', 'op', 't'] : ['a', 'k', 'op', 't'], 'member item');
      if (v.op !== 'add' && v.op !== 'remove') bad('op is add or remove');
      const member = bytesField(v.k, 32, 'k');
      if (a === undefined) return { kind: 'member', op: v.op, member };
      if (
        v.op !== 'add' ||
        !Array.isArray(a) ||
        a.length === 0 ||
        a.length > MAX_MEMBER_ADDRS ||
        !a.every((x) => typeof x === 'string' && x.length > 0 && x.length < 512)
      )
        bad(`an added member's a lists 1 to ${MAX_MEMBER_ADDRS} multiaddrs`);
      return { kind: 'member', op: v.op, member, multiaddrs: a as string[] };
    }
    case 'bridge': {
      fields(v, ['b', 't'], 'bridge item');
      if (!(v.b instanceof Uint8Array) || v.b.length === 0 || v.b.length > MAX_CLAIM_BYTES)
        bad(`a bridge item holds 1 to ${MAX_CLAIM_BYTES} bytes`);
      return { kind: 'bridge', claim: v.b };
    }
    default:
      return bad('unknown payload item');
  }
}

export function blockFromCbor(v: CborValue): Block {
  if (!isCborMap(v)) bad('not a map');
  const timed = Object.hasOwn(v, 't');
  fields(
    v,
    timed
      ? ['a', 'c', 'ep', 'fed', 'n', 'p', 'sig', 't', 'v']
      : ['a', 'c', 'ep', 'fed', 'n', 'p', 'sig', 'v'],
    'block',
  );
  if (v.v !== BLOCK_VERSION) bad('unknown version');
  if (typeof v.fed !== 'string' || !FED.test(v.fed)) bad('fed must be a federation name');
  if (!Array.isArray(v.a) || v.a.length > MAX_ACKS) bad(`a must be a list of at most ${MAX_ACKS} ids`);
  const acks = v.a.map((a) => bytesField(a, 32, 'an ack'));
  for (let i = 1; i < acks.length; i++)
    if (compareBytes(acks[i - 1]!, acks[i]!) >= 0) bad('acks must be ascending without repeats');
  if (!Array.isArray(v.p) || v.p.length > MAX_PAYLOAD_ITEMS)
    bad(`p must be a list of at most ${MAX_PAYLOAD_ITEMS} items`);
  return {
    federation: v.fed,
    epoch: whole(v.ep, 'ep'),
    creator: bytesField(v.c, 32, 'c'),
    seq: whole(v.n, 'n'),
    acks,
    payload: v.p.map(itemFromCbor),
    signature: bytesField(v.sig, 64, 'sig'),
    ...(timed ? { time: whole(v.t, 't') } : {}),
  };
}

/**
 * Decodes a block from outside; fails only with `E_DECODE` (not CBOR) or `E_INVALID` (not a block).
 * The signature is not checked here (`verifyBlockSignature`), nor anything that needs the blocklace.
 */
export function decodeBlock(bytes: Uint8Array): Block {
  const block = decoding('block', () => blockFromCbor(decodeCbor(bytes, 'block')));
  // A copy (not `slice`, which on a Node Buffer is a view): the caller's buffer may be reused.
  wires.set(block, new Uint8Array(bytes));
  return block;
}

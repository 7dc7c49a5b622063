/**
 * What relays of one federation say to each other (core/docs/federation.md, "Relay mode"): two gossip
 * topics per federation and two operations over the request/response contract (./rpc.ts).
 *
 * - `cipherclerk/v1/federation/<id>/blocks`: each message is one encoded block (core/src/federation/
 *   block.ts). No gossip envelope: the block is signed by its creator, and that signature, the
 *   federation and the committee are what a receiver checks.
 * - `cipherclerk/v1/federation/<id>/roots`: one member's signature on an attested root body
 *   (core/src/federation/attest.ts), `{v, fed, ep, lroot, h, log, signer, sig}`, signed by the signer;
 *   `log` is the settlement log's root (core/src/federation/receipts.ts), required.
 * - `cipherclerk/v1/federation/<id>/transitions`: one member of epoch `ep - 1` signing the hand-over
 *   to epoch `ep`'s committee (light.ts `signTransition`), `{v, fed, ep, signer, sig}`. The committee
 *   itself is not sent: every relay derives it from the final order, and checks the signature on it.
 * - `federation/blocks`: `{v, want, have}` or `{v, want, have, ep}` -> `{v, blocks}`: the blocks `want`
 *   names with their causal past, minus the past of the `have` blocks the answerer holds, lowest
 *   first, at most `MAX_BLOCKS_PER_ANSWER`; an empty `want` asks for the past of the answerer's tips of
 *   epoch `ep` (its current epoch when absent: catching up on connect). The asker inserts them and
 *   asks again while its blocklace still misses something.
 * - `federation/root`: `{v}` -> the latest root with signatures of more than 2/3 of the committee
 *   (attest.ts's encoding), `E_NOT_FOUND` before the first.
 * - `federation/receipt`: `{v, turn}` (the turn's 32-byte hash) -> the receipt bundle of receipts.ts
 *   (`encodeReceiptBundle`: the turn's federated receipt, its inclusion path, and the latest root more
 *   than 2/3 signed that covers it); `E_NOT_FOUND` while the turn is not settled under such a root.
 * - `federation/committee`: `{v}` -> `{v, gen, trans}`: the genesis committee (light.ts's genesis JSON)
 *   and every transition certificate since, in epoch order; what a wallet pins at first use.
 * - `federation/propose`: the operator's admin path. `{v, fed, ep, op, k, addrs, t, sig}`: have this
 *   relay endorse adding (`op` "add", with the newcomer's multiaddrs) or removing member `k` in epoch
 *   `ep`; signed with the relay's own key (`H_federationProposal` of the body without `sig`), which only
 *   its operator holds, within `PROPOSAL_SKEW_S` of the relay's clock. -> `{v, ep}`.
 * - `federation/bridge-claim`: an encoded bridge claim (core/src/federation/bridge.ts `encodeClaim`:
 *   a mint, a void or a release) -> `{v, out, dup}` once the claim is settled in the final order
 *   (`out`: minted | voided | released; `dup`: these very bytes were settled before), or the
 *   refusal's error. A caller whose call timed out sends the same bytes again.
 * - `federation/bridge-void`: `{v, src, lock}` (the source federation and the lock turn's 32-byte
 *   hash) -> `{v, signer, sig}`: this member's signature on the void of that lock
 *   (bridge.ts `voidEvent`), `E_NOT_FOUND` until this relay has settled the void. A client gathers
 *   more than 2/3 of the committee's into the statement a release claim carries.
 */

import { hashFor } from '../crypto/hash.ts';
import { type CborValue, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { DreggError, decoding } from '../errors.ts';
import { MAX_CLAIM_BYTES } from '../federation/block.ts';
import type { Committee } from '../federation/committee.ts';
import {
  decodeGenesis,
  decodeTransition,
  encodeGenesis,
  encodeTransition,
  MAX_MEMBERS,
  type Transition,
} from '../federation/light.ts';
import type { RpcOp } from './rpc.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

export const MAX_BLOCKS_PER_ANSWER = 256;
/** Ids in one `federation/blocks` request, in `want` and in `have` each. */
export const MAX_IDS_PER_REQUEST = 256;

export const FEDERATION_OPS = {
  blocks: { name: 'federation/blocks', maxRequest: 24 * KiB, maxResponse: 32 * MiB, timeoutMs: 30_000 },
  root: { name: 'federation/root', maxRequest: 64, maxResponse: 80 * KiB },
  /** A root's 80 KiB bound, and the receipt and its path (64 hashes at most) besides. */
  receipt: { name: 'federation/receipt', maxRequest: 64, maxResponse: 88 * KiB },
  committee: { name: 'federation/committee', maxRequest: 64, maxResponse: 4 * MiB },
  propose: { name: 'federation/propose', maxRequest: 8 * KiB, maxResponse: 64 },
  /** Waits for the claim's settlement, like `turn/submit`. */
  bridgeClaim: { name: 'federation/bridge-claim', maxRequest: MAX_CLAIM_BYTES, maxResponse: 64 },
  bridgeVoid: { name: 'federation/bridge-void', maxRequest: 160, maxResponse: 160 },
} as const satisfies Record<string, RpcOp>;

/** Transition certificates one `federation/committee` answer carries at most. */
export const MAX_TRANSITIONS = 256;

const FED = /^[a-z0-9][a-z0-9.-]{0,62}$/;

export function federationTopics(federation: string): { blocks: string; roots: string; transitions: string } {
  if (!FED.test(federation)) throw new DreggError('E_ARGUMENT', 'Not a federation name');
  const base = `cipherclerk/v1/federation/${federation}`;
  return { blocks: `${base}/blocks`, roots: `${base}/roots`, transitions: `${base}/transitions` };
}

export interface BlocksRequest {
  readonly want: readonly Uint8Array[];
  readonly have: readonly Uint8Array[];
  /** The epoch whose blocks the asker wants (the answerer's current one when absent). */
  readonly epoch?: number;
}

function invalid(message: string): never {
  throw new DreggError('E_INVALID', message);
}

function exactly(v: CborValue, names: readonly string[], what: string): Record<string, CborValue> {
  if (!isCborMap(v)) invalid(`${what} is a map`);
  if (Object.keys(v).length !== names.length || !names.every((k) => Object.hasOwn(v, k)))
    invalid(`${what} fields are {${names.join(', ')}}`);
  if (v.v !== 1) invalid(`${what}: unknown version`);
  return v;
}

function ids(v: CborValue | undefined, name: string): Uint8Array[] {
  if (!Array.isArray(v) || v.length > MAX_IDS_PER_REQUEST)
    invalid(`${name} is at most ${MAX_IDS_PER_REQUEST} ids`);
  return v.map((x) => {
    if (!(x instanceof Uint8Array) || x.length !== 32) invalid(`${name} holds 32-byte ids`);
    return x;
  });
}

function whole(x: CborValue | undefined, name: string): number {
  if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) invalid(`${name} is a whole number`);
  return x;
}

function bytesOf(x: CborValue | undefined, n: number, name: string): Uint8Array {
  if (!(x instanceof Uint8Array) || x.length !== n) invalid(`${name} is ${n} bytes`);
  return x;
}

export function encodeBlocksRequest(r: BlocksRequest): Uint8Array {
  const body = { v: 1, want: [...r.want], have: [...r.have] };
  return encodeCbor(r.epoch === undefined ? body : { ...body, ep: r.epoch }).slice();
}

export function decodeBlocksRequest(bytes: Uint8Array): BlocksRequest {
  return decoding('blocks request', () => {
    const raw = decodeCbor(bytes, 'blocks request');
    const withEpoch = isCborMap(raw) && Object.hasOwn(raw, 'ep');
    const names = withEpoch ? ['ep', 'have', 'v', 'want'] : ['have', 'v', 'want'];
    const v = exactly(raw, names, 'a blocks request');
    const request = { want: ids(v.want, 'want'), have: ids(v.have, 'have') };
    return withEpoch ? { ...request, epoch: whole(v.ep, 'ep') } : request;
  });
}

export function encodeBlocksAnswer(blocks: readonly Uint8Array[]): Uint8Array {
  return encodeCbor({ v: 1, blocks: [...blocks] }).slice();
}

/** The encoded blocks of an answer; each is decoded and checked by the blocklace, not here. */
export function decodeBlocksAnswer(bytes: Uint8Array): Uint8Array[] {
  return decoding('blocks answer', () => {
    const v = exactly(decodeCbor(bytes, 'blocks answer'), ['blocks', 'v'], 'a blocks answer');
    if (!Array.isArray(v.blocks) || v.blocks.length > MAX_BLOCKS_PER_ANSWER)
      invalid(`blocks is at most ${MAX_BLOCKS_PER_ANSWER} blocks`);
    return v.blocks.map((b) => {
      if (!(b instanceof Uint8Array)) invalid('a block is bytes');
      return b;
    });
  });
}

/** One member's signature on a root body, as gossiped. */
export interface RootVote {
  readonly federation: string;
  readonly epoch: number;
  readonly ledgerRoot: Uint8Array;
  readonly height: number;
  readonly logRoot: Uint8Array;
  readonly signer: Uint8Array;
  readonly signature: Uint8Array;
}

export function encodeRootVote(r: RootVote): Uint8Array {
  return encodeCbor({
    v: 1,
    fed: r.federation,
    ep: r.epoch,
    lroot: r.ledgerRoot,
    h: r.height,
    log: r.logRoot,
    signer: r.signer,
    sig: r.signature,
  }).slice();
}

export function decodeRootVote(bytes: Uint8Array): RootVote {
  return decoding('root vote', () => {
    const v = exactly(
      decodeCbor(bytes, 'root vote'),
      ['ep', 'fed', 'h', 'log', 'lroot', 'sig', 'signer', 'v'],
      'a root vote',
    );
    if (typeof v.fed !== 'string' || !FED.test(v.fed)) invalid('fed is a federation name');
    return {
      federation: v.fed,
      epoch: whole(v.ep, 'ep'),
      ledgerRoot: bytesOf(v.lroot, 32, 'lroot'),
      height: whole(v.h, 'h'),
      logRoot: bytesOf(v.log, 32, 'log'),
      signer: bytesOf(v.signer, 32, 'signer'),
      signature: bytesOf(v.sig, 64, 'sig'),
    };
  });
}

export function encodeReceiptRequest(turn: Uint8Array): Uint8Array {
  return encodeCbor({ v: 1, turn }).slice();
}

/** The turn hash asked about (32 bytes). */
export function decodeReceiptRequest(bytes: Uint8Array): Uint8Array {
  return decoding('receipt request', () => {
    const v = exactly(decodeCbor(bytes, 'receipt request'), ['turn', 'v'], 'a receipt request');
    if (!(v.turn instanceof Uint8Array) || v.turn.length !== 32) invalid('turn is a 32-byte hash');
    return v.turn;
  });
}

/** The committee a federation started with, and every hand-over since. */
export interface CommitteeAnswer {
  readonly genesis: Committee;
  readonly transitions: readonly Transition[];
}

export function encodeCommitteeAnswer(a: CommitteeAnswer): Uint8Array {
  return encodeCbor({
    v: 1,
    gen: encodeGenesis(a.genesis),
    trans: a.transitions.map((t) => encodeTransition(t)),
  }).slice();
}

/**
 * Decodes what a relay says its federation's committee is; fails only with `E_DECODE` or
 * `E_INVALID`. Checks no signature: the wallet pins the genesis (showing its id) and checks each
 * transition against the committee before it (light.ts `followRoot`).
 */
export function decodeCommitteeAnswer(bytes: Uint8Array): CommitteeAnswer {
  return decoding('committee answer', () => {
    const v = exactly(decodeCbor(bytes, 'committee answer'), ['gen', 'trans', 'v'], 'a committee answer');
    // 70 bytes of JSON per member is generous: a key is 66 with its quotes and comma.
    if (typeof v.gen !== 'string' || v.gen.length > 128 + 70 * MAX_MEMBERS) invalid('gen is a genesis');
    if (!Array.isArray(v.trans) || v.trans.length > MAX_TRANSITIONS)
      invalid(`trans is at most ${MAX_TRANSITIONS} transitions`);
    const genesis = decodeGenesis(v.gen);
    const transitions = v.trans.map((t) => {
      if (!(t instanceof Uint8Array)) invalid('a transition is bytes');
      return decodeTransition(t);
    });
    transitions.forEach((t, i) => {
      if (t.next.federation !== genesis.federation || t.next.epoch !== genesis.epoch + i + 1)
        invalid('the transitions follow the genesis one epoch at a time');
    });
    return { genesis, transitions };
  });
}

/** One member of epoch `epoch - 1` signing the hand-over to epoch `epoch`'s committee, as gossiped. */
export interface TransitionVote {
  readonly federation: string;
  readonly epoch: number;
  readonly signer: Uint8Array;
  readonly signature: Uint8Array;
}

export function encodeTransitionVote(t: TransitionVote): Uint8Array {
  return encodeCbor({ v: 1, fed: t.federation, ep: t.epoch, signer: t.signer, sig: t.signature }).slice();
}

export function decodeTransitionVote(bytes: Uint8Array): TransitionVote {
  return decoding('transition vote', () => {
    const v = exactly(
      decodeCbor(bytes, 'transition vote'),
      ['ep', 'fed', 'sig', 'signer', 'v'],
      'a transition vote',
    );
    if (typeof v.fed !== 'string' || !FED.test(v.fed)) invalid('fed is a federation name');
    const epoch = whole(v.ep, 'ep');
    if (epoch === 0) invalid('ep is the epoch handed over to, 1 or more');
    return {
      federation: v.fed,
      epoch,
      signer: bytesOf(v.signer, 32, 'signer'),
      signature: bytesOf(v.sig, 64, 'sig'),
    };
  });
}

/** How far a proposal's time may be from the relay's clock (s): an old signed request is not replayed. */
export const PROPOSAL_SKEW_S = 300;
/** Multiaddrs one proposal names for a newcomer, at most, and their length. */
export const MAX_PROPOSAL_ADDRS = 8;

/** An operator asking its relay to endorse a committee change (`federation/propose`). */
export interface ProposalBody {
  readonly federation: string;
  /** The epoch the change is proposed in: a request signed for one epoch means nothing in the next. */
  readonly epoch: number;
  readonly op: 'add' | 'remove';
  readonly member: Uint8Array;
  /** Where the newcomer listens (for "add"): the relay dials it. */
  readonly multiaddrs: readonly string[];
  /** Unix seconds when it was signed. */
  readonly time: number;
}

export interface Proposal extends ProposalBody {
  readonly signature: Uint8Array;
}

function proposalBody(p: ProposalBody): Record<string, CborValue> {
  return {
    v: 1,
    fed: p.federation,
    ep: p.epoch,
    op: p.op,
    k: p.member,
    addrs: [...p.multiaddrs],
    t: p.time,
  };
}

export function proposalDigest(p: ProposalBody): Uint8Array {
  return hashFor('federationProposal', encodeCbor(proposalBody(p)));
}

export function encodeProposal(p: Proposal): Uint8Array {
  return encodeCbor({ ...proposalBody(p), sig: p.signature }).slice();
}

/** Decodes a proposal; fails only with `E_DECODE` or `E_INVALID`. Checks no signature. */
export function decodeProposal(bytes: Uint8Array): Proposal {
  return decoding('proposal', () => {
    const v = exactly(
      decodeCbor(bytes, 'proposal'),
      ['addrs', 'ep', 'fed', 'k', 'op', 'sig', 't', 'v'],
      'a proposal',
    );
    if (typeof v.fed !== 'string' || !FED.test(v.fed)) invalid('fed is a federation name');
    if (v.op !== 'add' && v.op !== 'remove') invalid('op is "add" or "remove"');
    if (
      !Array.isArray(v.addrs) ||
      v.addrs.length > MAX_PROPOSAL_ADDRS ||
      !v.addrs.every((a) => typeof a === 'string' && a.length > 0 && a.length < 512)
    )
      invalid(`addrs is at most ${MAX_PROPOSAL_ADDRS} multiaddrs`);
    return {
      federation: v.fed,
      epoch: whole(v.ep, 'ep'),
      op: v.op,
      member: bytesOf(v.k, 32, 'k'),
      multiaddrs: v.addrs as string[],
      time: whole(v.t, 't'),
      signature: bytesOf(v.sig, 64, 'sig'),
    };
  });
}

export function encodeProposed(epoch: number): Uint8Array {
  return encodeCbor({ v: 1, ep: epoch }).slice();
}

/** The epoch the relay endorsed the change in. */
export function decodeProposed(bytes: Uint8Array): number {
  return decoding('proposal answer', () =>
    whole(exactly(decodeCbor(bytes, 'proposal answer'), ['ep', 'v'], 'a proposal answer').ep, 'ep'),
  );
}

export type ClaimOutcome = 'minted' | 'voided' | 'released';

export interface ClaimAnswer {
  readonly outcome: ClaimOutcome;
  /** These very claim bytes were settled before: the answer is the first settlement's. */
  readonly duplicate: boolean;
}

export function encodeClaimAnswer(a: ClaimAnswer): Uint8Array {
  return encodeCbor({ v: 1, out: a.outcome, dup: a.duplicate }).slice();
}

export function decodeClaimAnswer(bytes: Uint8Array): ClaimAnswer {
  return decoding('bridge claim answer', () => {
    const v = exactly(decodeCbor(bytes, 'bridge claim answer'), ['dup', 'out', 'v'], 'a claim answer');
    if (v.out !== 'minted' && v.out !== 'voided' && v.out !== 'released')
      invalid('out is minted, voided or released');
    if (typeof v.dup !== 'boolean') invalid('dup is a boolean');
    return { outcome: v.out, duplicate: v.dup };
  });
}

/** Which lock's void a client asks a member to sign: the source federation and the lock turn's hash. */
export interface VoidRequest {
  readonly source: string;
  readonly lock: Uint8Array;
}

export function encodeVoidRequest(r: VoidRequest): Uint8Array {
  return encodeCbor({ v: 1, src: r.source, lock: r.lock }).slice();
}

export function decodeVoidRequest(bytes: Uint8Array): VoidRequest {
  return decoding('void request', () => {
    const v = exactly(decodeCbor(bytes, 'void request'), ['lock', 'src', 'v'], 'a void request');
    if (typeof v.src !== 'string' || !FED.test(v.src)) invalid('src is a federation name');
    if (!(v.lock instanceof Uint8Array) || v.lock.length !== 32) invalid('lock is a 32-byte turn hash');
    return { source: v.src, lock: v.lock };
  });
}

/** One member's signature on a void. */
export function encodeVoidSignature(s: { signer: Uint8Array; signature: Uint8Array }): Uint8Array {
  return encodeCbor({ v: 1, signer: s.signer, sig: s.signature }).slice();
}

export function decodeVoidSignature(bytes: Uint8Array): { signer: Uint8Array; signature: Uint8Array } {
  return decoding('void signature', () => {
    const v = exactly(decodeCbor(bytes, 'void signature'), ['sig', 'signer', 'v'], 'a void signature');
    if (!(v.signer instanceof Uint8Array) || v.signer.length !== 32) invalid('signer is 32 bytes');
    if (!(v.sig instanceof Uint8Array) || v.sig.length !== 64) invalid('sig is 64 bytes');
    return { signer: v.signer, signature: v.sig };
  });
}

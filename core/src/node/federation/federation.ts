/**
 * A relay's federation mode (core/docs/federation.md, "Relay mode"): the relay is one member of a
 * committee pinned by a genesis file. Submitted turns go into this relay's next block; blocks travel
 * on the federation's gossip topic and through the frontier exchange; the Cordial Miners order
 * (core/src/federation) makes them final; every relay settles the same final order on its own ledger
 * and answers a submission once its turn is settled (or refused: a second spend is `E_STALE` naming
 * the first spend's place). After each final wave every member signs the attested root and gossips
 * its vote; `root()` is the latest root more than 2/3 of the committee signed.
 *
 * Storage: the blocks are the log of record. Each block this relay accepts is written to its SQLite
 * (`federation-blocks` by epoch, in arrival order, which is an order the blocklace accepts:
 * ./stored-blocks.ts), its own blocks
 * before they are published, so a restart never signs a second block at a seq it already used. The
 * ledger is a projection of the final order: on start it is rebuilt by replaying the stored blocks
 * through the blocklace, the order and settlement, which are deterministic, in a memory-only notary
 * (decision 170). So there is no second durable write to keep in step with the blocks.
 */
import { existsSync, readFileSync } from 'node:fs';
import { TopicValidatorResult } from '@libp2p/gossipsub';
import type { Libp2p, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { manualClock } from '../../clock.ts';
import { type Ed25519, ed25519PublicKey } from '../../crypto/ed25519.ts';
import { hashFor } from '../../crypto/hash.ts';
import { concatBytes, fromHex, toHex } from '../../encoding/bytes.ts';
import { DreggError, fail } from '../../errors.ts';
import {
  type FederationRoot,
  type FederationRootBody,
  federationRootDigest,
  signFederationRoot,
} from '../../federation/attest.ts';
import {
  type Block,
  decodeBlock,
  encodeBlock,
  type PayloadItem,
  signBlock,
  verifyBlockSignatureWith,
} from '../../federation/block.ts';
import { createBlocklace, type Node } from '../../federation/blocklace.ts';
import { blocksToSend, blocksWanted } from '../../federation/catch-up.ts';
import { type Committee, isMember, isSupermajority } from '../../federation/committee.ts';
import { signTransition, type Transition } from '../../federation/light.ts';
import { epochChange } from '../../federation/membership.ts';
import { createMiner } from '../../federation/miner.ts';
import { createOrderer, type Ordered, WAVE_LENGTH } from '../../federation/order.ts';
import { createReceiptLog, type ReceiptLog } from '../../federation/receipts.ts';
import { type ApplyInOrder, createSettlement, type Outcome, type Place } from '../../federation/settle.ts';
import type { Submitted } from '../../net/contract.ts';
import {
  decodeBlocksAnswer,
  decodeBlocksRequest,
  decodeRootVote,
  decodeTransitionVote,
  encodeBlocksAnswer,
  encodeBlocksRequest,
  encodeRootVote,
  encodeTransitionVote,
  FEDERATION_OPS,
  federationTopics,
  MAX_BLOCKS_PER_ANSWER,
  MAX_IDS_PER_REQUEST,
  type Proposal,
} from '../../net/federation.ts';
import type { RelayServices } from '../../net/node.ts';
import { callRpc } from '../../net/rpc.ts';
import { NOTARY_COLLECTIONS, type Notary, openNotary } from '../../notary/index.ts';
import { openMemoryStore } from '../../store/memory.ts';
import type { Store } from '../../store/store.ts';
import { receiptSigningDigest } from '../../turns/receipt.ts';
import { decodeTurn, type Turn, turnHashHex, verifyTurnSignature } from '../../turns/turn.ts';
import { rememberingVerifier } from '../ed25519.ts';
import type { Log } from '../relay/log.ts';
import { type BridgeStatus, type Bridges, createBridges } from './bridges.ts';
import {
  EPOCH_COLLECTIONS,
  findJoinedEpoch,
  openEpochBook,
  proposalItem,
  pullTransitions,
} from './epochs.ts';
import type { Genesis } from './genesis.ts';
import { type CommitteeView, createMemberDirectory } from './members.ts';
import { createStages, type StageReport } from './stages.ts';
import { BLOCKS, blockKey, closedEpochs, migrateBlockKeys, readEpoch } from './stored-blocks.ts';

export const FEDERATION_COLLECTIONS: readonly string[] = Object.freeze([
  /** "<12-digit epoch>/<12-digit arrival number>" -> encoded block (./stored-blocks.ts) */
  BLOCKS,
  ...EPOCH_COLLECTIONS,
]);

/** Blocks of the next epoch held until this relay's order reaches the cut, at most. */
const MAX_EARLY_BLOCKS = 4096;

/** How long an accepted block may wait to be written with others (ms). */
const WRITE_DELAY_MS = 100;

/** How long acks may stay missing before this relay asks a member for them (ms). */
const CATCH_UP_AFTER_MS = 100;

/**
 * Turns a wave's settlement hands the notary per call before it yields to the event loop, so a big
 * wave does not stall gossip and mining for its whole length (the notary batches each call).
 */
const SETTLE_SLICE = 32;

/** Turns one block carries at most: keeps a block well under the gossip size limit. */
export const MAX_TURNS_PER_BLOCK = 256;

/** Test-only misbehaviour (`CIPHERCLERK_TEST_BYZANTINE`, see core/docs/federation.md). */
export type Byzantine = 'equivocate' | 'garbage';

export interface FederationOptions {
  readonly genesis: Genesis;
  readonly node: Libp2p<RelayServices>;
  readonly store: Store;
  /** The relay's signing seed: its committee key. */
  readonly seed: Uint8Array;
  readonly ed: Ed25519;
  readonly ledger: string;
  readonly log: Log;
  /** How often the miner looks for a block to make (ms, default 25). */
  readonly tickMs?: number;
  /** Test-only misbehaviour; read from CIPHERCLERK_TEST_BYZANTINE when absent. */
  readonly byzantine?: ReadonlySet<Byzantine>;
  /**
   * Test-only partition: a file listing libp2p peer ids this relay refuses to talk to, reread every
   * second (an absent or empty file refuses none); CIPHERCLERK_TEST_PARTITION_FILE when absent.
   */
  readonly partitionFile?: string;
}

/** The test-only modes, from the environment (documented in core/docs/federation.md). */
function testModes(o: FederationOptions): {
  byzantine: Set<Byzantine>;
  partitionFile?: string;
  skewS: number;
} {
  const named = (process.env.CIPHERCLERK_TEST_BYZANTINE ?? '').split(',').filter(Boolean);
  for (const n of named)
    if (n !== 'equivocate' && n !== 'garbage')
      fail('E_ARGUMENT', 'CIPHERCLERK_TEST_BYZANTINE lists equivocate and/or garbage');
  const skew = process.env.CIPHERCLERK_TEST_CLOCK_SKEW_S ?? '0';
  if (!/^-?\d{1,9}$/.test(skew)) fail('E_ARGUMENT', 'CIPHERCLERK_TEST_CLOCK_SKEW_S is whole seconds');
  return {
    byzantine: new Set(o.byzantine ?? (named as Byzantine[])),
    partitionFile: o.partitionFile ?? process.env.CIPHERCLERK_TEST_PARTITION_FILE,
    skewS: Number(skew),
  };
}

export interface FederationStatus {
  readonly federation: string;
  /** The committee epoch this relay is in, its size, and whether this relay is in it. */
  readonly epoch: number;
  readonly members: number;
  readonly member: boolean;
  /** Complete transition certificates held (epochs 1..transitions). */
  readonly transitions: number;
  /** Blocks in the final order, and the BLAKE3 chain over their ids (equal orders, equal digests). */
  readonly ordered: number;
  readonly orderDigest: string;
  readonly lastWave: number;
  readonly blocks: number;
  /** Turns settled (accepted, duplicate or refused) and the ledger root after them. */
  readonly settled: number;
  readonly ledgerRoot: string;
  /** Creators with equivocation evidence in the blocklace, and those the order convicted. */
  readonly equivocators: readonly string[];
  readonly convicted: readonly string[];
  /** Convicted creator -> the wave whose step convicted it. */
  readonly convictedAt: Readonly<Record<string, number>>;
  /** The latest final leaders (at most 32), ascending: who led which wave. */
  readonly leaders: readonly { readonly wave: number; readonly creator: string }[];
  /** Federation blocks and root votes dropped: undecodable, badly signed, not a member's, invalid. */
  readonly dropped: number;
  /** Other members this relay is connected to and talks to (a partition shows here). */
  readonly connected: number;
  /** Members of the current committee (keys, hex) whose multiaddrs this relay does not know. */
  readonly unaddressed: readonly string[];
  readonly pending: number;
  /** Height of the latest root more than 2/3 of the committee signed (-1 before one). */
  readonly rootHeight: number;
  /** With bridges (genesis `bridges`): amounts locked here and minted here, per other federation. */
  readonly bridges?: BridgeStatus;
  /** Bench only (CIPHERCLERK_BENCH_STAGES): where latency went in its last seconds (./stages.ts). */
  readonly stages?: StageReport;
}

export interface Federation {
  /** The ledger the final order settles into (reads: cells, heads, receipts, audit). */
  readonly notary: Notary;
  /** Puts the turn in a block; resolves when it is settled, fails with its refusal. */
  submit(turn: Turn, bytes: Uint8Array): Promise<Submitted>;
  /** The latest root signed by more than 2/3 of the committee. */
  root(): FederationRoot | undefined;
  /** The settlement log of federated receipts the roots commit to (`logRoot`); rebuilt on replay. */
  readonly receipts: ReceiptLog;
  /** The `federation/blocks` handler (the frontier exchange). */
  serveBlocks(request: Uint8Array, from: { peerId: string }): Promise<Uint8Array>;
  /** The transition certificates since genesis, in epoch order (`federation/committee`). */
  transitions(): readonly Transition[];
  /** The committee of the epoch this relay is in, with the members' addresses (./members.ts). */
  committee(): CommitteeView;
  /** The operator's committee change: endorsed in this relay's next block; resolves to the epoch. */
  propose(p: Proposal): Promise<number>;
  /** Bridge claims and voids (./bridges.ts), when the genesis pins other federations. */
  readonly bridges?: Bridges;
  /** Puts a payload item (a bridge claim) in this relay's next block. */
  enqueue(item: PayloadItem): void;
  status(): FederationStatus;
  stop(): Promise<void>;
}

/** What a turn's next `prev` names in a federation: its receipt without the relay's own parts. */
export function federationChainHash(federation: string) {
  return (r: Parameters<typeof receiptSigningDigest>[0]): string =>
    toHex(hashFor('receiptHash', receiptSigningDigest({ ...r, executor: `federation:${federation}` })));
}

type Answer = { ok: Submitted } | { refused: DreggError };

function describe(p: Place): string {
  return `turn ${p.turn || '?'} at height ${p.height}, block ${p.block} item ${p.item}`;
}

export async function startFederation(o: FederationOptions): Promise<Federation> {
  const { genesis, node, store, ed, log } = o;
  /** The committee of the epoch this relay is in: it changes at each cut (`enterEpoch`). */
  let c: Committee = genesis.committee;
  const publicKey = ed25519PublicKey(o.seed);
  const me = toHex(publicKey);
  const book = await openEpochBook(store, c);
  const directory = createMemberDirectory(genesis);
  await migrateBlockKeys(store);
  const hasStored = (await store.list(BLOCKS, { limit: 1 })).length > 0;
  // A relay the genesis does not name must be in a later committee: it replays from epoch 0 as an
  // observer and mines from the epoch that adds it.
  if (!isMember(c, me) && !hasStored)
    await book.adopt(
      await findJoinedEpoch(
        node,
        c,
        genesis.members.flatMap((m) => m.multiaddrs),
        me,
      ),
    );
  const topics = federationTopics(c.federation);
  const member = { publicKey, sign: (d: Uint8Array) => ed.sign(o.seed, d) };
  const modes = testModes(o);
  const byzantine = modes.byzantine;
  if (byzantine.size > 0) log('warn', 'TEST-ONLY Byzantine mode', { modes: [...byzantine] });
  if (modes.skewS !== 0) log('warn', 'TEST-ONLY clock skew', { seconds: modes.skewS });
  let refusedPeers = new Set<string>();
  const refused = (): ReadonlySet<string> => refusedPeers;
  const partitionFile = modes.partitionFile;
  const rereadPartition = (): void => {
    if (partitionFile === undefined) return;
    refusedPeers = existsSync(partitionFile)
      ? new Set(readFileSync(partitionFile, 'utf8').split(/\s+/).filter(Boolean))
      : new Set();
  };
  rereadPartition();

  const bridges = genesis.bridges.length > 0 ? createBridges({ genesis, ed, seed: o.seed, log }) : undefined;
  if (bridges !== undefined && o.ledger !== c.federation)
    fail('E_ARGUMENT', `A bridged federation's ledger is named as the federation (${c.federation})`);

  // The ledger: a memory-only notary rebuilt from the order on every start, on a clock that reads
  // the settled blocks' time, so every relay checks deadlines and stamps receipts alike.
  const clock = manualClock(0);
  // A turn's signature is checked once here, on the relay it was submitted to: the notary's check at
  // settlement finds the answer remembered.
  const turnsEd = rememberingVerifier(ed);
  const ledgerStore = openMemoryStore({ collections: NOTARY_COLLECTIONS });
  const notary = await openNotary({
    store: ledgerStore,
    ed: turnsEd,
    clock,
    seed: o.seed,
    ledger: o.ledger,
    chainHash: federationChainHash(c.federation),
    ...(bridges === undefined ? {} : { federations: bridges.federations, wrapped: bridges.wrapped }),
  });
  for (const cell of genesis.cells) await notary.genesis(cell.owner, cell.salt, cell.balance);
  await bridges?.open(notary);

  let lace = createBlocklace(c);
  let orderer = createOrderer(lace);
  let miner = createMiner(lace, member);
  /** Earlier epochs' blocklaces, rebuilt from the store to serve relays that are behind or joining. */
  const closed = closedEpochs({
    store,
    ed,
    committeeAt: (e) => (e < c.epoch ? book.committeeAt(e) : undefined),
  });
  /** Blocks of the next epoch that came before this relay's order reached the cut. */
  let early: Block[] = [];
  /** This epoch's ordered blocks carrying `member` items: endorsements add up until one is carried. */
  let endorsements: Ordered[] = [];
  /** Committee changes this relay's operator asked for, and bridge claims, for its next block. */
  const proposals: PayloadItem[] = [];
  /** This relay's signature on the latest hand-over, repeated until the certificate is complete. */
  let myVote: Uint8Array | undefined;
  const answers = new Map<string, Answer>();
  const accepted = new Map<string, Submitted>();
  // A wave's turns go to the notary together, in order, so they share its batches (one transaction
  // and one notary root per batch, not per turn).
  const inOrder: ApplyInOrder = async (turns) => {
    const results = await notary.submitInOrder(turns.map((t) => t.turn));
    return results.map((r, i) => {
      if (r instanceof DreggError) return r;
      accepted.set(turns[i]!.place.turn, { seq: r.seq, receipt: r.receipt, duplicate: false });
      return undefined;
    });
  };
  const settlement = createSettlement({
    inOrder: bridges?.screen(inOrder) ?? inOrder,
    slice: SETTLE_SLICE,
    pause: () => new Promise<void>((resolve) => setImmediate(resolve)),
  });
  const receipts = createReceiptLog();
  const waiters = new Map<string, { resolve: (s: Submitted) => void; reject: (e: unknown) => void }[]>();
  const pending: { hash: string; bytes: Uint8Array }[] = [];
  /** Turns submitted here and not settled yet (their bytes, to propose them again in a new epoch). */
  const queued = new Map<string, Uint8Array>();
  /** Blocks carrying payload that are not final yet: while there are any, members keep mining. */
  const unsettled = new Set<string>();
  let orderDigest: Uint8Array = new Uint8Array(32);
  let ordered = 0;
  let settledTime = 0;
  let stored = 0;
  let dropped = 0;
  let stopped = false;
  const stages = createStages();

  // ---- roots -------------------------------------------------------------------------------------
  /** "<height>/<ledger root hex>" -> signer hex -> signature. */
  const votes = new Map<string, Map<string, Uint8Array>>();
  let best: FederationRoot | undefined;

  function countVote(body: FederationRootBody, signer: Uint8Array, signature: Uint8Array): void {
    const key = `${body.height}/${toHex(federationRootDigest(body))}`;
    const sigs = votes.get(key) ?? new Map<string, Uint8Array>();
    votes.set(key, sigs);
    sigs.set(toHex(signer), signature);
    if (!isSupermajority(c, sigs.size) || (best !== undefined && best.height >= body.height)) return;
    best = {
      ...body,
      signatures: [...sigs].map(([s, sig]) => ({ signer: fromHex(s), signature: sig })),
    };
    // Older heights are settled history; keep the map small.
    for (const k of votes.keys()) if (Number(k.split('/')[0]) < body.height) votes.delete(k);
  }

  async function attest(): Promise<void> {
    if (!isMember(c, me)) return;
    const body = {
      federation: c.federation,
      epoch: c.epoch,
      ledgerRoot: notary.latestRoot().ledgerRoot,
      height: settlement.height(),
      logRoot: receipts.root(),
    } satisfies FederationRootBody;
    const vote = await signFederationRoot(body, publicKey, member.sign);
    countVote(body, vote.signer, vote.signature);
    await node.services.pubsub
      .publish(topics.roots, encodeRootVote({ ...body, signer: vote.signer, signature: vote.signature }))
      .catch(() => undefined);
  }

  // ---- settlement --------------------------------------------------------------------------------
  function answer(hash: string, a: Answer): void {
    answers.set(hash, a);
    const list = waiters.get(hash);
    if (list === undefined) return;
    waiters.delete(hash);
    stages?.answered(hash);
    for (const w of list) 'ok' in a ? w.resolve(a.ok) : w.reject(a.refused);
  }

  function record(outcome: Outcome): void {
    const hash = outcome.place.turn;
    if (hash === '') return;
    queued.delete(hash);
    if (outcome.kind === 'accepted') answer(hash, { ok: accepted.get(hash)! });
    else if (outcome.kind === 'duplicate') {
      const first = answers.get(hash);
      if (first !== undefined) answer(hash, 'ok' in first ? { ok: { ...first.ok, duplicate: true } } : first);
    } else {
      const where = outcome.spentBy === undefined ? '' : `; first spend: ${describe(outcome.spentBy)}`;
      answer(hash, {
        refused: new DreggError(
          outcome.code,
          `${outcome.message} (settled ${describe(outcome.place)}${where})`,
        ),
      });
    }
  }

  /**
   * Settles newly ordered blocks wave by wave, signing the root after each. Serialized. A wave's
   * turns are settled together at the latest block time among the blocks ordered up to the end of
   * that wave: the same on every relay, however its `advance` calls split the waves.
   */
  let settling: Promise<void> = Promise.resolve();
  function settle(fresh: readonly Ordered[], quiet: boolean): Promise<void> {
    stages?.final(fresh.map((o) => o.node.key));
    settling = settling.then(async () => {
      // Ordered before a cut that an earlier call made: that epoch is closed.
      const epoch = c.epoch;
      const current = fresh.filter((o) => o.node.block.epoch === epoch);
      for (let start = 0; start < current.length; ) {
        const wave = current[start]!.wave;
        let end = start;
        while (end < current.length && current[end]!.wave === wave) end++;
        let group = current.slice(start, end);
        const endorsing = group.filter((o) => o.node.block.payload.some((i) => i.kind === 'member'));
        endorsements.push(...endorsing);
        for (const o of endorsing) directory.learn(o.node.block.payload);
        const change = epochChange(c, endorsements);
        // The block that carries the change is the epoch's last one settled.
        if (change !== undefined) group = group.filter((o) => o.position <= change.cut);
        for (const o of group) {
          orderDigest = hashFor('federationBlockHash', concatBytes(orderDigest, o.node.id));
          ordered++;
          unsettled.delete(o.node.key);
          settledTime = Math.max(settledTime, o.node.block.time ?? 0);
        }
        clock.set(settledTime * 1000);
        const began = stages === undefined ? 0 : performance.now();
        stages?.settling(group.map((o) => o.node.key));
        const outcomes = await settlement.settle(group);
        stages?.wave(performance.now() - began);
        receipts.append(outcomes);
        for (const outcome of outcomes) record(outcome);
        // Bridge claims take effect after the wave's turns, in block order: the same place everywhere.
        await bridges?.settle(group, settledTime);
        if (!quiet) await attest();
        if (change !== undefined) {
          await enterEpoch(change.next, quiet);
          break;
        }
        start = end;
      }
    });
    return settling;
  }

  /**
   * The cut (membership.ts): a fresh blocklace for the next committee, this relay's hand-over
   * signature, and the turns queued here that the old epoch did not settle proposed again (or, if
   * this relay left the committee, refused: its clients submit to a member).
   */
  async function enterEpoch(next: Committee, quiet: boolean): Promise<void> {
    const previous = c;
    c = next;
    lace = createBlocklace(c);
    orderer = createOrderer(lace);
    miner = createMiner(lace, member);
    endorsements = [];
    proposals.length = 0;
    unsettled.clear();
    myVote = undefined;
    await book.handOver(previous, next);
    log('info', 'federation epoch', { epoch: c.epoch, members: c.keys, member: isMember(c, me) });
    // Signed on replay too: a certificate still incomplete before a restart gets this vote again.
    if (isMember(previous, me)) {
      myVote = (await signTransition(next, publicKey, member.sign)).signature;
      await book.vote(next.epoch, publicKey, myVote);
    }
    if (quiet) return;
    await publishVote();
    pending.length = 0;
    if (isMember(c, me)) for (const [hash, bytes] of queued) pending.push({ hash, bytes });
    else {
      for (const hash of queued.keys()) {
        for (const w of waiters.get(hash) ?? [])
          w.reject(
            new DreggError('E_DENIED', `This relay left the federation's committee at epoch ${c.epoch}`),
          );
        waiters.delete(hash);
      }
      queued.clear();
    }
    const held = early;
    early = [];
    for (const b of held) take(b, 'early');
  }

  async function publishVote(): Promise<void> {
    if (myVote === undefined) return;
    const vote = { federation: c.federation, epoch: c.epoch, signer: publicKey, signature: myVote };
    await node.services.pubsub.publish(topics.transitions, encodeTransitionVote(vote)).catch(() => undefined);
  }

  // ---- blocks in ---------------------------------------------------------------------------------
  // Accepted blocks wait here and are written together: at the latest when this relay publishes a
  // block of its own (which must be durable first: a restart must never sign a second block at a
  // seq it used), or after WRITE_DELAY_MS. A crash may lose the last others' blocks, which their
  // creators and every peer still hold and the frontier exchange fetches again; one fsync per round
  // instead of one per block received is what keeps the event loop free for gossip.
  let writes: { key: string; value: Uint8Array }[] = [];
  let written: Promise<void> = Promise.resolve();
  let writeTimer: ReturnType<typeof setTimeout> | undefined;
  function queueWrites(nodes: readonly Node[]): void {
    for (const n of nodes)
      writes.push({ key: blockKey(n.block.epoch, stored++), value: encodeBlock(n.block) });
    if (writeTimer !== undefined || writes.length === 0) return;
    writeTimer = setTimeout(() => {
      flushWrites().catch((e) => log('error', 'storing federation blocks failed', { error: String(e) }));
    }, WRITE_DELAY_MS);
    writeTimer.unref?.();
  }
  /** Writes every queued block in one transaction (after any earlier one); resolves once durable. */
  function flushWrites(): Promise<void> {
    clearTimeout(writeTimer);
    writeTimer = undefined;
    const batch = writes;
    writes = [];
    written = written
      .catch(() => undefined)
      .then(async () => {
        if (batch.length > 0)
          await store.transact(batch.map((w) => ({ op: 'put' as const, collection: BLOCKS, ...w })));
      });
    return written;
  }

  /** Inserts a block from anywhere; false when it was refused (and why is logged). */
  function take(block: Block, from: string, quiet = false): Node[] {
    if (block.epoch !== c.epoch) {
      // The next epoch's blocks wait for this relay's cut; a closed epoch's are of no use now.
      if (block.epoch === c.epoch + 1 && early.length < MAX_EARLY_BLOCKS) early.push(block);
      return [];
    }
    try {
      const { inserted, rejected } = lace.insert(block);
      dropped += rejected.length;
      for (const r of rejected) log('warn', 'federation block refused', { from, error: r.error.message });
      for (const n of inserted)
        if (n.block.payload.length > 0 && !orderer.isOrdered(n.key)) unsettled.add(n.key);
      if (!quiet && inserted.length > 0) {
        queueWrites(inserted);
        void settle(orderer.advance(), false);
        // A block that completes a round lets this relay make its next one now, not at the tick.
        if (pending.length > 0 || unsettled.size > 0) void tick();
      }
      return [...inserted];
    } catch (e) {
      if (!(e instanceof DreggError)) throw e;
      dropped++;
      log('debug', 'federation block refused', { from, error: e.message });
      return [];
    }
  }

  // Replay what this relay stored, one epoch at a time: the blocklace, the order, the committee, the
  // members' addresses and the ledger come back as they were, and each cut is made where it was.
  let last = -1;
  for (let epoch = -1; epoch !== c.epoch; ) {
    epoch = c.epoch;
    const { blocks, last: l } = await readEpoch(store, epoch);
    last = Math.max(last, l);
    for (const block of blocks) take(block, 'store', true);
    await settle(orderer.advance(), true);
  }
  // Blocks of the next epoch, stored, whose cut the replay did not reach: held for it, as gossip's are.
  const ahead = await readEpoch(store, c.epoch + 1);
  early = ahead.blocks.slice(0, MAX_EARLY_BLOCKS);
  stored = Math.max(last, ahead.last) + 1;
  log('info', 'federation replayed', {
    epoch: c.epoch,
    blocks: lace.size(),
    ordered,
    settled: settlement.height(),
  });

  // ---- gossip ------------------------------------------------------------------------------------
  const pubsub = node.services.pubsub;
  /** Rejecting scores the sender down in gossipsub; counting it shows an operator the attack. */
  const reject = (): TopicValidatorResult => {
    dropped++;
    return TopicValidatorResult.Reject;
  };
  const decodedFromGossip = new WeakMap<Uint8Array, Block>();
  pubsub.topicValidators.set(topics.blocks, async (peer, message) => {
    if (refused().has(peer.toString())) return TopicValidatorResult.Ignore;
    try {
      const block = decodeBlock(message.data);
      if (block.federation === c.federation && block.epoch !== c.epoch) {
        // A relay ahead of this one, or behind: not forwarded, and the next epoch's kept for the cut.
        if (block.epoch === c.epoch + 1 && (await verifyBlockSignatureWith(block, ed))) take(block, 'gossip');
        return TopicValidatorResult.Ignore;
      }
      if (block.federation !== c.federation || !isMember(c, toHex(block.creator))) return reject();
      if (!(await verifyBlockSignatureWith(block, ed))) return reject();
      decodedFromGossip.set(message.data, block);
      return TopicValidatorResult.Accept;
    } catch {
      return reject();
    }
  });
  pubsub.topicValidators.set(topics.roots, async (peer, message) => {
    if (refused().has(peer.toString())) return TopicValidatorResult.Ignore;
    try {
      const v = decodeRootVote(message.data);
      if (v.federation === c.federation && v.epoch !== c.epoch) return TopicValidatorResult.Ignore;
      if (v.federation !== c.federation || !isMember(c, toHex(v.signer))) return reject();
      if (!(await ed.verify(v.signer, federationRootDigest(v), v.signature).catch(() => false)))
        return reject();
      return TopicValidatorResult.Accept;
    } catch {
      return reject();
    }
  });
  pubsub.topicValidators.set(topics.transitions, async (peer, message) => {
    if (refused().has(peer.toString())) return TopicValidatorResult.Ignore;
    try {
      const v = decodeTransitionVote(message.data);
      if (v.federation !== c.federation) return reject();
      // A hand-over this relay has not reached is kept, but not forwarded before it can be checked.
      if (v.epoch > c.epoch + 1) return TopicValidatorResult.Ignore;
      if (!(await book.vote(v.epoch, v.signer, v.signature))) return reject();
      return v.epoch > c.epoch ? TopicValidatorResult.Ignore : TopicValidatorResult.Accept;
    } catch {
      return reject();
    }
  });
  const onMessage = (event: CustomEvent<{ topic: string; data: Uint8Array }>): void => {
    const { topic, data } = event.detail;
    if (topic === topics.blocks) {
      const block = decodedFromGossip.get(data);
      if (block !== undefined) take(block, 'gossip');
    } else if (topic === topics.roots) {
      const v = decodeRootVote(data);
      countVote(v, v.signer, v.signature);
    }
  };
  pubsub.addEventListener('message', onMessage as never);
  pubsub.subscribe(topics.blocks);
  pubsub.subscribe(topics.roots);
  pubsub.subscribe(topics.transitions);

  // ---- frontier exchange -------------------------------------------------------------------------
  async function serveBlocks(request: Uint8Array, from: { peerId: string }): Promise<Uint8Array> {
    if (refused().has(from.peerId)) fail('E_DENIED', 'Not now');
    const q = decodeBlocksRequest(request);
    const from_ = q.epoch === undefined || q.epoch === c.epoch ? lace : await closed.lace(q.epoch);
    if (from_ === undefined) return encodeBlocksAnswer([]);
    return encodeBlocksAnswer(blocksToSend(from_, q, MAX_BLOCKS_PER_ANSWER).map((n) => encodeBlock(n.block)));
  }

  /** Other relays whose addresses this relay knows: the genesis's, and added members' (./members.ts). */
  const memberPeers = () => directory.known().filter((m) => m.key !== me);

  /** The members this relay has a connection to and does not refuse. */
  const connectedMembers = (): PeerId[] =>
    memberPeers()
      .filter((m) => isMember(c, m.key) || !isMember(c, me))
      .map((m) => m.peer)
      .filter((p): p is string => p !== undefined && !refused().has(p))
      .map((p) => peerIdFromString(p))
      .filter((p) => node.getConnections(p).length > 0);

  let fetching = false;
  /** Asks connected members, in turn, for what the blocklace misses (or their tips' past). */
  async function catchUp(target?: PeerId): Promise<void> {
    if (fetching || stopped) return;
    fetching = true;
    try {
      const peers = target !== undefined ? [target] : connectedMembers();
      for (const peer of peers.sort(() => Math.random() - 0.5)) {
        for (let round = 0; round < 64 && !stopped; round++) {
          const wanted = blocksWanted(lace, MAX_IDS_PER_REQUEST);
          if (target === undefined && wanted.want.length === 0) return;
          const answer = decodeBlocksAnswer(
            await callRpc(
              node,
              peer,
              FEDERATION_OPS.blocks,
              encodeBlocksRequest({ ...wanted, epoch: c.epoch }),
            ),
          );
          const blocks: Block[] = [];
          for (const bytes of answer) {
            try {
              blocks.push(decodeBlock(bytes));
            } catch {
              dropped++;
            }
          }
          // Checked natively and concurrently; a block that fails is refused again by the blocklace.
          await Promise.all(blocks.map((b) => verifyBlockSignatureWith(b, ed)));
          let fresh = 0;
          for (const block of blocks) fresh += take(block, peer.toString()).length;
          if (answer.length < MAX_BLOCKS_PER_ANSWER || fresh === 0) break;
        }
        if (lace.missing().length === 0 && target === undefined) return;
      }
    } catch (e) {
      log('debug', 'federation catch-up failed', { error: String(e) });
    } finally {
      fetching = false;
    }
  }

  // Dial the members and keep dialing; catch up with each member on (re)connect.
  const onConnect = (event: CustomEvent<PeerId>): void => {
    const id = event.detail.toString();
    if (refused().has(id)) {
      void node.hangUp(event.detail).catch(() => undefined);
      return;
    }
    if (memberPeers().some((m) => m.peer === id)) void catchUp(event.detail);
  };
  node.addEventListener('peer:connect', onConnect as never);
  async function dialMembers(): Promise<void> {
    const off = refused();
    for (const m of memberPeers()) {
      if (m.peer === undefined) continue;
      if (off.has(m.peer)) {
        for (const conn of node.getConnections(peerIdFromString(m.peer)))
          await conn.close().catch(() => undefined);
        continue;
      }
      if (node.getConnections(peerIdFromString(m.peer)).length > 0) continue;
      for (const a of m.multiaddrs) {
        try {
          await node.dial(multiaddr(a), { signal: AbortSignal.timeout(3000) });
          break;
        } catch {
          // Not up yet, or gone: the next round tries again.
        }
      }
    }
  }
  // Anti-entropy: once a second, ask one connected member for what its tips have that ours do not
  // (an empty answer when nothing is new), so a relay that missed gossip or a connect catches up.
  const dialer = setInterval(() => {
    rereadPartition();
    void dialMembers();
    const connected = connectedMembers();
    const pick = connected[Math.floor(Math.random() * connected.length)];
    if (pick !== undefined) void catchUp(pick);
    // A hand-over whose votes did not all arrive: repeat this relay's, and ask a member for the certificate.
    if (pick !== undefined && book.missing() !== undefined)
      void publishVote().then(() => pullTransitions(node, pick, book, log));
  }, 1000);
  void dialMembers();

  // ---- mining ------------------------------------------------------------------------------------
  let mining = false;
  let lastGarbage = 0;
  let missingSince: number | undefined;
  async function publish(block: Block): Promise<void> {
    await node.services.pubsub.publish(topics.blocks, encodeBlock(block)).catch(() => undefined);
  }

  async function misbehave(block: Block): Promise<void> {
    if (byzantine.has('equivocate') && block.seq > 0 && block.seq % 3 === 0) {
      // A second block at the same seq with the same past: a fork, sent to everyone.
      const twin = await signBlock({ ...block, time: (block.time ?? 0) + 1 }, member.sign);
      take(twin, 'self');
      await flushWrites();
      await publish(twin);
    }
    if (byzantine.has('garbage') && Date.now() - lastGarbage > 200) {
      lastGarbage = Date.now();
      const junk = crypto.getRandomValues(new Uint8Array(200));
      await node.services.pubsub.publish(topics.blocks, junk).catch(() => undefined);
      const forged = {
        ...block,
        seq: block.seq + 1000,
        signature: crypto.getRandomValues(new Uint8Array(64)),
      };
      await publish(forged);
    }
  }

  /**
   * Whether another member has a block in a round above this relay's latest. A member that went
   * quiet one round ahead of the others cannot make its next block (the turn or claim it was just
   * handed) until they make theirs of that round, and with nothing of their own to order they would
   * not: so a member that is behind makes its block of that round, empty if need be. Never past the
   * highest round anyone holds, so idle members stop once level.
   */
  function behind(): boolean {
    const mine = lace.latestOf(me)?.round ?? -1;
    return lace.tips().some((t) => t.round > mine);
  }

  async function tick(): Promise<void> {
    if (mining || stopped) return;
    mining = true;
    try {
      // Gossip often brings a block a moment before the blocks it acks: ask a member only for acks
      // that stay missing (asking at once fetched, under load, what gossip was delivering anyway).
      if (lace.missing().length === 0) missingSince = undefined;
      else if (missingSince === undefined) missingSince = Date.now();
      else if (Date.now() - missingSince >= CATCH_UP_AFTER_MS) void catchUp();
      // An observer (a relay joining, or one that left) makes no blocks.
      if (!isMember(c, me)) return;
      if (pending.length === 0 && unsettled.size === 0 && proposals.length === 0 && !behind()) return;
      const take_ = pending.slice(0, MAX_TURNS_PER_BLOCK);
      const endorsing = proposals.slice();
      const items: PayloadItem[] = [
        ...endorsing,
        ...take_.map((t) => ({ kind: 'turn' as const, turn: t.bytes })),
      ];
      const block = await miner.next(items, Math.floor(Date.now() / 1000) + modes.skewS);
      if (block === undefined) return;
      pending.splice(0, take_.length);
      proposals.splice(0, endorsing.length);
      await verifyBlockSignatureWith(block, ed);
      const mine = take(block, 'self', true);
      queueWrites(mine);
      // Durable before anyone sees it: a restart must never sign another block at this seq.
      await flushWrites();
      await publish(block);
      if (stages !== undefined && mine[0] !== undefined)
        stages.inBlock(
          mine[0].key,
          take_.map((t) => t.hash),
        );
      void settle(orderer.advance(), false);
      if (byzantine.size > 0) await misbehave(block);
    } catch (e) {
      log('warn', 'federation mining failed', { error: String(e) });
    } finally {
      mining = false;
    }
  }
  const ticker = setInterval(() => void tick(), o.tickMs ?? 25);

  return {
    notary,
    async submit(turn, bytes) {
      const hash = turnHashHex(turn);
      const done = answers.get(hash);
      if (done !== undefined) {
        if ('refused' in done) throw done.refused;
        return { ...done.ok, duplicate: true };
      }
      if (turn.ledger !== o.ledger)
        fail('E_INVALID', `The turn is for ledger ${turn.ledger}, this is ${o.ledger}`);
      // Members order the bytes and decode them: bytes read as another turn would settle under
      // another hash, and this caller would wait for an answer that never comes.
      if (turnHashHex(decodeTurn(bytes)) !== hash)
        fail('E_INVALID', 'The turn does not read back from its encoding as itself');
      if (!(await verifyTurnSignature(turn, turnsEd)))
        fail('E_BAD_SIGNATURE', 'The turn is not signed by its agent');
      if (stopped) fail('E_UNREACHABLE', 'The relay is stopping');
      if (!isMember(c, me))
        fail(
          'E_DENIED',
          `This relay is not in the federation's committee of epoch ${c.epoch}: submit to a member`,
        );
      stages?.submitted(hash);
      return new Promise<Submitted>((resolve, reject) => {
        const list = waiters.get(hash) ?? [];
        waiters.set(hash, list);
        list.push({ resolve, reject });
        if (!queued.has(hash)) {
          queued.set(hash, bytes);
          pending.push({ hash, bytes });
        }
      });
    },
    root: () => best,
    receipts,
    serveBlocks,
    transitions: () => book.transitions(),
    committee: () => directory.view(c),
    async propose(p) {
      // The newcomer's addresses travel in the item: every relay learns them from the final order.
      const item = await proposalItem(p, { committee: c, publicKey, ed, now: Math.floor(Date.now() / 1000) });
      proposals.push(item);
      void tick();
      return c.epoch;
    },
    ...(bridges === undefined ? {} : { bridges }),
    enqueue(item) {
      if (stopped) fail('E_UNREACHABLE', 'The relay is stopping');
      // Beside the operator's endorsements: payload for the next block that is not a turn.
      proposals.push(item);
      void tick();
    },
    status() {
      return {
        federation: c.federation,
        epoch: c.epoch,
        members: c.keys.length,
        member: isMember(c, me),
        transitions: book.transitions().length,
        ordered,
        orderDigest: toHex(orderDigest),
        lastWave: orderer.lastWave(),
        blocks: lace.size(),
        settled: settlement.height(),
        ledgerRoot: toHex(notary.latestRoot().ledgerRoot),
        equivocators: [...new Set(lace.equivocations().map((e) => e.creator))].sort(),
        convicted: [...orderer.convicted()].sort(),
        convictedAt: Object.fromEntries(orderer.convictedAt()),
        leaders: orderer
          .leaders()
          .slice(-32)
          .map((n) => ({ wave: n.round / WAVE_LENGTH, creator: n.creator })),
        dropped,
        connected: connectedMembers().length,
        unaddressed: directory
          .view(c)
          .members.filter((m) => m.key !== me && m.multiaddrs.length === 0)
          .map((m) => m.key),
        pending: pending.length,
        rootHeight: best?.height ?? -1,
        ...(bridges === undefined ? {} : { bridges: bridges.status() }),
        ...(stages === undefined ? {} : { stages: stages.report() }),
      };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      clearInterval(dialer);
      closed.stop();
      node.removeEventListener('peer:connect', onConnect as never);
      pubsub.removeEventListener('message', onMessage as never);
      await settling.catch(() => undefined);
      await flushWrites().catch(() => undefined);
      for (const [, list] of waiters)
        for (const w of list)
          w.reject(new DreggError('E_UNREACHABLE', 'The relay stopped before settling the turn'));
      waiters.clear();
      bridges?.close();
      await notary.close();
      await ledgerStore.close();
    },
  };
}

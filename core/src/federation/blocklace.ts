/**
 * The blocklace: a relay's view of one epoch's blocks, a DAG closed under acknowledgement. A block
 * enters only once every block it acks is here (until then it waits in a bounded buffer), so every
 * query below sees whole causal pasts, and two relays holding the same blocks hold the same DAG.
 *
 * Per block it keeps what ordering needs, computed once on insertion (a block's past never changes):
 *
 * - `round`, a threshold clock: a block's round is r + 1 when its strict past holds round-r blocks of a
 *   supermajority of the committee, else the highest round it acks. So a block of round r >= 1
 *   observes a supermajority of round r - 1, and by induction of every earlier round.
 * - `height`, the longest ack path, which gives a topological order.
 * - `tops`: for each creator, the maximal blocks of that creator in the block's past. Every block with
 *   seq > 0 acks its creator's previous block (its self-parent), so one creator's blocks form a tree
 *   under self-parent and "b observes c" for c by X is "some top of X in b's past descends from c".
 *   A creator with two tops in a block's past is an equivocator in that block's view.
 *
 * Equivocation: with the self-parent rule every fork shows as two blocks of one creator with the same
 * seq, neither observing the other. The blocklace records each such pair as evidence.
 */
import { fromHex, toHex } from '../encoding/bytes.ts';
import { DreggError } from '../errors.ts';
import { type Block, blockId, verifyBlockSignature } from './block.ts';
import { type Committee, isMember, isSupermajority } from './committee.ts';

export interface Node {
  readonly block: Block;
  readonly id: Uint8Array;
  /** Hex of `id`. */
  readonly key: string;
  /** Hex of the creator's key. */
  readonly creator: string;
  readonly seq: number;
  readonly acks: readonly Node[];
  readonly selfParent: Node | undefined;
  readonly round: number;
  readonly height: number;
  /** Creator (hex) -> maximal blocks of that creator in this block's past, this block included. */
  readonly tops: ReadonlyMap<string, readonly Node[]>;
}

/** Two blocks of one creator, neither acknowledging the other (ids ascending). */
export interface Equivocation {
  readonly creator: string;
  readonly first: Node;
  readonly second: Node;
}

export interface Inserted {
  /** Blocks that entered, this one and any it released from the buffer, in insertion order. */
  readonly inserted: readonly Node[];
  /** Buffered blocks released by this one that turned out invalid against their past (dropped). */
  readonly rejected: readonly { readonly key: string; readonly error: DreggError }[];
}

export interface Blocklace {
  readonly committee: Committee;
  /**
   * Adds a block whose signature, federation, epoch and creator are checked here. Fails with
   * `E_INVALID` for a block that is invalid now; a block whose acks are not all here is buffered
   * (`E_QUOTA` when the buffer is full) and enters with the block that completes its past.
   */
  insert(block: Block): Inserted;
  has(key: string): boolean;
  get(key: string): Node | undefined;
  /** Ids acked by buffered blocks that are not here: what to ask a peer for. */
  missing(): Uint8Array[];
  /** Blocks no other block here acks. */
  tips(): Node[];
  /** All blocks of a round. */
  atRound(round: number): readonly Node[];
  maxRound(): number;
  size(): number;
  /** Whether `a` observes `c` (c is in a's past; a observes itself). */
  observes(a: Node, c: Node): boolean;
  /** The blocks in the past of `from` (inclusive) not in the past of `known`, ascending by height. */
  closure(from: readonly Node[], known?: readonly Node[]): Node[];
  /** Every equivocation seen so far, in the order detected. */
  equivocations(): readonly Equivocation[];
  /** The round a new block acking `acks` would have. */
  roundOf(acks: readonly Node[]): number;
  /** The latest block of a creator (highest seq; the first seen among equal seqs). */
  latestOf(creator: string): Node | undefined;
}

export interface BlocklaceOptions {
  /** Blocks waiting for their past, at most (default 65536). */
  readonly maxBuffered?: number;
}

function invalid(message: string): never {
  throw new DreggError('E_INVALID', `Invalid block: ${message}`);
}

export function createBlocklace(committee: Committee, options: BlocklaceOptions = {}): Blocklace {
  const maxBuffered = options.maxBuffered ?? 65536;
  const nodes = new Map<string, Node>();
  const rounds: Node[][] = [];
  /** Blocks no block here acks yet. */
  const tips = new Map<string, Node>();
  /** Creator -> seq -> blocks: forks show as two blocks at one seq. */
  const bySeq = new Map<string, Map<number, Node[]>>();
  const latest = new Map<string, Node>();
  const forked = new Set<string>();
  const evidence: Equivocation[] = [];
  const buffered = new Map<string, Block>();
  /** Missing id -> keys of buffered blocks waiting for it. */
  const waiting = new Map<string, Set<string>>();

  /** c and a by one creator: whether a descends from c along self-parents (or is c). */
  function selfObserves(a: Node, c: Node): boolean {
    if (a.seq < c.seq) return false;
    if (!forked.has(a.creator)) return true;
    let x: Node | undefined = a;
    while (x !== undefined && x.seq > c.seq) x = x.selfParent;
    return x === c;
  }

  function observes(a: Node, c: Node): boolean {
    const tops = a.tops.get(c.creator);
    return tops?.some((t) => selfObserves(t, c)) === true;
  }

  function roundOf(acks: readonly Node[]): number {
    if (acks.length === 0) return 0;
    const top = Math.max(...acks.map((a) => a.round));
    const creators = new Set<string>();
    const seen = new Set<string>();
    const stack = acks.filter((a) => a.round === top);
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (seen.has(n.key)) continue;
      seen.add(n.key);
      creators.add(n.creator);
      for (const a of n.acks) if (a.round === top && !seen.has(a.key)) stack.push(a);
    }
    return isSupermajority(committee, creators.size) ? top + 1 : top;
  }

  function topsOf(creator: string, self: Node | undefined, acks: readonly Node[]): Map<string, Node[]> {
    const tops = new Map<string, Node[]>();
    const add = (x: string, t: Node): void => {
      const list = tops.get(x);
      if (list === undefined) {
        tops.set(x, [t]);
        return;
      }
      if (list.some((e) => e === t || selfObserves(e, t))) return;
      const kept = list.filter((e) => !selfObserves(t, e));
      kept.push(t);
      tops.set(x, kept);
    };
    for (const a of acks) for (const [x, list] of a.tops) for (const t of list) add(x, t);
    if (self !== undefined) add(creator, self);
    return tops;
  }

  /** The checks that need only the block itself. */
  function checkAlone(block: Block): void {
    if (block.federation !== committee.federation) invalid(`it is for federation ${block.federation}`);
    if (block.epoch !== committee.epoch) invalid(`it is for epoch ${block.epoch}, not ${committee.epoch}`);
    if (!isMember(committee, toHex(block.creator))) invalid('its creator is not a committee member');
    if (!verifyBlockSignature(block)) invalid("its creator's signature does not verify");
  }

  /** Builds the node of a block whose acks are all here; checks the rules that need its past. */
  function build(block: Block, key: string, id: Uint8Array): Node {
    const creator = toHex(block.creator);
    const acks = block.acks.map((a) => nodes.get(toHex(a))!);
    const own = acks.filter((a) => a.creator === creator);
    if (block.seq === 0 ? own.length !== 0 : own.length !== 1 || own[0]!.seq !== block.seq - 1)
      invalid("a block acks exactly its creator's previous block (none for seq 0)");
    const draft = {
      block,
      id,
      key,
      creator,
      seq: block.seq,
      acks,
      selfParent: own[0],
      round: roundOf(acks),
      height: acks.length === 0 ? 0 : Math.max(...acks.map((a) => a.height)) + 1,
      tops: new Map<string, readonly Node[]>(),
    };
    draft.tops = topsOf(creator, draft, acks);
    for (const item of block.payload) {
      if (item.kind !== 'equivocation') continue;
      const x = nodes.get(toHex(item.first));
      const y = nodes.get(toHex(item.second));
      const c = toHex(item.creator);
      if (
        x === undefined ||
        y === undefined ||
        x.creator !== c ||
        y.creator !== c ||
        !observes(draft, x) ||
        !observes(draft, y) ||
        observes(x, y) ||
        observes(y, x)
      )
        invalid('its equivocation evidence does not name two forked blocks in its past');
    }
    return draft;
  }

  function admit(node: Node): void {
    nodes.set(node.key, node);
    const round = rounds[node.round] ?? [];
    rounds[node.round] = round;
    round.push(node);
    for (const a of node.acks) tips.delete(a.key);
    tips.set(node.key, node);
    const seqs = bySeq.get(node.creator) ?? new Map<number, Node[]>();
    bySeq.set(node.creator, seqs);
    const same = seqs.get(node.seq) ?? [];
    for (const other of same) {
      forked.add(node.creator);
      const [first, second] = other.key < node.key ? [other, node] : [node, other];
      evidence.push({ creator: node.creator, first, second });
    }
    seqs.set(node.seq, [...same, node]);
    const last = latest.get(node.creator);
    if (last === undefined || last.seq < node.seq) latest.set(node.creator, node);
  }

  function missingAcks(block: Block): string[] {
    return block.acks.map(toHex).filter((k) => !nodes.has(k));
  }

  function insert(block: Block): Inserted {
    const id = blockId(block);
    const key = toHex(id);
    if (nodes.has(key) || buffered.has(key)) return { inserted: [], rejected: [] };
    checkAlone(block);
    const gaps = missingAcks(block);
    if (gaps.length > 0) {
      if (buffered.size >= maxBuffered)
        throw new DreggError('E_QUOTA', 'Too many blocks are waiting for their past');
      buffered.set(key, block);
      for (const g of gaps) {
        const set = waiting.get(g) ?? new Set<string>();
        waiting.set(g, set);
        set.add(key);
      }
      return { inserted: [], rejected: [] };
    }
    const first = build(block, key, id);
    admit(first);
    const inserted: Node[] = [first];
    const rejected: { key: string; error: DreggError }[] = [];
    // Release waiters breadth-first: each admitted block may complete the past of others.
    for (let i = 0; i < inserted.length; i++) {
      const done = inserted[i]!.key;
      const waiters = waiting.get(done);
      if (waiters === undefined) continue;
      waiting.delete(done);
      for (const w of waiters) {
        const b = buffered.get(w);
        if (b === undefined || missingAcks(b).length > 0) continue;
        buffered.delete(w);
        try {
          const node = build(b, w, blockId(b));
          admit(node);
          inserted.push(node);
        } catch (e) {
          if (!(e instanceof DreggError)) throw e;
          rejected.push({ key: w, error: e });
        }
      }
    }
    return { inserted, rejected };
  }

  function closure(from: readonly Node[], known: readonly Node[] = []): Node[] {
    const excluded = (n: Node): boolean => known.some((k) => observes(k, n));
    const out: Node[] = [];
    const seen = new Set<string>();
    const stack = [...from];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (seen.has(n.key)) continue;
      seen.add(n.key);
      if (excluded(n)) continue;
      out.push(n);
      for (const a of n.acks) if (!seen.has(a.key)) stack.push(a);
    }
    return out.sort((a, b) => a.height - b.height || (a.key < b.key ? -1 : 1));
  }

  return {
    committee,
    insert,
    has: (key) => nodes.has(key),
    get: (key) => nodes.get(key),
    missing: () => [...waiting.keys()].filter((k) => !nodes.has(k)).map(fromHex),
    tips: () => [...tips.values()],
    atRound: (r) => rounds[r] ?? [],
    maxRound: () => rounds.length - 1,
    size: () => nodes.size,
    observes,
    closure,
    equivocations: () => evidence,
    roundOf,
    latestOf: (creator) => latest.get(creator),
  };
}

/**
 * A federation in one process: members with their own blocklace and orderer, a network that holds
 * blocks in flight and delivers them in whatever order a schedule says, and optionally one Byzantine
 * member that forks its chain, sending one branch to some members and the other to the rest. Real
 * blocks, real signatures, real ordering: only the wire is simulated.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { type Block, blockIdHex, type PayloadItem, signBlock } from '../../src/federation/block.ts';
import { type Blocklace, createBlocklace } from '../../src/federation/blocklace.ts';
import { type Committee, committee } from '../../src/federation/committee.ts';
import { createMiner, type Member, type Miner } from '../../src/federation/miner.ts';
import { createOrderer, type Ordered, type Orderer } from '../../src/federation/order.ts';

export const FEDERATION = 'test-fed';

export function memberKeys(n: number, offset = 1): { seed: Uint8Array; member: Member }[] {
  return Array.from({ length: n }, (_, i) => {
    const seed = new Uint8Array(32).fill(i + offset);
    return { seed, member: { publicKey: ed25519PublicKey(seed), sign: (d) => ed25519.sign(d, seed) } };
  });
}

export interface SimMember {
  readonly index: number;
  readonly key: string;
  readonly member: Member;
  readonly lace: Blocklace;
  readonly miner: Miner;
  readonly orderer: Orderer;
  readonly byzantine: boolean;
  /** Everything this member's orderer output, in order. */
  readonly order: Ordered[];
  /** Its order at moments during the run, for prefix checks. */
  readonly snapshots: string[][];
}

export interface Sim {
  readonly committee: Committee;
  readonly members: readonly SimMember[];
  /** Member `i` makes a block (with `items`, else a made-up turn) if it may; a Byzantine one may fork. */
  mine(i: number, items?: readonly PayloadItem[]): Promise<boolean>;
  /** Delivers the in-flight message at `pick` (mod the count); false if none is in flight. */
  deliver(pick: number): boolean;
  inFlight(): number;
  /** Delivers everything and lets every correct member mine, `rounds` times. */
  settle(rounds: number): Promise<void>;
  honest(): SimMember[];
}

export function createSim(
  n: number,
  options: {
    byzantine?: number;
    crashed?: readonly number[];
    /** Another federation beside the first (bridges): its name, and where its member seeds start. */
    federation?: string;
    keyOffset?: number;
  } = {},
): Sim {
  const keys = memberKeys(n, options.keyOffset);
  const c = committee(
    options.federation ?? FEDERATION,
    0,
    keys.map((k) => k.member.publicKey),
  );
  const members: SimMember[] = keys.map(({ member }, index) => {
    const lace = createBlocklace(c);
    return {
      index,
      key: toHex(member.publicKey),
      member,
      lace,
      miner: createMiner(lace, member),
      orderer: createOrderer(lace),
      byzantine: index === options.byzantine,
      order: [],
      snapshots: [],
    };
  });
  const flight: { to: number; block: Block }[] = [];
  let payloadCounter = 0;
  const crashed = new Set(options.crashed ?? []);

  function receive(m: SimMember, block: Block): void {
    if (crashed.has(m.index)) return;
    m.lace.insert(block);
    const fresh = m.orderer.advance();
    if (fresh.length > 0) {
      m.order.push(...fresh);
      m.snapshots.push(m.order.map((o) => o.node.key));
    }
  }

  function broadcast(from: number, block: Block, to: readonly number[]): void {
    for (const i of to) if (i !== from) flight.push({ to: i, block });
  }

  function payload(): PayloadItem[] {
    payloadCounter++;
    return [{ kind: 'turn', turn: new TextEncoder().encode(`turn ${payloadCounter}`) }];
  }

  /** A Byzantine member forks: two blocks on its latest block, one to each half of the others. */
  async function fork(m: SimMember): Promise<boolean> {
    const previous = m.lace.latestOf(m.key);
    const acks = m.lace.tips().filter((t) => t.creator !== m.key);
    if (previous !== undefined) acks.push(previous);
    const body = {
      federation: c.federation,
      epoch: 0,
      creator: m.member.publicKey,
      seq: previous === undefined ? 0 : previous.seq + 1,
      acks: acks.map((a) => a.id),
    };
    const a = await signBlock({ ...body, payload: payload() }, m.member.sign);
    const b = await signBlock({ ...body, payload: payload() }, m.member.sign);
    const others = members.filter((o) => o.index !== m.index).map((o) => o.index);
    const half = Math.ceil(others.length / 2);
    m.lace.insert(a);
    m.lace.insert(b);
    broadcast(m.index, a, others.slice(0, half));
    broadcast(m.index, b, others.slice(half));
    // The rest learn of the other branch later, through acks of those who did.
    broadcast(m.index, b, others.slice(0, half));
    broadcast(m.index, a, others.slice(half));
    return true;
  }

  async function mine(i: number, items?: readonly PayloadItem[]): Promise<boolean> {
    const m = members[i % n]!;
    if (crashed.has(m.index)) return false;
    if (m.byzantine && m.lace.latestOf(m.key) !== undefined && payloadCounter % 2 === 0) return fork(m);
    const block = await m.miner.next(items ?? payload());
    if (block === undefined) return false;
    receive(m, block);
    broadcast(
      m.index,
      block,
      members.map((o) => o.index),
    );
    return true;
  }

  function deliver(pick: number): boolean {
    if (flight.length === 0) return false;
    const [msg] = flight.splice(pick % flight.length, 1);
    receive(members[msg!.to]!, msg!.block);
    return true;
  }

  async function settle(rounds: number): Promise<void> {
    for (let r = 0; r < rounds; r++) {
      while (deliver(0));
      for (const m of members) if (!m.byzantine) await mine(m.index);
    }
    while (deliver(0));
  }

  return {
    committee: c,
    members,
    mine,
    deliver,
    inFlight: () => flight.length,
    settle,
    honest: () => members.filter((m) => !m.byzantine && !crashed.has(m.index)),
  };
}

/** Whether one list of ids is a prefix of the other. */
export function prefixRelated(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

export const keysOf = (order: readonly Ordered[]): string[] => order.map((o) => o.node.key);
export { blockIdHex };

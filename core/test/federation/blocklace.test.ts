import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '../../src/encoding/cbor.ts';
import { isDreggError } from '../../src/errors.ts';
import {
  type Block,
  type BlockBody,
  blockId,
  blockSigningDigest,
  decodeBlock,
  encodeBlock,
  signBlock,
  verifyBlockSignature,
} from '../../src/federation/block.ts';
import { createBlocklace } from '../../src/federation/blocklace.ts';
import { committee } from '../../src/federation/committee.ts';
import { createOrderer, isFinal, leaderBlocks } from '../../src/federation/order.ts';
import { FEDERATION, memberKeys } from './sim.ts';

const keys = memberKeys(4);
const c = committee(
  FEDERATION,
  0,
  keys.map((k) => k.member.publicKey),
);

function make(i: number, seq: number, acks: readonly Block[], tag = ''): Promise<Block> {
  const body: BlockBody = {
    federation: FEDERATION,
    epoch: 0,
    creator: keys[i]!.member.publicKey,
    seq,
    acks: acks.map(blockId),
    payload: [{ kind: 'turn', turn: new TextEncoder().encode(`t${i}.${seq}${tag}`) }],
  };
  return signBlock(body, keys[i]!.member.sign);
}

describe('blocks', () => {
  it('round-trip through the strict decoder, and the id is the hash of the encoding', async () => {
    const g = await Promise.all([0, 1, 2].map((i) => make(i, 0, [])));
    const b = await make(3, 0, g);
    const back = decodeBlock(encodeBlock(b));
    expect(encodeBlock(back)).toEqual(encodeBlock(b));
    expect(blockId(back)).toEqual(blockId(b));
    expect(verifyBlockSignature(back)).toBe(true);
    // Changing any signed byte breaks the signature (a fresh object: nothing cached).
    const tampered = decodeBlock(encodeBlock({ ...b, seq: 1 }));
    expect(verifyBlockSignature(tampered)).toBe(false);
    // Bytes read into a reused buffer (a Node Buffer, whose slice is a view): the block keeps a copy.
    const pooled = Buffer.from(encodeBlock(b));
    const read = decodeBlock(pooled);
    pooled.fill(0);
    expect(encodeBlock(read)).toEqual(encodeBlock(b));
    expect(blockId(read)).toEqual(blockId(b));
  });

  it("a decoded block keeps its wire bytes, and its digest read off them is the encoded body's", async () => {
    const payloadItem = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((turn) => ({ kind: 'turn' as const, turn })),
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((claim) => ({ kind: 'bridge' as const, claim })),
      fc
        .record({
          op: fc.constantFrom('add' as const, 'remove' as const),
          member: fc.uint8Array({ minLength: 32, maxLength: 32 }),
        })
        .map((m) => ({ kind: 'member' as const, ...m })),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          creator: fc.integer({ min: 0, max: 3 }),
          seq: fc.nat({ max: 2 ** 40 }),
          epoch: fc.nat({ max: 1000 }),
          acks: fc.array(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: 6 }),
          payload: fc.array(payloadItem, { maxLength: 6 }),
          time: fc.option(fc.nat({ max: 2 ** 33 }), { nil: undefined }),
        }),
        async (r) => {
          const made = await signBlock(
            {
              federation: FEDERATION,
              epoch: r.epoch,
              creator: keys[r.creator]!.member.publicKey,
              seq: r.seq,
              acks: r.acks,
              payload: r.payload,
              ...(r.time === undefined ? {} : { time: r.time }),
            },
            keys[r.creator]!.member.sign,
          );
          const wire = encodeBlock(made);
          const back = decodeBlock(wire);
          // A spread copy is a new object with nothing cached: encoded and digested from its fields.
          const fresh = { ...back };
          expect(encodeBlock(back)).toEqual(encodeBlock(fresh));
          expect(blockId(back)).toEqual(blockId(fresh));
          expect(blockSigningDigest(back)).toEqual(blockSigningDigest({ ...fresh }));
          expect(verifyBlockSignature(back)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the decoder refuses unsorted acks, unknown fields, bad items, with E_INVALID', async () => {
    const g = await Promise.all([0, 1].map((i) => make(i, 0, [])));
    const b = await make(2, 0, g);
    const wire = (patch: Record<string, unknown>) =>
      encodeCbor({
        v: 1,
        fed: b.federation,
        ep: 0,
        c: b.creator,
        n: 0,
        a: [...b.acks],
        p: [],
        sig: b.signature,
        ...patch,
      } as never);
    expect(() => decodeBlock(wire({}))).not.toThrow();
    for (const patch of [
      { a: [...b.acks].reverse() },
      { a: [b.acks[0], b.acks[0]] },
      { extra: 1 },
      { v: 2 },
      { fed: 'Not A Name' },
      { n: -1 },
      { c: new Uint8Array(31) },
      { p: [{ t: 'mystery' }] },
      { p: [{ t: 'turn', b: new Uint8Array(0) }] },
      { p: [{ t: 'member', op: 'upgrade', k: new Uint8Array(32) }] },
      // An added member's addresses: 1 to 8 non-empty strings, and only with an add.
      { p: [{ t: 'member', op: 'remove', k: new Uint8Array(32), a: ['/ip4/127.0.0.1/tcp/1'] }] },
      { p: [{ t: 'member', op: 'add', k: new Uint8Array(32), a: [] }] },
      { p: [{ t: 'member', op: 'add', k: new Uint8Array(32), a: [''] }] },
      { p: [{ t: 'member', op: 'add', k: new Uint8Array(32), a: Array(9).fill('/dns4/a/tcp/1') }] },
      { p: [{ t: 'member', op: 'add', k: new Uint8Array(32), a: [7] }] },
    ]) {
      let code: string | undefined;
      try {
        decodeBlock(wire(patch));
      } catch (e) {
        code = isDreggError(e) ? e.code : 'foreign';
      }
      expect(code, JSON.stringify(Object.keys(patch))).toBe('E_INVALID');
    }
  });

  it("a member item round-trips with an added member's addresses, and without", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(fc.string({ minLength: 1, maxLength: 60 }), { maxLength: 8 }),
        async (member, multiaddrs) => {
          const item =
            multiaddrs.length === 0
              ? ({ kind: 'member', op: 'add', member } as const)
              : ({ kind: 'member', op: 'add', member, multiaddrs } as const);
          const b = await signBlock(
            {
              federation: FEDERATION,
              epoch: 0,
              creator: keys[0]!.member.publicKey,
              seq: 0,
              acks: [],
              payload: [item],
            },
            keys[0]!.member.sign,
          );
          expect(decodeBlock(encodeBlock(b)).payload).toEqual([item]);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('garbage from a peer fails only with a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          decodeBlock(bytes);
        } catch (e) {
          expect(isDreggError(e, 'E_DECODE') || isDreggError(e, 'E_INVALID')).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the blocklace', () => {
  it('buffers a block until its past arrives, then admits both', async () => {
    const a = await make(0, 0, []);
    const b = await make(1, 0, [a]);
    const lace = createBlocklace(c);
    expect(lace.insert(b).inserted).toHaveLength(0);
    expect(lace.missing()).toEqual([blockId(a)]);
    const { inserted } = lace.insert(a);
    expect(inserted.map((n) => n.key)).toEqual([a, b].map((x) => Buffer.from(blockId(x)).toString('hex')));
    expect(lace.missing()).toEqual([]);
    expect(lace.tips().map((n) => n.block)).toEqual([b]);
    expect(lace.observes(lace.tips()[0]!, inserted[0]!)).toBe(true);
    expect(lace.observes(inserted[0]!, inserted[1]!)).toBe(false);
  });

  it('refuses blocks of strangers, of another federation or epoch, and forged signatures', async () => {
    const lace = createBlocklace(c);
    const stranger = memberKeys(1, 50)[0]!;
    const alien = await signBlock(
      { federation: FEDERATION, epoch: 0, creator: stranger.member.publicKey, seq: 0, acks: [], payload: [] },
      stranger.member.sign,
    );
    const a = await make(0, 0, []);
    for (const bad of [alien, { ...a, federation: 'other' }, { ...a, epoch: 1 }, { ...a, seq: 1 }]) {
      expect(() => lace.insert(decodeBlock(encodeBlock(bad)))).toThrow(/Invalid block/);
    }
    expect(lace.size()).toBe(0);
  });

  it('a later block must ack exactly its creator previous block', async () => {
    const lace = createBlocklace(c);
    const a0 = await make(0, 0, []);
    const b0 = await make(1, 0, []);
    lace.insert(a0);
    lace.insert(b0);
    expect(() => lace.insert(b0)).not.toThrow(); // a duplicate is ignored
    await expect(make(0, 1, [b0]).then((x) => lace.insert(x))).rejects.toThrow(/previous block/);
    await expect(make(0, 0, [a0], 'x').then((x) => lace.insert(x))).rejects.toThrow(/previous block/);
    const a1 = await make(0, 1, [a0, b0]);
    expect(lace.insert(a1).inserted).toHaveLength(1);
  });

  it('detects a fork as evidence, and refuses false evidence', async () => {
    const lace = createBlocklace(c);
    const a0 = await make(0, 0, []);
    const x = await make(1, 0, [a0], 'x');
    const y = await make(1, 0, [a0], 'y');
    for (const b of [a0, x, y]) lace.insert(b);
    const [e] = lace.equivocations();
    expect(lace.equivocations()).toHaveLength(1);
    expect(e!.creator).toBe(lace.get(e!.first.key)!.creator);
    expect(lace.observes(e!.first, e!.second) || lace.observes(e!.second, e!.first)).toBe(false);
    const [first, second] = [e!.first.id, e!.second.id];
    const report = (ids: Uint8Array[], acks: Block[]) =>
      signBlock(
        {
          federation: FEDERATION,
          epoch: 0,
          creator: keys[2]!.member.publicKey,
          seq: 0,
          acks: acks.map(blockId),
          payload: [
            { kind: 'equivocation', creator: keys[1]!.member.publicKey, first: ids[0]!, second: ids[1]! },
          ],
        },
        keys[2]!.member.sign,
      );
    // Evidence naming blocks outside the reporter's past, or blocks that are not a fork, is refused.
    await expect(report([first, second], [x]).then((b) => lace.insert(b))).rejects.toThrow(/evidence/);
    const honest = await make(1, 1, [x]);
    lace.insert(honest);
    const ids = [blockId(x), blockId(honest)].sort(Buffer.compare);
    await expect(report(ids, [honest]).then((b) => lace.insert(b))).rejects.toThrow(/evidence/);
    expect((await report([first, second], [x, y]).then((b) => lace.insert(b))).inserted).toHaveLength(1);
  });
});

describe('finality of a wave (the supermajority rule, pinned on a hand-built blocklace)', () => {
  /** Round 0: everyone; round 1: everyone, acking all of round 0; round 2: the given creators. */
  async function wave(roundTwo: readonly number[]) {
    const lace = createBlocklace(c);
    const r0 = await Promise.all([0, 1, 2, 3].map((i) => make(i, 0, [])));
    const r1 = await Promise.all([0, 1, 2, 3].map((i) => make(i, 1, r0)));
    const r2 = await Promise.all(roundTwo.map((i) => make(i, 2, r1)));
    for (const b of [...r0, ...r1, ...r2]) lace.insert(b);
    return lace;
  }

  it('is final with round-2 ratifiers from 3 of 4 members, not from 2', async () => {
    const two = await wave([0, 1]);
    expect(two.maxRound()).toBe(2);
    const [leader] = leaderBlocks(two, 0);
    expect(leader).toBeDefined();
    expect(isFinal(two, leader!)).toBe(false);
    expect(createOrderer(two).advance()).toHaveLength(0);
    const three = await wave([0, 1, 3]);
    const [l3] = leaderBlocks(three, 0);
    expect(isFinal(three, l3!)).toBe(true);
    const order = createOrderer(three).advance();
    // The leader's past: itself (round 0) and nothing else: wave 0's leader is a genesis block.
    expect(order.map((o) => o.node.key)).toEqual([l3!.key]);
  });
});

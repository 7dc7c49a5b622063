/**
 * Committee changes on real relays (`dregg relay --federation` child processes on loopback): four
 * relays add a fifth that the genesis does not name, then remove one, each change endorsed by more
 * than 2/3 of the members through `dregg federation propose` (the operator's command, signed with
 * each relay's own key), while turns keep coming. A light client pinned at epoch 0 follows the
 * served transition certificates to epoch 2's root and refuses a forged one. The relays are shared
 * by the tests of this file, in order.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/encoding/bytes.ts';
import { DreggError } from '../../src/errors.ts';
import { committee } from '../../src/federation/committee.ts';
import { followRoot, type Pin, signTransition, type Transition } from '../../src/federation/light.ts';
import { encodeEmpty } from '../../src/net/contract.ts';
import {
  decodeBlocksRequest,
  decodeCommitteeAnswer,
  decodeProposal,
  decodeTransitionVote,
  encodeBlocksRequest,
  encodeProposal,
  encodeTransitionVote,
  FEDERATION_OPS,
  type ProposalBody,
  proposalDigest,
} from '../../src/net/federation.ts';
import { relayKeys } from '../../src/node/relay/keys.ts';
import { type Fed, federation, type Status, submitPatiently, transfer, until } from './relays-fixtures.ts';

const DREGG = join(import.meta.dirname, '../../bin/dregg.js');
const run = promisify(execFile);

type EpochStatus = Status & {
  epoch: number;
  members: number;
  member: boolean;
  transitions: number;
  unaddressed: string[];
};

/** Relay i's trust feed: the gossip score of each member peer it observes (/healthz `trust`). */
const trustOf = async (i: number) =>
  ((await fed.health(i)) as unknown as { trust: Record<string, number> }).trust;

let fed: Fed;

beforeAll(async () => {
  fed = await federation(5, 8, { inGenesis: 4 });
  await Promise.all([0, 1, 2, 3].map((i) => fed.start(i)));
}, 120_000);

afterAll(async () => {
  await fed?.close();
}, 60_000);

/** Relay i's operator runs `dregg federation propose` against relay i. */
async function propose(i: number, change: string[]): Promise<{ epoch: number }> {
  const { stdout } = await run(
    process.execPath,
    [
      DREGG,
      'federation',
      'propose',
      '--home',
      fed.members[i]!.home,
      '--relay',
      fed.relays[i]!.ready.multiaddrs[0]!,
      '--json',
      ...change,
    ],
    { timeout: 60_000 },
  );
  return JSON.parse(stdout) as { epoch: number };
}

const statuses = (
  relays: readonly number[],
  done: (s: EpochStatus[]) => boolean,
  what: string,
  ms = 90_000,
) => until(fed, relays, (s) => done(s as EpochStatus[]), what, ms) as Promise<EpochStatus[]>;

/** The relays agree on one order and ledger in `epoch`, with `settled` turns and nothing queued. */
const agreeIn = (relays: readonly number[], epoch: number, settled: number) =>
  statuses(
    relays,
    (all) =>
      all.every(
        (s) =>
          s.epoch === epoch &&
          s.pending === 0 &&
          s.settled === settled &&
          s.orderDigest === all[0]!.orderDigest &&
          s.ledgerRoot === all[0]!.ledgerRoot,
      ),
    `agreement in epoch ${epoch} at ${settled} turns`,
  );

/** Each of `payers` sends `count` transfers in a chain through relay `via(i)`; returns their turn hashes. */
async function chains(payers: number[], count: number, via: (i: number) => number): Promise<string[]> {
  const hashes: string[] = [];
  await Promise.all(
    payers.map(async (p, i) => {
      const client = await fed.client(via(i));
      for (let k = 0; k < count; k++) {
        const to = fed.payers[(p + 1) % fed.payers.length]!;
        const s = await submitPatiently(client, await transfer(client, fed.payers[p]!, to, 1n));
        expect(s.duplicate).toBe(false);
        hashes.push(s.receipt.turn);
      }
    }),
  );
  return hashes;
}

let settled = 0;

describe('committee changes on four relays', () => {
  it('adds a fifth relay: turns across the change settle once, and all five agree after the cut', async () => {
    const newcomer = fed.members[4]!;
    // Turns flow while three of the four operators endorse adding relay 4 (more than 2/3 of 4).
    const flowing = chains([0, 1, 2, 3], 4, (i) => i);
    const answers = await Promise.all(
      [0, 1, 2].map((i) => propose(i, ['--add', newcomer.did, '--multiaddr', newcomer.address])),
    );
    for (const a of answers) expect(a.epoch).toBe(0);
    const across = await flowing;
    settled += across.length;
    expect(new Set(across).size).toBe(across.length);
    const cut = await statuses(
      [0, 1, 2, 3],
      (all) => all.every((s) => s.epoch === 1 && s.transitions === 1),
      'the cut',
    );
    for (const s of cut) expect(s.members).toBe(5);
    // The newcomer learns the genesis and the certificate from the members, replays epoch 0, and joins.
    await fed.start(4);
    const more = await chains([4, 5, 6, 7], 2, (i) => i);
    settled += more.length;
    const all = await agreeIn([0, 1, 2, 3, 4], 1, settled);
    // Exactly once: the log holds each turn once (a turn proposed again after the cut is not a second entry).
    expect(all[0]!.settled).toBe(settled);
    for (const s of all) expect(s).toMatchObject({ member: true, members: 5, transitions: 1 });
    for (const i of [0, 4]) expect((await fed.health(i)).supplyDelta).toBe('0');
    const c0 = await fed.client(0);
    const c4 = await fed.client(4);
    for (const p of fed.payers)
      expect((await c4.ledger().cell(p.cell))!.balance).toBe((await c0.ledger().cell(p.cell))!.balance);
  }, 300_000);

  it('removes a relay: the rest continue in epoch 2, and the removed one takes no turns', async () => {
    const leaving = fed.members[3]!;
    // More than 2/3 of five is four endorsements; the leaving relay's own operator is not among them.
    await Promise.all([0, 1, 2, 4].map((i) => propose(i, ['--remove', leaving.did])));
    const cut = await statuses(
      [0, 1, 2, 4],
      (all) => all.every((s) => s.epoch === 2 && s.transitions === 2),
      'the cut',
    );
    for (const s of cut) expect(s).toMatchObject({ members: 4, member: true });
    const more = await chains([0, 1, 2, 3], 2, (i) => [0, 1, 2, 4][i]!);
    settled += more.length;
    await agreeIn([0, 1, 2, 4], 2, settled);
    // Relay 3 follows the order as an observer, but makes no blocks and takes no turns.
    const [three] = await statuses([3], ([s]) => s!.epoch === 2, 'relay 3 seeing the cut');
    expect(three!.member).toBe(false);
    const c3 = await fed.client(3);
    const refused = await c3.submitTurn(await transfer(c3, fed.payers[5]!, fed.payers[6]!, 1n)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(DreggError);
    expect((refused as DreggError).code).toBe('E_DENIED');
  }, 300_000);

  it('relays killed after two committee changes restart in epoch 2, still dial the added member, and keep finalizing', async () => {
    // Relay 1 (a genesis member) killed without warning: the other three of epoch 2's four finalize.
    const [was] = await statuses([1], ([s]) => s!.epoch === 2 && s!.pending === 0, 'relay 1 settled');
    await fed.relays[1]!.kill();
    const during = await chains([0, 1], 2, (i) => [0, 2][i]!);
    settled += during.length;
    await fed.start(1);
    // Back from its SQLite in epoch 2, with the certificates, the added member's address (learned from
    // the ordered endorsements, not from its operator's command), and the old order as its prefix.
    const [back] = await statuses(
      [1],
      ([s]) => s!.epoch === 2 && s!.settled >= was!.settled && s!.connected === 3,
      'relay 1 back in epoch 2',
    );
    expect(back).toMatchObject({ member: true, members: 4, transitions: 2, unaddressed: [] });
    // Relay 4, added in epoch 1 (not in the genesis): restarts from its own store, not by joining again.
    await fed.relays[4]!.kill();
    await fed.start(4);
    const after = await chains([2, 3, 4, 5], 2, (i) => [0, 1, 2, 4][i]!);
    settled += after.length;
    const all = await agreeIn([0, 1, 2, 4], 2, settled);
    for (const s of all)
      expect(s).toMatchObject({ member: true, members: 4, transitions: 2, unaddressed: [] });
    for (const i of [0, 1, 2, 4]) expect((await fed.health(i)).supplyDelta).toBe('0');
    // Relay 3 never proposed the add, yet learned relay 4's address from the order; it follows, too.
    const [three] = await statuses([3], ([s]) => s!.settled === settled, 'relay 3 following');
    expect(three).toMatchObject({
      epoch: 2,
      member: false,
      unaddressed: [],
      orderDigest: all[0]!.orderDigest,
    });
  }, 300_000);

  it('the trust feed scores the current committee: the added member in, the removed one out', async () => {
    const peers = (i: number) => trustOf(i).then((t) => Object.keys(t).sort());
    const others = (i: number) =>
      [0, 1, 2, 4]
        .filter((j) => j !== i)
        .map((j) => fed.members[j]!.peerId)
        .sort();
    for (const i of [0, 1, 4]) {
      const deadline = Date.now() + 20_000;
      while ((await peers(i)).join() !== others(i).join() && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 250));
      expect(await peers(i), `relay ${i}`).toEqual(others(i));
    }
  }, 60_000);

  it('a light client pinned at epoch 0 follows the certificates to an epoch-2 root, and refuses a forged one', async () => {
    const client = await fed.client(0);
    const answer = decodeCommitteeAnswer(await client.call(FEDERATION_OPS.committee, encodeEmpty()));
    expect(answer.transitions.map((t) => t.next.epoch)).toEqual([1, 2]);
    const pin: Pin = { committee: fed.genesis.committee, source: 'genesis' };
    expect(answer.genesis).toEqual(pin.committee);
    let root = await fed.root(0);
    for (let tries = 0; root.epoch < 2 && tries < 60; tries++) {
      await new Promise((r) => setTimeout(r, 500));
      root = await fed.root(0);
    }
    expect(root.epoch).toBe(2);
    const followed = followRoot(pin, root, answer.transitions);
    expect(followed).toMatchObject({ accepted: true, pin: { committee: { epoch: 2 } } });
    if (followed.accepted) expect(followed.pin.committee.keys).not.toContain(toHex(ed25519FromSeed(3)));
    // Without the certificates the root is of an epoch the pin does not reach.
    expect(followRoot(pin, root).accepted).toBe(false);
    // A forged hand-over, signed by two of the four genesis members, to a committee of their choosing.
    const forgedNext = committee(fed.genesis.federation, 1, [ed25519FromSeed(0), ed25519FromSeed(1)]);
    const forged: Transition = {
      next: forgedNext,
      signatures: await Promise.all(
        [0, 1].map((i) => signTransition(forgedNext, ed25519FromSeed(i), (d) => ed25519.sign(d, seedOf(i)))),
      ),
    };
    const refused = followRoot(pin, root, [forged, ...answer.transitions.slice(1)]);
    expect(refused).toMatchObject({ accepted: false, reason: expect.stringContaining('2 of 4') });
  }, 120_000);
});

function seedOf(i: number): Uint8Array {
  return relayKeys(join(fed.members[i]!.home, 'relay')).signing;
}

function ed25519FromSeed(i: number): Uint8Array {
  return ed25519.getPublicKey(seedOf(i));
}

describe('the epoch wire forms', () => {
  const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
  const bytes64 = fc.uint8Array({ minLength: 64, maxLength: 64 });

  it('round-trip, and anything else fails only with E_DECODE or E_INVALID', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<'add' | 'remove'>('add', 'remove'),
        bytes32,
        bytes64,
        fc.array(fc.string({ minLength: 1, maxLength: 40 }), { maxLength: 8 }),
        fc.nat(),
        fc.integer({ min: 1, max: 1e6 }),
        (op, member, signature, multiaddrs, time, epoch) => {
          const p = { federation: 'test-fed', epoch, op, member, multiaddrs, time, signature };
          expect(decodeProposal(encodeProposal(p))).toEqual(p);
          const v = { federation: 'test-fed', epoch, signer: member, signature };
          expect(decodeTransitionVote(encodeTransitionVote(v))).toEqual(v);
          const r = { want: [member], have: [], epoch };
          expect(decodeBlocksRequest(encodeBlocksRequest(r))).toEqual(r);
        },
      ),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (junk) => {
        for (const decode of [decodeProposal, decodeTransitionVote, decodeBlocksRequest]) {
          try {
            decode(junk);
          } catch (e) {
            expect(e).toBeInstanceOf(DreggError);
            expect(['E_DECODE', 'E_INVALID']).toContain((e as DreggError).code);
          }
        }
      }),
    );
    // A vote hands over to epoch 1 or later: epoch 0 has no committee before it.
    const zero = encodeTransitionVote({
      federation: 'f',
      epoch: 0,
      signer: new Uint8Array(32),
      signature: new Uint8Array(64),
    });
    expect(() => decodeTransitionVote(zero)).toThrow(expect.objectContaining({ code: 'E_INVALID' }));
  });

  it("a relay takes only its own operator's proposal, for its epoch, signed lately, that changes something", async () => {
    const client = await fed.client(0);
    const body: ProposalBody = {
      federation: fed.genesis.federation,
      epoch: 2,
      op: 'add',
      member: ed25519FromSeed(3),
      multiaddrs: [],
      time: Math.floor(Date.now() / 1000),
    };
    const send = async (b: ProposalBody, signer: number) =>
      client
        .call(
          FEDERATION_OPS.propose,
          encodeProposal({ ...b, signature: ed25519.sign(proposalDigest(b), seedOf(signer)) }),
        )
        .then(
          () => 'taken',
          (e: unknown) => (e as DreggError).code,
        );
    // Another member's key is not this relay's operator.
    expect(await send(body, 1)).toBe('E_DENIED');
    expect(await send({ ...body, epoch: 1 }, 0)).toBe('E_STALE_EPOCH');
    expect(await send({ ...body, time: body.time - 3600 }, 0)).toBe('E_EXPIRED');
    expect(await send({ ...body, member: ed25519FromSeed(4) }, 0)).toBe('E_EXISTS');
    expect(await send({ ...body, op: 'remove' }, 0)).toBe('E_NOT_FOUND');
  }, 60_000);
});

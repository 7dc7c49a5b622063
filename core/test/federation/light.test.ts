import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/encoding/bytes.ts';
import { isDreggError } from '../../src/errors.ts';
import {
  type FederationRoot,
  type FederationRootBody,
  signFederationRoot,
} from '../../src/federation/attest.ts';
import { type Committee, committee } from '../../src/federation/committee.ts';
import {
  checkTransition,
  committeeIdHex,
  decodeGenesis,
  decodeTransition,
  encodeGenesis,
  encodeTransition,
  followRoot,
  type Pin,
  signTransition,
  type Transition,
} from '../../src/federation/light.ts';
import { epochChange } from '../../src/federation/membership.ts';
import { attest, catchUp, settleEach } from './attested.ts';
import { createSim, memberKeys, type Sim } from './sim.ts';

/** Five keys: the sim's four members, and the one its order adds. */
const keys = memberKeys(5);
const signerOf = (c: Committee, i: number) => {
  const k = keys.find((k) => c.keys[i] === toHex(k.member.publicKey))!;
  return k.member;
};

async function rootOf(
  c: Committee,
  height: number,
  signers: readonly number[],
  withLog = true,
): Promise<FederationRoot> {
  const body: FederationRootBody = {
    federation: c.federation,
    epoch: c.epoch,
    ledgerRoot: new Uint8Array(32).fill(height % 256),
    height,
    ...(withLog ? { logRoot: new Uint8Array(32).fill(255 - (height % 256)) } : {}),
  };
  const signatures = await Promise.all(
    signers.map((i) => signFederationRoot(body, signerOf(c, i).publicKey, signerOf(c, i).sign)),
  );
  return { ...body, signatures };
}

async function transition(from: Committee, next: Committee, signers: readonly number[]): Promise<Transition> {
  const signatures = await Promise.all(
    signers.map((i) => signTransition(next, signerOf(from, i).publicKey, signerOf(from, i).sign)),
  );
  return { next, signatures };
}

describe('following a federation from a pinned committee across a committee change', () => {
  let sim: Sim;
  let next: Committee;
  let pin: Pin;
  let epoch0Root: FederationRoot;

  beforeAll(async () => {
    // The final order of epoch 0 carries a proposal adding a fifth relay: membership.ts cuts there.
    sim = createSim(4);
    await sim.settle(2);
    // Endorsed by three of the four: more than 2/3.
    for (const i of [1, 2, 3])
      await sim.mine(i, [{ kind: 'member', op: 'add', member: keys[4]!.member.publicKey }]);
    await sim.settle(12);
    const change = epochChange(sim.committee, sim.members[0]!.order);
    expect(change).toBeDefined();
    next = change!.next;
    const settled = settleEach(sim);
    await catchUp(sim, settled);
    epoch0Root = await attest(sim, settled, [0, 1, 2, 3]);
    // Pinned from the genesis file the federation published.
    pin = { committee: decodeGenesis(encodeGenesis(sim.committee)), source: 'genesis' };
  });

  it('pins from a genesis file: the same committee and id', () => {
    expect(pin.committee).toEqual(sim.committee);
    expect(committeeIdHex(pin.committee)).toBe(committeeIdHex(sim.committee));
    expect(committeeIdHex(next)).not.toBe(committeeIdHex(sim.committee));
  });

  it('accepts a root of the pinned epoch and remembers its height', () => {
    const f = followRoot(pin, epoch0Root);
    expect(f).toMatchObject({ accepted: true, pin: { root: { epoch: 0, height: epoch0Root.height } } });
  });

  it('accepts a root of epoch 1 only through a transition signed by > 2/3 of epoch 0', async () => {
    const root1 = await rootOf(next, epoch0Root.height + 5, [0, 1, 2, 3]);
    // No transition: refused, whoever signed it.
    expect(followRoot(pin, root1)).toMatchObject({
      accepted: false,
      reason: expect.stringContaining('no transition'),
    });
    // Signed by 2 of epoch 0's 4: refused.
    const weak = await transition(sim.committee, next, [0, 1]);
    expect(followRoot(pin, root1, [weak])).toMatchObject({
      accepted: false,
      reason: expect.stringContaining('2 of 4'),
    });
    // Counted against the old committee: of the new committee's five signatures, the newcomer's counts
    // for nothing, and the newcomer alone cannot hand the federation over.
    const selfSigned: Transition = {
      next,
      signatures: await Promise.all(
        [0, 1, 2, 3, 4].map((i) => signTransition(next, signerOf(next, i).publicKey, signerOf(next, i).sign)),
      ),
    };
    expect(checkTransition(selfSigned, sim.committee).signers).toHaveLength(4);
    const strangerOnly: Transition = {
      next,
      signatures: [await signTransition(next, keys[4]!.member.publicKey, keys[4]!.member.sign)],
    };
    expect(followRoot(pin, root1, [strangerOnly]).accepted).toBe(false);
    // 3 of 4, through the wire: the pin moves to epoch 1 and its 5 members.
    const good = decodeTransition(encodeTransition(await transition(sim.committee, next, [0, 2, 3])));
    const at0 = followRoot(pin, epoch0Root);
    if (!at0.accepted) throw new Error(at0.reason);
    const f = followRoot(at0.pin, root1, [good]);
    expect(f).toMatchObject({ accepted: true, pin: { committee: { epoch: 1 }, root: { epoch: 1 } } });
    expect(f.accepted && f.pin.committee.members).toHaveLength(5);
    // Epoch 1 now needs > 2/3 of five: 3 are not enough, 4 are.
    const moved = f.accepted ? f.pin : pin;
    expect(followRoot(moved, await rootOf(next, root1.height + 1, [0, 1, 2])).accepted).toBe(false);
    expect(followRoot(moved, await rootOf(next, root1.height + 1, [0, 1, 2, 4])).accepted).toBe(true);
    // A relay serves the certificates since genesis: a pin already at epoch 1 passes over the first.
    expect(followRoot(moved, await rootOf(next, root1.height + 1, [0, 1, 2, 4]), [good]).accepted).toBe(true);
    // But not over a forged one it would still need: from epoch 1, a hand-over signed by 2 of 5.
    const later = committee(next.federation, 2, next.members.slice(0, 4));
    const forgedLater = await transition(next, later, [0, 1]);
    expect(
      followRoot(moved, await rootOf(later, root1.height + 2, [0, 1, 2, 3]), [good, forgedLater]),
    ).toMatchObject({ accepted: false, reason: expect.stringContaining('2 of 5') });
    // And the old committee no longer speaks for the federation.
    expect(followRoot(moved, await rootOf(sim.committee, root1.height + 2, [0, 1, 2, 3])).accepted).toBe(
      false,
    );
  });

  it('refuses a transition that skips an epoch or names another federation', async () => {
    const skip = committee(next.federation, 2, next.members);
    expect(checkTransition(await transition(sim.committee, skip, [0, 1, 2, 3]), sim.committee)).toMatchObject(
      {
        accepted: false,
        reason: expect.stringContaining('epoch 2'),
      },
    );
    const other = committee('other-fed', 1, next.members);
    expect(
      checkTransition(await transition(sim.committee, other, [0, 1, 2, 3]), sim.committee).accepted,
    ).toBe(false);
  });

  it('never moves back: a validly signed root below the verified height is refused', async () => {
    const high = followRoot(pin, await rootOf(sim.committee, 100, [0, 1, 2]));
    expect(high.accepted).toBe(true);
    if (!high.accepted) return;
    expect(followRoot(high.pin, await rootOf(sim.committee, 99, [0, 1, 2]))).toMatchObject({
      accepted: false,
      reason: expect.stringContaining('below the verified 100'),
    });
    expect(followRoot(high.pin, await rootOf(sim.committee, 100, [1, 2, 3])).accepted).toBe(true);
  });

  it('accepts no root without the settlement log root, however well signed', async () => {
    expect(followRoot(pin, await rootOf(sim.committee, 101, [0, 1, 2, 3], false))).toMatchObject({
      accepted: false,
      reason: expect.stringContaining('no settlement log'),
    });
  });
});

describe('genesis and transition decoders', () => {
  it('refuse malformed input with our typed errors only', () => {
    const c = committee(
      'fed',
      0,
      keys.slice(0, 4).map((k) => k.member.publicKey),
    );
    const genesis = encodeGenesis(c);
    for (const text of [
      '',
      '[]',
      '{"federation":"fed","epoch":0}',
      genesis.replace('"epoch":0', '"epoch":-1'),
      genesis.replace('"fed"', '"Fed!"'),
      JSON.stringify({ federation: 'fed', epoch: 0, members: [c.keys[0], c.keys[0]] }),
      JSON.stringify({ federation: 'fed', epoch: 0, members: [] }),
    ])
      expect(() => decodeGenesis(text)).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/E_DECODE|E_INVALID/) }),
      );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const f of [
          () => decodeTransition(bytes),
          () => decodeGenesis(new TextDecoder().decode(bytes)),
        ]) {
          try {
            f();
          } catch (e) {
            expect(isDreggError(e, 'E_DECODE') || isDreggError(e, 'E_INVALID')).toBe(true);
          }
        }
      }),
    );
  });
});

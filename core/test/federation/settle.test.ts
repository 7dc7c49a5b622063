import { afterAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/encoding/bytes.ts';
import { DreggError } from '../../src/errors.ts';
import {
  checkFederationRoot,
  decodeFederationRoot,
  encodeFederationRoot,
  type FederationRoot,
  type FederationRootBody,
  signFederationRoot,
} from '../../src/federation/attest.ts';
import { committee } from '../../src/federation/committee.ts';
import { createSettlement, type Outcome } from '../../src/federation/settle.ts';
import { encodeTurn, type Turn, turnHashHex } from '../../src/turns/turn.ts';
import { type Bench, bench, openStore, tempDir } from '../notary/fixtures.ts';
import { createSim, memberKeys } from './sim.ts';

const dir = tempDir();
afterAll(() => dir.remove());

/** Outcomes without the relay-specific parts, to compare across relays. */
const shape = (o: Outcome) => ({
  kind: o.kind,
  turn: o.place.turn,
  block: o.place.block,
  height: o.place.height,
  spentBy: o.kind === 'refused' ? o.spentBy?.turn : undefined,
  code: o.kind === 'refused' ? o.code : undefined,
});

describe('settling the final order on four relays, each with its own notary on SQLite', () => {
  it('takes the first spend of a state everywhere, refuses the second with evidence, and agrees on the ledger root', async () => {
    const sim = createSim(4);
    const benches: Bench[] = [];
    for (const i of sim.members.keys())
      benches.push(
        await bench(await openStore(dir.path(`r${i}.sqlite`)), { seed: new Uint8Array(32).fill(70 + i) }),
      );
    const b0 = benches[0]!;
    const [alice, bob, carol] = b0.people;
    // Alice spends her cell's nonce-0 state twice, at two relays; a third relay carries the first again.
    const toBob = await b0.transfer(alice, bob, 100n);
    const toCarol = await b0.transfer(alice, carol, 250n);
    const bobPays = await b0.transfer(bob, carol, 5n);
    await sim.settle(2);
    await sim.mine(0, [{ kind: 'turn', turn: encodeTurn(toBob) }]);
    await sim.mine(2, [{ kind: 'turn', turn: encodeTurn(toCarol) }]);
    await sim.mine(3, [
      { kind: 'turn', turn: encodeTurn(toBob) },
      { kind: 'turn', turn: encodeTurn(bobPays) },
    ]);
    await sim.settle(12);

    // Relays 0 and 2 apply turn by turn; 1 hands the notary the whole order at once (one call,
    // shared batches, the second spend refused by the ledger and then reported with evidence); 3
    // does so in slices of one turn with a yield to the event loop between them (the relay's way,
    // so a big wave does not stall gossip). All must give the same outcomes and the same ledger.
    const results: Outcome[][] = [];
    for (const [i, m] of sim.members.entries()) {
      const notary = benches[i]!.notary;
      const inOrder = async (turns: readonly { turn: Turn }[]) => {
        const out = await notary.submitInOrder(turns.map((t) => t.turn));
        return out.map((r) => (r instanceof DreggError ? r : undefined));
      };
      const settlement =
        i % 2 === 0
          ? createSettlement(async (turn) => {
              await notary.submit(turn);
            })
          : createSettlement(
              i === 1
                ? { inOrder }
                : { inOrder, slice: 1, pause: () => new Promise<void>((r) => setImmediate(r)) },
            );
      results.push(await settlement.settle(m.order));
    }
    for (const r of results) expect(r.map(shape)).toEqual(results[0]!.map(shape));
    const ours = new Set([toBob, toCarol, bobPays].map(turnHashHex));
    const real = results[0]!.filter((o) => ours.has(o.place.turn));
    expect(real).toHaveLength(4);
    const accepted = real.filter((o) => o.kind === 'accepted').map((o) => o.place.turn);
    const refused = real.filter((o) => o.kind === 'refused');
    expect(accepted).toHaveLength(2);
    expect(accepted).toContain(turnHashHex(bobPays));
    const winner = accepted.find((t) => t !== turnHashHex(bobPays))!;
    expect(refused).toHaveLength(1);
    const [second] = refused;
    expect(second!.kind === 'refused' && second!.code).toBe('E_STALE');
    expect(second!.kind === 'refused' && second!.spentBy?.turn).toBe(winner);
    expect(real.filter((o) => o.kind === 'duplicate')).toHaveLength(1);
    const paid = winner === turnHashHex(toBob) ? [900n, 1095n, 1005n] : [750n, 995n, 1255n];
    const roots = benches.map((b) => toHex(b.notary.latestRoot().ledgerRoot));
    expect(new Set(roots).size).toBe(1);
    const balances = benches.map((b) => [alice, bob, carol].map((p) => b.notary.cell(p.cell)!.balance));
    for (const b of balances) expect(b).toEqual(paid);
  });
});

describe("the light client's check of a federation's attested root (PITFALLS 11)", () => {
  const keys = memberKeys(4);
  const pinned = committee(
    'test-fed',
    3,
    keys.map((k) => k.member.publicKey),
  );
  const body: FederationRootBody = {
    federation: 'test-fed',
    epoch: 3,
    ledgerRoot: new Uint8Array(32).fill(7),
    height: 42,
  };
  const sign = (i: number, b: FederationRootBody = body) =>
    signFederationRoot(b, keys[i]!.member.publicKey, keys[i]!.member.sign);
  const root = async (signers: number[], b = body): Promise<FederationRoot> => ({
    ...b,
    signatures: await Promise.all(signers.map((i) => sign(i, b))),
  });

  it('accepts 3 of 4 distinct members, refuses 2 of 4', async () => {
    const three = await root([0, 1, 2]);
    expect(checkFederationRoot(three, pinned)).toMatchObject({ accepted: true });
    expect(checkFederationRoot(three, pinned).signers).toHaveLength(3);
    expect(checkFederationRoot(await root([1, 3]), pinned)).toMatchObject({ accepted: false });
    // Through the wire and back, the same verdict.
    expect(checkFederationRoot(decodeFederationRoot(encodeFederationRoot(three)), pinned).accepted).toBe(
      true,
    );
  });

  it('counts a member signing twice once', async () => {
    const twice = await root([0, 1, 1, 1]);
    expect(twice.signatures).toHaveLength(4);
    expect(checkFederationRoot(twice, pinned)).toMatchObject({ accepted: false, signers: expect.any(Array) });
    expect(checkFederationRoot(twice, pinned).signers).toHaveLength(2);
  });

  it('counts no signature of a non-member, even a valid one', async () => {
    const outsiders = memberKeys(3, 40);
    const signatures = [
      await sign(0),
      await sign(1),
      ...(await Promise.all(
        outsiders.map((o) => signFederationRoot(body, o.member.publicKey, o.member.sign)),
      )),
    ];
    expect(checkFederationRoot({ ...body, signatures }, pinned).accepted).toBe(false);
  });

  it('checks each signature: a member key next to a signature that is not its own, or any 64 bytes, counts for nothing', async () => {
    const good = await root([0, 1]);
    const forged = [
      { signer: keys[2]!.member.publicKey, signature: good.signatures[0]!.signature },
      { signer: keys[3]!.member.publicKey, signature: new Uint8Array(64).fill(1) },
    ];
    const r = { ...good, signatures: [...good.signatures, ...forged] };
    expect(checkFederationRoot(r, pinned)).toMatchObject({ accepted: false });
    expect(checkFederationRoot(r, pinned).signers).toHaveLength(2);
  });

  it('binds federation, epoch, ledger root and height: change any and the signatures count for nothing', async () => {
    const three = await root([0, 1, 2]);
    for (const change of [
      { height: 43 },
      { ledgerRoot: new Uint8Array(32).fill(8) },
      { epoch: 4 },
      { federation: 'other' },
    ]) {
      const moved = { ...three, ...change };
      expect(checkFederationRoot(moved, pinned).accepted).toBe(false);
    }
    // A root for another epoch, even well signed, is refused against this pinned committee.
    const next = await root([0, 1, 2, 3], { ...body, epoch: 4 });
    expect(checkFederationRoot(next, pinned)).toMatchObject({ accepted: false });
  });
});

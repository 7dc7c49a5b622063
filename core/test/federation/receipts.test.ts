import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/encoding/bytes.ts';
import { isDreggError } from '../../src/errors.ts';
import { checkFederationRoot, type FederationRoot, signFederationRoot } from '../../src/federation/attest.ts';
import {
  decodeReceiptBundle,
  encodeReceiptBundle,
  type FederatedReceipt,
  verifyFederatedReceipt,
} from '../../src/federation/receipts.ts';
import { encodeTurn, type Turn, turnHashHex } from '../../src/turns/turn.ts';
import { type Bench, bench, openStore, tempDir } from '../notary/fixtures.ts';
import { attest, catchUp, type Settled, settleEach } from './attested.ts';
import { createSim, type Sim } from './sim.ts';

const dir = tempDir();
afterAll(() => dir.remove());

describe('federated receipts under an attested root (4 members, each with its own notary on SQLite)', () => {
  let sim: Sim;
  let settled: Settled[];
  let root: FederationRoot;
  let toBob: Turn;
  let toCarol: Turn;
  let benches: Bench[];

  beforeAll(async () => {
    sim = createSim(4);
    benches = [];
    for (const i of sim.members.keys())
      benches.push(
        await bench(await openStore(dir.path(`r${i}.sqlite`)), { seed: new Uint8Array(32).fill(80 + i) }),
      );
    const [alice, bob, carol] = benches[0]!.people;
    toBob = await benches[0]!.transfer(alice, bob, 100n);
    // The same state spent again: one of the two is refused, with evidence.
    toCarol = await benches[0]!.transfer(alice, carol, 250n);
    settled = settleEach(sim, (i) => async (turn) => {
      await benches[i]!.notary.submit(turn);
    });
    await sim.settle(2);
    await sim.mine(1, [{ kind: 'turn', turn: encodeTurn(toBob) }]);
    await sim.mine(3, [{ kind: 'turn', turn: encodeTurn(toCarol) }]);
    await sim.settle(12);
    await catchUp(sim, settled);
    const ledgerRoots = new Set(benches.map((b) => toHex(b.notary.latestRoot().ledgerRoot)));
    expect(ledgerRoots.size).toBe(1);
    root = await attest(sim, settled, [0, 1, 2], benches[0]!.notary.latestRoot().ledgerRoot);
  }, 60_000);

  /** Member `m`'s bundle for the receipt of `turn` under `r`. */
  const bundleFor = (turn: Turn, r: FederationRoot = root, m = 2) => {
    const log = settled[m]!.log;
    const first = settled[m]!.outcomes.find((o) => o.place.turn === turnHashHex(turn))!;
    return {
      receipt: log.receipt(first.place.height),
      proof: log.prove(first.place.height, r.height),
      root: r,
    };
  };

  it('accepts the real receipt, through the wire and back, for the turn it names', () => {
    const b = decodeReceiptBundle(encodeReceiptBundle(bundleFor(toBob)));
    const check = verifyFederatedReceipt(b.receipt, b.proof, b.root, sim.committee);
    expect(check).toEqual({ ok: true, signers: expect.any(Array) });
    expect(check.ok && check.signers).toHaveLength(3);
    expect(b.receipt.turn).toBe(turnHashHex(toBob));
    // The refused double spend is provable too, and names the turn that spent the state first.
    const other = bundleFor(toCarol);
    expect(verifyFederatedReceipt(other.receipt, other.proof, root, sim.committee).ok).toBe(true);
    const [won, lost] =
      b.receipt.outcome === 'accepted' ? [b.receipt, other.receipt] : [other.receipt, b.receipt];
    expect(won.outcome).toBe('accepted');
    expect(lost).toMatchObject({ outcome: 'refused', code: 'E_STALE', spentBy: won.turn });
  });

  it('proves every receipt of every member against the one root', () => {
    for (const m of sim.honest()) {
      const log = settled[m.index]!.log;
      for (let h = 0; h < root.height; h++)
        expect(
          verifyFederatedReceipt(log.receipt(h), log.prove(h, root.height), root, sim.committee).ok,
        ).toBe(true);
    }
  });

  it('refuses a root signed by 2 of 4 members', async () => {
    const weak = await attest(sim, settled, [0, 3], root.ledgerRoot);
    const b = bundleFor(toBob, weak);
    expect(verifyFederatedReceipt(b.receipt, b.proof, weak, sim.committee)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('2 of 4'),
    });
  });

  it('refuses forged and duplicated signers', async () => {
    const two = await attest(sim, settled, [0, 1], root.ledgerRoot);
    const [s0, s1] = two.signatures;
    const b = bundleFor(toBob, two);
    const forged = {
      ...two,
      signatures: [s0!, s1!, { signer: sim.members[3]!.member.publicKey, signature: s0!.signature }],
    };
    const repeated = { ...two, signatures: [s0!, s1!, s1!, s1!] };
    for (const r of [forged, repeated])
      expect(verifyFederatedReceipt(b.receipt, b.proof, r, sim.committee).ok).toBe(false);
  });

  it('refuses a proof of another turn, and a receipt paired with another receipt proof', () => {
    const a = bundleFor(toBob);
    const c = bundleFor(toCarol);
    expect(verifyFederatedReceipt(a.receipt, c.proof, root, sim.committee).ok).toBe(false);
    // The right path, claimed for another height.
    expect(
      verifyFederatedReceipt(a.receipt, { ...c.proof, index: a.receipt.height }, root, sim.committee).ok,
    ).toBe(false);
  });

  it('refuses a tampered receipt: any field changed', () => {
    const { receipt, proof } = bundleFor(toBob);
    const flipped = receipt.outcome === 'accepted' ? 'refused' : 'accepted';
    const tampered: FederatedReceipt[] = [
      { ...receipt, outcome: flipped, ...(flipped === 'refused' ? { code: 'E_STALE' as const } : {}) },
      { ...receipt, turn: turnHashHex(toCarol) },
      { ...receipt, item: receipt.item + 1 },
      { ...receipt, block: toHex(new Uint8Array(32).fill(1)) },
      { ...receipt, height: receipt.height + 1 },
    ];
    for (const t of tampered) expect(verifyFederatedReceipt(t, proof, root, sim.committee).ok).toBe(false);
  });

  it('refuses a root that commits to no log, and one of another epoch or federation', async () => {
    const b = bundleFor(toBob);
    // Signed by every member, but over a body without the log root: accepted as a root, proves nothing.
    const { logRoot: _, signatures: __, ...body } = root;
    const signatures = await Promise.all(
      sim.members.map((m) => signFederationRoot(body, m.member.publicKey, m.member.sign)),
    );
    const bare: FederationRoot = { ...body, signatures };
    expect(checkFederationRoot(bare, sim.committee).accepted).toBe(true);
    expect(verifyFederatedReceipt(b.receipt, b.proof, bare, sim.committee)).toMatchObject({
      ok: false,
      reason: expect.stringContaining('no settlement log'),
    });
    // Taking the log root off a root signed with it breaks its signatures.
    expect(
      verifyFederatedReceipt(b.receipt, b.proof, { ...body, signatures: root.signatures }, sim.committee).ok,
    ).toBe(false);
    const other = { ...sim.committee, epoch: 1 };
    expect(verifyFederatedReceipt(b.receipt, b.proof, root, other)).toMatchObject({ ok: false });
  });

  it('the bundle decoder fails only with our typed errors', () => {
    const good = encodeReceiptBundle(bundleFor(toBob));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc
            .tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }))
            .map(([i, x]) => good.map((v, j) => (j === i ? v ^ x : v))),
        ),
        (bytes) => {
          try {
            decodeReceiptBundle(bytes);
          } catch (e) {
            expect(isDreggError(e, 'E_DECODE') || isDreggError(e, 'E_INVALID')).toBe(true);
          }
        },
      ),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBlocklace } from '../../src/federation/blocklace.ts';
import { committeeId } from '../../src/federation/committee.ts';
import { epochChange } from '../../src/federation/membership.ts';
import { createOrderer, leaderOf } from '../../src/federation/order.ts';
import { createSim, keysOf, memberKeys, prefixRelated, type Sim } from './sim.ts';

/** Runs a schedule: each number either makes member (x mod n) mine or delivers a message in flight. */
async function run(sim: Sim, schedule: readonly number[]): Promise<void> {
  for (const x of schedule) {
    if (x % 3 === 0) await sim.mine(Math.floor(x / 3));
    else sim.deliver(Math.floor(x / 3));
  }
}

function expectPrefixes(sim: Sim): void {
  const honest = sim.honest();
  const finals = honest.map((m) => keysOf(m.order));
  for (const a of finals) for (const b of finals) expect(prefixRelated(a, b)).toBe(true);
  // Every intermediate order of every member is a prefix of every final one, or extends it.
  for (const m of honest)
    for (const snap of m.snapshots) for (const f of finals) expect(prefixRelated(snap, f)).toBe(true);
}

describe('Cordial Miners ordering', () => {
  it('four correct members, delivered promptly, finalize waves and agree', async () => {
    const sim = createSim(4);
    await sim.settle(24);
    const orders = sim.members.map((m) => keysOf(m.order));
    expect(orders[0]!.length).toBeGreaterThan(40);
    for (const o of orders) expect(prefixRelated(o, orders[0]!)).toBe(true);
    // Every wave's leader leads in turn while nobody misbehaves.
    const leaders = sim.members[0]!.orderer.leaders();
    expect(leaders.length).toBeGreaterThan(4);
    for (const l of leaders) expect(l.round % 3).toBe(0);
    for (const l of leaders) expect(l.creator).toBe(leaderOf(sim.members[0]!.lace, l.round / 3));
    // The final order is topological: every block comes after all it acks.
    const at = new Map(orders[0]!.map((k, i) => [k, i]));
    for (const o of sim.members[0]!.order)
      for (const a of o.node.acks) expect(at.get(a.key)).toBeLessThan(at.get(o.node.key)!);
  });

  it('with one member crashed from the start, the other three of four keep finalizing', async () => {
    const sim = createSim(4, { crashed: [2] });
    await sim.settle(30);
    const orders = sim.honest().map((m) => keysOf(m.order));
    expect(orders).toHaveLength(3);
    expect(orders[0]!.length).toBeGreaterThan(30);
    for (const o of orders) expect(prefixRelated(o, orders[0]!)).toBe(true);
  });

  it('relays with the same blocks, inserted in any order, get the same final order', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat(1000), { minLength: 40, maxLength: 160 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 40 }),
        async (schedule, shuffle) => {
          const sim = createSim(4);
          await run(sim, schedule);
          await sim.settle(8);
          const source = sim.members[0]!;
          const all = source.lace.closure(source.lace.tips());
          // Another relay receives the same blocks in a scrambled order (it buffers what comes early).
          const scrambled = [...all];
          for (const [i, s] of shuffle.entries()) {
            const j = s % scrambled.length;
            const k = i % scrambled.length;
            [scrambled[j], scrambled[k]] = [scrambled[k]!, scrambled[j]!];
          }
          const lace = createBlocklace(sim.committee);
          for (const n of scrambled) lace.insert(n.block);
          expect(lace.size()).toBe(all.length);
          const order = createOrderer(lace).advance();
          const fresh = createOrderer(source.lace).advance();
          expect(keysOf(order)).toEqual(keysOf(fresh));
          expect(keysOf(order)).toEqual(keysOf(source.order));
        },
      ),
      { numRuns: 8 },
    );
  });

  it('relays with different causally closed subsets get orders that are prefixes of each other', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(1000), { minLength: 60, maxLength: 300 }), async (schedule) => {
        const sim = createSim(4);
        await run(sim, schedule);
        expectPrefixes(sim);
        await sim.settle(6);
        expectPrefixes(sim);
        expect(sim.members[0]!.order.length).toBeGreaterThan(0);
      }),
      { numRuns: 10 },
    );
  });

  it("a Byzantine member's equivocation never splits the order, and it is convicted and stops leading", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat(1000), { minLength: 60, maxLength: 300 }), async (schedule) => {
        const sim = createSim(4, { byzantine: 1 });
        await run(sim, schedule);
        for (let i = 0; i < 6; i++) {
          await sim.mine(1); // keeps forking
          await sim.settle(2);
        }
        await sim.settle(12);
        expectPrefixes(sim);
        const byz = sim.members[1]!.key;
        for (const m of sim.honest()) {
          expect(m.lace.equivocations().some((e) => e.creator === byz)).toBe(true);
          expect(m.orderer.convicted().has(byz)).toBe(true);
          // Its blocks ordered after its fork entered the order carry no payload.
          const firstDropped = m.order.findIndex((o) => !o.delivered);
          expect(firstDropped).toBeGreaterThanOrEqual(0);
          for (const o of m.order.slice(firstDropped))
            if (o.node.creator === byz) expect(o.delivered).toBe(false);
          for (const o of m.order) if (o.node.creator !== byz) expect(o.delivered).toBe(true);
        }
        // Once every correct member has seen the fork, no later wave led by it is final.
        const m = sim.honest()[0]!;
        const seenAt = Math.max(
          ...sim.honest().map((h) => {
            const e = h.lace.equivocations().find((x) => x.creator === byz)!;
            return Math.max(e.first.round, e.second.round);
          }),
        );
        const late = m.orderer.leaders().filter((l) => l.round > seenAt + 6);
        expect(late.length).toBeGreaterThan(0);
        for (const l of late) expect(l.creator).not.toBe(byz);
      }),
      { numRuns: 6 },
    );
  });
});

describe('membership change at an epoch boundary', () => {
  it('every member cuts the epoch at the same block and starts the same next committee', async () => {
    const sim = createSim(4);
    await sim.settle(3);
    const stranger = memberKeys(1, 60)[0]!.member.publicKey;
    const leaving = sim.members[3]!.member.publicKey;
    // An ignored proposal (removing a stranger), and two real ones each endorsed by only 2 of 4: no change.
    await sim.mine(1, [{ kind: 'member', op: 'remove', member: stranger }]);
    await sim.mine(0, [{ kind: 'member', op: 'remove', member: leaving }]);
    await sim.mine(2, [{ kind: 'member', op: 'add', member: stranger }]);
    await sim.mine(1, [{ kind: 'member', op: 'remove', member: leaving }]);
    await sim.mine(3, [{ kind: 'member', op: 'add', member: stranger }]);
    await sim.settle(12);
    for (const m of sim.members) expect(epochChange(sim.committee, m.order)).toBeUndefined();
    // A third endorsement of each, at once: more than 2/3 of 4 carry whichever the order completes first.
    await sim.mine(2, [{ kind: 'member', op: 'remove', member: leaving }]);
    await sim.mine(0, [{ kind: 'member', op: 'add', member: stranger }]);
    await sim.settle(12);
    const changes = sim.members.map((m) => epochChange(sim.committee, m.order));
    for (const ch of changes) {
      expect(ch).toBeDefined();
      expect(ch!.next.epoch).toBe(1);
      expect(ch!.cut).toBe(changes[0]!.cut);
      expect(committeeId(ch!.next)).toEqual(committeeId(changes[0]!.next));
    }
    const next = changes[0]!.next;
    // Whichever real proposal the order put first is the one that took effect.
    const removed = next.members.length === 3;
    expect(next.keys.includes(sim.members[3]!.key)).toBe(!removed);
    expect(next.keys.includes(Buffer.from(stranger).toString('hex'))).toBe(!removed);
  });
});

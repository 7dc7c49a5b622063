/**
 * Distributed GC under every interleaving: random sends of references, drops and reconnects, with the
 * two directions of the wire delivered in random order (so drops cross fresh sends of the same
 * export). After the wire settles, the exporter's table must hold exactly what the importer can
 * still reach, with the same counts: nothing reachable is reclaimed, nothing unreachable is kept.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { call, enliven, localObject, type RemoteRef, release, type Value } from '../../src/captp/index.ts';
import { counter, makeVat, manualLinkPair, pumpUntil } from './helpers.ts';

/** Few objects, so that sends and drops of the same export cross often. */
const OBJECTS = 2;

type Op =
  | { kind: 'send'; k: number }
  | { kind: 'drop'; k: number }
  | { kind: 'deliver'; dir: 0 | 1 }
  | { kind: 'reconnect' };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('send' as const), k: fc.integer({ min: 0, max: OBJECTS - 1 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({ kind: fc.constant('drop' as const), k: fc.integer({ min: 0, max: OBJECTS - 1 }) }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('deliver' as const),
      dir: fc.constantFrom(0 as const, 1 as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'reconnect' as const }) },
);

describe('distributed GC (property)', () => {
  it('keeps an export whose drop crosses a fresh send of it on the wire', async () => {
    const alice = await makeVat('alice');
    const bob = await makeVat('bob');
    const object = counter('object');
    bob.register('hub', localObject('hub', { get: () => object }));
    const wire = manualLinkPair();
    const accepted = bob.accept(wire.ends[1]);
    const opening = alice.connect(wire.ends[0], { expect: bob.did });
    const [a, b] = [await pumpUntil(wire, opening), await pumpUntil(wire, accepted)];
    const hubUri = await bob.mintSturdyRef({ object: 'hub', holder: alice.did });
    const hub = (await pumpUntil(wire, enliven(a, hubUri).promise)) as RemoteRef;
    const first = (await pumpUntil(wire, call(hub, 'get').promise)) as RemoteRef;
    const again = call(hub, 'get');
    wire.deliver(0); // the finish of the first get
    wire.deliver(0); // the second get
    await new Promise((r) => setTimeout(r, 5)); // Bob answers: the export is now out twice
    expect(wire.pending(1)).toBeGreaterThan(0);
    release(first); // Alice's drop (n = 1) crosses Bob's second send
    const fresh = (await pumpUntil(wire, again.promise)) as RemoteRef;
    expect(fresh).not.toBe(first);
    expect(b.exports().find((e) => e.object === object)?.count).toBe(1);
    expect(await pumpUntil(wire, call(fresh, 'inc', [1]).promise)).toBe(1);
  });

  it('never leaves an export reachable but reclaimed, or unreachable but kept after the wire settles', async () => {
    const alice = await makeVat('alice');
    const bob = await makeVat('bob');
    const objects = Array.from({ length: OBJECTS }, (_, i) => counter(`object-${i}`));
    bob.register('hub', localObject('hub', { get: ([k]) => objects[Number(k)]! as Value }));
    const hubUri = await bob.mintSturdyRef({ object: 'hub', holder: alice.did });

    const open = async () => {
      const wire = manualLinkPair();
      const accepted = bob.accept(wire.ends[1]);
      const opening = alice.connect(wire.ends[0], { expect: bob.did });
      const a = await pumpUntil(wire, opening);
      const b = await pumpUntil(wire, accepted);
      return { wire, a, b, hub: (await pumpUntil(wire, enliven(a, hubUri).promise)) as RemoteRef };
    };

    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        let s = await open();
        /** What Alice's code holds: the latest reference it got for each object. */
        const held = new Map<number, RemoteRef>();
        // `release` drops every copy of an import in the vat, also one still on its way in an answer.
        const released = new WeakSet<RemoteRef>();
        for (const o of ops) {
          if (o.kind === 'send') {
            call(s.hub, 'get', [o.k]).promise.then(
              (ref) => {
                if (!released.has(ref as RemoteRef)) held.set(o.k, ref as RemoteRef);
              },
              () => undefined,
            );
          } else if (o.kind === 'drop') {
            const ref = held.get(o.k);
            if (ref !== undefined && ref.session === s.hub.session) {
              held.delete(o.k);
              released.add(ref);
              release(ref);
            }
          } else if (o.kind === 'deliver') {
            s.wire.deliver(o.dir);
            // Let the receiver finish what the frame started (an answer is sent a few ticks later).
            await new Promise((r) => setTimeout(r, 0));
          } else {
            s.a.close();
            await s.wire.flush();
            expect(s.b.exports()).toEqual([]);
            held.clear();
            s = await open();
          }
        }
        await s.wire.flush();
        await new Promise((r) => setTimeout(r, 0));

        const hubId = s.a.imports().find((i) => i.id === s.hub.id)!;
        const exports = s.b.exports().filter((e) => e.id !== s.hub.id);
        const imports = s.a.imports().filter((i) => i.id !== s.hub.id);
        // Reachable => kept, as the same object, and the counts agree (so a later drop reclaims it).
        for (const [k, ref] of held) {
          const e = exports.find((x) => x.id === ref.id);
          expect(e?.object).toBe(objects[k]);
        }
        expect(new Map(exports.map((e) => [e.id, e.count]))).toEqual(
          new Map(imports.map((i) => [i.id, i.count])),
        );
        // Kept => reachable: every export left is one Alice's code still holds.
        expect(exports.map((e) => e.id).sort()).toEqual([...held.values()].map((r) => r.id).sort());
        expect(hubId).toBeDefined();
        s.a.close();
        await s.wire.flush();
      }),
      { numRuns: 60 },
    );
  });
});

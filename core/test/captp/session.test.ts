/** Sessions between vats in one process: handshake, live references, strands, pipelining, breakage, GC. */
import { describe, expect, it } from 'vitest';
import {
  call,
  encodeMessage,
  memoryLinkPair,
  type RemoteRef,
  release,
  sendOnly,
} from '../../src/captp/index.ts';
import { connect, counter, logOf, makeVat, rejection, share } from './helpers.ts';

async function until(f: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function twoVats(latencyMs = 0) {
  const alice = await makeVat('alice');
  const bob = await makeVat('bob');
  const [a, b] = await connect(alice, bob, latencyMs);
  return { alice, bob, a, b };
}

describe('handshake', () => {
  it('authenticates both DIDs, agrees on one session id, and moves the epoch on at each reconnect', async () => {
    const { alice, bob, a, b } = await twoVats();
    expect(a.peer).toBe(bob.did);
    expect(b.peer).toBe(alice.did);
    expect(a.id).toEqual(b.id);
    expect([a.epoch, b.epoch]).toEqual([1, 1]);
    a.close();
    const [a2, b2] = await connect(alice, bob);
    expect([a2.epoch, b2.epoch]).toEqual([2, 2]);
    expect(a2.id).not.toEqual(a.id);
  });

  it('keeps moving the epoch on after both vats restart on their stores', async () => {
    const alice = await makeVat('alice');
    const bob = await makeVat('bob');
    await connect(alice, bob);
    const [a2] = await connect(alice, bob);
    expect(a2.epoch).toBe(2);
    alice.close();
    bob.close();
    // The epoch is written in the background; wait until both stores hold epoch 2.
    const written = async (v: typeof alice) => (await v.store.list('captp-epochs')).map((e) => e.value[0]);
    for (let i = 0; i < 200 && String([await written(alice), await written(bob)]) !== '2,2'; i++)
      await new Promise((r) => setTimeout(r, 10));
    const alice2 = await makeVat('alice', { seed: alice.seed, store: alice.store });
    const bob2 = await makeVat('bob', { seed: bob.seed, store: bob.store });
    const [a3, b3] = await connect(alice2, bob2);
    expect([a3.epoch, b3.epoch]).toEqual([3, 3]);
  });

  it('refuses a peer that is not the expected DID', async () => {
    const alice = await makeVat('alice');
    const bob = await makeVat('bob');
    const mallory = await makeVat('mallory');
    const [la, lb] = memoryLinkPair();
    const accepted = mallory.accept(lb);
    expect((await rejection(alice.connect(la, { expect: bob.did }))).code).toBe('E_UNTRUSTED');
    expect((await rejection(accepted)).code).toBe('E_UNTRUSTED');
  });

  it('refuses a peer that claims a DID without proving it', async () => {
    const alice = await makeVat('alice');
    const bob = await makeVat('bob');
    const [la, lb] = memoryLinkPair();
    lb.listen({ frame: () => undefined, closed: () => undefined });
    const opening = alice.connect(la, { expect: bob.did });
    lb.send(encodeMessage({ op: 'hello', v: 1, did: bob.did, nonce: new Uint8Array(32).fill(1), epoch: 1 }));
    lb.send(encodeMessage({ op: 'auth', sig: new Uint8Array(64).fill(3) }));
    expect((await rejection(opening)).code).toBe('E_BAD_SIGNATURE');
  });

  it('aborts cleanly on malformed or out-of-protocol frames, and breaks what was pending', async () => {
    const { a, b } = await twoVats();
    const [la, lb] = memoryLinkPair();
    const bob2 = await makeVat('bob2');
    const alice2 = await makeVat('alice2');
    const accepted = bob2.accept(lb);
    const s = await alice2.connect(la);
    const pending = call(s.bootstrap(), 'fetch', ['x', new Uint8Array(32)]);
    la.send(Uint8Array.of(0xff));
    expect((await (await accepted).done)?.code).toBe('E_DECODE');
    expect((await s.done)?.code).toBe('E_DECODE');
    expect(['E_DECODE', 'E_NOT_FOUND']).toContain((await rejection(pending.promise)).code);
    // A well-formed message that the protocol does not allow here: a finish for no answer.
    const [la2, lb2] = memoryLinkPair();
    const acc2 = bob2.accept(lb2);
    const s2 = await alice2.connect(la2);
    la2.send(encodeMessage({ op: 'finish', ans: 99 }));
    expect((await (await acc2).done)?.code).toBe('E_INVALID');
    expect(s2.isOpen).toBe(false);
    // The first pair is untouched.
    expect(a.isOpen && b.isOpen).toBe(true);
  });
});

describe('live references', () => {
  it('round-trips calls in order on a strand, with results in order', async () => {
    const { alice, bob, a } = await twoVats();
    const c = counter();
    const remote = await share(bob, alice, a, c);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => call(remote, 'inc', [i]).promise));
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    sendOnly(remote, 'inc', ['last']);
    expect(await call(remote, 'get').promise).toEqual([...Array.from({ length: 50 }, (_, i) => i), 'last']);
  });

  it('passes references both ways: a reference handed back is the exporter’s own object', async () => {
    const { alice, bob, a } = await twoVats();
    const remote = await share(bob, alice, a, counter());
    const mine = counter('mine');
    expect(await call(remote, 'echo', [mine]).promise).toBe(mine);
    const child = await call(remote, 'make').promise;
    expect(await call(remote, 'echo', [child]).promise).toBe(child);
  });

  it('enforces the rights of a reference on every call (E_DENIED)', async () => {
    const { alice, bob, a } = await twoVats();
    const c = counter();
    const readOnly = await share(bob, alice, a, c, [{ t: 'actions', actions: ['get'] }]);
    expect(await call(readOnly, 'get').promise).toEqual([]);
    expect((await rejection(call(readOnly, 'inc', [1]).promise)).code).toBe('E_DENIED');
    expect(logOf(c)).toEqual([]);
  });

  it('kills imports when the session ends, and the exporter forgets its exports', async () => {
    const { alice, bob, a, b } = await twoVats();
    const remote = await share(bob, alice, a, counter());
    expect(b.exports()).toHaveLength(1);
    const inFlight = call(remote, 'slow', [200]);
    b.close();
    expect((await rejection(inFlight.promise)).code).toBe('E_UNREACHABLE');
    expect((await rejection(call(remote, 'get').promise)).code).toBe('E_UNREACHABLE');
    expect(b.exports()).toEqual([]);
    await until(() => !a.isOpen);
    expect(a.imports()).toEqual([]);
    expect(alice.sessions()).toEqual([]);
  });
});

describe('strands', () => {
  it('a call held on a pending promise holds its own strand only', async () => {
    const { alice, bob, a } = await twoVats();
    const remote = await share(bob, alice, a, counter());
    const pending = call(remote, 'slow', [150]); // resolves to data after 150 ms
    const held = call(pending, 'inc', ['held'], { strand: 1 });
    const behind = call(remote, 'inc', ['behind'], { strand: 1 });
    const free = call(remote, 'inc', ['free'], { strand: 2 });
    expect(await free.promise).toBe(1);
    expect(await behind.promise).toBe(2);
    expect((await rejection(held.promise)).code).toBe('E_INVALID');
  });

  it('refuses a strand id outside the table', async () => {
    const { a } = await twoVats();
    expect(() => call(a.bootstrap(), 'fetch', [], { strand: 64 })).toThrow(
      expect.objectContaining({ code: 'E_ARGUMENT' }),
    );
  });
});

describe('promise pipelining', () => {
  it('three dependent calls over a 50 ms link cost about one round trip', async () => {
    const { alice, bob, a } = await twoVats(50);
    const root = await share(bob, alice, a, counter('root'));
    const start = performance.now();
    const first = call(root, 'make', ['one']);
    const second = call(first, 'make', ['two']);
    const third = call(second, 'inc', ['x']);
    expect(await third.promise).toBe(1);
    const elapsed = performance.now() - start;
    expect(elapsed).toBeGreaterThanOrEqual(95);
    expect(elapsed).toBeLessThan(200); // under 2 RTT; one call after another would take 300 ms
  });

  it('a broken promise breaks every call pipelined on it, with the reason', async () => {
    const { alice, bob, a, b } = await twoVats(5);
    const root = await share(bob, alice, a, counter('root'));
    const broken = call(root, 'fail', ['E_DENIED']);
    const next = call(broken, 'make');
    const after = call(next, 'inc', [1]);
    for (const p of [broken, next, after]) {
      const e = await rejection(p.promise);
      expect(e.code).toBe('E_DENIED');
      expect(e.message).toContain('failed on purpose');
    }
    // Called after it broke (known locally): the same reason, at once.
    expect((await rejection(call(broken, 'inc').promise)).code).toBe('E_DENIED');
    await until(() => b.answerCount() === 0);
  });
});

describe('distributed GC', () => {
  it('reclaims an export when its importer drops it, and everything when the session dies', async () => {
    const { alice, bob, a, b } = await twoVats();
    const root = await share(bob, alice, a, counter('root'));
    const child = (await call(root, 'make', ['child']).promise) as RemoteRef;
    expect(
      b
        .exports()
        .map((e) => e.object.label)
        .sort(),
    ).toEqual(['child', 'root']);
    release(child);
    await until(() => b.exports().length === 1);
    expect(b.exports()[0]!.object.label).toBe('root');
    expect((await rejection(call(child, 'get').promise)).code).toBe('E_ARGUMENT');
    // The same object sent again: one export whose count says how many descriptors are out.
    const other = (await call(root, 'make', ['other']).promise) as RemoteRef;
    expect(await call(other, 'self').promise).toBe(other);
    expect(await call(other, 'self').promise).toBe(other);
    const entry = b.exports().find((e) => e.object.label === 'other')!;
    expect(entry.count).toBe(3);
    expect(a.imports()).toContainEqual({ id: entry.id, count: 3 });
    release(other);
    release(root);
    await until(() => b.exports().length === 0);
    const again = await share(bob, alice, a, counter('again'));
    expect(b.exports()).toHaveLength(1);
    a.close();
    await until(() => b.exports().length === 0);
    expect((await rejection(call(again, 'get').promise)).code).toBe('E_UNREACHABLE');
  });
});

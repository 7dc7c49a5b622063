/**
 * The relay end to end, in-process: a real libp2p relay with a real SQLite file, and the real client
 * over loopback. Every contract operation is exercised here through `connectRelay`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRevocation, type RevocationRecord, signRevocation } from '../../src/caps/revocation.ts';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import {
  openSealed,
  seal,
  x25519FromEd25519Public,
  x25519FromEd25519Seed,
} from '../../src/crypto/sealed-box.ts';
import { encodeCbor } from '../../src/encoding/cbor.ts';
import { ed25519FromDidKey } from '../../src/encoding/did-key.ts';
import { INBOX_ORIGIN } from '../../src/inbox/client.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import { MAX_REVOCATIONS_PER_CALL, OPS } from '../../src/net/contract.ts';
import { publishSigned, TOPICS } from '../../src/net/gossip.ts';
import { createLightNode, dialRelay } from '../../src/net/node.ts';
import { callRpc } from '../../src/net/rpc.ts';
import type { Relay } from '../../src/node/relay/relay.ts';
import { codeOf } from '../caps/fixtures.ts';
import { person, saltOf, tempHome, testRelay, turnOn } from './fixtures.ts';

const alice = person(1);
const bob = person(2);
let home: ReturnType<typeof tempHome>;
let relay: Relay;
let client: RelayClient;
let aliceCell: string;
let bobCell: string;

beforeAll(async () => {
  home = tempHome();
  relay = await testRelay(home.dir);
  client = await connectRelay(relay.multiaddrs, { relay: relay.did });
  aliceCell = (await client.openCell(alice.did, saltOf(1))).id;
  bobCell = (await client.openCell(bob.did, saltOf(2))).id;
}, 60_000);

afterAll(async () => {
  await client?.close();
  await relay?.stop();
  home?.remove();
});

describe('relay: the turn notary over the contract', () => {
  it('introduces itself as the relay it is', () => {
    expect(client.info).toMatchObject({ relay: relay.did, ledger: 'main', contract: 1 });
  });

  it('opens a cell once, with the opening grant recorded as issued; a retried open is the same event', async () => {
    expect((await client.cell(aliceCell))?.balance).toBe(1000n);
    const height = relay.notary.height();
    expect((await client.openCell(alice.did, saltOf(1))).id).toBe(aliceCell);
    expect(relay.notary.height()).toBe(height);
    expect((await relay.notary.audit()).issued).toBe(2000n);
  });

  it('orders a turn, signs its receipt and proves it is in the log under a signed root', async () => {
    const turn = await turnOn(client, alice, aliceCell, [
      { type: 'transfer', from: aliceCell, to: bobCell, amount: 25n },
    ]);
    const first = await client.submitTurn(turn);
    expect(first.duplicate).toBe(false);
    expect(first.receipt.executor).toBe(relay.did);
    expect((await client.cell(bobCell))?.balance).toBe(1025n);
    const root = await client.verifyInclusion(first.receipt);
    expect(root.height).toBeGreaterThan(first.seq);

    // The same submission again is the same event: same place, same receipt, no second transfer.
    const again = await client.submitTurn(turn);
    expect(again).toMatchObject({ seq: first.seq, duplicate: true });
    expect(again.receipt).toEqual(first.receipt);
    expect((await client.cell(bobCell))?.balance).toBe(1025n);

    const receipts = await client.receipts(alice.did);
    expect(receipts.map((r) => r.turn)).toContain(first.receipt.turn);
  });

  it('refuses a second spend of the same state and a replayed nonce', async () => {
    const a = await turnOn(client, alice, aliceCell, [
      { type: 'transfer', from: aliceCell, to: bobCell, amount: 900n },
    ]);
    const b = await turnOn(client, alice, aliceCell, [
      { type: 'transfer', from: aliceCell, to: bobCell, amount: 901n },
    ]);
    const outcomes = await Promise.allSettled([client.submitTurn(a), client.submitTurn(b)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason.code).toBe('E_STALE');
  });

  it('refuses a turn with a bad signature with a clear code, and keeps serving', async () => {
    const turn = await turnOn(client, alice, aliceCell, [
      { type: 'set-field', cell: aliceCell, key: 'k', value: 1 },
    ]);
    const forged = { ...turn, signature: turn.signature.map((x, i) => (i === 0 ? x ^ 1 : x)) };
    expect(await codeOf(client.submitTurn(forged))).toBe('E_BAD_SIGNATURE');
    expect((await client.submitTurn(turn)).duplicate).toBe(false);
  });

  it('answers malformed requests with E_DECODE or E_INVALID and stays up', async () => {
    const node = await createLightNode();
    try {
      const connection = await dialRelay(node, relay.multiaddrs);
      for (const [op, bytes] of [
        [OPS.submitTurn, new Uint8Array([0xff, 0x00, 0x13])],
        [OPS.receipts, new Uint8Array([0xa0])],
        [OPS.deposit, new Uint8Array(100)],
        [OPS.open, new Uint8Array([0xa1, 0x61, 0x76, 0x02])],
      ] as const) {
        const code = await codeOf(callRpc(node, connection.remotePeer, op, bytes));
        expect(['E_DECODE', 'E_INVALID']).toContain(code);
      }
    } finally {
      await node.stop();
    }
    expect((await client.latestRoot()).relay).toBe(relay.did);
  });
});

describe('relay: inboxes over the contract', () => {
  it('stores a sealed box for a DID and hands it only to that DID, checked against its history', async () => {
    const plaintext = new TextEncoder().encode('a capability for bob');
    const box = seal(x25519FromEd25519Public(ed25519FromDidKey(bob.did)), plaintext);
    const request = {
      recipient: bob.did,
      ciphertext: box,
      ttl: 3600,
      deposit: 0n,
      idempotencyKey: new Uint8Array(16).fill(7),
    };
    const receipt = await client.deposit(request);
    expect((await client.deposit(request)).seq).toBe(receipt.seq); // a retry is one deposit

    expect(await codeOf(client.drain({ did: bob.did, seed: alice.seed, acked: INBOX_ORIGIN }))).toBe(
      'E_BAD_SIGNATURE',
    );
    const page = await client.drain({ did: bob.did, seed: bob.seed, acked: INBOX_ORIGIN });
    expect(page.delivered).toHaveLength(1);
    expect(openSealed(x25519FromEd25519Seed(bob.seed), page.delivered[0]!.ciphertext!)).toEqual(plaintext);
    expect(page.ack.height).toBe(1);
    const next = await client.drain({ did: bob.did, seed: bob.seed, acked: page.head });
    expect(next.delivered).toHaveLength(0);
  });
});

describe('relay: gossip and operations', () => {
  it('gossips a revocation handed to it to subscribed light nodes', async () => {
    const listener = await connectRelay(relay.multiaddrs);
    try {
      const got = new Promise<RevocationRecord>((resolve) => listener.onRevocation(resolve));
      const record = await signRevocation(
        { kind: 'epoch', epoch: 3, by: alice.did, at: Math.floor(Date.now() / 1000) },
        alice.seed,
        nobleEd25519,
      );
      // Gossipsub needs the mesh to form; publish until the subscriber hears it.
      let heard: RevocationRecord | undefined;
      got.then((r) => {
        heard = r;
      });
      for (let i = 0; i < 40 && heard === undefined; i++) {
        await client.publishRevocation(record);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(heard).toEqual(record);
    } finally {
      await listener.close();
    }
  }, 30_000);

  it('routes gossip between light nodes and drops what is malformed, counting it', async () => {
    const [a, b] = [await createLightNode(), await createLightNode()];
    const [ca, cb] = [
      await connectRelay(relay.multiaddrs, { node: a }),
      await connectRelay(relay.multiaddrs, { node: b }),
    ];
    try {
      let heard: RevocationRecord | undefined;
      cb.onRevocation((r) => {
        heard = r;
      });
      const record = await signRevocation(
        { kind: 'epoch', epoch: 9, by: bob.did, at: Math.floor(Date.now() / 1000) },
        bob.seed,
        nobleEd25519,
      );
      a.services.pubsub.subscribe(TOPICS.revocations);
      for (let i = 0; i < 40 && heard === undefined; i++) {
        await publishSigned(a, TOPICS.revocations, encodeRevocation(record), bob.seed, nobleEd25519).catch(
          () => undefined,
        );
        await a.services.pubsub.publish(TOPICS.revocations, new Uint8Array([0xff, i])).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(heard).toEqual(record);
      // What light nodes gossip directly is in the relay's revocation log too.
      await expect.poll(async () => (await cb.revocationsSince(0)).records).toContainEqual(record);
      const metrics = await (await fetch(`${relay.http}/metrics`)).text();
      expect(metrics).toMatch(
        /cipherclerk_dropped_total\{where="gossip cipherclerk\/v1\/revocations",reason="malformed"\} [1-9]/,
      );
    } finally {
      await ca.close();
      await cb.close();
      await a.stop();
      await b.stop();
    }
  }, 30_000);

  it('keeps every revocation it verified, so a light node that was offline catches up', async () => {
    const before = await client.revocationsSince(0);
    const records = await Promise.all(
      [11, 12, 13].map((epoch) =>
        signRevocation(
          { kind: 'epoch', epoch, by: alice.did, at: Math.floor(Date.now() / 1000) },
          alice.seed,
          nobleEd25519,
        ),
      ),
    );
    for (const r of records) await client.publishRevocation(r);
    await client.publishRevocation(records[0]!); // handed over again: logged once
    const late = await connectRelay(relay.multiaddrs, { relay: relay.did });
    try {
      const caught = await late.revocationsSince(before.next);
      expect(caught.records).toEqual(records);
      expect(caught.next).toBe(before.next + 3);
      expect((await late.revocationsSince(caught.next)).records).toEqual([]);
      // A place past the end (the relay's log was started afresh) reads the log from its start.
      expect((await late.revocationsSince(caught.next + 100)).next).toBe(caught.next);
    } finally {
      await late.close();
    }
  });

  it('pages a long revocation log and refuses a malformed query with a code', async () => {
    const { next } = await client.revocationsSince(0);
    const many = MAX_REVOCATIONS_PER_CALL + 5;
    for (let i = 0; i < many; i++)
      await client.publishRevocation(
        await signRevocation({ kind: 'epoch', epoch: 100 + i, by: bob.did, at: 1 }, bob.seed, nobleEd25519),
      );
    const all = await client.revocationsSince(next);
    expect(all.records.map((r) => (r.kind === 'epoch' ? r.epoch : -1))).toEqual(
      Array.from({ length: many }, (_, i) => 100 + i),
    );
    const node = await createLightNode();
    try {
      const connection = await dialRelay(node, relay.multiaddrs);
      for (const bytes of [new Uint8Array([0xa1, 0x61, 0x76, 0x01]), encodeCbor({ v: 1, from: -1 })])
        expect(['E_DECODE', 'E_INVALID']).toContain(
          await codeOf(callRpc(node, connection.remotePeer, OPS.revocationsSince, bytes)),
        );
    } finally {
      await node.stop();
    }
  }, 60_000);

  it('serves /healthz and /metrics with the supply audit balanced', async () => {
    const health = await (await fetch(`${relay.http}/healthz`)).json();
    expect(health).toMatchObject({ ok: true, relay: relay.did, supplyDelta: '0' });
    const metrics = await (await fetch(`${relay.http}/metrics`)).text();
    expect(metrics).toMatch(/cipherclerk_supply\{part="delta"\} 0\n/);
    expect(metrics).toMatch(/cipherclerk_rpc_requests_total\{op="turn\/submit",outcome="ok"\} [1-9]/);
    expect(metrics).toMatch(
      /cipherclerk_rpc_requests_total\{op="turn\/submit",outcome="E_BAD_SIGNATURE"\} 1/,
    );
    expect((await fetch(`${relay.http}/anything`)).status).toBe(404);
  });
});

describe('relay: restart', () => {
  it('comes back as the same relay with the same log, and old receipts still prove inclusion', async () => {
    const receipts = await client.receipts(alice.did);
    const height = relay.notary.height();
    const revocations = await client.revocationsSince(0);
    const { did, peerId } = relay;
    const certhash = (addrs: readonly string[]) =>
      addrs.find((a) => a.includes('/certhash/'))?.split('/certhash/')[1];
    const before = certhash(relay.multiaddrs);
    await client.close();
    await relay.stop();
    relay = await testRelay(home.dir);
    client = await connectRelay(relay.multiaddrs, { relay: did });
    expect(relay.peerId).toBe(peerId);
    // The webrtc-direct certificate is kept: the address a browser was given still names this relay.
    expect(before).toMatch(/^u[A-Za-z0-9_-]{40,}/);
    expect(certhash(relay.multiaddrs)).toBe(before);
    expect(relay.notary.height()).toBe(height);
    await client.verifyInclusion(receipts[0]!);
    expect((await client.cell(bobCell))?.balance).toBeGreaterThan(1000n);
    expect(await client.revocationsSince(0)).toEqual(revocations);
  }, 60_000);
});

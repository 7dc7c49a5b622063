/**
 * The light node with a real relay (in this process, real SQLite, real libp2p over loopback WebSocket):
 * offline delivery through the inbox, the inbox reference an oversized QR carries, catching up on
 * revocations missed while offline, channel and epoch revocation, and the peers list.
 */
import { ed25519FromDidKey, seal, x25519FromEd25519Public } from '@cipherclerk/core';
import { connectRelay } from '@cipherclerk/core/net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Relay } from '../../core/src/node/relay/relay.ts';
import { codeOf } from '../../core/test/caps/fixtures.ts';
import { tempHome, testRelay } from '../../core/test/relay/fixtures.ts';
import { referenceFromText } from '../src/node/inbox.ts';
import { newWallet } from './wallets.ts';

/** The QR limit the dashboard uses (web/src/lib/qr.ts MAX_QR_TEXT). */
const MAX_QR_TEXT = 1460;

let home: ReturnType<typeof tempHome>;
let relay: Relay;
let ws: string[];

beforeAll(async () => {
  home = tempHome();
  relay = await testRelay(home.dir);
  ws = relay.multiaddrs.filter((m) => m.includes('/ws/'));
}, 60_000);

afterAll(async () => {
  await relay?.stop();
  home?.remove();
});

const read = { service: 'storage', action: 'read' };

describe('the light node with a relay', () => {
  it('offline delivery: Alice seals a delegation to closed Bob; Bob drains, inspects, accepts; the service allows it', async () => {
    const alice = await newWallet();
    const bob = await newWallet();
    await alice.node.connect(ws);
    const token = await alice.node.mint({ service: 'storage', actions: ['read', 'write'] });
    const d = await alice.node.delegate({ from: token.id, recipient: bob.did, actions: ['read'], ttl: 3600 });
    expect(await codeOf(bob.node.sendToInbox(d.hash))).toBe('E_NOT_FOUND'); // not Bob's to send
    const sent = await alice.node.sendToInbox(d.hash);
    expect(sent).toMatchObject({ to: bob.did, relay: relay.did });
    try {
      await alice.node.disconnect();

      expect(await codeOf(bob.node.drainInbox())).toBe('E_UNREACHABLE');
      await bob.node.connect(ws);
      const drained = await bob.node.drainInbox();
      expect(drained).toMatchObject({ fresh: 1, expired: 0 });
      const [m] = drained.messages;
      expect(m).toMatchObject({
        kind: 'delegation',
        state: 'new',
        relay: relay.did,
        seq: sent.seq,
        text: d.text,
      });
      expect(m!.inspection).toMatchObject({
        issuer: alice.did,
        holder: bob.did,
        effective: { actions: ['read'] },
      });
      expect(bob.events).toContainEqual({ type: 'inbox', fresh: 1 });
      expect(bob.events.some((e) => e.type === 'progress' && e.label === 'Draining your inbox')).toBe(true);
      // A second drain finds nothing new; what was read stays listed (the relay has forgotten it).
      expect((await bob.node.drainInbox()).fresh).toBe(0);
      expect(await bob.node.inbox()).toHaveLength(1);

      const held = await bob.node.acceptMessage(m!.id);
      expect(held.hash).toBe(d.hash);
      expect((await bob.node.inbox())[0]!.state).toBe('accepted');
      expect(await alice.node.verify(held.text, read)).toEqual({ allowed: true });
      expect(await alice.node.verify(held.text, { ...read, action: 'write' })).toMatchObject({
        allowed: false,
        code: 'E_DENIED',
      });
    } finally {
      await bob.node.disconnect();
    }
  }, 60_000);

  it('an unreadable box is listed with its code, not thrown; a dismissed message stays dismissed', async () => {
    const alice = await newWallet();
    const bob = await newWallet();
    await alice.node.connect(ws);
    const token = await alice.node.mint({ service: 'mail' });
    // Anyone can deposit anything in anyone's inbox: a box sealed to someone else, and plain words.
    const d = await alice.node.delegate({ from: token.id, recipient: bob.did });
    const client = await connectRelay(ws);
    try {
      const box = (to: string, text: string) =>
        seal(x25519FromEd25519Public(ed25519FromDidKey(to)), new TextEncoder().encode(text));
      for (const [i, ciphertext] of [box(alice.did, 'sealed to Alice'), box(bob.did, 'hello Bob')].entries())
        await client.deposit({
          recipient: bob.did,
          ciphertext,
          ttl: 600,
          deposit: 0n,
          idempotencyKey: new Uint8Array(16).fill(i + 1),
        });
    } finally {
      await client.close();
    }
    await alice.node.sendToInbox(d.hash);
    await alice.node.disconnect();
    await bob.node.connect(ws);
    try {
      const { messages } = await bob.node.drainInbox();
      expect(messages.map((m) => m.kind).sort()).toEqual(['delegation', 'unreadable', 'unreadable']);
      const [junk, words] = messages.filter((m) => m.kind === 'unreadable').sort((a, b) => a.seq - b.seq);
      expect(junk!.error).toMatchObject({
        code: 'E_DECODE',
        message: expect.stringContaining('not a sealed box for you'),
      });
      expect(words!.error?.code).toBe('E_DECODE');
      expect(await codeOf(bob.node.acceptMessage(junk!.id))).toBe('E_DECODE');
      expect((await bob.node.dismissMessage(junk!.id)).state).toBe('dismissed');
      expect((await bob.node.inbox()).find((m) => m.id === junk!.id)?.state).toBe('dismissed');
      expect(await codeOf(bob.node.acceptMessage('nothing/000000000001'))).toBe('E_NOT_FOUND');
    } finally {
      await bob.node.disconnect();
    }
  }, 60_000);

  it('an oversized delegation goes by inbox reference: the QR names the message, scanning it drains and shows it', async () => {
    const alice = await newWallet();
    const bob = await newWallet();
    const carol = await newWallet();
    await alice.node.connect(ws);
    const actions = Array.from({ length: 60 }, (_, i) => `action-number-${i}`);
    const token = await alice.node.mint({ service: 'storage', actions });
    const plain = await alice.node.mint({ service: 'storage' });
    const small = await alice.node.delegate({ from: plain.id, recipient: bob.did });
    const big = await alice.node.delegate({ from: token.id, recipient: bob.did, actions });
    // The dashboard's size decision (web/test/qr.test.ts) sends the one and not the other by reference.
    expect(small.text.length).toBeLessThanOrEqual(MAX_QR_TEXT);
    expect(big.text.length).toBeGreaterThan(MAX_QR_TEXT);

    const sent = await alice.node.sendToInbox(big.hash);
    const qr = sent.reference;
    expect(qr.length).toBeLessThan(300);
    expect(referenceFromText(qr)).toMatchObject({ relay: relay.did, recipient: bob.did, seq: sent.seq });
    await alice.node.disconnect();

    await bob.node.connect(ws);
    await carol.node.connect(ws);
    try {
      expect(await codeOf(carol.node.openReference(qr))).toBe('E_AUDIENCE');
      expect(await codeOf(bob.node.openReference(`${qr}0`))).toBe('E_DECODE');
      const tampered = qr.replace(/[0-9a-f]{8}$/, '00000000');
      const shown = await bob.node.openReference(qr);
      expect(shown).toMatchObject({ kind: 'delegation', text: big.text, state: 'new' });
      expect(await codeOf(bob.node.openReference(tampered))).toBe('E_INVALID');
      expect((await bob.node.acceptMessage(shown.id)).hash).toBe(big.hash);
    } finally {
      await bob.node.disconnect();
      await carol.node.disconnect();
    }
  }, 60_000);

  it('catches up on revocations missed while offline, and remembers where it stopped', async () => {
    const alice = await newWallet();
    const bob = await newWallet();
    await alice.node.connect(ws);
    const token = await alice.node.mint({ service: 'storage' });
    const d = await alice.node.delegate({ from: token.id, recipient: bob.did, ttl: 3600 });
    await bob.node.accept(d.text, alice.did);
    expect((await bob.node.capabilities()).held[0]!.status.state).toBe('valid');
    // Bob is not connected: gossip cannot reach him.
    await alice.node.revoke(d.hash);
    await alice.node.disconnect();
    expect((await bob.node.capabilities()).held[0]!.status.state).toBe('valid');

    const online = await bob.node.connect(ws);
    try {
      expect(online.state).toBe('online');
      expect(online.error).toBeUndefined();
      const held = (await bob.node.capabilities()).held[0]!;
      expect(held.status).toMatchObject({ state: 'revoked', code: 'E_REVOKED' });
      expect(bob.events).toContainEqual({ type: 'revocation', by: alice.did, subject: d.hash });
    } finally {
      await bob.node.disconnect();
    }
    // Next time it asks only for what came after (nothing new: no second event).
    const before = bob.events.filter((e) => e.type === 'revocation').length;
    await bob.node.connect(ws);
    await bob.node.disconnect();
    expect(bob.events.filter((e) => e.type === 'revocation').length).toBe(before);
  }, 60_000);

  it('a revocation heard by gossip and again by catch-up is applied once and announced once', async () => {
    const alice = await newWallet();
    const bob = await newWallet();
    await alice.node.connect(ws);
    const token = await alice.node.mint({ service: 'storage' });
    const d = await alice.node.delegate({ from: token.id, recipient: bob.did, ttl: 3600 });
    await bob.node.accept(d.text, alice.did);
    await bob.node.connect(ws);
    // The relay's log is shared: Bob also learns other tests' revocations; count only this one.
    const revocations = () => bob.events.filter((e) => e.type === 'revocation' && e.subject === d.hash);
    try {
      await alice.node.revoke(d.hash);
      // Gossip brings it while Bob is online; his catch-up place stays where it was.
      for (let i = 0; i < 200 && revocations().length === 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(revocations()).toEqual([{ type: 'revocation', by: alice.did, subject: d.hash }]);
    } finally {
      await bob.node.disconnect();
      await alice.node.disconnect();
    }
    // Reconnecting, catch-up returns the same record: nothing new, so no second event.
    await bob.node.connect(ws);
    await bob.node.disconnect();
    expect(revocations()).toHaveLength(1);
    expect((await bob.node.capabilities()).held[0]!.status.state).toBe('revoked');
  }, 60_000);

  it('revokes by channel (one delegation) and by epoch (all earlier ones), and Bob learns both', async () => {
    const alice = await newWallet();
    const bob = await newWallet();
    await alice.node.connect(ws);
    const token = await alice.node.mint({ service: 'storage' });
    const byChannel = await alice.node.delegate({ from: token.id, recipient: bob.did, channel: true });
    const plain = await alice.node.delegate({ from: token.id, recipient: bob.did });
    expect(byChannel.channel).toMatchObject({ tripped: false });
    expect(plain.channel).toBeUndefined();
    for (const d of [byChannel, plain]) await bob.node.accept(d.text, alice.did);

    await alice.node.tripChannel(byChannel.channel!.id);
    expect(await alice.node.verify(byChannel.text, read)).toMatchObject({
      allowed: false,
      code: 'E_REVOKED',
    });
    expect(await alice.node.verify(plain.text, read)).toEqual({ allowed: true });
    const issued = (await alice.node.capabilities()).issued;
    expect(issued.find((d) => d.hash === byChannel.hash)?.channel?.tripped).toBe(true);
    expect(await codeOf(alice.node.tripChannel('00'.repeat(16)))).toBe('E_NOT_FOUND');

    expect((await alice.node.capabilities()).epoch).toBe(0);
    expect(await alice.node.bumpEpoch()).toEqual({ epoch: 1 });
    expect(await alice.node.verify(plain.text, read)).toMatchObject({
      allowed: false,
      code: 'E_STALE_EPOCH',
    });
    const fresh = await alice.node.delegate({ from: token.id, recipient: bob.did });
    expect(await alice.node.verify(fresh.text, read)).toEqual({ allowed: true });
    await alice.node.disconnect();

    await bob.node.connect(ws);
    try {
      const held = (await bob.node.capabilities()).held;
      expect(held.find((h) => h.hash === byChannel.hash)?.status.code).toBe('E_REVOKED');
      expect(held.find((h) => h.hash === plain.hash)?.status.code).toBe('E_STALE_EPOCH');
    } finally {
      await bob.node.disconnect();
    }
  }, 60_000);

  it('cells and turns: opens cells, runs a turn here, submits it; the receipt matches and is in the attested log', async () => {
    const alice = await newWallet();
    expect(await codeOf(alice.node.cells())).toBe('E_UNREACHABLE');
    await alice.node.connect(ws);
    try {
      const mine = await alice.node.openCell();
      const other = await alice.node.openCell();
      expect(mine).toMatchObject({ owner: alice.did, mine: true, balance: '1000', nonce: 0, fields: [] });
      expect((await alice.node.cells()).map((c) => c.id)).toEqual([mine.id, other.id]);

      const preview = await alice.node.executeTurn(mine.id, [
        { type: 'set-field', key: 'greeting', value: 'hello' },
        { type: 'transfer', to: other.id, amount: '250' },
        { type: 'increment-nonce' },
      ]);
      expect(preview.before).toMatchObject({ balance: '1000', nonce: 0 });
      // The turn's own nonce step and the explicit increment: two.
      expect(preview.after).toMatchObject({
        balance: '750',
        nonce: 2,
        fields: [{ name: 'greeting', value: 'hello' }],
      });
      // Run here only: the relay has not seen it.
      expect((await alice.node.cells())[0]!.balance).toBe('1000');

      const receipt = await alice.node.submitTurn(preview.turn);
      expect(receipt).toMatchObject({
        turn: preview.turn,
        seq: 0,
        cell: mine.id,
        inclusion: { verified: true },
      });
      expect(await codeOf(alice.node.submitTurn(preview.turn))).toBe('E_NOT_FOUND'); // used up
      const [after, credited] = await alice.node.cells();
      expect(after).toMatchObject({ balance: '750', nonce: 2 });
      expect(credited!.balance).toBe('1250');

      // Bob pays into Alice's cell between her local run and her submission: her turn still lands,
      // and the receipt says the relay's result differs from the local one.
      const second = await alice.node.executeTurn(other.id, [{ type: 'transfer', to: mine.id, amount: '5' }]);
      const bob = await newWallet();
      await bob.node.connect(ws);
      try {
        const bobs = await bob.node.openCell();
        const pay = await bob.node.executeTurn(bobs.id, [{ type: 'transfer', to: mine.id, amount: '1' }]);
        expect((await bob.node.submitTurn(pay.turn)).matchesLocal).toBe(true);
      } finally {
        await bob.node.disconnect();
      }
      expect(await alice.node.submitTurn(second.turn)).toMatchObject({
        matchesLocal: false,
        inclusion: { verified: true },
      });
      expect((await alice.node.cells())[0]!.balance).toBe('756');
      const chain = await alice.node.receipts();
      expect(chain.chain).toEqual({ ok: true });
      expect(chain.receipts.map((r) => r.seq)).toEqual([1, 0]);
      expect(chain.receipts.every((r) => r.inclusion.verified)).toBe(true);

      // Refusals come from the local run, before anything is sent.
      expect(
        await codeOf(alice.node.executeTurn(mine.id, [{ type: 'transfer', to: other.id, amount: '999999' }])),
      ).toBe('E_INSUFFICIENT');
      expect(
        await codeOf(
          alice.node.executeTurn(mine.id, [{ type: 'transfer', to: 'f'.repeat(64), amount: '1' }]),
        ),
      ).toBe('E_NOT_FOUND');
      expect(
        await codeOf(alice.node.executeTurn(mine.id, [{ type: 'transfer', to: other.id, amount: '-1' }])),
      ).toBe('E_ARGUMENT');
      expect(await codeOf(alice.node.executeTurn(mine.id, []))).toBe('E_ARGUMENT');
      expect((await alice.node.receipts()).receipts).toHaveLength(2);
    } finally {
      await alice.node.disconnect();
    }
  }, 60_000);

  it('lists its peers with a measured latency, the relay among them', async () => {
    const alice = await newWallet();
    expect(await alice.node.peers()).toEqual([]);
    await alice.node.connect(ws);
    try {
      const peers = await alice.node.peers();
      const r = peers.find((p) => p.relay);
      expect(r?.peer).toBe(relay.peerId);
      expect(r?.latencyMs).toBeGreaterThanOrEqual(0);
      expect(r?.addresses.some((a) => a.includes('/ws'))).toBe(true);
    } finally {
      await alice.node.disconnect();
    }
  }, 60_000);
});

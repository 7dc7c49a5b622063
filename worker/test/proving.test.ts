/**
 * Proving turns in the light node (issue 7, the wallet part), with a real relay in this process and
 * the TypeScript kernels: a SetField + Transfer turn proved and verified with progress; the commitments
 * checked against the states and salts they must open to; the state the node keeps for a proved cell
 * after the relay accepts, and the next turn built on it; an uncovered turn refused while the node
 * goes on; and the proof secret never crossing the API.
 */
import { type Cell, identityFromMnemonic, isDreggError } from '@cipherclerk/core';
import { connectRelay, type RelayClient } from '@cipherclerk/core/net';
import { proofSecret, provedState, provedStateCommitment, stateSalt } from '@cipherclerk/core/proofs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Relay } from '../../core/src/node/relay/relay.ts';
import { tempHome, testRelay } from '../../core/test/relay/fixtures.ts';
import { digestHex, readProvedCell, writeProvedCell } from '../src/node/proving.ts';
import { newWallet, type Wallet } from './wallets.ts';

let home: ReturnType<typeof tempHome>;
let relay: Relay;
let ws: string[];
let client: RelayClient;

beforeAll(async () => {
  home = tempHome();
  relay = await testRelay(home.dir);
  ws = relay.multiaddrs.filter((m) => m.includes('/ws/'));
  client = await connectRelay(ws);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await relay?.stop();
  home?.remove();
});

/** A wallet, and what the test derives itself from its words to check its commitments and leaks. */
async function wallet(): Promise<Wallet & { seed: Uint8Array; secret: Uint8Array }> {
  const w = await newWallet();
  const seed = identityFromMnemonic(w.mnemonic).seed;
  return { ...w, seed, secret: proofSecret(seed) };
}

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (isDreggError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a DreggError');
}

const commitment = (cell: Cell, secret: Uint8Array) =>
  digestHex(provedStateCommitment(provedState(cell, stateSalt(secret, cell.id, cell.nonce))));

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** Everything a value holds, as text (bigints and bytes included), to search for a leaked secret. */
const dump = (v: unknown): string =>
  JSON.stringify(v, (_k, x) =>
    typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? toHex(x) : x,
  );

describe('proving turns in the light node', () => {
  it('proves a SetField + Transfer turn with progress and verifies it; sends proofs without transfers to the relay and keeps their state', async () => {
    const alice = await wallet();
    await alice.node.connect(ws);
    try {
      const mine = await alice.node.openCell();
      const other = await alice.node.openCell();
      const before = (await client.cell(mine.id))!;
      const preview = await alice.node.executeTurn(mine.id, [
        { type: 'set-field', key: 'greeting', value: 'hello' },
        { type: 'transfer', to: other.id, amount: '250' },
      ]);
      const returned: unknown[] = [preview];

      alice.events.length = 0;
      const proof = await alice.node.proveTurn(preview.turn);
      returned.push(proof);
      expect(proof).toMatchObject({
        turn: preview.turn,
        verified: true,
        rows: 128,
        gpu: false,
        prover: 'typescript',
        statement: { turnHash: preview.turn },
      });
      expect(proof.bytes).toBeGreaterThan(1000);
      expect(proof.proveMs).toBeGreaterThan(0);
      // The commitments open to the states before and after, each salted from this identity's secret.
      expect(proof.statement.oldCommitment).toBe(commitment(before, alice.secret));
      const expectedNext: Cell = { ...before, fields: { greeting: 'hello' }, nonce: 1, balance: 750n };
      expect(proof.statement.newCommitment).toBe(commitment(expectedNext, alice.secret));

      const progress = alice.events.flatMap((e) => (e.type === 'proof-progress' ? [e] : []));
      expect(progress.length).toBeGreaterThan(3);
      expect(progress.every((e) => e.turn === preview.turn)).toBe(true);
      const fractions = progress.map((e) => e.fraction);
      expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
      expect(fractions[0]).toBeGreaterThanOrEqual(0);
      expect(progress.at(-1)).toMatchObject({ phase: 'verified', fraction: 1 });

      // A proved transfer is not sent: the relay could credit nobody (no receiving side yet).
      expect((await refusal(alice.node.submitTurn(preview.turn))).code).toBe('E_UNSUPPORTED');
      expect(await client.provedHead(mine.id)).toBeUndefined();

      // Without the transfer it goes: the cell is registered (its genesis commitment computed by the
      // relay), the proof checked and ordered. Nothing is kept until the relay accepts the turn.
      const setField = await alice.node.executeTurn(mine.id, [
        { type: 'set-field', key: 'greeting', value: 'hello' },
      ]);
      const proved = await alice.node.proveTurn(setField.turn);
      expect(proved.statement.oldCommitment).toBe(commitment(before, alice.secret));
      expect(await readProvedCell(alice.store, mine.id)).toBeUndefined();
      const receipt = await alice.node.submitTurn(setField.turn);
      returned.push(setField, proved, receipt);
      expect(receipt).toMatchObject({ proved: true, matchesLocal: true, inclusion: { verified: true } });
      const kept = await readProvedCell(alice.store, mine.id);
      expect(kept).toEqual({ ...before, fields: { greeting: 'hello' }, nonce: 1 });
      expect(commitment(kept!, alice.secret)).toBe(proved.statement.newCommitment);
      const head = await client.provedHead(mine.id);
      expect(head && digestHex(head)).toBe(proved.statement.newCommitment);

      // The next turn starts from the kept state, not the relay's view: shown by a kept field the
      // relay never saw.
      const edited: Cell = { ...kept!, fields: { ...kept!.fields, note: 'kept here' } };
      await writeProvedCell(alice.store, edited);
      const next = await alice.node.executeTurn(mine.id, [{ type: 'increment-nonce' }]);
      returned.push(next, await alice.node.cells(), await alice.node.receipts());
      expect(next.before.fields).toContainEqual({ name: 'note', value: 'kept here' });
      expect(next.before).toMatchObject({ nonce: 1, balance: '1000' });
      const nextProof = await alice.node.proveTurn(next.turn);
      returned.push(nextProof);
      expect(nextProof.statement.oldCommitment).toBe(commitment(edited, alice.secret));
      // That proof starts from a state the relay does not hold: refused before anything is sent.
      expect((await refusal(alice.node.submitTurn(next.turn))).code).toBe('E_STALE');

      // From the true kept state the chain goes on, as proofs only: the relay's record of the cell stays
      // as registered, the list shows the kept state, and the receipt chain checks.
      await writeProvedCell(alice.store, kept!);
      const third = await alice.node.executeTurn(mine.id, [
        { type: 'set-field', key: 'greeting', value: 'again' },
      ]);
      await alice.node.proveTurn(third.turn);
      expect(await alice.node.submitTurn(third.turn)).toMatchObject({
        proved: true,
        inclusion: { verified: true },
      });
      const listed = (await alice.node.cells()).find((c) => c.id === mine.id);
      expect(listed).toMatchObject({ proved: true, nonce: 2, balance: '1000' });
      expect(listed?.fields).toContainEqual({ name: 'greeting', value: 'again' });
      const chain = await alice.node.receipts();
      expect(chain.chain).toEqual({ ok: true });
      returned.push(listed, chain);

      // The proof secret and the seed cross neither the answers nor the events.
      const everything = dump([...returned, ...alice.events]);
      expect(everything).not.toContain(toHex(alice.secret));
      expect(everything).not.toContain(toHex(alice.seed));
    } finally {
      await alice.node.disconnect();
    }
  }, 120_000);

  it('refuses a turn the AIR does not cover with E_INVALID in words, and goes on working', async () => {
    const bob = await wallet();
    await bob.node.connect(ws);
    try {
      const cell = await bob.node.openCell();
      const twoFields = await bob.node.executeTurn(cell.id, [
        { type: 'set-field', key: 'a', value: '1' },
        { type: 'set-field', key: 'b', value: '2' },
      ]);
      const r = await refusal(bob.node.proveTurn(twoFields.turn));
      expect(r.code).toBe('E_INVALID');
      expect(r.message).toMatch(/^This turn cannot be proved yet: .*one field/);
      expect((await refusal(bob.node.proveTurn('0'.repeat(64)))).code).toBe('E_NOT_FOUND');

      // The unproved turn still goes through the relay's executor, and a covered one proves after.
      expect(await bob.node.submitTurn(twoFields.turn)).toMatchObject({ inclusion: { verified: true } });
      expect(await readProvedCell(bob.store, cell.id)).toBeUndefined();
      const covered = await bob.node.executeTurn(cell.id, [{ type: 'set-field', key: 'a', value: '3' }]);
      expect(await bob.node.proveTurn(covered.turn)).toMatchObject({ verified: true });
    } finally {
      await bob.node.disconnect();
    }
  }, 120_000);
});

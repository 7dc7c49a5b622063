/**
 * Crash safety of the private path: a real `dregg relay` process is SIGKILLed while a client submits a
 * chain of proved turns, then restarted. Every acknowledged proved turn is in the log once (resubmitted,
 * it is a duplicate with its seq), the head is where the landed turns left it, the rest of the chain
 * continues from there, a double spend of a state spent before the kill is still refused with the
 * first spend's seq, and the operator's audit balances with every event counted once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import { spawnRelay } from '../../src/node/relay/spawn.ts';
import {
  type ProvedSubmission,
  proofSecret,
  proveTurn,
  signProvedRegistration,
  signProvedSubmission,
  stateSalt,
} from '../../src/proofs/index.ts';
import { signTurn } from '../../src/turns/turn.ts';
import { dregg } from '../cli/harness.ts';
import { person, saltOf, tempHome } from './fixtures.ts';

const CHAIN = 4;
const ed = nobleEd25519;
const alice = person(1);
const bob = person(2);

const start = (home: string) =>
  spawnRelay({ home, args: ['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--grant', '1000', '--json'] });

const home = tempHome();
afterAll(() => home.remove());

const same = (a: Uint32Array | undefined, b: Uint32Array) => a?.every((x, i) => x === b[i]);

describe('proved turns across a SIGKILL', () => {
  it('loses no acknowledged proved turn and applies none twice', async () => {
    let running = await start(home.dir);
    let client: RelayClient = await connectRelay(running.ready.multiaddrs);
    const secret = proofSecret(alice.seed);
    const ledger = client.info.ledger;
    let cell = await client.openCell(alice.did, saltOf(1));
    const payee = (await client.openCell(bob.did, saltOf(2))).id;
    await client.registerProvedCell(
      await signProvedRegistration(ledger, alice, cell.id, stateSalt(secret, cell.id, 0), ed),
    );

    // The wallet's side: a chain of proved turns, each from the state the one before left.
    const subs: ProvedSubmission[] = [];
    let rival: ProvedSubmission | undefined;
    const validUntil = Math.floor(Date.now() / 1000) + 3600;
    for (let k = 0; k < CHAIN; k++) {
      const turn = await signTurn(
        {
          ledger,
          agent: alice.did,
          cell: cell.id,
          nonce: cell.nonce,
          prev: null,
          effects: [
            { type: 'set-field', cell: cell.id, key: 'step', value: k },
            { type: 'transfer', from: cell.id, to: payee, amount: 1n },
          ],
          fee: 0n,
          validUntil,
        },
        alice.seed,
        ed,
      );
      if (k === 0) {
        const other = await signTurn(
          { ...turn, effects: [{ type: 'burn', cell: cell.id, amount: 2n }] },
          alice.seed,
          ed,
        );
        rival = await signProvedSubmission(
          ledger,
          alice,
          cell.id,
          await proveTurn(cell, other, { secret }),
          ed,
        );
      }
      const proved = await proveTurn(cell, turn, { secret });
      subs.push(await signProvedSubmission(ledger, alice, cell.id, proved, ed));
      cell = proved.next;
    }

    const acked = new Map<number, number>(); // chain index -> seq
    let killed = false;
    let firstAck: () => void = () => {};
    const acknowledged = new Promise<void>((r) => {
      firstAck = r;
    });
    const work = (async () => {
      for (let k = 0; k < CHAIN && !killed; k++) {
        try {
          acked.set(k, (await client.submitProvedTurn(subs[k]!)).seq);
          firstAck();
        } catch {
          return; // the relay died mid-call: unacknowledged, nothing is owed
        }
      }
    })();
    // The kill lands after the first acknowledgement, somewhere in the rest of the chain.
    await Promise.race([acknowledged, work]);
    await new Promise((r) => setTimeout(r, Math.random() * 150));
    const dying = running.kill();
    killed = true;
    await dying;
    await work;
    await client.close().catch(() => undefined);

    running = await start(home.dir);
    client = await connectRelay(running.ready.multiaddrs);
    try {
      // Where the landed turns left the head: the first turn whose old commitment it is continues.
      const head = await client.provedHead(cell.id);
      let next = subs.findIndex((s) => same(head, s.statement.oldCommitment));
      if (next === -1) {
        expect(same(head, subs[CHAIN - 1]!.statement.newCommitment)).toBe(true);
        next = CHAIN;
      }
      expect(acked.size).toBeGreaterThan(0);
      expect(next).toBeGreaterThanOrEqual(acked.size);
      for (const [k, seq] of acked)
        expect(await client.submitProvedTurn(subs[k]!)).toMatchObject({ seq, duplicate: true });
      for (let k = next; k < CHAIN; k++)
        expect((await client.submitProvedTurn(subs[k]!)).duplicate).toBe(false);
      expect(same(await client.provedHead(cell.id), subs[CHAIN - 1]!.statement.newCommitment)).toBe(true);

      const first = await client.submitProvedTurn(subs[0]!);
      expect(first.duplicate).toBe(true);
      await client.verifyInclusion(first.receipt);
      let caught: { code?: string; message?: string } | undefined;
      try {
        await client.submitProvedTurn(rival!);
      } catch (e) {
        caught = e as typeof caught;
      }
      expect(caught?.code).toBe('E_STALE');
      expect(caught?.message).toMatch(new RegExp(`[Dd]ouble spend.*seq ${first.seq}\\b`));
    } finally {
      await client.close();
    }
    expect(await running.stop()).toEqual({ code: 0, signal: null });

    // The operator's audit over the log (in this process: the relay is stopped).
    const audit = await dregg(['relay', 'audit', '--home', home.dir, '--json']);
    expect(audit.code, audit.stderr).toBe(0);
    const report = audit.json;
    // Escrow, the intent desk's coordinator cell, two openings, the registration, each proved turn once.
    expect(report).toMatchObject({ delta: '0', height: 1 + 1 + 2 + 1 + CHAIN, shielded: '1000' });
  }, 120_000);
});

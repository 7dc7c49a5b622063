/**
 * Four real relays (`dregg relay --federation`, child processes on loopback) ordering turns together:
 * concurrent submitters on different relays, double spends sent to two relays, a relay killed and
 * restarted from its SQLite. The relays are shared by the tests of this file, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DreggError } from '../../src/errors.ts';
import {
  converged as convergedOn,
  type Fed,
  federation,
  submitPatiently,
  transfer,
} from './relays-fixtures.ts';

let fed: Fed;

beforeAll(async () => {
  fed = await federation(4, 9);
  await Promise.all(fed.members.map((m) => fed.start(m.index)));
}, 120_000);

afterAll(async () => {
  await fed?.close();
}, 60_000);

const converged = (relays: readonly number[], atLeast = 0, timeoutMs = 60_000) =>
  convergedOn(fed, relays, atLeast, timeoutMs);

describe('a federation of four relays', () => {
  it('orders concurrent turns sent to different relays identically, and takes one of each double spend', async () => {
    const { payers } = fed;
    const clients = await Promise.all([0, 1, 2, 3].map((i) => fed.client(i)));
    // Six payers each make three transfers in a chain, each through "their" relay, all at once.
    const chains = payers.slice(0, 6).map(async (p, i) => {
      const client = clients[i % 4]!;
      for (let k = 0; k < 3; k++) {
        const turn = await transfer(client, p, payers[(i + 1) % 6]!, BigInt(k + 1));
        const s = await submitPatiently(client, turn);
        expect(s.receipt.agent).toBe(p.did);
      }
    });
    // Three payers each sign two different turns spending one state and send them to two relays.
    const spends = payers.slice(6, 9).map(async (p, i) => {
      const a = await transfer(clients[i]!, p, payers[0]!, 10n);
      const b = await transfer(clients[i]!, p, payers[1]!, 20n);
      return Promise.allSettled([submitPatiently(clients[i]!, a), submitPatiently(clients[(i + 1) % 4]!, b)]);
    });
    await Promise.all(chains);
    const outcomes = await Promise.all(spends);
    for (const pair of outcomes) {
      const ok = pair.filter((r) => r.status === 'fulfilled');
      const refused = pair.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
      expect(ok).toHaveLength(1);
      expect(refused).toHaveLength(1);
      const error = refused[0]!.reason as DreggError;
      expect(error).toBeInstanceOf(DreggError);
      expect(error.code).toBe('E_STALE');
      const winner = (ok[0] as PromiseFulfilledResult<{ receipt: { turn: string } }>).value.receipt.turn;
      expect(error.message).toContain(`first spend: turn ${winner}`);
    }
    const statuses = await converged([0, 1, 2, 3], 6 * 3 + 3 * 2);
    expect(statuses[0]!.settled).toBe(6 * 3 + 3 * 2);
    // Every relay's ledger holds the same balances, and the supply audit balances everywhere.
    const balances: bigint[][] = [];
    for (const i of [0, 1, 2, 3]) {
      expect((await fed.health(i)).supplyDelta).toBe('0');
      const row: bigint[] = [];
      for (const p of payers) row.push((await clients[i]!.ledger().cell(p.cell))!.balance);
      balances.push(row);
    }
    for (const row of balances) expect(row).toEqual(balances[0]);
    expect(balances[0]!.reduce((sum, b) => sum + b, 0n)).toBe(9n * 1_000_000n);
  }, 120_000);

  it('keeps finalizing with one relay killed, and the killed relay catches up from its SQLite', async () => {
    const { payers } = fed;
    const before = (await fed.health(0)).federation.settled;
    await fed.relays[3]!.kill();
    const clients = await Promise.all([0, 1, 2].map((i) => fed.client(i)));
    await Promise.all(
      payers.slice(0, 3).map(async (p, i) => {
        const s = await submitPatiently(clients[i]!, await transfer(clients[i]!, p, payers[8]!, 5n));
        expect(s.duplicate).toBe(false);
      }),
    );
    await converged([0, 1, 2], before + 3);
    await fed.start(3);
    const all = await converged([0, 1, 2, 3], before + 3, 90_000);
    expect(all[3]!.settled).toBe(before + 3);
    const c3 = await fed.client(3);
    expect((await c3.ledger().cell(payers[8]!.cell))!.balance).toBe(
      (await clients[0]!.ledger().cell(payers[8]!.cell))!.balance,
    );
  }, 150_000);
});

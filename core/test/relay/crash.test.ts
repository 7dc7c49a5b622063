/**
 * The crash loop: a real `dregg relay` process is SIGKILLed at random moments while clients submit
 * turns and deposit sealed boxes, then restarted, several times. After each restart every turn and
 * deposit that was acknowledged is there exactly once (a resubmission is a duplicate of the same
 * event), nothing was applied twice (balances conserve, the supply audit balances), and the last
 * stop, by SIGTERM, is graceful (exit code 0).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seal, x25519FromEd25519Public } from '../../src/crypto/sealed-box.ts';
import { ed25519FromDidKey } from '../../src/encoding/did-key.ts';
import { INBOX_ORIGIN } from '../../src/inbox/client.ts';
import type { DepositReceipt, DepositRequest } from '../../src/inbox/wire.ts';
import { connectRelay } from '../../src/net/client.ts';
import { spawnRelay } from '../../src/node/relay/spawn.ts';
import type { Receipt } from '../../src/turns/receipt.ts';
import type { Turn } from '../../src/turns/turn.ts';
import { person, saltOf, tempHome, turnOn } from './fixtures.ts';

const DREGG = join(import.meta.dirname, '../../bin/dregg.js');
const ROUNDS = 4;
const PEOPLE = [1, 2, 3].map(person);
const GRANT = 1_000_000n;

const start = (home: string) =>
  spawnRelay({
    home,
    args: ['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--grant', String(GRANT), '--json'],
  });

const homes: ReturnType<typeof tempHome>[] = [];
afterAll(() => {
  for (const h of homes) h.remove();
});

describe('relay crash loop', () => {
  it('loses no acknowledged turn or deposit and applies none twice across SIGKILLs', async () => {
    const home = tempHome();
    homes.push(home);
    const ackedTurns = new Map<string, { turn: Turn; seq: number; receipt: Receipt }>();
    const ackedDeposits: { request: DepositRequest; receipt: DepositReceipt }[] = [];
    const cells: string[] = [];
    let landed = 0;

    let running = await start(home.dir);
    let client = await connectRelay(running.ready.multiaddrs);
    for (const [i, p] of PEOPLE.entries()) cells.push((await client.openCell(p.did, saltOf(i + 1))).id);
    await client.close();

    for (let round = 0; round < ROUNDS; round++) {
      client = await connectRelay(running.ready.multiaddrs);
      let killed = false;
      // Each person pays the next one 1 computron per turn and leaves them a note, until the kill.
      const work = PEOPLE.map(async (p, i) => {
        const next = PEOPLE[(i + 1) % PEOPLE.length]!;
        for (let n = 0; !killed; n++) {
          try {
            const turn = await turnOn(client, p, cells[i]!, [
              { type: 'transfer', from: cells[i]!, to: cells[(i + 1) % cells.length]!, amount: 1n },
            ]);
            const s = await client.submitTurn(turn);
            ackedTurns.set(s.receipt.turn, { turn, seq: s.seq, receipt: s.receipt });
            const request: DepositRequest = {
              recipient: next.did,
              ciphertext: seal(
                x25519FromEd25519Public(ed25519FromDidKey(next.did)),
                new Uint8Array([round, i, n]),
              ),
              ttl: 3600,
              deposit: 0n,
              idempotencyKey: crypto.getRandomValues(new Uint8Array(16)),
            };
            ackedDeposits.push({ request, receipt: await client.deposit(request) });
          } catch {
            // The relay died mid-call (or a turn raced the kill): unacknowledged, so nothing is owed.
          }
        }
      });
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 900));
      const dying = running.kill();
      killed = true;
      await dying;
      await Promise.all(work);
      await client.close().catch(() => undefined);
      running = await start(home.dir);
    }

    client = await connectRelay(running.ready.multiaddrs);
    try {
      expect(ackedTurns.size).toBeGreaterThan(0);
      // Every acknowledged turn is in the log under the signed root, once: resubmitting it is a duplicate.
      const seqs = new Set<number>();
      for (const { turn, seq, receipt } of ackedTurns.values()) {
        await client.verifyInclusion(receipt);
        const again = await client.submitTurn(turn);
        expect(again).toMatchObject({ seq, duplicate: true });
        seqs.add(seq);
      }
      expect(seqs.size).toBe(ackedTurns.size);
      // Turns that landed, acknowledged or not (cut off by a kill): each agent's receipt chain length.
      for (const p of PEOPLE) landed += (await client.head(p.did)).seq;
      expect(landed).toBeGreaterThanOrEqual(ackedTurns.size);
      expect(ackedDeposits.length).toBeGreaterThan(0);
      // Nothing created or lost: the cells still hold everything granted.
      let total = 0n;
      for (const id of cells) total += (await client.cell(id))!.balance;
      expect(total).toBe(GRANT * BigInt(cells.length));
      // Every acknowledged deposit is in its recipient's inbox at the place its receipt named.
      for (const p of PEOPLE) {
        const mine = ackedDeposits.filter((d) => d.request.recipient === p.did);
        // A retried deposit is the same deposit.
        if (mine[0] !== undefined)
          expect((await client.deposit(mine[0].request)).seq).toBe(mine[0].receipt.seq);
        const delivered = new Map<number, Uint8Array>();
        let acked = INBOX_ORIGIN;
        for (;;) {
          const page = await client.drain({ did: p.did, seed: p.seed, acked });
          for (const m of page.delivered) delivered.set(m.seq, m.ciphertext!);
          acked = page.head;
          if (!page.more) break;
        }
        for (const d of mine) expect(delivered.get(d.receipt.seq)).toEqual(d.request.ciphertext);
      }
    } finally {
      await client.close();
    }

    expect(await running.stop()).toEqual({ code: 0, signal: null });

    // The operator's audit over the log, from the CLI: every event once, the supply balanced.
    const audit = spawnSync(process.execPath, [DREGG, 'relay', 'audit', '--home', home.dir, '--json'], {
      encoding: 'utf8',
    });
    expect(audit.status).toBe(0);
    const report = JSON.parse(audit.stdout);
    expect(report).toMatchObject({ delta: '0', issued: String(GRANT * BigInt(cells.length)) });
    // The log holds the openings and each agent's chain of turns, and nothing else: no event twice.
    // (+ 2, at its first start: the openings of the relay's escrow cell for inbox deposits and of its
    // intent desk's coordinator cell.)
    expect(report.height).toBe(cells.length + landed + 2);
  }, 180_000);
});

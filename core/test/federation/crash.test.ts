/**
 * A federation relay SIGKILLed again and again while it makes and publishes blocks under load (real
 * relays, child processes). Its own block is committed to its SQLite store before it is published, so
 * after each restart it must carry on from the seq after its last published block: were it ever to sign
 * a second block at a seq it had used, its peers' equivocation detection would record it. And after the
 * last restart the federation must converge again: the victim catches up and every relay agrees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { converged, type Fed, federation, transfer } from './relays-fixtures.ts';

const VICTIM = 3;
const KILLS = 4;
let fed: Fed;

beforeAll(async () => {
  fed = await federation(4, 8);
  await Promise.all(fed.members.map((m) => fed.start(m.index)));
}, 120_000);

afterAll(async () => {
  await fed?.close();
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a federation relay killed while it publishes', () => {
  it('never signs two blocks at one seq across restarts, and the federation converges after', async () => {
    let loading = true;
    let settled = 0;
    // Two payers per relay transfer to each other without pause; the victim's clients keep trying
    // through its restarts (an answer lost to a kill, or a stale turn, is just the next try).
    const load = fed.payers.map(async (p, i) => {
      const relay = i % 4;
      while (loading) {
        try {
          const client = await fed.client(relay);
          await client.submitTurn(await transfer(client, p, fed.payers[(i + 4) % 8]!, 1n));
          settled++;
        } catch {
          await sleep(100);
        }
      }
    });
    for (let k = 0; k < KILLS; k++) {
      // Somewhere in the victim's stream of rounds (tens to hundreds of ms each under this load).
      await sleep(500 + Math.random() * 2500);
      await fed.relays[VICTIM]!.kill();
      await fed.start(VICTIM);
    }
    await sleep(2000);
    loading = false;
    await Promise.all(load);
    expect(settled).toBeGreaterThan(0);
    const all = await converged(fed, [0, 1, 2, 3], 0, 120_000);
    for (const s of all) {
      expect(s.equivocators).toEqual([]);
      expect(s.convicted).toEqual([]);
    }
  }, 400_000);
});

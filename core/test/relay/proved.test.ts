/**
 * The private path over the network, against a real `dregg relay` process: a client makes its cell
 * proved, submits a proved turn (proved here, in the test process, as a wallet would), gets a receipt
 * whose inclusion verifies under the relay's attested root, learns the new head, and a double spend
 * comes back as E_STALE. The relay's metrics count the proofs it checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import { type SpawnedRelay, spawnRelay } from '../../src/node/relay/spawn.ts';
import {
  proofSecret,
  provedState,
  provedStateCommitment,
  proveTurn,
  signProvedRegistration,
  signProvedSubmission,
  stateSalt,
} from '../../src/proofs/index.ts';
import { person, saltOf, tempHome, turnOn } from './fixtures.ts';

const home = tempHome();
const alice = person(1);
const bob = person(2);
let relay: SpawnedRelay;
let client: RelayClient;

beforeAll(async () => {
  relay = await spawnRelay({
    home: home.dir,
    args: ['--listen', '/ip4/127.0.0.1/tcp/0/ws', '--grant', '1000', '--http', '127.0.0.1:0', '--json'],
  });
  client = await connectRelay(relay.ready.multiaddrs);
}, 60_000);

afterAll(async () => {
  await client?.close();
  await relay?.stop();
  home.remove();
});

describe('proved turns at a relay, over the network', () => {
  it('registers, orders a verified proof with an included receipt, and refuses a double spend', async () => {
    const ed = nobleEd25519;
    const secret = proofSecret(alice.seed);
    const cell = await client.openCell(alice.did, saltOf(1));
    const payee = await client.openCell(bob.did, saltOf(2));
    const salt = stateSalt(secret, cell.id, 0);
    const reg = await signProvedRegistration(client.info.ledger, alice, cell.id, salt, ed);
    const head = await client.registerProvedCell(reg);
    expect(Array.from(head)).toEqual(Array.from(provedStateCommitment(provedState(cell, salt))));

    const turn = await turnOn(client, alice, cell.id, [
      { type: 'set-field', cell: cell.id, key: 'note', value: 'hello' },
      { type: 'transfer', from: cell.id, to: payee.id, amount: 40n },
    ]);
    const other = await turnOn(client, alice, cell.id, [{ type: 'burn', cell: cell.id, amount: 1n }]);
    const [proved, spend] = await Promise.all([
      proveTurn(cell, turn, { secret }),
      proveTurn(cell, other, { secret }),
    ]);
    const submitted = await client.submitProvedTurn(
      await signProvedSubmission(client.info.ledger, alice, cell.id, proved, ed),
    );
    expect(submitted.duplicate).toBe(false);
    const root = await client.verifyInclusion(submitted.receipt);
    expect(root.height).toBeGreaterThan(submitted.seq);
    expect(Array.from((await client.provedHead(cell.id))!)).toEqual(
      Array.from(proved.statement.newCommitment),
    );
    expect(await client.provedHead(payee.id)).toBeUndefined();

    let caught: { code?: string; message?: string } | undefined;
    try {
      await client.submitProvedTurn(
        await signProvedSubmission(client.info.ledger, alice, cell.id, spend, ed),
      );
    } catch (e) {
      caught = e as typeof caught;
    }
    expect(caught?.code).toBe('E_STALE');
    expect(caught?.message).toMatch(new RegExp(`[Dd]ouble spend.*seq ${submitted.seq}\\b`));

    const metrics = await (await fetch(`${relay.ready.http}/metrics`)).text();
    expect(metrics).toMatch(/cipherclerk_turn_proofs_total\{outcome="verified"\} 2\n/);
    expect(metrics).toMatch(/cipherclerk_supply\{part="delta"\} 0\n/);
  }, 60_000);
});

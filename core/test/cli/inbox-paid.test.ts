/**
 * `dregg inbox send` at a relay that charges deposits: it pays from --cell, keeps the refund secret in
 * the home, and `dregg inbox refunds` collects the deposit once the recipient has drained — against a
 * real relay (SQLite, libp2p on loopback) and the real CLI code in-process.
 */
import '../../src/node/libp2p-shims.ts';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INBOX_ORIGIN } from '../../src/inbox/client.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import type { Relay } from '../../src/node/relay/relay.ts';
import { person, tempHome as relayHome, saltOf, testRelay } from '../relay/fixtures.ts';
import { dregg, tempHome } from './harness.ts';

const MIN = 7n;
const bob = person(31);
const relayDir = relayHome();
let relay: Relay;
let client: RelayClient;
let address: string;

beforeAll(async () => {
  relay = await testRelay(relayDir.dir, { inboxLimits: { minDeposit: MIN } });
  client = await connectRelay(relay.multiaddrs, { relay: relay.did });
  address = relay.multiaddrs.find((m) => m.includes('/ws'))!;
}, 60_000);

afterAll(async () => {
  await client?.close();
  await relay?.stop();
  relayDir.remove();
});

describe('dregg inbox at a relay that charges deposits', () => {
  it('pays the minimum from --cell, and refunds it after the recipient drains', async () => {
    const home = tempHome('alice');
    const made = await dregg(['id', 'new', '--home', home, '--json']);
    const did = made.json.did as string;
    const cell = (await client.openCell(did, saltOf(41))).id;
    const start = (await client.cell(cell))!.balance;
    const file = join(home, '..', 'note.txt');
    writeFileSync(file, 'paid for');
    const inbox = (sub: string, ...more: string[]) =>
      dregg(['inbox', sub, '--home', home, '--relay', address, '--json', ...more]);

    const refused = await inbox('send', '--to', bob.did, '--file', file);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('--cell');

    const sent = await inbox('send', '--to', bob.did, '--file', file, '--cell', cell);
    expect(sent.code).toBe(0);
    expect(sent.json).toMatchObject({ to: bob.did, deposit: String(MIN) });
    expect((await client.cell(cell))!.balance).toBe(start - MIN);
    const saved = JSON.parse(readFileSync(join(home, 'refunds.json'), 'utf8'));
    expect(saved).toMatchObject([{ recipient: bob.did, seq: sent.json.seq, cell, amount: String(MIN) }]);
    expect(statSync(join(home, 'refunds.json')).mode & 0o077).toBe(0);

    // Not drained yet: nothing to claim, the refund is kept.
    const early = await inbox('refunds');
    expect(early.json).toMatchObject({ paid: [], waiting: 1 });

    await client.drain({ did: bob.did, seed: bob.seed, acked: INBOX_ORIGIN });
    const claimed = await inbox('refunds');
    expect(claimed.json).toMatchObject({
      paid: [{ seq: sent.json.seq, amount: String(MIN), cell }],
      waiting: 0,
    });
    expect((await client.cell(cell))!.balance).toBe(start);
    expect(JSON.parse(readFileSync(join(home, 'refunds.json'), 'utf8'))).toEqual([]);
  });
});

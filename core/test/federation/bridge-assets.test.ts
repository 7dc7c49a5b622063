/**
 * A bridged federation that wraps what it mints: the genesis pin names the asset (`"asset": "w-..."`),
 * the bridges hand it to the notary, and a mint settles as a holding of that asset on a real notary
 * (SQLite), surviving a restart, with the computron audit and the asset's audit both even.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { defaultEd25519, ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { createBridges } from '../../src/node/federation/bridges.ts';
import { genesisJson, parseGenesis } from '../../src/node/federation/genesis.ts';
import { signAttestation } from '../../src/turns/apply/bridge.ts';
import { holdingKey } from '../../src/turns/assets.ts';
import { codeOf } from '../caps/fixtures.ts';
import { bench, LEDGER, openStore, person, T0, tempDir } from '../notary/fixtures.ts';

const dir = tempDir();
afterAll(() => dir.remove());

const AWAY_SEED = new Uint8Array(32).fill(77);
const [m1, m2, m3] = [person(11), person(12), person(13)];

function genesisText(bridges: unknown): string {
  return JSON.stringify({
    federation: LEDGER,
    epoch: 0,
    members: [{ did: m1.did, multiaddrs: [] }],
    bridges,
  });
}

describe('a genesis that wraps a bridged federation', () => {
  it('names the asset per pin; without one the pin mints computrons; bad or shared ids are refused', async () => {
    const g = parseGenesis(
      genesisText([
        { federation: 'away', members: [m2.did], asset: 'w-away' },
        { federation: 'plain', members: [m3.did] },
      ]),
    );
    expect([...g.wrapped]).toEqual([['away', 'w-away']]);
    expect(g.bridges.map((c) => c.federation)).toEqual(['away', 'plain']);
    const bridges = createBridges({ genesis: g, ed: await defaultEd25519(), seed: m1.seed, log: () => {} });
    expect(bridges.wrapped).toBe(g.wrapped);
    bridges.close();
    // genesisJson writes the pin's asset back.
    const again = parseGenesis(
      genesisJson({
        federation: LEDGER,
        members: [{ did: m1.did, multiaddrs: [] }],
        cells: [],
        bridges: [{ federation: 'away', members: [m2.did], asset: 'w-away' }],
      }),
    );
    expect(again.wrapped.get('away')).toBe('w-away');
    for (const bad of [
      [{ federation: 'away', members: [m2.did], asset: 'W-Away' }],
      [{ federation: 'away', members: [m2.did], asset: 'computrons' }],
      [
        { federation: 'away', members: [m2.did], asset: 'w-x' },
        { federation: 'other', members: [m3.did], asset: 'w-x' },
      ],
    ])
      expect(await codeOf(() => parseGenesis(genesisText(bad)))).toBe('E_INVALID');
  });

  it('a mint settles on the notary as a holding of the wrapped asset; it survives a restart and the audits are even', async () => {
    const path = dir.path('mint.sqlite');
    const options = {
      federations: new Map([['away', ed25519PublicKey(AWAY_SEED)]]),
      wrapped: new Map([['away', 'w-away']]),
    };
    const b = await bench(await openStore(path), options);
    const [alice, bob] = b.people;
    const lock = 'd1'.repeat(16);
    const expires = T0 + 7200;
    const attestation = await signAttestation(
      { kind: 'locked', from: 'away', to: LEDGER, lock, amount: 25n, recipient: bob.did, expires },
      AWAY_SEED,
      b.ed,
    );
    await b.notary.submit(
      await b.turn(alice, [
        { type: 'bridge-mint', federation: 'away', lock, amount: 25n, to: bob.cell, expires, attestation },
      ]),
    );
    await b.notary.submit(
      await b.turn(bob, [{ type: 'transfer', from: bob.cell, to: alice.cell, amount: 5n, asset: 'w-away' }]),
    );
    const audit = await b.notary.audit();
    expect(audit.delta).toBe(0n);
    expect(audit.issued).toBe(3000n); // the genesis only: the mint issued no computrons
    expect(audit.assets.get('w-away')).toEqual({ held: 25n, expected: 25n });
    await b.notary.close();
    await b.store.close();

    const reopened = await bench(await openStore(path), options);
    const records = await reopened.store.list('ledger', { prefix: 'hold:' });
    expect(records.map((r) => r.key).sort()).toEqual(
      [holdingKey(alice.cell, 'w-away'), holdingKey(bob.cell, 'w-away')].sort(),
    );
    expect((await reopened.notary.audit()).assets.get('w-away')).toEqual({ held: 25n, expected: 25n });
    await reopened.notary.close();
    await reopened.store.close();
  });
});

/**
 * Bridging through the executor: lock, finalize, cancel and mint, with attestations signed by the
 * 'away' federation this ledger ('home') trusts — and a round trip between two executors. Every
 * refusal leaves the ledger as it was; value is conserved after every turn.
 */
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { type BridgeEvent, signAttestation } from '../../src/turns/apply/bridge.ts';
import type { Effect } from '../../src/turns/effects.ts';
import { createExecutor } from '../../src/turns/executor.ts';
import { signTurn } from '../../src/turns/turn.ts';
import { codeOf } from '../caps/fixtures.ts';
import { expectConserved, expectRefused, snapshot } from './effect-helpers.ts';
import { FEDERATION_SEED, type Person, saltOf, seedOf, T0, type World, world } from './fixtures.ts';

const LOCK = 'c0'.repeat(16);
/** Lock lifetime in these tests: more than twice BRIDGE_MARGIN_S, as bridge-lock requires. */
const TTL = 3600;
/** Expiry of the locks 'away' attests for minting here: far enough ahead to mint. */
const AWAY_EXPIRES = T0 + 7200;

const balance = (w: World, p: Person) => w.executor.cell(p.cell)!.balance;

/** The 'away' federation attests an event. */
const attest = (w: World, event: BridgeEvent, seed = FEDERATION_SEED) => signAttestation(event, seed, w.ed);

/** Alice locks `amount` of her cell for bob on 'away', expiring `ttl` seconds from now; returns the lock id. */
async function lock(w: World, amount = 100n, ttl = TTL): Promise<string> {
  const r = await w.act(w.alice, [
    {
      type: 'bridge-lock',
      from: w.alice.cell,
      amount,
      federation: 'away',
      recipient: w.bob.did,
      expires: T0 + ttl,
    },
  ]);
  return r.results[0] as string;
}

/** The event 'away' signs when it minted (or refused) alice's lock. */
function outbound(w: World, kind: 'minted' | 'refused', lockId: string, amount = 100n): BridgeEvent {
  return { kind, from: 'home', to: 'away', lock: lockId, amount, recipient: w.bob.did, expires: T0 + TTL };
}

/** The event 'away' signs when something was locked there for `recipient` here. */
function inbound(recipient: Person, amount = 50n, lockId = LOCK): BridgeEvent {
  return {
    kind: 'locked',
    from: 'away',
    to: 'home',
    lock: lockId,
    amount,
    recipient: recipient.did,
    expires: AWAY_EXPIRES,
  };
}

function mint(to: string, attestation: Uint8Array, amount = 50n, lockId = LOCK, federation = 'away'): Effect {
  return { type: 'bridge-mint', federation, lock: lockId, amount, to, expires: AWAY_EXPIRES, attestation };
}

describe('bridge-lock', () => {
  it('moves value from the cell into a lock; the supply is unchanged and the lock is counted', async () => {
    const w = await world();
    const id = await lock(w);
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(balance(w, w.alice)).toBe(900n);
    expect(w.executor.supply()).toMatchObject({ bridgedOut: 0n, bridgedIn: 0n, burned: 0n });
    expectConserved(w);
  });

  it('refuses an untrusted federation, this ledger itself, a past expiry, a stranger, too much', async () => {
    const w = await world();
    const base = {
      type: 'bridge-lock',
      from: w.alice.cell,
      amount: 10n,
      federation: 'away',
      recipient: w.bob.did,
      expires: T0 + TTL,
    } as const;
    await expectRefused(w, w.turn(w.alice, [{ ...base, federation: 'elsewhere' }]), 'E_UNTRUSTED');
    await expectRefused(w, w.turn(w.alice, [{ ...base, federation: 'home' }]), 'E_UNTRUSTED');
    await expectRefused(w, w.turn(w.alice, [{ ...base, expires: T0 }]), 'E_INVALID');
    await expectRefused(w, w.turn(w.bob, [base]), 'E_DENIED');
    await expectRefused(w, w.turn(w.alice, [{ ...base, amount: 1001n }]), 'E_INSUFFICIENT');
  });
});

describe('bridge-finalize', () => {
  it("on away's attestation that it minted, the value leaves this ledger (bridgedOut)", async () => {
    const w = await world();
    const id = await lock(w);
    // Anyone may relay the attestation: carol submits it.
    await w.act(w.carol, [
      { type: 'bridge-finalize', lock: id, attestation: await attest(w, outbound(w, 'minted', id)) },
    ]);
    expect(w.executor.supply().bridgedOut).toBe(100n);
    expect(balance(w, w.alice)).toBe(900n);
    expectConserved(w);
    const { held, expected } = w.executor.audit();
    expect(expected).toBe(3000n - 100n);
    expect(held).toBe(2900n);

    // Finalized once: neither finalize again nor cancel (even after expiry) applies.
    const again = await attest(w, outbound(w, 'minted', id));
    await expectRefused(
      w,
      w.turn(w.carol, [{ type: 'bridge-finalize', lock: id, attestation: again }]),
      'E_INVALID',
    );
    w.clock.advance(3600_000);
    await expectRefused(
      w,
      w.turn(w.alice, [{ type: 'bridge-cancel', lock: id }], { validUntil: T0 + 7200 }),
      'E_INVALID',
    );
  });

  it('refuses a wrong signer, a wrong kind, a wrong amount or recipient, and an unknown lock', async () => {
    const w = await world();
    const id = await lock(w);
    const finalize = (attestation: Uint8Array, lockId = id): Effect => ({
      type: 'bridge-finalize',
      lock: lockId,
      attestation,
    });
    const bad = [
      await attest(w, outbound(w, 'minted', id), seedOf(201)),
      await attest(w, outbound(w, 'refused', id)),
      await attest(w, outbound(w, 'minted', id, 99n)),
      await attest(w, { ...outbound(w, 'minted', id), recipient: w.carol.did }),
      await attest(w, { ...outbound(w, 'minted', id), from: 'away', to: 'home' }),
      new Uint8Array(64),
    ];
    for (const a of bad) await expectRefused(w, w.turn(w.carol, [finalize(a)]), 'E_BAD_SIGNATURE');
    const ghost = 'ab'.repeat(16);
    await expectRefused(
      w,
      w.turn(w.carol, [finalize(await attest(w, outbound(w, 'minted', ghost)), ghost)]),
      'E_NOT_FOUND',
    );
  });
});

describe('bridge-cancel', () => {
  it('refuses a cancel without attestation before expiry, even by the locker (E_DENIED)', async () => {
    const w = await world();
    const id = await lock(w);
    await expectRefused(w, w.turn(w.alice, [{ type: 'bridge-cancel', lock: id }]), 'E_DENIED');
    w.clock.advance((TTL - 1) * 1000);
    await expectRefused(w, w.turn(w.alice, [{ type: 'bridge-cancel', lock: id }]), 'E_DENIED');
  });

  it('after expiry, refunds the locker; nobody else may cancel without an attestation', async () => {
    const w = await world();
    const id = await lock(w);
    w.clock.advance(TTL * 1000);
    await expectRefused(w, w.turn(w.bob, [{ type: 'bridge-cancel', lock: id }]), 'E_DENIED');
    await w.act(w.alice, [{ type: 'bridge-cancel', lock: id }]);
    expect(balance(w, w.alice)).toBe(1000n);
    expect(w.executor.supply()).toMatchObject({ bridgedOut: 0n, burned: 0n });
    expectConserved(w);
    // Cancelled once: a second cancel or a late finalize does not apply.
    await expectRefused(w, w.turn(w.alice, [{ type: 'bridge-cancel', lock: id }]), 'E_INVALID');
    await expectRefused(
      w,
      w.turn(w.carol, [
        { type: 'bridge-finalize', lock: id, attestation: await attest(w, outbound(w, 'minted', id)) },
      ]),
      'E_INVALID',
    );
    expect(balance(w, w.alice)).toBe(1000n);
  });

  it("on away's refusal, anyone may cancel before expiry; the refund goes to the locked cell", async () => {
    const w = await world();
    const id = await lock(w);
    const refusal = await attest(w, outbound(w, 'refused', id));
    await expectRefused(
      w,
      w.turn(w.carol, [
        { type: 'bridge-cancel', lock: id, attestation: await attest(w, outbound(w, 'minted', id)) },
      ]),
      'E_BAD_SIGNATURE',
    );
    await expectRefused(
      w,
      w.turn(w.carol, [
        {
          type: 'bridge-cancel',
          lock: id,
          attestation: await attest(w, outbound(w, 'refused', id), seedOf(9)),
        },
      ]),
      'E_BAD_SIGNATURE',
    );
    await w.act(w.carol, [{ type: 'bridge-cancel', lock: id, attestation: refusal }]);
    expect(balance(w, w.alice)).toBe(1000n);
    expect(balance(w, w.carol)).toBe(1000n);
    expectConserved(w);
  });
});

describe('bridge-mint', () => {
  it('mints once on an attestation by away; a replay is refused (E_EXISTS)', async () => {
    const w = await world();
    const a = await attest(w, inbound(w.bob));
    // Anyone may relay the mint; it goes to a cell of the attested recipient.
    await w.act(w.carol, [mint(w.bob.cell, a)]);
    expect(balance(w, w.bob)).toBe(1050n);
    expect(w.executor.supply().bridgedIn).toBe(50n);
    expectConserved(w);
    expect(w.executor.audit().expected).toBe(3050n);

    await expectRefused(w, w.turn(w.carol, [mint(w.bob.cell, a)]), 'E_EXISTS');
    await expectRefused(w, w.turn(w.bob, [mint(w.bob.cell, a)]), 'E_EXISTS');
    // Nor under another amount with a fresh attestation: the lock is spent on this side.
    const more = await attest(w, inbound(w.bob, 60n));
    await expectRefused(w, w.turn(w.bob, [mint(w.bob.cell, more, 60n)]), 'E_EXISTS');
    // Within one turn, the second mint of the same lock is refused and the first rolled back.
    const other = 'd1'.repeat(16);
    const b = await attest(w, inbound(w.bob, 50n, other));
    await expectRefused(
      w,
      w.turn(w.bob, [mint(w.bob.cell, b, 50n, other), mint(w.bob.cell, b, 50n, other)]),
      'E_EXISTS',
    );
  });

  it('refuses a wrong signer, amount, lock or recipient (E_BAD_SIGNATURE)', async () => {
    const w = await world();
    const good = inbound(w.bob);
    const cases: [Uint8Array, Effect][] = [
      [await attest(w, good, seedOf(201)), mint(w.bob.cell, new Uint8Array(0))],
      [await attest(w, good), mint(w.bob.cell, new Uint8Array(0), 51n)],
      [await attest(w, good), mint(w.bob.cell, new Uint8Array(0), 50n, 'ee'.repeat(16))],
      // Attested for bob, minted into carol's cell.
      [await attest(w, good), mint(w.carol.cell, new Uint8Array(0))],
      // An attestation of an outbound event (home -> away) is not one of an inbound lock.
      [await attest(w, { ...good, from: 'home', to: 'away' }), mint(w.bob.cell, new Uint8Array(0))],
      [await attest(w, { ...good, kind: 'minted' }), mint(w.bob.cell, new Uint8Array(0))],
    ];
    for (const [attestation, effect] of cases) {
      await expectRefused(w, w.turn(w.carol, [{ ...effect, attestation } as Effect]), 'E_BAD_SIGNATURE');
    }
  });

  it('refuses an unknown federation, and this ledger minting from itself (E_UNTRUSTED)', async () => {
    const w = await world();
    const a = await attest(w, { ...inbound(w.bob), from: 'elsewhere' });
    await expectRefused(w, w.turn(w.carol, [mint(w.bob.cell, a, 50n, LOCK, 'elsewhere')]), 'E_UNTRUSTED');
    const self = await attest(w, { ...inbound(w.bob), from: 'home' });
    await expectRefused(w, w.turn(w.carol, [mint(w.bob.cell, self, 50n, LOCK, 'home')]), 'E_UNTRUSTED');
  });

  it('refuses a mint into a cell that does not exist (E_NOT_FOUND)', async () => {
    const w = await world();
    const a = await attest(w, inbound(w.bob));
    await expectRefused(w, w.turn(w.carol, [mint('99'.repeat(32), a)]), 'E_NOT_FOUND');
  });
});

describe('a round trip between two ledgers', () => {
  it('home locks, away mints on home attestation, home finalizes on away attestation', async () => {
    const HOME_SEED = seedOf(201);
    const w = await world();
    // The away ledger: its own executor, trusting home's federation key.
    const away = await createExecutor({
      ed: w.ed,
      clock: manualClock(T0 * 1000),
      seed: seedOf(101),
      federation: 'away',
      federations: new Map([['home', ed25519PublicKey(HOME_SEED)]]),
    });
    const bobAway = await away.genesis(w.bob.did, saltOf(50), 0n);
    expect(didKeyFromEd25519(ed25519PublicKey(w.bob.seed))).toBe(w.bob.did);

    const id = await lock(w, 250n);
    expectConserved(w);
    // Home's federation attests the lock; bob mints on away.
    const locked = await signAttestation(
      {
        kind: 'locked',
        from: 'home',
        to: 'away',
        lock: id,
        amount: 250n,
        recipient: w.bob.did,
        expires: T0 + TTL,
      },
      HOME_SEED,
      w.ed,
    );
    await away.submit(
      await signTurn(
        {
          ledger: 'away',
          agent: w.bob.did,
          cell: bobAway.id,
          nonce: 0,
          prev: null,
          effects: [
            {
              type: 'bridge-mint',
              federation: 'home',
              lock: id,
              amount: 250n,
              to: bobAway.id,
              expires: T0 + TTL,
              attestation: locked,
            },
          ],
          fee: 0n,
          validUntil: T0 + 60,
        },
        w.bob.seed,
        w.ed,
      ),
    );
    expect(away.cell(bobAway.id)!.balance).toBe(250n);
    expect(away.supply().bridgedIn).toBe(250n);
    expect(away.audit().held).toBe(away.audit().expected);

    // Away's federation attests the mint; home finalizes.
    const minted = await attest(w, outbound(w, 'minted', id, 250n));
    await w.act(w.alice, [{ type: 'bridge-finalize', lock: id, attestation: minted }]);
    expect(w.executor.supply().bridgedOut).toBe(250n);
    expect(balance(w, w.alice)).toBe(750n);
    expectConserved(w);
    // Across both ledgers, the value is where it should be: 3000 + 0 at genesis, 250 moved.
    expect(w.executor.audit().held + away.audit().held).toBe(3000n);
  });
});

describe('supply counters stay within 64 bits', () => {
  const MAX = (1n << 64n) - 1n;

  it('refuses a mint that would take bridgedIn past 2^64 - 1 (E_INVALID), and the ledger goes on', async () => {
    const w = await world();
    // Two fresh cells of bob's, each able to take 2^64 - 1.
    const r = await w.act(w.bob, [
      { type: 'create-cell', salt: saltOf(60), balance: 0n },
      { type: 'create-cell', salt: saltOf(61), balance: 0n },
    ]);
    const [c1, c2] = r.results as string[];
    const first = await attest(w, inbound(w.bob, MAX, 'a1'.repeat(16)));
    await w.act(w.carol, [mint(c1!, first, MAX, 'a1'.repeat(16))]);
    expect(w.executor.supply().bridgedIn).toBe(MAX);
    expectConserved(w);
    const second = await attest(w, inbound(w.bob, 1n, 'a2'.repeat(16)));
    await expectRefused(w, w.turn(w.carol, [mint(c2!, second, 1n, 'a2'.repeat(16))]), 'E_INVALID');
    // Turns that touch the supply still work.
    await w.act(w.alice, [{ type: 'burn', cell: w.alice.cell, amount: 1n }]);
    expectConserved(w);
  });

  it('refuses a genesis that would create more than 2^64 - 1 in all (E_INVALID)', async () => {
    const w = await world();
    const before = snapshot(w);
    expect(await codeOf(w.executor.genesis(w.alice.did, saltOf(70), MAX - 3000n + 1n))).toBe('E_INVALID');
    expect(await codeOf(w.executor.genesis(w.alice.did, saltOf(70), -1n))).toBe('E_ARGUMENT');
    expect(snapshot(w)).toEqual(before);
    await w.executor.genesis(w.alice.did, saltOf(70), MAX - 3000n);
    expect(w.executor.supply().genesis).toBe(MAX);
    await w.act(w.alice, [{ type: 'burn', cell: w.alice.cell, amount: 1n }]);
    expectConserved(w);
  });
});

/**
 * A notary on a SQLite file in a temporary directory, a manual clock, three funded people, and
 * `turn` — build and sign a turn for the acting cell's current nonce and the agent's current head.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellId } from '../../src/cells/cell.ts';
import { manualClock } from '../../src/clock.ts';
import { defaultEd25519, type Ed25519, ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { openSqliteStore } from '../../src/node/sqlite-store.ts';
import { NOTARY_COLLECTIONS, type Notary, type NotaryOptions, openNotary } from '../../src/notary/index.ts';
import type { Store } from '../../src/store/store.ts';
import type { Effect } from '../../src/turns/effects.ts';
import { signTurn, type Turn, type TurnBody } from '../../src/turns/turn.ts';

/** 2026-11-20T00:00:00Z. */
export const T0 = Date.UTC(2026, 10, 20) / 1000;
export const RELAY_SEED = new Uint8Array(32).fill(99);
export const LEDGER = 'home';

export interface Person {
  readonly seed: Uint8Array;
  readonly did: string;
  readonly salt: string;
  readonly cell: string;
}

export function person(i: number): Person {
  const seed = new Uint8Array(32).fill(i);
  const did = didKeyFromEd25519(ed25519PublicKey(seed));
  const salt = toHex(new Uint8Array(32).fill(i));
  return { seed, did, salt, cell: cellId(did, salt) };
}

export function tempDir(): { path: (name: string) => string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'cipherclerk-notary-'));
  return { path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function openStore(path: string): Promise<Store> {
  return openSqliteStore(path, { collections: NOTARY_COLLECTIONS });
}

export interface Bench {
  readonly notary: Notary;
  readonly store: Store;
  readonly ed: Ed25519;
  readonly clock: ReturnType<typeof manualClock>;
  readonly people: readonly [Person, Person, Person];
  turn(who: Person, effects: Effect[], options?: Partial<TurnBody>): Promise<Turn>;
  transfer(from: Person, to: Person, amount: bigint, options?: Partial<TurnBody>): Promise<Turn>;
}

/** Opens a notary on `store`, issuing each person's cell with `balance` unless it exists. */
export async function bench(
  store: Store,
  options: Partial<NotaryOptions> & { balance?: bigint } = {},
): Promise<Bench> {
  const ed = options.ed ?? (await defaultEd25519());
  const clock = manualClock(T0 * 1000);
  const notary = await openNotary({ store, ed, clock, seed: RELAY_SEED, ledger: LEDGER, ...options });
  const people = [person(1), person(2), person(3)] as const;
  for (const p of people)
    if (notary.cell(p.cell) === undefined) await notary.genesis(p.did, p.salt, options.balance ?? 1000n);
  const turn = (who: Person, effects: Effect[], o: Partial<TurnBody> = {}) =>
    signTurn(
      {
        ledger: LEDGER,
        agent: who.did,
        cell: who.cell,
        nonce: notary.cell(o.cell ?? who.cell)?.nonce ?? 0,
        prev: notary.head(who.did).prev,
        effects,
        fee: 0n,
        validUntil: T0 + 3600,
        ...o,
      },
      who.seed,
      ed,
    );
  return {
    notary,
    store,
    ed,
    clock,
    people,
    turn,
    transfer: (from, to, amount, o) =>
      turn(from, [{ type: 'transfer', from: from.cell, to: to.cell, amount }], o),
  };
}

/**
 * A small world for turn tests: an executor on a manual clock, agents with keys, and `act` — build,
 * sign and submit a turn with the right nonce and previous receipt.
 */
import { manualClock } from '../../src/clock.ts';
import { type Ed25519, ed25519PublicKey, nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import type { Store } from '../../src/store/store.ts';
import type { Effect } from '../../src/turns/effects.ts';
import { createExecutor, type Executor } from '../../src/turns/executor.ts';
import type { Receipt } from '../../src/turns/receipt.ts';
import { signTurn, type Turn, type TurnBody } from '../../src/turns/turn.ts';
import { T0 } from '../caps/fixtures.ts';

export { T0 };

export interface Person {
  readonly did: string;
  readonly seed: Uint8Array;
  /** The person's first cell (funded at genesis). */
  readonly cell: string;
}

/** Deterministic seeds: person i has seed [i, i, ...]. */
export function seedOf(i: number): Uint8Array {
  return new Uint8Array(32).fill(i);
}

export function saltOf(n: number): string {
  return toHex(new Uint8Array(32).fill(n));
}

export interface World {
  readonly executor: Executor;
  readonly clock: ReturnType<typeof manualClock>;
  readonly ed: Ed25519;
  readonly alice: Person;
  readonly bob: Person;
  readonly carol: Person;
  /** Builds and signs a turn for `who` acting as `cell` (default: their first cell). */
  turn(who: Person, effects: Effect[], options?: Partial<TurnBody> & { cell?: string }): Promise<Turn>;
  /** Builds, signs and submits. */
  act(who: Person, effects: Effect[], options?: Partial<TurnBody> & { cell?: string }): Promise<Receipt>;
}

export const FEDERATION_SEED = seedOf(200);

export async function world(
  options: {
    store?: Store;
    balance?: bigint;
    ed?: Ed25519;
    /** Bridged federations whose mints credit a wrapped asset here (none: every mint is computrons). */
    wrapped?: ReadonlyMap<string, string>;
  } = {},
): Promise<World> {
  const ed = options.ed ?? nobleEd25519;
  const clock = manualClock(T0 * 1000);
  const executor = await createExecutor({
    ed,
    clock,
    seed: seedOf(100),
    store: options.store,
    federation: 'home',
    federations: new Map([['away', ed25519PublicKey(FEDERATION_SEED)]]),
    wrapped: options.wrapped,
  });
  const person = async (i: number): Promise<Person> => {
    const seed = seedOf(i);
    const did = didKeyFromEd25519(ed25519PublicKey(seed));
    const cell = executor.cell((await executor.genesis(did, saltOf(i), options.balance ?? 1000n)).id)!;
    return { did, seed, cell: cell.id };
  };
  const alice = await person(1);
  const bob = await person(2);
  const carol = await person(3);
  const turn = async (who: Person, effects: Effect[], o: Partial<TurnBody> & { cell?: string } = {}) => {
    const cell = o.cell ?? who.cell;
    const body: TurnBody = {
      ledger: executor.ledger,
      agent: who.did,
      cell,
      nonce: executor.cell(cell)?.nonce ?? 0,
      prev: executor.head(who.did).prev,
      effects,
      fee: 0n,
      validUntil: T0 + 3600,
      ...o,
    };
    return signTurn(body, who.seed, ed);
  };
  return {
    executor,
    clock,
    ed,
    alice,
    bob,
    carol,
    turn,
    act: async (who, effects, o) => executor.submit(await turn(who, effects, o)),
  };
}

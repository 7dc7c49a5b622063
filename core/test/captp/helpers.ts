/** Vats, objects and links for the CapTP tests: real stores (SQLite), real signatures, in-memory links. */
import { randomBytes } from '@noble/hashes/utils.js';
import type { Caveat } from '../../src/caps/caveats.ts';
import {
  CAPTP_COLLECTIONS,
  createVat,
  enliven,
  type Link,
  type LinkHandlers,
  type LocalObject,
  localObject,
  memoryLinkPair,
  type RemoteRef,
  type Session,
  type Vat,
} from '../../src/captp/index.ts';
import { type Clock, systemClock } from '../../src/clock.ts';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { hashFor } from '../../src/crypto/hash.ts';
import { toHex, utf8 } from '../../src/encoding/bytes.ts';
import { DreggError } from '../../src/errors.ts';
import { openSqliteStore } from '../../src/node/sqlite-store.ts';
import type { Store } from '../../src/store/store.ts';

export const FEDERATION = 'test.fed';

export function cellOf(name: string): string {
  return toHex(hashFor('cellId', utf8.encode(name)));
}

export function memoryStore(): Promise<Store> {
  return openSqliteStore(':memory:', { collections: CAPTP_COLLECTIONS });
}

export async function makeVat(
  name: string,
  o: { store?: Store; clock?: Clock; seed?: Uint8Array } = {},
): Promise<Vat & { seed: Uint8Array; store: Store }> {
  const seed = o.seed ?? randomBytes(32);
  const store = o.store ?? (await memoryStore());
  const vat = await createVat({
    seed,
    federation: FEDERATION,
    cell: cellOf(name),
    store,
    ed: nobleEd25519,
    clock: o.clock ?? systemClock,
  });
  return Object.assign(vat, { seed, store });
}

/** Opens a session between two vats over a fresh in-memory link: [a's side, b's side]. */
export async function connect(a: Vat, b: Vat, latencyMs = 0): Promise<[Session, Session]> {
  const [la, lb] = memoryLinkPair({ latencyMs });
  const accepted = b.accept(lb);
  const opened = await a.connect(la, { expect: b.did });
  return [opened, await accepted];
}

/**
 * A counter: `inc` appends its argument to a log and returns the new count, `get` returns the log,
 * `make` returns a new counter, `self` returns itself, `fail` throws the code it is given.
 */
const logs = new WeakMap<LocalObject, unknown[]>();

/** What a counter's `inc` has been called with, in order. */
export function logOf(object: LocalObject): unknown[] {
  return logs.get(object) ?? [];
}

export function counter(label = 'counter', clock: Clock = systemClock): LocalObject {
  const log: unknown[] = [];
  const object = localObject(
    label,
    {
      inc: ([x]) => {
        log.push(x ?? null);
        return log.length;
      },
      get: () => log.map((x) => (typeof x === 'number' || typeof x === 'string' ? x : null)),
      make: ([name]) => counter(typeof name === 'string' ? name : 'child', clock),
      self: () => object,
      echo: ([x]) => x ?? null,
      fail: ([code]) => {
        throw new DreggError(
          code === 'E_DENIED' ? 'E_DENIED' : 'E_INVALID',
          `failed on purpose (${String(code)})`,
        );
      },
      slow: async ([ms]) => {
        await new Promise((r) => setTimeout(r, typeof ms === 'number' ? ms : 50));
        return 'slow';
      },
    },
    clock,
  );
  logs.set(object, log);
  return object;
}

/**
 * A link pair whose frames wait in queues until the test delivers them, one direction at a time: the
 * property test uses it to cross drops and sends on the wire in every order.
 */
export function manualLinkPair(): {
  ends: [Link, Link];
  pending(dir: 0 | 1): number;
  deliver(dir: 0 | 1): void;
  flush(): Promise<void>;
} {
  const queues: [Uint8Array[], Uint8Array[]] = [[], []];
  const handlers: [LinkHandlers | undefined, LinkHandlers | undefined] = [undefined, undefined];
  let closed = false;
  const end = (i: 0 | 1): Link => ({
    send(frame) {
      if (!closed) queues[i].push(frame.slice());
    },
    close() {
      if (closed) return;
      closed = true;
      handlers[0]?.closed();
      handlers[1]?.closed();
    },
    listen(h) {
      handlers[i] = h;
    },
  });
  const deliver = (dir: 0 | 1): void => {
    const frame = queues[dir].shift();
    if (frame !== undefined && !closed) handlers[dir === 0 ? 1 : 0]?.frame(frame);
  };
  return {
    ends: [end(0), end(1)],
    pending: (dir) => queues[dir].length,
    deliver,
    async flush() {
      for (let round = 0; round < 1000; round++) {
        await new Promise((r) => setTimeout(r, 0));
        if (queues[0].length === 0 && queues[1].length === 0) return;
        while (queues[0].length > 0 || queues[1].length > 0) {
          if (queues[0].length > 0) deliver(0);
          if (queues[1].length > 0) deliver(1);
        }
      }
    },
  };
}

export async function rejection(p: Promise<unknown>): Promise<DreggError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof DreggError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

let exported = 0;

/**
 * Gives `importer` (over its session `session` to `exporter`) a live reference to `object`, the real
 * way: register it, mint a sturdy reference bound to the importer, and enliven it over the session.
 */
export async function share(
  exporter: Vat,
  importer: Vat,
  session: Session,
  object: LocalObject,
  caveats: readonly Caveat[] = [],
): Promise<RemoteRef> {
  const name = `object-${++exported}`;
  exporter.register(name, object);
  const uri = await exporter.mintSturdyRef({ object: name, holder: importer.did, caveats: [...caveats] });
  return (await enliven(session, uri).promise) as RemoteRef;
}

/** Delivers frames both ways until `p` settles (the peer may answer only after storage or signatures). */
export async function pumpUntil<T>(wire: { flush(): Promise<void> }, p: Promise<T>): Promise<T> {
  let settled = false;
  p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  while (!settled) {
    await wire.flush();
    await new Promise((r) => setTimeout(r, 1));
  }
  return p;
}

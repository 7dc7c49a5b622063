/**
 * Group commit: the one way the ledger state changes. Work is queued as jobs; a batch of queued jobs
 * is applied to the in-memory state one after another (each in its own `Tx`, so a refused job is
 * rolled back and rejected alone, and the next one sees the state the accepted ones left), then
 * everything the batch changed is written in ONE `store.transact`: the final value of every ledger
 * record any job touched, each job's own writes (receipts, log events) and what `seal` adds for the
 * batch as a whole (the notary's attested root). A job's promise settles only after that transaction:
 * nothing is acknowledged that a crash could take back. If the transaction (or `seal`) fails, every
 * job's transaction is rolled back in reverse order and every job of the batch fails with `E_IO`.
 *
 * One fsync per batch instead of one per turn is what makes a durable ledger fast; the batch forms by
 * itself while the previous one commits (turns that arrive meanwhile wait for the next), and
 * `maxDelayMs` may hold a batch open a little longer to gather more.
 */
import { DreggError } from '../errors.ts';
import type { Store, Write } from '../store/store.ts';
import { encodeValue, type State, type Tx } from './state.ts';

/** What one job did: its open transaction, its own writes, its result. */
export interface Step<T> {
  readonly tx: Tx;
  readonly writes: readonly Write[];
  readonly value: T;
}

/** What `seal` adds to a batch, and what to do once the batch is durable. */
export interface Sealed {
  readonly writes: readonly Write[];
  committed(): void;
}

export interface BatchOptions {
  readonly state: State;
  /** Omitted: memory only (the batch is "committed" when applied). */
  readonly store?: Store;
  /** Jobs per batch at most (default 256). */
  readonly maxTurns?: number;
  /** How long the first queued job waits for company when no batch is running (default 0). */
  readonly maxDelayMs?: number;
  /** Called with the accepted steps of a batch, in order, before it is written. */
  readonly seal?: (steps: readonly Step<unknown>[]) => Promise<Sealed> | Sealed;
  /** The store collection of a state key (default: every key in 'ledger'). */
  readonly collectionOf?: (key: string) => string;
}

export interface Batcher {
  /**
   * Queues a job; resolves with its value once its batch is durable. `apply` is told its position
   * among the batch's accepted steps (how many were accepted before it), so a job that needs its
   * place in the log knows it while it runs.
   */
  run<T>(apply: (position: number) => Promise<Step<T>> | Step<T>): Promise<T>;
  /** Resolves when every job queued so far has settled. */
  flush(): Promise<void>;
  /**
   * Runs `read` when no batch is being applied, so it sees only committed state (between batches the
   * state is exactly what the store holds); under load, at the next batch boundary.
   */
  atRest<T>(read: () => T): Promise<T>;
}

interface Job {
  apply(position: number): Promise<Step<unknown>> | Step<unknown>;
  resolve(value: unknown): void;
  reject(e: unknown): void;
}

/** Ledger writes for every key the steps touched: the final value, or a delete. */
function ledgerWrites(
  state: State,
  steps: readonly Step<unknown>[],
  collectionOf: (key: string) => string,
): Write[] {
  const keys = new Set<string>();
  for (const s of steps) for (const k of s.tx.before().keys()) keys.add(k);
  const writes: Write[] = [];
  for (const key of keys) {
    const v = state.get(key);
    writes.push(
      v === undefined
        ? { op: 'delete', collection: collectionOf(key), key }
        : { op: 'put', collection: collectionOf(key), key, value: encodeValue(v) },
    );
  }
  return writes;
}

const soon: (f: () => void) => void =
  typeof globalThis.setImmediate === 'function' ? (f) => void setImmediate(f) : (f) => void setTimeout(f, 0);

export function createBatcher(options: BatchOptions): Batcher {
  const { state, store, seal } = options;
  const collectionOf = options.collectionOf ?? (() => 'ledger');
  const maxTurns = options.maxTurns ?? 256;
  const maxDelayMs = options.maxDelayMs ?? 0;
  if (!Number.isSafeInteger(maxTurns) || maxTurns < 1)
    throw new DreggError('E_ARGUMENT', 'maxTurns must be a positive integer');
  if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= 0))
    throw new DreggError('E_ARGUMENT', 'maxDelayMs must be a non-negative number of milliseconds');
  let pending: Job[] = [];
  let running: Promise<void> | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let readers: (() => void)[] = [];

  async function runBatch(jobs: readonly Job[]): Promise<void> {
    const accepted: { job: Job; step: Step<unknown> }[] = [];
    for (const job of jobs) {
      try {
        accepted.push({ job, step: await job.apply(accepted.length) });
      } catch (e) {
        job.reject(e);
      }
    }
    if (accepted.length === 0) return;
    const steps = accepted.map((a) => a.step);
    try {
      const sealed = seal === undefined ? undefined : await seal(steps);
      if (store !== undefined)
        await store.transact([
          ...ledgerWrites(state, steps, collectionOf),
          ...steps.flatMap((s) => s.writes),
          ...(sealed?.writes ?? []),
        ]);
      sealed?.committed();
    } catch (e) {
      for (let i = steps.length - 1; i >= 0; i--) steps[i]!.tx.rollback();
      const error =
        e instanceof DreggError && e.code === 'E_IO'
          ? e
          : new DreggError('E_IO', 'Persisting the batch failed', { cause: e });
      for (const a of accepted) a.job.reject(error);
      return;
    }
    for (const a of accepted) a.job.resolve(a.step.value);
  }

  function start(): void {
    clearTimeout(timer);
    timer = undefined;
    if (running !== undefined || pending.length === 0) return;
    const jobs = pending.slice(0, maxTurns);
    pending = pending.slice(maxTurns);
    running = runBatch(jobs).finally(() => {
      running = undefined;
      const waiting = readers;
      readers = [];
      for (const read of waiting) read();
      kick();
    });
  }

  function kick(): void {
    if (running !== undefined || pending.length === 0) return;
    if (pending.length >= maxTurns) start();
    else if (maxDelayMs > 0) timer ??= setTimeout(start, maxDelayMs);
    // After the callbacks ready now (Node's setImmediate, where there is one): a lone caller waits
    // for next to nothing, and every turn whose signature check finished meanwhile joins the batch.
    // A microtask would start a batch per finished check, and a timer costs a millisecond or more.
    else if (timer === undefined) soon(start);
  }

  return {
    run<T>(apply: (position: number) => Promise<Step<T>> | Step<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        pending.push({ apply, resolve: resolve as (v: unknown) => void, reject });
        kick();
      });
    },
    atRest<T>(read: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const attempt = () => {
          try {
            resolve(read());
          } catch (e) {
            reject(e);
          }
        };
        if (running === undefined) attempt();
        else readers.push(attempt);
      });
    },
    async flush() {
      while (running !== undefined || pending.length > 0) {
        if (running === undefined) start();
        await running;
      }
    },
  };
}

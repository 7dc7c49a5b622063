/**
 * Runs `dregg relay` as a child process, the way an operator would, and waits for its one-line ready
 * report. Tests, benchmarks and launchers (a relay beside the dashboard) all start relays through
 * this, so there is one reading of the ready line and one shutdown discipline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DreggError } from '../../errors.ts';

/** What `dregg relay` prints on stdout once it serves. */
export interface RelayReady {
  readonly peerId: string;
  readonly did: string;
  readonly multiaddrs: readonly string[];
  readonly http: string | null;
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface SpawnedRelay {
  readonly ready: RelayReady;
  readonly process: ChildProcess;
  readonly exited: Promise<Exit>;
  /** The last 20,000 characters the relay wrote on stderr (its JSON log). */
  stderr(): string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<Exit>;
  /** SIGKILL at once (the crash test's weapon); resolves when the process is gone. */
  kill(): Promise<Exit>;
}

export interface SpawnRelayOptions {
  /** The relay's `--home`. */
  readonly home: string;
  /** Further `dregg relay` arguments (`--listen`, `--grant`, `--http`, `--limit` ...). */
  readonly args?: readonly string[];
  /** Node options for the relay process itself (e.g. `--cpu-prof`). */
  readonly nodeOptions?: readonly string[];
  /** How long to wait for the ready line. */
  readonly readyTimeoutMs?: number;
  /** Environment additions for the relay process (a test's CIPHERCLERK_TEST_* modes). */
  readonly env?: Readonly<Record<string, string>>;
}

const DREGG = join(import.meta.dirname, '../../../bin/dregg.js');

export async function spawnRelay(options: SpawnRelayOptions): Promise<SpawnedRelay> {
  const child = spawn(
    process.execPath,
    [...(options.nodeOptions ?? []), DREGG, 'relay', '--home', options.home, ...(options.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err = (err + d).slice(-20_000);
  });
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const lines = createInterface({ input: child.stdout! });
  const timeoutMs = options.readyTimeoutMs ?? 45_000;
  let timer: NodeJS.Timeout | undefined;
  const line = await Promise.race([
    new Promise<string>((resolve) => lines.once('line', resolve)),
    exited.then(({ code, signal }) => {
      throw new DreggError(
        'E_UNREACHABLE',
        `dregg relay exited (${code ?? signal}) before it was ready:\n${err}`,
      );
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DreggError('E_TIMEOUT', `dregg relay not ready after ${timeoutMs} ms:\n${err}`)),
        timeoutMs,
      );
    }),
  ])
    .catch((e: unknown) => {
      child.kill('SIGKILL');
      throw e;
    })
    .finally(() => clearTimeout(timer));
  lines.on('line', () => {}); // keep draining stdout so the relay never blocks on a full pipe

  const kill = async (): Promise<Exit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    return exited;
  };
  const stop = async (graceMs = 10_000): Promise<Exit> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(forced);
    }
  };
  return { ready: JSON.parse(line) as RelayReady, process: child, exited, stderr: () => err, stop, kill };
}

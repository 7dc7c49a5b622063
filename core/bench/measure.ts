/** What every benchmark shares: one JSON line per figure, and rates per CPU second and per wall second. */

export function emit(bench: string, figures: Record<string, number | string>): void {
  process.stdout.write(`${JSON.stringify({ bench, ...figures })}\n`);
}

/** The median wall time of `runs` calls of `op` after one warm-up call, in ms (one decimal). */
export async function medianMs(op: () => unknown, runs: number): Promise<number> {
  await op();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await op();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(runs / 2)]! * 10) / 10;
}

/**
 * Runs `op` repeatedly for about `ms` after a warm-up; returns operations per second of this
 * process's CPU time (all its threads, so WebCrypto's thread-pool work counts), which stays honest on a
 * machine shared with other work, and per second of wall time.
 */
export async function rate(op: () => unknown, ms = 2000): Promise<{ per_s: number; per_wall_s: number }> {
  const warmEnd = performance.now() + 300;
  while (performance.now() < warmEnd) await op();
  let n = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 50; i++) await op();
    n += 50;
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return { per_s: Math.round(n / cpuSeconds), per_wall_s: Math.round((n * 1000) / (now - start)) };
}

/** A stopwatch that adds up CPU and wall time over the stretches it is running. */
export class Stopwatch {
  cpuSeconds = 0;
  wallSeconds = 0;
  #cpu: NodeJS.CpuUsage | undefined;
  #wall = 0;

  start(): void {
    this.#cpu = process.cpuUsage();
    this.#wall = performance.now();
  }

  stop(): void {
    if (this.#cpu === undefined) return;
    const cpu = process.cpuUsage(this.#cpu);
    this.cpuSeconds += (cpu.user + cpu.system) / 1e6;
    this.wallSeconds += (performance.now() - this.#wall) / 1000;
    this.#cpu = undefined;
  }
}

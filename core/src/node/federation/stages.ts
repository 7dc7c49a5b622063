/**
 * Bench-only timing of where a submitted turn's latency goes (core/bench/federation.ts), on when
 * CIPHERCLERK_BENCH_STAGES is set and absent otherwise, so production pays one `undefined` check per
 * call site. For the turns submitted to this relay it keeps, from submission: when this relay's block
 * carrying the turn was published, when the order made that block final, when its wave's settlement
 * began (the gap is the settlement queue) and when its submitter was answered (settled); and the gaps
 * between this relay's own blocks (its rounds), how long each wave's settlement took and how many
 * of its turns each block carried. `report()` gives the medians over the last
 * CIPHERCLERK_BENCH_STAGES seconds, without side effects (status is read by others too), so the bench
 * reads it at the end of its measured window.
 */
import { fail } from '../../errors.ts';

interface Times {
  readonly submitted: number;
  inBlock?: number;
  final?: number;
  settling?: number;
}

export interface StageReport {
  /** Turns answered in the window, and the medians (ms) from submission to each stage. */
  readonly turns: number;
  readonly inBlockMs: number;
  readonly finalMs: number;
  readonly settlingMs: number;
  readonly answeredMs: number;
  /** Median gap between this relay's own blocks, and median settlement time of a wave (ms). */
  readonly roundMs: number;
  readonly settleWaveMs: number;
  /** Median number of this relay's submitted turns per own block that carried any. */
  readonly turnsPerBlock: number;
}

export interface Stages {
  submitted(turn: string): void;
  /** This relay published its block carrying these turns. */
  inBlock(block: string, turns: readonly string[]): void;
  /** The order made these blocks final. */
  final(blocks: readonly string[]): void;
  /** Settlement began for a wave of these (final) blocks. */
  settling(blocks: readonly string[]): void;
  answered(turn: string): void;
  /** A wave's settlement took `ms`. */
  wave(ms: number): void;
  report(): StageReport;
}

/** A sample: when it was taken, and its value(s). */
type Sample = readonly [at: number, ...values: (number | undefined)[]];

const median = (xs: number[]): number => {
  if (xs.length === 0) return 0;
  xs.sort((a, b) => a - b);
  return Math.round(xs[Math.floor(xs.length / 2)]! * 10) / 10;
};

export function createStages(setting = process.env.CIPHERCLERK_BENCH_STAGES): Stages | undefined {
  if (setting === undefined) return undefined;
  const windowMs = Number(setting) * 1000;
  if (!(windowMs > 0)) fail('E_ARGUMENT', 'CIPHERCLERK_BENCH_STAGES is the window in seconds');
  const open = new Map<string, Times>();
  const byBlock = new Map<string, string[]>();
  const turns: Sample[] = [];
  const rounds: Sample[] = [];
  const waves: Sample[] = [];
  const sizes: Sample[] = [];
  let lastBlock: number | undefined;
  /** Appends a sample and drops those older than the window (amortized: half the list at a time). */
  const add = (list: Sample[], sample: Sample) => {
    list.push(sample);
    if (list[0]![0] < sample[0] - 2 * windowMs) list.splice(0, list.length >> 1);
  };
  const recent = (list: Sample[], i: number, since: number): number[] =>
    list.filter((s) => s[0] >= since && s[i] !== undefined).map((s) => s[i]!);
  const mark = (blocks: readonly string[], set: (t: Times, now: number) => void) => {
    const now = performance.now();
    for (const b of blocks)
      for (const turn of byBlock.get(b) ?? []) {
        const times = open.get(turn);
        if (times !== undefined) set(times, now);
      }
  };
  return {
    submitted(turn) {
      if (!open.has(turn)) open.set(turn, { submitted: performance.now() });
    },
    inBlock(block, carried) {
      const now = performance.now();
      if (lastBlock !== undefined) add(rounds, [now, now - lastBlock]);
      lastBlock = now;
      const mine = carried.filter((t) => open.has(t));
      if (mine.length === 0) return;
      add(sizes, [now, mine.length]);
      byBlock.set(block, mine);
      for (const t of mine) open.get(t)!.inBlock = now;
    },
    final(blocks) {
      mark(blocks, (t, now) => {
        t.final = now;
      });
    },
    settling(blocks) {
      mark(blocks, (t, now) => {
        t.settling = now;
      });
      for (const b of blocks) byBlock.delete(b);
    },
    answered(turn) {
      const t = open.get(turn);
      if (t === undefined) return;
      open.delete(turn);
      const now = performance.now();
      const since = (x: number | undefined) => (x === undefined ? undefined : x - t.submitted);
      add(turns, [now, since(t.inBlock), since(t.final), since(t.settling), now - t.submitted]);
    },
    wave(ms) {
      add(waves, [performance.now(), ms]);
    },
    report() {
      const since = performance.now() - windowMs;
      return {
        turns: recent(turns, 4, since).length,
        inBlockMs: median(recent(turns, 1, since)),
        finalMs: median(recent(turns, 2, since)),
        settlingMs: median(recent(turns, 3, since)),
        answeredMs: median(recent(turns, 4, since)),
        roundMs: median(recent(rounds, 1, since)),
        settleWaveMs: median(recent(waves, 1, since)),
        turnsPerBlock: median(recent(sizes, 1, since)),
      };
    },
  };
}

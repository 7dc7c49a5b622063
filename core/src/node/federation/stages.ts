/**
 * Bench-only timing of where a submitted turn's latency goes (core/bench/federation.ts), on when
 * CIPHERCLERK_BENCH_STAGES is set and absent otherwise, so production pays one `undefined` check per
 * call site. For the turns submitted to this relay it keeps, from submission: when this relay's block
 * carrying the turn was published, when the order made that block final, when its wave's settlement
 * began (the gap is the settlement queue) and when its submitter was answered (settled); and the gaps between this relay's own blocks (its rounds) and
 * how long each wave's settlement took. `report()` gives the medians since the previous report, so
 * the bench reads once after its warm-up and once after its measured window.
 */

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
  /** Median turns per own block (with turns), in the window. */
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

const median = (xs: number[]): number => {
  if (xs.length === 0) return 0;
  xs.sort((a, b) => a - b);
  return Math.round(xs[Math.floor(xs.length / 2)]! * 10) / 10;
};

/** Samples of one kind kept at most per window: a bench window never comes near it. */
const MAX_SAMPLES = 100_000;

export function createStages(
  enabled = process.env.CIPHERCLERK_BENCH_STAGES !== undefined,
): Stages | undefined {
  if (!enabled) return undefined;
  const open = new Map<string, Times>();
  const byBlock = new Map<string, string[]>();
  let lastBlock: number | undefined;
  let window = fresh();
  function fresh() {
    return {
      inBlock: [] as number[],
      final: [] as number[],
      settling: [] as number[],
      answered: [] as number[],
      rounds: [] as number[],
      waves: [] as number[],
      sizes: [] as number[],
    };
  }
  const push = (xs: number[], x: number) => {
    if (xs.length < MAX_SAMPLES) xs.push(x);
  };
  return {
    submitted(turn) {
      if (!open.has(turn)) open.set(turn, { submitted: performance.now() });
    },
    inBlock(block, turns) {
      const now = performance.now();
      if (lastBlock !== undefined) push(window.rounds, now - lastBlock);
      lastBlock = now;
      const mine = turns.filter((t) => open.has(t));
      if (mine.length === 0) return;
      push(window.sizes, mine.length);
      byBlock.set(block, mine);
      for (const t of mine) open.get(t)!.inBlock = now;
    },
    final(blocks) {
      const now = performance.now();
      for (const b of blocks)
        for (const t of byBlock.get(b) ?? []) {
          const times = open.get(t);
          if (times !== undefined) times.final = now;
        }
    },
    settling(blocks) {
      const now = performance.now();
      for (const b of blocks) {
        for (const t of byBlock.get(b) ?? []) {
          const times = open.get(t);
          if (times !== undefined) times.settling = now;
        }
        byBlock.delete(b);
      }
    },
    answered(turn) {
      const times = open.get(turn);
      if (times === undefined) return;
      open.delete(turn);
      const now = performance.now();
      const since = (t: number | undefined) => (t === undefined ? undefined : t - times.submitted);
      for (const [xs, t] of [
        [window.inBlock, since(times.inBlock)],
        [window.final, since(times.final)],
        [window.settling, since(times.settling)],
        [window.answered, since(now)],
      ] as const)
        if (t !== undefined) push(xs, t);
    },
    wave(ms) {
      push(window.waves, ms);
    },
    report() {
      const w = window;
      window = fresh();
      return {
        turns: w.answered.length,
        inBlockMs: median(w.inBlock),
        finalMs: median(w.final),
        settlingMs: median(w.settling),
        answeredMs: median(w.answered),
        roundMs: median(w.rounds),
        settleWaveMs: median(w.waves),
        turnsPerBlock: median(w.sizes),
      };
    },
  };
}

/**
 * A Vitest reporter for CI: it names each test as it starts, and ends the run when no test has
 * started or finished for `STALL_MS`.
 *
 * Why: a test that loops synchronously blocks its fork's event loop, so Vitest's own `testTimeout`
 * never fires and the run waits forever (it happened once, on CI, with no clue to which test it was).
 * The reporter lives in Vitest's main process, which stays responsive, so it can say which test
 * stalled, kill the forks and everything they started (a fork or a relay child left behind would
 * keep CI's output pipe open, and burn the CPU of whatever runs next) and fail the run.
 */
import { execFileSync } from 'node:child_process';
import type { Reporter, TestModule } from 'vitest/node';

/** Far above the suite's 30 s test timeout and its slowest test (desk-crash's, about 80 s under load). */
const STALL_MS = Number(process.env.TEST_STALL_MS ?? 300_000);

/**
 * Every process below `root`, children before their own children. Relays are the forks' children,
 * so killing the forks alone would orphan them (`pkill -P` reaches one level).
 */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const line of execFileSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' }).split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (!pid || ppid === undefined) continue;
    children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const found: number[] = [];
  for (let queue = [root]; queue.length > 0; ) {
    const next = children.get(queue.shift()!) ?? [];
    found.push(...next);
    queue.push(...next);
  }
  return found;
}

export function testWatchdog(): Reporter {
  let current = 'before the first test';
  let timer: NodeJS.Timeout | undefined;

  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(stalled, STALL_MS);
    timer.unref();
  };

  const stalled = () => {
    process.stderr.write(
      `\nwatchdog: no test started or finished for ${STALL_MS / 1000} s; stalled in ${current}\n`,
    );
    for (const pid of descendants(process.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    process.exit(1);
  };

  const file = (module: TestModule) => module.moduleId.replace(`${process.cwd()}/`, '');

  return {
    onTestRunStart: arm,
    onTestModuleStart(module) {
      current = file(module);
      arm();
    },
    onTestCaseReady(test) {
      current = `${file(test.module)} > ${test.fullName}`;
      process.stderr.write(`▶ ${current}\n`);
      arm();
    },
    onTestCaseResult: arm,
    onTestRunEnd: () => clearTimeout(timer),
  };
}

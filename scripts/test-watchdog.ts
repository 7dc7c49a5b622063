/**
 * A Vitest reporter for CI: it names each test as it starts, and ends the run when no test has
 * started or finished for `STALL_MS`.
 *
 * Why: a test that loops synchronously blocks its fork's event loop, so Vitest's own `testTimeout`
 * never fires and the run waits forever (it happened once, on CI, with no clue to which test it was).
 * The reporter lives in Vitest's main process, which stays responsive, so it can say which test
 * stalled, kill the forks (a fork left behind would keep CI's output pipe open) and fail the run.
 */
import { execFileSync } from 'node:child_process';
import type { Reporter, TestModule } from 'vitest/node';

/** Far above the suite's 30 s test timeout and its slowest test (desk-crash's, about 80 s under load). */
const STALL_MS = Number(process.env.TEST_STALL_MS ?? 300_000);

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
    try {
      execFileSync('pkill', ['-KILL', '-P', String(process.pid)]);
    } catch {
      // pkill exits 1 when there was nothing to kill.
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

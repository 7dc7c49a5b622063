/**
 * Runs vite.config.ts's two Vitest projects side by side, one Vitest process each, and fails if
 * either fails.
 *
 * Why not one `vitest run`: Vitest 4 runs projects with different worker limits one after another,
 * so the one-file-at-a-time `federations` project and the `unit` project never overlapped, and the
 * second core sat idle through half the suite. Each line is prefixed with its project, so the two
 * streams stay readable when interleaved. Arguments after the script go to both processes.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const PROJECTS = ['federations', 'unit'];
const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');

/** Runs one project to its end; resolves with its exit code once its output is all written. */
function run(project) {
  const child = spawn(process.execPath, [vitest, 'run', '--project', project, ...process.argv.slice(2)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `${project.padEnd(Math.max(...PROJECTS.map((p) => p.length)))} │ `;
  for (const [from, to] of [
    [child.stdout, process.stdout],
    [child.stderr, process.stderr],
  ])
    createInterface({ input: from }).on('line', (line) => to.write(`${prefix}${line}\n`));
  return new Promise((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`${prefix}could not start Vitest: ${e.message}\n`);
      resolve(1);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

const codes = await Promise.all(PROJECTS.map(run));
PROJECTS.forEach((p, i) => {
  process.stdout.write(`${p}: ${codes[i] === 0 ? 'passed' : `failed (exit ${codes[i]})`}\n`);
});
process.exit(codes.every((c) => c === 0) ? 0 : 1);

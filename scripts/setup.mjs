#!/usr/bin/env node
// Installs what `npm start` and `npm test` need on a fresh clone: npm dependencies (when node_modules is
// missing or older than package-lock.json); with --browser, Debian's Chromium for the e2e suite; with
// --firmament, QEMU and the bare-metal RISC-V toolchain that build and boot the local firmament.
// As root it installs system packages itself; otherwise it prints the exact command and stops.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));

function fail(message) {
  process.stderr.write(`setup: ${message}\n`);
  process.exit(1);
}

function run(cmd, argv, env = process.env) {
  execFileSync(cmd, argv, { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'] });
}

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19))
  fail(`Node >= 20.19 is required (this is ${process.version}).`);

// npm dependencies: reinstall only when the lockfile changed since the last install.
const lock = readFileSync(join(root, 'package-lock.json'));
const lockHash = createHash('sha256').update(lock).digest('hex');
const marker = join(root, 'node_modules', '.cipherclerk-lock');
if (!existsSync(marker) || readFileSync(marker, 'utf8') !== lockHash) {
  process.stderr.write('setup: installing npm dependencies (npm ci)\n');
  // better-sqlite3 has no reachable prebuilt binary here, so node-gyp compiles it: on every core.
  run('npm', ['ci', '--no-audit', '--no-fund'], { ...process.env, JOBS: 'max' });
  writeFileSync(marker, lockHash);
}

// System packages. Each entry: a binary we need and the Debian package that provides it.
const system = [];
if (args.has('--browser')) system.push(['/usr/bin/chromium', 'chromium']);
if (args.has('--firmament')) {
  system.push(
    ['/usr/bin/qemu-system-riscv64', 'qemu-system-misc'],
    ['/usr/bin/riscv64-unknown-elf-gcc', 'gcc-riscv64-unknown-elf'],
  );
}
const missing = system.filter(([bin]) => !existsSync(bin)).map(([, pkg]) => pkg);
if (missing.length > 0) {
  const command = `apt-get update && apt-get install -y --no-install-recommends ${missing.join(' ')}`;
  if (process.getuid?.() !== 0) fail(`missing system packages; run as root:\n  ${command}`);
  process.stderr.write(`setup: installing ${missing.join(' ')} with apt-get\n`);
  run('sh', ['-c', `DEBIAN_FRONTEND=noninteractive ${command}`]);
}

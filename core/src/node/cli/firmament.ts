/**
 * `dregg firmament up|selftest`: delegates to the launcher in sel4-bridge by running its entry point
 * in a child process. core sits below sel4-bridge (sel4-bridge imports core), so core never imports it;
 * the child resolves the workspace package by name at run time and inherits stdio, so its one JSON
 * line (or its human output) and its exit code are this command's.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DreggError } from '../../errors.ts';
import type { Invocation } from './main.ts';

export async function firmamentCommand(inv: Invocation): Promise<number> {
  const [sub] = inv.positionals;
  if (sub !== 'up' && sub !== 'selftest')
    throw new DreggError(
      'E_ARGUMENT',
      'Usage: dregg firmament up [--json] [--origin O ...] [--relay MULTIADDR ...] | selftest [--json]',
    );
  let entry: string;
  let tsx: string;
  try {
    entry = fileURLToPath(import.meta.resolve('@cipherclerk/sel4-bridge/main'));
    tsx = import.meta.resolve('tsx');
  } catch (e) {
    throw new DreggError('E_NOT_FOUND', 'The sel4-bridge workspace is not installed', { cause: e });
  }
  const args = [
    sub,
    ...(inv.json ? ['--json'] : []),
    ...(inv.flags.origin ?? []).flatMap((o) => ['--origin', o]),
    ...(inv.flags.relay ?? []).flatMap((r) => ['--relay', r]),
  ];
  const child = spawn(process.execPath, ['--import', tsx, entry, ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (e) =>
        reject(new DreggError('E_IO', 'Could not start the firmament launcher', { cause: e })),
      );
      child.once('exit', (code) => resolve(code ?? 2));
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

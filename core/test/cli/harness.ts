import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../src/node/cli/main.ts';

export const PASSPHRASE = 'correct horse battery staple';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>;
}

export function tempHome(name: string): string {
  return join(mkdtempSync(join(tmpdir(), 'dregg-test-')), name);
}

/** Runs `dregg` in-process against real files, with captured output. */
export async function dregg(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: { DREGG_PASSPHRASE: PASSPHRASE, ...opts.env },
    readStdin: async () => opts.stdin ?? '',
    promptSecret: undefined,
  });
  let json: Record<string, unknown> = {};
  const out = code === 2 ? stderr : stdout;
  if (args.includes('--json') && out.trim() !== '') json = JSON.parse(out);
  return { code, stdout, stderr, json };
}

/**
 * What a CLI command may touch of the outside world, injected so that tests run commands in-process
 * against real files but with captured output.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { DreggError } from '../../errors.ts';

export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Reads all of standard input (for `cap accept` without --envelope). */
  readonly readStdin: () => Promise<string>;
  /** Asks for a secret on the terminal without echo; `undefined` when there is no terminal. */
  readonly promptSecret: ((question: string) => Promise<string>) | undefined;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

function promptOnTty(question: string): Promise<string> {
  // Echo is suppressed by a muted output stream; the question itself goes to stderr.
  process.stderr.write(question);
  const muted = new Writable({ write: (_chunk, _enc, done) => done() });
  const rl = createInterface({ input: process.stdin, output: muted, terminal: true });
  return new Promise((resolve, reject) => {
    rl.question('', (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    rl.on('SIGINT', () => {
      rl.close();
      reject(new DreggError('E_ARGUMENT', 'Cancelled'));
    });
  });
}

export function processIO(): CliIO {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    readStdin: () => readAll(process.stdin),
    promptSecret: process.stdin.isTTY ? promptOnTty : undefined,
  };
}

/** The unlock passphrase: `DREGG_PASSPHRASE`, else a prompt on the terminal. */
export async function unlockPassphrase(io: CliIO, confirm = false): Promise<string> {
  const fromEnv = io.env.DREGG_PASSPHRASE;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (io.promptSecret === undefined) {
    throw new DreggError('E_ARGUMENT', 'No passphrase: set DREGG_PASSPHRASE or run in a terminal');
  }
  const first = await io.promptSecret('Unlock passphrase: ');
  if (first === '') throw new DreggError('E_ARGUMENT', 'The unlock passphrase cannot be empty');
  if (confirm && (await io.promptSecret('Repeat it: ')) !== first) {
    throw new DreggError('E_ARGUMENT', 'The two passphrases differ');
  }
  return first;
}

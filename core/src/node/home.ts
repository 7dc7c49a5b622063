/**
 * The CLI's home directory (`--home DIR`, default ~/.cipherclerk): `keyring.bin` (secrets, encrypted
 * under the unlock passphrase) and `state.json` (public bookkeeping); the local ledger beside them is
 * `./ledger.ts`. Every write goes to a temporary file that is flushed and renamed over the old one, so
 * a crash never leaves half a file. The keyring is written before the state: a crash between the two
 * can leave an unused root key, never a token without its key.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type Agent,
  type AgentOptions,
  type AgentState,
  lockAgent,
  parseState,
  unlockAgent,
} from '../agent/agent.ts';
import { DreggError } from '../errors.ts';

export function defaultHome(): string {
  return join(homedir(), '.cipherclerk');
}

const keyringPath = (home: string) => join(home, 'keyring.bin');
const statePath = (home: string) => join(home, 'state.json');

export function hasIdentity(home: string): boolean {
  return existsSync(keyringPath(home));
}

/** Writes a file whole or not at all: a temporary file, flushed, renamed over the old one. */
export function atomicWrite(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new DreggError('E_NOT_FOUND', `No ${what} here: run "dregg id new" or "dregg id restore" first`);
    throw new DreggError('E_IO', `Cannot read the ${what}`, { cause: e });
  }
}

/** The public state, readable without the passphrase. */
export function readState(home: string): AgentState {
  const text = read(statePath(home), 'identity').toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DreggError('E_DECODE', 'The state file is not valid JSON', { cause: e });
  }
  return parseState(value);
}

export async function openAgent(
  home: string,
  passphrase: string,
  options: AgentOptions = {},
): Promise<Agent> {
  const state = readState(home);
  const keyring = new Uint8Array(read(keyringPath(home), 'keyring'));
  return unlockAgent({ keyring, state }, passphrase, options);
}

/** Persists the agent: keyring first, then state (see the module comment). */
export async function saveAgent(home: string, agent: Agent, passphrase: string): Promise<void> {
  const dir = resolve(home);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const locked = await lockAgent(agent, passphrase);
    atomicWrite(keyringPath(dir), locked.keyring);
    atomicWrite(statePath(dir), `${JSON.stringify(locked.state, null, 2)}\n`);
  } catch (e) {
    if (e instanceof DreggError) throw e;
    throw new DreggError('E_IO', `Cannot write to ${dir}`, { cause: e });
  }
}

/** Saves only the public state (for changes that touch no secret, e.g. accepting a delegation). */
export function saveState(home: string, state: AgentState): void {
  try {
    atomicWrite(statePath(resolve(home)), `${JSON.stringify(state, null, 2)}\n`);
  } catch (e) {
    throw new DreggError('E_IO', `Cannot write to ${home}`, { cause: e });
  }
}

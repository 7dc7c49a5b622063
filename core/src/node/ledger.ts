/**
 * The local ledger of a `dregg` home: `ledger.sqlite` (the SQLite `Store` holding the executor's
 * collections, `EXECUTOR_COLLECTIONS`) and `ledger.json` (public: which executor signs this home's
 * receipts, so `receipt verify` can trust it without the passphrase).
 *
 * The local executor signs receipts with a key derived from the identity's BIP39 seed at its own
 * SLIP-0010 path (`LOCAL_EXECUTOR_PATH`, docs/decisions.md): it is recomputed after each unlock, held
 * only in memory, never written anywhere, and the same words give the same executor after a restore.
 *
 * One writer at a time: the executor keeps the ledger in memory while it works, so two processes
 * applying turns at once would each write their own view. Commands that change the ledger hold
 * `ledger.lock` (created exclusively, holding the pid; a lock whose process is gone is taken over).
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Agent } from '../agent/agent.ts';
import type { Cell } from '../cells/cell.ts';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { didKeyFromEd25519 } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import { CIPHERCLERK_COIN_TYPE } from '../keys/identity.ts';
import type { KeyringContents } from '../keys/keyring.ts';
import { mnemonicToSeed } from '../keys/mnemonic.ts';
import { slip10Ed25519 } from '../keys/slip10.ts';
import type { Store } from '../store/store.ts';
import { createExecutor, EXECUTOR_COLLECTIONS, type Executor } from '../turns/executor.ts';
import { decodeReceipt, type Receipt } from '../turns/receipt.ts';
import { cellKey, decodeValue, isCell } from '../turns/state.ts';
import { atomicWrite } from './home.ts';
import { openSqliteStore } from './sqlite-store.ts';

/**
 * m/44'/<coin>'/<account>'/1'/0': the identity's own BIP44 account, branch 1 (the identity key is on
 * branch 0). Hardened at every level, as SLIP-0010 requires for Ed25519.
 */
export const LOCAL_EXECUTOR_PATH = (account: number): string =>
  `m/44'/${CIPHERCLERK_COIN_TYPE}'/${account}'/1'/0'`;

export const ledgerPath = (home: string): string => join(home, 'ledger.sqlite');
const infoPath = (home: string) => join(home, 'ledger.json');
const lockPath = (home: string) => join(home, 'ledger.lock');

/** The local executor's signing key (32-byte Ed25519 seed). The caller wipes it when done. */
export function localExecutorSeed(secrets: KeyringContents): Uint8Array {
  const bip39Seed = mnemonicToSeed(secrets.mnemonic, secrets.bip39Passphrase);
  try {
    const { key, chainCode } = slip10Ed25519(bip39Seed, LOCAL_EXECUTOR_PATH(secrets.account));
    chainCode.fill(0);
    return key;
  } finally {
    bip39Seed.fill(0);
  }
}

export function hasLedger(home: string): boolean {
  return existsSync(ledgerPath(home));
}

/** The did:key of this home's local executor, from `ledger.json`; undefined when it has no ledger. */
export function localExecutorDid(home: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(infoPath(home), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DreggError('E_IO', 'Cannot read ledger.json', { cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DreggError('E_DECODE', 'ledger.json is not valid JSON', { cause: e });
  }
  const v = value as { version?: unknown; executor?: unknown };
  if (typeof value !== 'object' || value === null || v.version !== 1 || typeof v.executor !== 'string')
    throw new DreggError('E_INVALID', 'ledger.json is malformed');
  return v.executor;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes `ledger.lock`; returns the function that releases it. */
function lock(home: string): () => void {
  const path = lockPath(home);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new DreggError('E_IO', `Cannot lock the ledger in ${home}`, { cause: e });
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isSafeInteger(pid) && pid > 0 && processAlive(pid))
        throw new DreggError('E_EXISTS', `The ledger in ${home} is in use by process ${pid}`);
      rmSync(path, { force: true }); // left behind by a process that is gone
    }
  }
  throw new DreggError('E_EXISTS', `The ledger in ${home} is in use`);
}

export interface OpenLedger {
  readonly executor: Executor;
  close(): Promise<void>;
}

/**
 * Opens (creating if needed) the home's ledger with its local executor, for an unlocked agent, and
 * holds the writer's lock until `close`. Refuses a ledger whose recorded executor is not this
 * identity's (`E_INVALID`): it was made by another identity, or `ledger.json` was edited.
 */
export async function openLedger(home: string, agent: Agent): Promise<OpenLedger> {
  const dir = resolve(home);
  const seed = localExecutorSeed(agent.secrets);
  const did = didKeyFromEd25519(ed25519PublicKey(seed));
  const recorded = localExecutorDid(dir);
  if (recorded !== undefined && recorded !== did)
    throw new DreggError('E_INVALID', `The ledger in ${dir} belongs to another identity's executor`);
  const release = lock(dir);
  let store: Store | undefined;
  try {
    store = await openSqliteStore(ledgerPath(dir), { collections: EXECUTOR_COLLECTIONS });
    if (recorded === undefined) {
      // A new ledger, or one whose ledger.json was lost: it must hold no other executor's receipts.
      const [first] = await store.list('receipts', { limit: 1 });
      if (first !== undefined && decodeReceipt(first.value).executor !== did)
        throw new DreggError('E_INVALID', `The ledger in ${dir} belongs to another identity's executor`);
      atomicWrite(infoPath(dir), `${JSON.stringify({ version: 1, executor: did }, null, 2)}\n`);
    }
    const executor = await createExecutor({ ed: agent.ed, clock: agent.clock, seed, store });
    const opened = store;
    return {
      executor,
      async close() {
        seed.fill(0);
        try {
          await opened.close();
        } finally {
          release();
        }
      },
    };
  } catch (e) {
    seed.fill(0);
    await store?.close();
    release();
    throw e;
  }
}

/**
 * The ledger's store for reading (no passphrase, no lock): cells and receipts are public. `E_NOT_FOUND`
 * when the home has no ledger yet.
 */
export async function readLedger<T>(home: string, read: (store: Store) => Promise<T>): Promise<T> {
  if (!hasLedger(home))
    throw new DreggError('E_NOT_FOUND', `No local ledger in ${home}: create a cell first ("dregg cell new")`);
  const store = await openSqliteStore(ledgerPath(home), { collections: EXECUTOR_COLLECTIONS });
  try {
    return await read(store);
  } finally {
    await store.close();
  }
}

const HEX64 = /^[0-9a-f]{64}$/;

/**
 * A cell id from a full id or a unique prefix (at least 4 hex digits) of one of `ids`: `E_ARGUMENT`
 * for anything else or an ambiguous prefix, `E_NOT_FOUND` when none matches.
 */
export function matchCellId(text: string, ids: Iterable<string>): string {
  const id = text.trim().toLowerCase();
  if (HEX64.test(id)) return id;
  if (!/^[0-9a-f]{4,63}$/.test(id))
    throw new DreggError(
      'E_ARGUMENT',
      `A cell is named by its id (64 hex digits) or a prefix of it (got "${text}")`,
    );
  const found = [...ids].filter((x) => x.startsWith(id));
  if (found.length === 0) throw new DreggError('E_NOT_FOUND', `No cell starting with ${id}`);
  if (found.length > 1) throw new DreggError('E_ARGUMENT', `More than one cell starts with ${id}`);
  return found[0]!;
}

/** `matchCellId` against the cells of a ledger store. */
export async function resolveCellId(store: Store, text: string): Promise<string> {
  const id = text.trim().toLowerCase();
  if (HEX64.test(id) || !/^[0-9a-f]{4,63}$/.test(id)) return matchCellId(text, []);
  const found = await store.list('ledger', { prefix: cellKey(id), limit: 2 });
  return matchCellId(
    text,
    found.map((e) => e.key.slice('cell:'.length)),
  );
}

export async function readCell(store: Store, id: string): Promise<Cell> {
  const bytes = await store.get('ledger', cellKey(id));
  if (bytes === undefined) throw new DreggError('E_NOT_FOUND', `No cell ${id}`);
  const v = decodeValue(cellKey(id), bytes);
  if (!isCell(v)) throw new DreggError('E_INVALID', `Ledger record of cell ${id} is not a cell`);
  return v;
}

export async function readCells(store: Store): Promise<Cell[]> {
  return (await store.list('ledger', { prefix: 'cell:' })).map((e) => {
    const v = decodeValue(e.key, e.value);
    if (!isCell(v)) throw new DreggError('E_INVALID', `Ledger record ${e.key} is not a cell`);
    return v;
  });
}

/** An agent's receipts in the local ledger, in order. */
export async function readReceipts(store: Store, agent: string): Promise<Receipt[]> {
  return (await store.list('receipts', { prefix: `${agent}/` })).map((e) => decodeReceipt(e.value));
}

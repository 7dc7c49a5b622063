/**
 * A federation relay's log of record on disk: every block it accepted, one append-only file per
 * committee epoch (`<dir>/<12-digit epoch>.log`) in arrival order, which is an order the blocklace
 * accepts. A record is the block's encoding behind its length and CRC-32 (both u32, little-endian).
 *
 * Appends are written and `fdatasync`ed with node:fs/promises, on libuv's thread pool: the relay's
 * JavaScript thread never waits on the disk (in SQLite, at `synchronous=FULL`, every commit was an
 * fsync on that thread, ~20 % of a busy relay's wall time). An append resolves once durable; the
 * relay publishes its own block only then (decision 154).
 *
 * A crash in the middle of an append leaves a torn last record. Nothing in it was published (the
 * append had not resolved), so reading the epoch drops it, logs why (`E_IO`) and cuts the file back
 * to its last whole record; appends after it continue from there. Reads wait for the appends before
 * them, so a read never mistakes an append in flight for a torn one.
 */
import { type FileHandle, mkdir, open, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DreggError, fail } from '../../errors.ts';
import type { Log } from '../relay/log.ts';

/** Length and CRC-32 before each record. */
const HEADER = 8;

const fileName = (epoch: number): string => `${epoch.toString().padStart(12, '0')}.log`;
const isLogFile = (name: string): boolean => /^\d{12}\.log$/.test(name);

export interface BlockLog {
  /** Epoch `epoch`'s block encodings in arrival order (none if it has no file). */
  read(epoch: number): Promise<Uint8Array[]>;
  /** Whether any block was ever appended. */
  stored(): Promise<boolean>;
  /**
   * Appends these blocks in order and resolves once they are durable. After a failed append every
   * later one fails too: what reached the disk is unknown, so the relay must not go on signing
   * blocks that a restart could contradict (a restart reads what is there and carries on).
   */
  append(blocks: readonly { readonly epoch: number; readonly bytes: Uint8Array }[]): Promise<void>;
  /** Deletes every block (a migration that was interrupted starts over). */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** The whole records at the front of `bytes`, and where they end. */
export function readRecords(bytes: Uint8Array): { records: Uint8Array[]; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  let at = 0;
  while (at + HEADER <= bytes.length) {
    const length = view.getUint32(at, true);
    const end = at + HEADER + length;
    // An empty record is never written: a zeroed tail would otherwise pass (CRC-32 of nothing is 0).
    if (length === 0 || end > bytes.length) break;
    const record = bytes.subarray(at + HEADER, end);
    if (crc32(record) !== view.getUint32(at + 4, true)) break;
    records.push(record);
    at = end;
  }
  return { records, end: at };
}

/** One record: `bytes` behind its length and checksum. */
export function encodeRecord(bytes: Uint8Array): Buffer {
  if (bytes.length === 0) fail('E_INTERNAL', 'an empty block record');
  const out = Buffer.allocUnsafe(HEADER + bytes.length);
  out.writeUInt32LE(bytes.length, 0);
  out.writeUInt32LE(crc32(bytes), 4);
  out.set(bytes, HEADER);
  return out;
}

export async function openBlockLog(o: { readonly dir: string; readonly log: Log }): Promise<BlockLog> {
  const { dir, log } = o;
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new DreggError('E_IO', `creating the block log ${dir} failed`, { cause: e });
  }
  const files = new Map<number, FileHandle>();
  /** Every read and append, in order. */
  let queue: Promise<unknown> = Promise.resolve();
  let broken: DreggError | undefined;
  let closed = false;
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work);
    queue = next.catch(() => undefined);
    return next;
  };

  async function handle(epoch: number): Promise<FileHandle> {
    let file = files.get(epoch);
    if (file !== undefined) return file;
    file = await open(join(dir, fileName(epoch)), 'a');
    files.set(epoch, file);
    // A new file's name must be durable too, or a power cut could lose a synced file whole.
    if ((await file.stat()).size === 0) {
      const folder = await open(dir, 'r');
      await folder.sync().finally(() => folder.close());
    }
    return file;
  }

  async function write(epoch: number, records: Buffer): Promise<void> {
    const file = await handle(epoch);
    for (let at = 0; at < records.length; )
      at += (await file.write(records, at, records.length - at)).bytesWritten;
    await file.datasync();
  }

  return {
    read: (epoch) =>
      inTurn(async () => {
        const path = join(dir, fileName(epoch));
        let bytes: Uint8Array;
        try {
          bytes = await readFile(path);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw new DreggError('E_IO', `reading the block log ${path} failed`, { cause: e });
        }
        const { records, end } = readRecords(bytes);
        if (end < bytes.length) {
          const torn = new DreggError(
            'E_IO',
            `The block log ${path} ends in a torn record (a crash during an append): ` +
              `dropped its last ${bytes.length - end} bytes after ${records.length} blocks`,
          );
          log('warn', 'federation block log repaired', { code: torn.code, error: torn.message });
          await truncate(path, end);
        }
        return records;
      }),
    stored: () =>
      inTurn(async () => {
        for (const name of (await readdir(dir)).filter(isLogFile))
          if ((await stat(join(dir, name))).size > 0) return true;
        return false;
      }),
    append: (blocks) =>
      inTurn(async () => {
        if (closed) fail('E_IO', 'The block log is closed');
        if (broken !== undefined) throw broken;
        try {
          // Consecutive blocks of one epoch go in one write and one sync.
          for (let start = 0; start < blocks.length; ) {
            const epoch = blocks[start]!.epoch;
            let end = start;
            while (end < blocks.length && blocks[end]!.epoch === epoch) end++;
            await write(epoch, Buffer.concat(blocks.slice(start, end).map((b) => encodeRecord(b.bytes))));
            start = end;
          }
        } catch (e) {
          broken = new DreggError('E_IO', 'appending to the block log failed', { cause: e });
          throw broken;
        }
      }),
    reset: () =>
      inTurn(async () => {
        for (const file of files.values()) await file.close();
        files.clear();
        for (const name of (await readdir(dir)).filter(isLogFile)) await rm(join(dir, name));
      }),
    close: () =>
      inTurn(async () => {
        closed = true;
        for (const file of files.values()) await file.close().catch(() => undefined);
        files.clear();
      }),
  };
}

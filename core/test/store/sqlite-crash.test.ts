import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCbor } from '../../src/encoding/cbor.ts';
import { openSqliteStore } from '../../src/node/sqlite-store.ts';

const here = dirname(fileURLToPath(import.meta.url));
const writer = join(here, 'fixtures', 'crash-writer.ts');
const dir = mkdtempSync(join(tmpdir(), 'cipherclerk-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KEYS = 40;

/** Runs the writer until it has reported `after` commits plus a little, SIGKILLs it; returns the last reported seq. */
function runAndKill(path: string, after: number, extraMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, path, String(KEYS)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let last = -1;
    let buffer = '';
    let stderr = '';
    let scheduled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) last = Number(line);
      if (!scheduled && last >= after) {
        scheduled = true;
        setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`writer exited by itself: ${stderr}`));
      else resolve(last);
    });
  });
}

describe('SQLite store: a killed writer never leaves half a transaction', () => {
  it('every transaction is fully present or fully absent after SIGKILL and reopen', async () => {
    const path = join(dir, 'crash.db');
    let total = 0; // the writer restarts at seq 0, so each run gets its own file
    for (const [run, [after, extraMs]] of [
      [20, 0],
      [30, 7],
      [10, 23],
    ].entries()) {
      const file = `${path}.${run}`;
      const reported = await runAndKill(file, after!, extraMs!);
      const store = await openSqliteStore(file, { collections: ['turns'] });
      const bySeq = new Map<number, number>();
      for (const { key, value } of await store.list('turns')) {
        const seq = Number(key.split('/')[0]);
        const decoded = decodeCbor(value) as { seq: number };
        expect(decoded.seq).toBe(seq);
        bySeq.set(seq, (bySeq.get(seq) ?? 0) + 1);
      }
      await store.close();
      // Every transaction the writer reported as committed is there, completely...
      for (let seq = 0; seq <= reported; seq++) expect(bySeq.get(seq)).toBe(KEYS);
      // ...and any later one (committed after the last report, before the kill) is complete too.
      const seqs = [...bySeq.keys()].sort((a, b) => a - b);
      for (const [seq, count] of bySeq) expect(count, `transaction ${seq}`).toBe(KEYS);
      expect(seqs).toEqual(seqs.map((_, i) => i)); // no holes
      total += seqs.length;
    }
    expect(total).toBeGreaterThan(60);
  }, 30_000);
});

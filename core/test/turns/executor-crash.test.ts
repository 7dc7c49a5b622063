/**
 * A crash between two writes of one turn never leaves half a turn: a child process runs the executor
 * on a SQLite ledger and is SIGKILLed mid-flight; the reopened ledger must hold whole turns only —
 * receipts and cell states agree, the receipt chains verify, value is conserved — and take new turns.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/clock.ts';
import { nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { openSqliteStore } from '../../src/node/sqlite-store.ts';
import { createExecutor, EXECUTOR_COLLECTIONS } from '../../src/turns/executor.ts';
import { receiptHashHex, verifyReceiptChain } from '../../src/turns/receipt.ts';
import { signTurn } from '../../src/turns/turn.ts';
import { crashCast } from './fixtures/crash-cast.ts';

const here = dirname(fileURLToPath(import.meta.url));
const writer = join(here, 'fixtures', 'turn-writer.ts');
const dir = mkdtempSync(join(tmpdir(), 'cipherclerk-exec-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runAndKill(path: string, after: number, extraMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let reported = -1;
    let buffer = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) reported += line === '' ? 0 : 1;
      if (reported + 1 === after) setTimeout(() => child.kill('SIGKILL'), extraMs);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve(reported + 1) : reject(new Error(`writer exited: ${stderr}`)),
    );
  });
}

describe('executor on SQLite: SIGKILL mid-turn, reopen', () => {
  it('keeps whole turns only, and goes on', async () => {
    const path = join(dir, 'ledger.db');
    const { executorSeed, people } = crashCast();
    let committed = 0;
    for (const [after, extraMs] of [
      [25, 0],
      [20, 5],
    ] as const) {
      const reported = await runAndKill(path, after, extraMs);
      committed += reported;
      const store = await openSqliteStore(path, { collections: EXECUTOR_COLLECTIONS });
      const clock = manualClock(Date.UTC(2026, 10, 21));
      const executor = await createExecutor({ ed: nobleEd25519, clock, seed: executorSeed, store });
      const audit = executor.audit();
      expect(audit.held).toBe(audit.expected);
      let turns = 0;
      for (const p of people) {
        const receipts = await executor.receipts(p.did);
        const cell = executor.cell(p.cell)!;
        // Every receipt's turn is in the ledger and nothing else is: one nonce per receipt.
        expect(cell.nonce).toBe(receipts.length);
        if (receipts.length > 0) {
          const head = await verifyReceiptChain(receipts, {
            ed: nobleEd25519,
            executors: [executor.did],
            after: null,
          });
          expect(executor.head(p.did).prev).toBe(head);
          expect(receiptHashHex(receipts[receipts.length - 1]!)).toBe(head);
        }
        turns += receipts.length;
      }
      expect(turns).toBeGreaterThanOrEqual(committed);
      committed = turns;
      await store.close();
    }
    // The reopened ledger takes new turns where the chain left off.
    const store = await openSqliteStore(path, { collections: EXECUTOR_COLLECTIONS });
    const executor = await createExecutor({
      ed: nobleEd25519,
      clock: manualClock(Date.UTC(2026, 10, 21)),
      seed: executorSeed,
      store,
    });
    const [a, b] = people;
    const r = await executor.submit(
      await signTurn(
        {
          ledger: 'local',
          agent: a.did,
          cell: a.cell,
          nonce: executor.cell(a.cell)!.nonce,
          prev: executor.head(a.did).prev,
          effects: [{ type: 'transfer', from: a.cell, to: b.cell, amount: 1n }],
          fee: 0n,
          validUntil: Date.UTC(2027, 0, 1) / 1000,
        },
        a.seed,
        nobleEd25519,
      ),
    );
    expect(r.seq).toBe((await executor.receipts(a.did)).length - 1);
    await store.close();
  }, 60_000);
});

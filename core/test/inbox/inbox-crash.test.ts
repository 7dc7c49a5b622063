/**
 * A relay killed with SIGKILL at any moment loses no acknowledged deposit and never applies one twice:
 * a child process deposits into a SQLite-backed inbox with idempotency keys and is killed mid-stream,
 * again and again; each run starts over from the first deposit, so every earlier one is re-sent.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { bytesEqual } from '../../src/encoding/bytes.ts';
import { INBOX_ORIGIN, verifyDepositReceipt } from '../../src/inbox/client.ts';
import { crashDeposit, openCrashInbox, recipients } from './fixtures/crash-deposits.ts';
import { drain, ed } from './fixtures.ts';

const here = dirname(fileURLToPath(import.meta.url));
const writer = join(here, 'fixtures', 'deposit-writer.ts');
const dir = mkdtempSync(join(tmpdir(), 'cipherclerk-inbox-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the writer until it has reported `after` deposits, waits `extraMs`, SIGKILLs it; returns its reports. */
function runAndKill(path: string, after: number, extraMs: number): Promise<Map<number, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const reported = new Map<number, number>();
    let buffer = '';
    let stderr = '';
    let scheduled = false;
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const [i, seq] = line.split(' ').map(Number);
        reported.set(i!, seq!);
      }
      if (!scheduled && reported.size >= after) {
        scheduled = true;
        setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve(reported) : reject(new Error(`writer exited by itself: ${stderr}`)),
    );
  });
}

describe('inbox on SQLite: SIGKILL mid-deposit, reopen, re-send', () => {
  it('keeps every acknowledged deposit, applies none twice, and the inboxes still verify', async () => {
    const path = join(dir, 'relay.db');
    let acknowledged = 0; // deposits 0 .. acknowledged - 1 were reported by some run
    for (const [more, extraMs] of [
      [25, 0],
      [30, 3],
      [20, 11],
    ] as const) {
      const reports = await runAndKill(path, acknowledged + more, extraMs);
      // Every report, re-sent or new, names the one place deposit i has: no deposit applied twice.
      for (const [i, seq] of reports) expect(seq, `deposit ${i}`).toBe(Math.floor(i / 3));
      acknowledged = Math.max(acknowledged, reports.size);

      const { store, inbox } = await openCrashInbox(path);
      const heights = await Promise.all(
        recipients.map(async (r) => (await inbox.status(r.did))?.height ?? 0),
      );
      const landed = heights.reduce((a, b) => a + b, 0);
      // Deposits land in order, so those in the store are 0 .. landed - 1: every acknowledged one, and
      // at most one more (committed just before the kill, not yet reported).
      expect(landed).toBeGreaterThanOrEqual(acknowledged);
      expect(landed).toBeLessThanOrEqual(acknowledged + 1);
      for (const [r, h] of heights.entries()) expect(h).toBe(Math.floor((landed - r + 2) / 3));
      const bytes = Array.from({ length: landed }, (_, i) => crashDeposit(i).ciphertext.length);
      expect(await inbox.totals()).toEqual({
        count: landed,
        bytes: bytes.reduce((a, b) => a + b, 0),
        forfeited: 0n,
      });
      await store.close();
    }

    // Re-sending every deposit once more changes nothing and returns each one's signed receipt.
    const { store, inbox } = await openCrashInbox(path);
    const landed = (await inbox.totals()).count;
    for (let i = 0; i < landed; i++) {
      const req = crashDeposit(i);
      const receipt = await inbox.deposit(req);
      expect(receipt.seq).toBe(Math.floor(i / 3));
      await verifyDepositReceipt(receipt, req, inbox.relay, ed);
    }
    expect((await inbox.totals()).count).toBe(landed);

    // Each recipient drains exactly its deposits, in order, under the relay-signed root.
    for (const [r, who] of recipients.entries()) {
      const drained = await drain({ inbox }, who, INBOX_ORIGIN, 1000);
      const expected = Array.from({ length: landed }, (_, i) => i).filter((i) => i % 3 === r);
      expect(drained.delivered.length).toBe(expected.length);
      for (const [k, m] of drained.delivered.entries())
        expect(bytesEqual(m.ciphertext!, crashDeposit(expected[k]!).ciphertext)).toBe(true);
    }
    await store.close();
  }, 60_000);
});

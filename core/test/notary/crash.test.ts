/**
 * Durability: a child process orders turns on a SQLite notary and is SIGKILLed at random moments.
 * After every restart, each turn the child reported as acknowledged is in the log exactly once at the
 * seq it was given, the log is gap-free, the audit balances, and submitting the turn again is
 * answered as a duplicate with the same seq.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/encoding/bytes.ts';
import { decodeTurn } from '../../src/turns/turn.ts';
import { bench, openStore, tempDir } from './fixtures.ts';

const here = dirname(fileURLToPath(import.meta.url));
const writer = join(here, 'fixtures', 'notary-writer.ts');
const dir = tempDir();
afterAll(() => dir.remove());

interface Ack {
  readonly hash: string;
  readonly seq: number;
  readonly turn: string;
}

/** Runs the writer until `after` acknowledgements, then `extraMs` more, then SIGKILL. */
function runAndKill(path: string, after: number, extraMs: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    // node with tsx's loader, not the tsx launcher: SIGKILL must reach the process that writes (the
    // launcher runs the script in a child of its own, which would outlive it and keep writing).
    const child = spawn(process.execPath, ['--import', 'tsx', writer, path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Ack[] = [];
    let buffer = '';
    let stderr = '';
    let armed = false;
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const [hash, seq, turn] = line.split(' ');
        acks.push({ hash: hash!, seq: Number(seq), turn: turn! });
      }
      if (!armed && acks.length >= after) {
        armed = true;
        setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) =>
      signal === 'SIGKILL' ? resolve(acks) : reject(new Error(`writer exited: ${stderr}`)),
    );
  });
}

describe('notary on SQLite: SIGKILL at random moments, restart', () => {
  it('loses no acknowledged turn and applies none twice', async () => {
    const path = dir.path('crash.sqlite');
    const acked: Ack[] = [];
    const rounds = Array.from({ length: 4 }, () => [
      10 + Math.floor(Math.random() * 60),
      Math.floor(Math.random() * 15),
    ]);
    for (const [after, extraMs] of rounds) {
      acked.push(...(await runAndKill(path, after!, extraMs!)));
      const store = await openStore(path);
      const b = await bench(store, { balance: 1_000_000n });
      const height = b.notary.height();
      const events = await b.notary.events(0, height);
      expect(
        events.map((e) => e.seq),
        `rounds ${JSON.stringify(rounds)}`,
      ).toEqual([...Array(height).keys()]);
      const seqOfKey = new Map(events.map((e) => [toHex(e.key), e.seq]));
      expect(seqOfKey.size).toBe(height);
      for (const a of acked) expect(seqOfKey.get(a.hash), `turn ${a.hash}`).toBe(a.seq);
      const audit = await b.notary.audit();
      expect(audit.delta).toBe(0n);
      expect(audit.ledgerRootMatches).toBe(true);
      for (const a of acked.slice(-5)) {
        const again = await b.notary.submit(decodeTurn(fromHex(a.turn)));
        expect([again.seq, again.duplicate]).toEqual([a.seq, true]);
      }
      expect(b.notary.height()).toBe(height);
      await b.notary.close();
      await store.close();
    }
    expect(acked.length).toBeGreaterThan(40);
  }, 60_000);
});

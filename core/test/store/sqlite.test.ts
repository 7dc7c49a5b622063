import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { openSqliteStore } from '../../src/node/sqlite-store.ts';
import { storeConformance } from './conformance.ts';

const dir = mkdtempSync(join(tmpdir(), 'cipherclerk-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
storeConformance('SQLite (better-sqlite3)', async () => {
  const path = join(dir, `store-${n++}.db`);
  return { open: (collections) => openSqliteStore(path, { collections }) };
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { INBOX_COLLECTIONS } from '../../src/inbox/inbox.ts';
import { openSqliteStore } from '../../src/node/sqlite-store.ts';
import { inboxSuite } from './inbox-suite.ts';

const dir = mkdtempSync(join(tmpdir(), 'cipherclerk-inbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
inboxSuite('SQLite (better-sqlite3)', () => {
  const path = join(dir, `inbox-${n++}.db`);
  return { open: () => openSqliteStore(path, { collections: INBOX_COLLECTIONS }) };
});

import 'fake-indexeddb/auto';
import { INBOX_COLLECTIONS } from '../../src/inbox/inbox.ts';
import { openIndexedDbStore } from '../../src/store/indexeddb.ts';
import { inboxSuite } from './inbox-suite.ts';

let n = 0;
inboxSuite('IndexedDB (fake-indexeddb)', () => {
  const name = `inbox-test-${n++}`;
  return { open: () => openIndexedDbStore(name, { collections: INBOX_COLLECTIONS }) };
});

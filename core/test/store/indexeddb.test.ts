import 'fake-indexeddb/auto';
import { openIndexedDbStore } from '../../src/store/indexeddb.ts';
import { storeConformance } from './conformance.ts';

let n = 0;
storeConformance('IndexedDB (fake-indexeddb)', async () => {
  const name = `store-test-${n++}`;
  return { open: (collections) => openIndexedDbStore(name, { collections }) };
});

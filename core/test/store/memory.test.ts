import { type MemoryData, openMemoryStore } from '../../src/store/memory.ts';
import { storeConformance } from './conformance.ts';

storeConformance('memory', async () => {
  const data: MemoryData = new Map();
  return { open: async (collections) => openMemoryStore({ collections }, data) };
});

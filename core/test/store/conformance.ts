/**
 * One conformance suite for every `Store` backend, registered with Vitest. The cases themselves live in
 * `./conformance-cases.ts` (framework-free) so that the e2e suite runs the very same ones against
 * Chromium's real IndexedDB. `makeLocation` returns a fresh, empty location (an IndexedDB name, a
 * SQLite file) whose `open` may be called again after `close` to reopen it.
 */
import { describe, it } from 'vitest';
import { conformanceCases, freshStore, type StoreLocation } from './conformance-cases.ts';

export type { StoreLocation } from './conformance-cases.ts';

export function storeConformance(name: string, makeLocation: () => Promise<StoreLocation>): void {
  describe(`Store conformance: ${name}`, () => {
    const fresh = freshStore(makeLocation);
    for (const c of conformanceCases) it(c.name, () => c.run(fresh), c.timeoutMs);
  });
}

// The framework-free conformance cases must bite: their assert helper is as strict as `toEqual`, and a
// backend that breaks the contract in one way fails the case that covers it.
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { openIndexedDbStore } from '../../src/store/indexeddb.ts';
import type { Store } from '../../src/store/store.ts';
import {
  assertEqual,
  ConformanceFailure,
  conformanceCases,
  freshStore,
  type StoreLocation,
} from './conformance-cases.ts';

describe('assertEqual', () => {
  it('accepts equal values and rejects every kind of difference', () => {
    assertEqual(
      { a: [new Uint8Array([1, 2])], b: undefined },
      { a: [new Uint8Array([1, 2])], b: undefined },
      'x',
    );
    assertEqual(Number.NaN, Number.NaN, 'NaN');
    const differ: [unknown, unknown][] = [
      [new Uint8Array([1, 2]), new Uint8Array([1, 3])],
      [new Uint8Array([1, 2]), new Uint8Array([1, 2, 0])],
      [Buffer.from([1, 2]), new Uint8Array([1, 2])],
      [new Uint8Array([1]), [1]],
      [undefined, new Uint8Array()],
      [
        [1, 2],
        [1, 2, 3],
      ],
      [{ a: 1 }, { a: 1, b: undefined }],
      [{ a: '1' }, { a: 1 }],
      [{}, []],
      [null, {}],
      [0, -0],
    ];
    for (const [a, b] of differ) {
      expect(() => assertEqual(a, b, 'diff')).toThrow(ConformanceFailure);
      expect(() => assertEqual(b, a, 'diff')).toThrow(ConformanceFailure);
    }
  });
});

/** A fake-indexeddb store with one part of the contract broken by `patch`. */
function broken(patch: (s: Store) => Partial<Store>): () => Promise<StoreLocation> {
  let n = 0;
  return async () => {
    const name = `broken-${Math.random()}-${n++}`;
    return {
      open: async (collections) => {
        const s = await openIndexedDbStore(name, { collections });
        const p = patch(s);
        return {
          collections: s.collections,
          get: p.get ?? ((c, k) => s.get(c, k)),
          list: p.list ?? ((c, o) => s.list(c, o)),
          transact: p.transact ?? ((w) => s.transact(w)),
          close: p.close ?? (() => s.close()),
        };
      },
    };
  };
}

const mutants: [string, (s: Store) => Partial<Store>, string[]][] = [
  [
    'non-atomic transact',
    (s) => ({
      transact: async (writes) => {
        for (const w of writes) await s.transact([w]);
      },
    }),
    ['a failing write in the middle of a batch leaves nothing of it'],
  ],
  [
    'list in reverse key order',
    (s) => ({ list: async (c, o) => (await s.list(c, o)).reverse() }),
    [
      'list: key order (UTF-16 code units), prefix, limit',
      'property: random transactions give the same contents as an in-memory model',
    ],
  ],
  [
    'get hands out the same bytes twice',
    (s) => {
      const seen = new Map<string, Uint8Array | undefined>();
      return {
        get: async (c, k) => {
          const id = `${c}\u0000${k}`;
          if (!seen.has(id)) seen.set(id, await s.get(c, k));
          return seen.get(id);
        },
      };
    },
    ['values are independent copies, in and out, of exactly their bytes'],
  ],
  [
    'close forgets nothing but reopen loses data',
    (s) => ({
      close: async () => {
        const all = await s.list('cells').catch(() => []);
        await s.transact(all.map((e) => ({ op: 'delete', collection: 'cells', key: e.key }))).catch(() => {});
        await s.close();
      },
    }),
    ['data survives close and reopen'],
  ],
];

describe('a backend that breaks the contract fails the case that covers it', () => {
  for (const [what, patch, failing] of mutants) {
    it(what, async () => {
      const fresh = freshStore(broken(patch));
      for (const name of failing) {
        const c = conformanceCases.find((x) => x.name === name);
        expect(c, name).toBeDefined();
        const e = await c!.run(fresh).then(
          () => undefined,
          (err: unknown) => err,
        );
        // fast-check wraps the failure of a property; its cause is the case's own.
        const failure = e instanceof Error && !(e instanceof ConformanceFailure) ? e.cause : e;
        expect(failure, name).toBeInstanceOf(ConformanceFailure);
      }
    }, 60_000);
  }
});

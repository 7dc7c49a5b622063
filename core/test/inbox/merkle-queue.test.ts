import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hashFor } from '../../src/crypto/hash.ts';
import { concatBytes, toHex } from '../../src/encoding/bytes.ts';
import {
  appendDigest,
  appendDigests,
  appendProof,
  EMPTY_FRONTIER,
  extendsTo,
  type Frontier,
  frontierRoot,
  inclusionProof,
  isFrontier,
  leafHash,
  merkleRoot,
  verifyInclusion,
} from '../../src/inbox/merkle-queue.ts';

const digest = (i: number): Uint8Array => hashFor('inboxCiphertext', Uint8Array.of(i & 0xff, i >> 8));
const digests = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => digest(i));

const u64 = (n: number): Uint8Array => {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
};

/** The construction as the module comment states it, written again from RFC 9162 §2.1.1. */
function referenceRoot(ds: readonly Uint8Array[]): Uint8Array {
  const mth = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return hashFor('inboxLeaf', concatBytes(u64(lo), ds[lo]!));
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    return hashFor('inboxNode', concatBytes(mth(lo, lo + k), mth(lo + k, hi)));
  };
  const top = ds.length === 0 ? new Uint8Array(32) : mth(0, ds.length);
  return hashFor('inboxRoot', concatBytes(u64(ds.length), top));
}

const sizes = fc.integer({ min: 1, max: 80 });

describe('MerkleQueue: the frontier', () => {
  it('gives the RFC 9162 root, with the count bound in, after every append', () => {
    const ds = digests(70);
    let f: Frontier = EMPTY_FRONTIER;
    expect(toHex(frontierRoot(f))).toBe(toHex(referenceRoot([])));
    for (let n = 1; n <= ds.length; n++) {
      f = appendDigest(f, ds[n - 1]!);
      expect(isFrontier(f)).toBe(true);
      expect(f.peaks.length).toBeLessThanOrEqual(Math.ceil(Math.log2(n + 1)));
      expect(toHex(frontierRoot(f)), `n = ${n}`).toBe(toHex(referenceRoot(ds.slice(0, n))));
    }
  });

  it('never gives two queues the same root (prefixes, and the same digests in another order)', () => {
    const ds = digests(40);
    const roots = new Set<string>();
    for (let n = 0; n <= ds.length; n++) roots.add(toHex(merkleRoot(ds.slice(0, n))));
    roots.add(toHex(merkleRoot([...ds].reverse())));
    expect(roots.size).toBe(ds.length + 2);
  });

  it('binds each leaf to its place: the same digest at another sequence number is another leaf', () => {
    const d = digest(1);
    expect(toHex(leafHash(0, d))).not.toBe(toHex(leafHash(1, d)));
  });
});

describe('MerkleQueue: inclusion proofs', () => {
  it('verify for every message at every height', () => {
    const ds = digests(33);
    for (let n = 1; n <= ds.length; n++) {
      const root = merkleRoot(ds.slice(0, n));
      for (let i = 0; i < n; i++) expect(verifyInclusion(root, ds[i]!, inclusionProof(ds, i, n))).toBe(true);
    }
  });

  it('verify for every i (property, larger queues)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 300 }).chain((n) => fc.tuple(fc.constant(n), fc.nat({ max: n - 1 }))),
        ([n, i]) => {
          const ds = digests(n);
          return verifyInclusion(merkleRoot(ds), ds[i]!, inclusionProof(ds, i));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('fail against a wrong root, for a wrong digest, at a wrong index or count, or with a changed step', () => {
    fc.assert(
      fc.property(
        sizes.chain((n) => fc.tuple(fc.constant(n), fc.nat({ max: n - 1 }), fc.nat())),
        ([n, i, pick]) => {
          const ds = digests(n);
          const root = merkleRoot(ds);
          const proof = inclusionProof(ds, i);
          expect(verifyInclusion(merkleRoot(ds.slice(0, n - 1)), ds[i]!, proof)).toBe(false);
          expect(verifyInclusion(merkleRoot([...ds, digest(999)]), ds[i]!, proof)).toBe(false);
          expect(verifyInclusion(root, digest(1000), proof)).toBe(false);
          if (n > 1) {
            const j = (i + 1 + (pick % (n - 1))) % n;
            expect(verifyInclusion(root, ds[i]!, { ...proof, index: j })).toBe(false);
            expect(verifyInclusion(root, ds[j]!, proof)).toBe(false);
          }
          expect(verifyInclusion(root, ds[i]!, { ...proof, count: n + 1 })).toBe(false);
          expect(verifyInclusion(root, ds[i]!, { ...proof, siblings: [...proof.siblings, digest(5)] })).toBe(
            false,
          );
          if (proof.siblings.length > 0) {
            const k = pick % proof.siblings.length;
            const siblings = proof.siblings.map((s, x) => (x === k ? digest(7777) : s));
            expect(verifyInclusion(root, ds[i]!, { ...proof, siblings })).toBe(false);
            expect(verifyInclusion(root, ds[i]!, { ...proof, siblings: proof.siblings.slice(1) })).toBe(
              false,
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never throws on hostile proofs', () => {
    const root = merkleRoot(digests(5));
    const hostile = [
      { index: -1, count: 5, siblings: [] },
      { index: 5, count: 5, siblings: [] },
      { index: 0, count: 0, siblings: [] },
      { index: 0.5, count: 5, siblings: [] },
      { index: 0, count: 5, siblings: [new Uint8Array(3)] },
      { index: 0, count: 5, siblings: Array.from({ length: 100 }, () => new Uint8Array(32)) },
      { index: 0, count: 5, siblings: 'no' as unknown as Uint8Array[] },
    ];
    for (const p of hostile) expect(verifyInclusion(root, digest(0), p)).toBe(false);
    expect(verifyInclusion(root, new Uint8Array(31), inclusionProof(digests(5), 0))).toBe(false);
  });

  it('the frontier before an append is the inclusion proof of the appended message', () => {
    const ds = digests(64);
    let f: Frontier = EMPTY_FRONTIER;
    for (const [i, d] of ds.entries()) {
      const proof = appendProof(f);
      f = appendDigest(f, d);
      expect(proof).toEqual(inclusionProof(ds, i, i + 1));
      expect(verifyInclusion(frontierRoot(f), d, proof)).toBe(true);
    }
  });
});

describe('MerkleQueue: the drained-list check (nothing dropped, nothing reordered)', () => {
  const queue = sizes.chain((n) =>
    fc.tuple(fc.constant(n), fc.nat({ max: n }), fc.nat({ max: n - 1 }), fc.nat({ max: n - 1 })),
  );

  it('accepts exactly the messages that followed the trusted base, in order', () => {
    fc.assert(
      fc.property(queue, ([n, from]) => {
        const ds = digests(n);
        const base = appendDigests(EMPTY_FRONTIER, ds.slice(0, from));
        return extendsTo(base, ds.slice(from), { count: n, root: merkleRoot(ds) });
      }),
      { numRuns: 200 },
    );
  });

  it('detects a message dropped, two swapped, one duplicated or one altered', () => {
    fc.assert(
      fc.property(queue, ([n, from, a, b]) => {
        const ds = digests(n);
        const head = { count: n, root: merkleRoot(ds) };
        const base = appendDigests(EMPTY_FRONTIER, ds.slice(0, from));
        const drained = ds.slice(from);
        if (drained.length === 0) return;
        const i = a % drained.length;
        const j = b % drained.length;
        const dropped = drained.filter((_, x) => x !== i);
        expect(extendsTo(base, dropped, head)).toBe(false);
        // The relay may even sign a head at the shorter height: the digests still do not fit it.
        expect(extendsTo(base, dropped, { count: n - 1, root: head.root })).toBe(false);
        if (i !== j) {
          const swapped = [...drained];
          [swapped[i], swapped[j]] = [swapped[j]!, swapped[i]!];
          expect(extendsTo(base, swapped, head)).toBe(false);
        }
        expect(extendsTo(base, [...drained.slice(0, i + 1), ...drained.slice(i)], head)).toBe(false);
        expect(
          extendsTo(
            base,
            drained.map((d, x) => (x === i ? digest(5000) : d)),
            head,
          ),
        ).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a base that is not a frontier, and a wrong root', () => {
    const ds = digests(9);
    const head = { count: 9, root: merkleRoot(ds) };
    const base = appendDigests(EMPTY_FRONTIER, ds.slice(0, 4));
    expect(extendsTo({ count: 4, peaks: [...base.peaks, digest(1)] }, ds.slice(4), head)).toBe(false);
    expect(extendsTo({ count: 5, peaks: base.peaks }, ds.slice(4), head)).toBe(false);
    expect(extendsTo(base, ds.slice(4), { count: 9, root: merkleRoot(ds.slice(0, 8)) })).toBe(false);
  });
});

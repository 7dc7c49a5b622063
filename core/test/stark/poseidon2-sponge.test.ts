import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import { add, P } from '../../src/stark/field.ts';
import { permute } from '../../src/stark/poseidon2/permutation.ts';
import {
  domainIv,
  Poseidon2Domains,
  pad,
  poseidon2Compress,
  poseidon2Hash,
  RATE,
} from '../../src/stark/poseidon2/sponge.ts';

const element = fc.integer({ min: 0, max: P - 1 });

function throwsCode(f: () => unknown, code: 'E_ARGUMENT'): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isDreggError(caught, code), String(caught)).toBe(true);
}

describe('Poseidon2 sponge', () => {
  it('padding is injective: different inputs (of any lengths) pad to different blocks', () => {
    fc.assert(
      fc.property(fc.array(element, { maxLength: 40 }), fc.array(element, { maxLength: 40 }), (a, b) => {
        fc.pre(a.length !== b.length || a.some((x, i) => x !== b[i]));
        const pa = pad(a);
        const pb = pad(b);
        expect(pa.length % RATE).toBe(0);
        expect(pa.length === pb.length && pa.every((x, i) => x === pb[i])).toBe(false);
      }),
      { numRuns: 500, seed: 1 },
    );
  });

  it('zero-extended inputs do not collide: [], [0], [0, 0], ... hash differently', () => {
    const digests = Array.from({ length: 20 }, (_, n) =>
      poseidon2Hash('cellState', new Array(n).fill(0)).join(),
    );
    expect(new Set(digests).size).toBe(20);
  });

  it('is deterministic and depends on every input element', () => {
    fc.assert(
      fc.property(fc.array(element, { minLength: 1, maxLength: 20 }), fc.nat(), (input, at) => {
        const digest = poseidon2Hash('cellState', input);
        expect(digest).toHaveLength(8);
        expect(poseidon2Hash('cellState', input)).toEqual(digest);
        const changed = input.slice();
        const i = at % input.length;
        changed[i] = add(changed[i]!, 1);
        expect(poseidon2Hash('cellState', changed)).not.toEqual(digest);
      }),
      { numRuns: 50, seed: 2 },
    );
  });

  it('separates domains by their capacity IV', () => {
    const domains = Object.keys(Poseidon2Domains) as (keyof typeof Poseidon2Domains)[];
    expect(new Set(domains.map((d) => domainIv(d).join())).size).toBe(domains.length);
    expect(poseidon2Hash('cellState', [1, 2, 3])).not.toEqual(poseidon2Hash('nullifier', [1, 2, 3]));
  });

  it('absorbs rate blocks into a state that starts at (0^8, IV) and squeezes the rate', () => {
    // Nine elements: two blocks, [x0..x7] and [x8, 1, 0, ...].
    const input = Array.from({ length: 9 }, (_, i) => 1000 + i);
    const state = new Uint32Array(16);
    state.set(domainIv('nullifier'), 8);
    for (let j = 0; j < 8; j++) state[j] = input[j]!;
    let s = permute(state);
    s[0] = add(s[0]!, input[8]!);
    s[1] = add(s[1]!, 1);
    s = permute(s);
    expect(poseidon2Hash('nullifier', input)).toEqual(s.slice(0, 8));
  });

  it('rejects elements that are not canonical', () => {
    throwsCode(() => poseidon2Hash('cellState', [P]), 'E_ARGUMENT');
    throwsCode(() => poseidon2Hash('cellState', [-1]), 'E_ARGUMENT');
    throwsCode(() => poseidon2Hash('cellState', [0.5]), 'E_ARGUMENT');
  });
});

describe('Poseidon2 2-to-1 compression', () => {
  it('is the first 8 elements of P(l || r) + (l || r)', () => {
    fc.assert(
      fc.property(fc.array(element, { minLength: 16, maxLength: 16 }), (x) => {
        const out = permute(x);
        const expected = Array.from({ length: 8 }, (_, i) => add(out[i]!, x[i]!));
        expect([...poseidon2Compress(x.slice(0, 8), x.slice(8))]).toEqual(expected);
      }),
      { numRuns: 20, seed: 5 },
    );
  });

  it('is not symmetric in its two children', () => {
    const l = [1, 2, 3, 4, 5, 6, 7, 8];
    const r = [9, 10, 11, 12, 13, 14, 15, 16];
    expect(poseidon2Compress(l, r)).not.toEqual(poseidon2Compress(r, l));
  });

  it('takes two 8-element digests of canonical elements', () => {
    throwsCode(() => poseidon2Compress([1, 2, 3], [4, 5, 6]), 'E_ARGUMENT');
    throwsCode(() => poseidon2Compress(new Array(8).fill(P), new Array(8).fill(0)), 'E_ARGUMENT');
  });
});

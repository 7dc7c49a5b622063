import { blake3 } from '@noble/hashes/blake3.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyedHashWords, keyWords } from '../../src/stark/blake3.ts';
import vectors from '../vectors/blake3.json' with { type: 'json' };

const bytesOf = (words: Uint32Array): Uint8Array =>
  new Uint8Array(words.buffer.slice(words.byteOffset, words.byteOffset + words.byteLength));

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('BLAKE3 keyed hashing of one chunk (words)', () => {
  const key = keyWords(new TextEncoder().encode(vectors.key));

  it('matches the official keyed_hash vectors for the word-aligned single-chunk inputs', () => {
    const cases = vectors.cases.filter((c) => c.input_len % 4 === 0 && c.input_len <= 1024);
    expect(cases.map((c) => c.input_len)).toEqual([0, 1024]);
    for (const c of cases) {
      const input = new Uint8Array(c.input_len).map((_, i) => i % 251);
      const words = new Uint32Array(input.buffer);
      const out = new Uint32Array(8);
      keyedHashWords(key, words, 0, words.length, out, 0);
      expect(hex(bytesOf(out))).toBe(c.keyed_hash.slice(0, 64));
    }
  });

  it('agrees with @noble/hashes on random keys and inputs of 0..256 words', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 256 }),
        (k, ws) => {
          const words = Uint32Array.from(ws);
          const out = new Uint32Array(8);
          keyedHashWords(keyWords(k), words, 0, words.length, out, 0);
          expect(hex(bytesOf(out))).toBe(hex(blake3(bytesOf(words), { key: k })));
        },
      ),
      { numRuns: 200 },
    );
  });
});

import { blake3 } from '@noble/hashes/blake3.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { describe, expect, it } from 'vitest';
import { type Context, Contexts } from '../../src/crypto/contexts.ts';
import { blake3Hash, contextKey, deriveKeySmall, hashFor } from '../../src/crypto/hash.ts';
import vectors from '../vectors/blake3.json';

const text = new TextEncoder();
/** The official input: a repeating 0..250 pattern. */
const input = (length: number) => Uint8Array.from({ length }, (_, i) => i % 251);
const outputLength = (hex: string) => hex.length / 2;

describe('BLAKE3 official test vectors', () => {
  for (const c of vectors.cases) {
    it(`matches hash, keyed_hash and derive_key for input length ${c.input_len}`, () => {
      const data = input(c.input_len);
      const dkLen = outputLength(c.hash);
      expect(bytesToHex(blake3(data, { dkLen }))).toBe(c.hash);
      expect(bytesToHex(blake3(data, { dkLen, key: text.encode(vectors.key) }))).toBe(c.keyed_hash);
      expect(bytesToHex(blake3(data, { dkLen, context: text.encode(vectors.context_string) }))).toBe(
        c.derive_key,
      );
      // The default-length output is the first 32 bytes of the extended one.
      expect(bytesToHex(blake3Hash(data))).toBe(c.hash.slice(0, 64));
    });
  }
});

describe('hashFor: derive-key mode under the registered contexts', () => {
  const data = input(1025);

  it('is BLAKE3 derive_key with the context string of the registry, for every context', () => {
    for (const context of Object.keys(Contexts) as Context[]) {
      const expected = blake3(data, { context: text.encode(Contexts[context]) });
      expect(bytesToHex(hashFor(context, data))).toBe(bytesToHex(expected));
      expect(bytesToHex(hashFor(context, data))).not.toBe(bytesToHex(blake3(data)));
    }
  });

  it('gives every context its own domain', () => {
    const contexts = Object.keys(Contexts) as Context[];
    const digests = new Set(contexts.map((c) => bytesToHex(hashFor(c, data))));
    expect(digests.size).toBe(contexts.length);
    for (const context of contexts) expect(Contexts[context]).toMatch(/^cipherclerk v1 [a-z0-9 ]+$/);
  });
});

describe('hashFor one-chunk fast path', () => {
  it('matches the official derive_key vectors for every input of at most one chunk', () => {
    const key = contextKey(text.encode(vectors.context_string));
    let checked = 0;
    for (const c of vectors.cases) {
      if (c.input_len > 1024) continue;
      expect(bytesToHex(deriveKeySmall(key, input(c.input_len), 32))).toBe(c.derive_key.slice(0, 64));
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(4);
  });

  it('equals @noble/hashes for every registered context, at every length up to a chunk and past it', () => {
    for (const name of Object.keys(Contexts) as Context[]) {
      for (const length of [0, 1, 3, 4, 63, 64, 65, 127, 128, 200, 1023, 1024, 1025, 3000]) {
        const data = Uint8Array.from({ length }, (_, i) => (i * 7 + length) & 0xff);
        for (const dkLen of [16, 32]) {
          const expected = blake3(data, { context: text.encode(Contexts[name]), dkLen });
          expect(bytesToHex(hashFor(name, data, dkLen))).toBe(bytesToHex(expected));
        }
      }
    }
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AT_REST_SCRYPT, decryptAtRest, encryptAtRest, type ScryptParams } from '../../src/crypto/at-rest.ts';
import { type CborMap, decodeCbor, encodeCbor } from '../../src/encoding/cbor.ts';
import { outcomeAsync } from './expect-code.ts';

/** Small parameters keep the tests fast; one test below uses the default. */
const FAST: ScryptParams = { N: 2 ** 10, r: 8, p: 1 };
const secret = new TextEncoder().encode('mnemonic and root keys');

/** A valid blob's fields, re-encoded with some of them replaced. */
function withFields(blob: Uint8Array, change: (m: CborMap, kdf: CborMap) => void): Uint8Array {
  const m = decodeCbor(blob) as CborMap;
  const kdf = { ...(m.kdf as CborMap) };
  const copy = { ...m, kdf };
  change(copy, kdf);
  return encodeCbor(copy);
}

describe('encryption at rest', () => {
  it('decrypts what it encrypted and stores the parameters with the ciphertext', async () => {
    const blob = await encryptAtRest(secret, 'correct horse', FAST);
    expect(await decryptAtRest(blob, 'correct horse')).toEqual(secret);
    const stored = decodeCbor(blob) as CborMap;
    expect(stored.v).toBe(1);
    expect(stored.kdf).toMatchObject({ alg: 'scrypt', N: FAST.N, r: FAST.r, p: FAST.p });
  });

  it('uses N = 2^17, r = 8, p = 1 by default', async () => {
    expect(AT_REST_SCRYPT).toEqual({ N: 2 ** 17, r: 8, p: 1 });
    const blob = await encryptAtRest(secret, 'pw');
    expect((decodeCbor(blob) as CborMap).kdf).toMatchObject(AT_REST_SCRYPT);
    expect(await decryptAtRest(blob, 'pw')).toEqual(secret);
  });

  it('fails with E_LOCKED for a wrong passphrase', async () => {
    const blob = await encryptAtRest(secret, 'correct horse', FAST);
    expect(await outcomeAsync(() => decryptAtRest(blob, 'correct horsf'))).toBe('E_LOCKED');
    expect(await outcomeAsync(() => decryptAtRest(blob, ''))).toBe('E_LOCKED');
  });

  it('treats composed and decomposed spellings of a passphrase as the same (NFKC)', async () => {
    const blob = await encryptAtRest(secret, 'caf\u00e9', FAST);
    expect(await decryptAtRest(blob, 'cafe\u0301')).toEqual(secret);
  });

  it('never opens a blob with any byte altered; fails with a typed error', async () => {
    const blob = await encryptAtRest(secret, 'pw', FAST);
    for (let i = 0; i < blob.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const altered = blob.slice();
        altered[i]! ^= mask;
        expect(['E_DECODE', 'E_INVALID', 'E_LOCKED']).toContain(
          await outcomeAsync(() => decryptAtRest(altered, 'pw')),
        );
      }
    }
  });

  it('refuses hostile scrypt parameters with E_INVALID before deriving anything', async () => {
    const blob = await encryptAtRest(secret, 'pw', FAST);
    const hostile: Partial<Record<'N' | 'r' | 'p', number | bigint>>[] = [
      { N: 2 ** 30 },
      { N: 2 ** 21 },
      { N: 1000 },
      { N: 0 },
      { N: -1024 },
      { N: 2n ** 64n - 1n },
      { r: 1024 },
      { r: 0 },
      { p: 2 ** 20 },
      { N: 2 ** 20, r: 4 },
      { N: 2 ** 17, r: 8, p: 5 },
    ];
    for (const params of hostile) {
      const tampered = withFields(blob, (_, kdf) => Object.assign(kdf, params));
      const started = performance.now();
      expect(await outcomeAsync(() => decryptAtRest(tampered, 'pw'))).toBe('E_INVALID');
      expect(performance.now() - started).toBeLessThan(1000);
    }
  });

  it('fails with E_DECODE for unsupported versions, algorithms and malformed fields', async () => {
    const blob = await encryptAtRest(secret, 'pw', FAST);
    const malformed = [
      withFields(blob, (m) => {
        m.v = 2;
      }),
      withFields(blob, (_, kdf) => {
        kdf.alg = 'argon2id';
      }),
      withFields(blob, (m) => {
        m.nonce = new Uint8Array(12);
      }),
      withFields(blob, (_, kdf) => {
        kdf.salt = new Uint8Array(8);
      }),
      withFields(blob, (_, kdf) => {
        kdf.N = '1024';
      }),
      withFields(blob, (m) => {
        m.extra = 1;
      }),
      withFields(blob, (m) => {
        m.ct = new Uint8Array(15);
      }),
      encodeCbor([1, 2, 3]),
      new Uint8Array(0),
    ];
    for (const bytes of malformed)
      expect(await outcomeAsync(() => decryptAtRest(bytes, 'pw'))).toBe('E_DECODE');
  });

  it('refuses to encrypt with unusable parameters (E_ARGUMENT)', async () => {
    for (const params of [
      { N: 1000, r: 8, p: 1 },
      { N: 2 ** 22, r: 8, p: 1 },
      { N: 2 ** 10, r: 0, p: 1 },
    ]) {
      expect(await outcomeAsync(() => encryptAtRest(secret, 'pw', params))).toBe('E_ARGUMENT');
    }
  });

  it('fails on random bytes only with typed errors', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
        expect(['E_DECODE', 'E_INVALID', 'E_LOCKED']).toContain(
          await outcomeAsync(() => decryptAtRest(bytes, 'pw')),
        );
      }),
      { numRuns: 300 },
    );
  });
});

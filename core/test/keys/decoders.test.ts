/** Every decoder of outside input in this area fails only with a DreggError, whatever it is fed. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decryptAtRest } from '../../src/crypto/at-rest.ts';
import { openSealed } from '../../src/crypto/sealed-box.ts';
import { ed25519FromDidKey } from '../../src/encoding/did-key.ts';
import { unlockKeyring } from '../../src/keys/keyring.ts';
import { normalizeMnemonic } from '../../src/keys/mnemonic.ts';
import { outcome, outcomeAsync } from '../crypto/expect-code.ts';

const typed = (o: string) => o !== 'FOREIGN' && o !== 'OK';
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc
    .array(fc.constantFrom('abandon', 'zoo', 'ABOUT', 'art', ' ', '\u3000', 'x'), { maxLength: 30 })
    .map((w) => w.join(' ')),
);

describe('decoders of outside input', () => {
  it('normalizeMnemonic and ed25519FromDidKey fail on random text only with a DreggError', () => {
    fc.assert(
      fc.property(text, fc.boolean(), (s, asDid) => {
        expect(typed(outcome(() => normalizeMnemonic(s)))).toBe(true);
        expect(typed(outcome(() => ed25519FromDidKey(asDid ? `did:key:z${s}` : s)))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('decryptAtRest, unlockKeyring and openSealed fail on random bytes only with a DreggError', async () => {
    const secret = new Uint8Array(32).fill(5);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), async (bytes) => {
        expect(typed(await outcomeAsync(() => decryptAtRest(bytes, 'pw')))).toBe(true);
        expect(typed(await outcomeAsync(() => unlockKeyring(bytes, 'pw')))).toBe(true);
        expect(typed(outcome(() => openSealed(secret, bytes)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('fail on values of the wrong type only with a DreggError', async () => {
    for (const v of [undefined, null, 42, {}, [], 'text', new Uint16Array(4)]) {
      const bytes = v as unknown as Uint8Array;
      const string = v as unknown as string;
      expect(typed(outcome(() => normalizeMnemonic(string)))).toBe(true);
      expect(typed(outcome(() => ed25519FromDidKey(string)))).toBe(true);
      expect(typed(outcome(() => openSealed(new Uint8Array(32), bytes)))).toBe(true);
      expect(typed(await outcomeAsync(() => decryptAtRest(bytes, 'pw')))).toBe(true);
      expect(typed(await outcomeAsync(() => unlockKeyring(bytes, 'pw')))).toBe(true);
    }
  });
});

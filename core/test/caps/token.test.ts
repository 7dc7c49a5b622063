import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { actionsCaveat, servicesCaveat } from '../../src/caps/caveats.ts';
import {
  attenuate,
  decodeToken,
  encodeToken,
  mintRootToken,
  newRootKey,
  tokenFromText,
  tokenToText,
  verifyTag,
} from '../../src/caps/token.ts';
import { DreggError } from '../../src/errors.ts';
import { expectEveryFlipRefused } from './fixtures.ts';

const issuer = 'did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK';

function root() {
  const rootKey = newRootKey();
  const token = mintRootToken({ issuer, rootKey, caveats: [servicesCaveat(['storage'])] });
  return { rootKey, token };
}

describe('capability tokens (HMAC chain)', () => {
  it('verifies under its root key, before and after attenuation', () => {
    const { rootKey, token } = root();
    expect(verifyTag(token, rootKey)).toBe(true);
    const child = attenuate(token, [actionsCaveat(['read']), { t: 'exp', at: 2_000_000_000 }]);
    expect(verifyTag(child, rootKey)).toBe(true);
    expect(verifyTag(child, newRootKey())).toBe(false);
  });

  it('fails once a caveat is removed or changed', () => {
    const { rootKey, token } = root();
    const child = attenuate(token, [
      actionsCaveat(['read']),
      { t: 'budget', id: '0011223344556677', max: 10 },
    ]);
    expect(verifyTag({ ...child, caveats: child.caveats.slice(0, 2) }, rootKey)).toBe(false);
    const changed = [...child.caveats];
    changed[2] = { t: 'budget', id: '0011223344556677', max: 11 };
    expect(verifyTag({ ...child, caveats: changed }, rootKey)).toBe(false);
  });

  it('gets a fresh random root key and nonce at every mint (PITFALLS 7)', () => {
    const a = root();
    const b = root();
    expect(a.rootKey).not.toEqual(b.rootKey);
    expect(a.token.nonce).not.toEqual(b.token.nonce);
    expect(a.token.tag).not.toEqual(b.token.tag);
  });

  it('round-trips through bytes and text', () => {
    const { token } = root();
    const t = attenuate(token, [actionsCaveat(['read', 'list'])]);
    expect(decodeToken(encodeToken(t))).toEqual(t);
    expect(tokenFromText(tokenToText(t))).toEqual(t);
  });

  it('fails verification when any byte of the token is flipped', async () => {
    const { rootKey, token } = root();
    const bytes = encodeToken(attenuate(token, [actionsCaveat(['read'])]));
    await expectEveryFlipRefused(bytes, (b) => verifyTag(decodeToken(b), rootKey), 400);
  });

  it('gives only typed errors for random bytes and random text', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(() => decodeToken(b)).toThrow(DreggError);
      }),
    );
    fc.assert(
      fc.property(fc.string(), (s) => {
        expect(() => tokenFromText(`cctok_${s}`)).toThrow(DreggError);
        expect(() => tokenFromText(s)).toThrow(DreggError);
      }),
    );
  });
});

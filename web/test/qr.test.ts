import { isDreggError } from '@cipherclerk/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { newWallet } from '../../worker/test/wallets.ts';
import { fitsOneQr, MAX_QR_TEXT, type QrMatrix, qrMatrix, readQrPixels } from '../src/lib/qr.ts';

/** Draws the matrix as a picture would show it: `scale` pixels per module, RGBA. */
function raster(m: QrMatrix, scale: number): { data: Uint8ClampedArray; width: number } {
  const width = m.size * scale;
  const data = new Uint8ClampedArray(width * width * 4).fill(255);
  for (let y = 0; y < width; y++)
    for (let x = 0; x < width; x++)
      if (m.dark[Math.floor(y / scale)]![Math.floor(x / scale)])
        data.fill(0, (y * width + x) * 4, (y * width + x) * 4 + 3);
  return { data, width };
}

/** Alice's delegation to Bob of `actions` on a token minted for `minted` actions, with a budget and TTL. */
async function delegation(minted: string[], actions: string[]): Promise<string> {
  const [alice, bob] = await Promise.all([newWallet(), newWallet()]);
  const token = await alice.node.mint({ service: 'storage', actions: minted, budget: 100 });
  const d = await alice.node.delegate({
    from: token.id,
    recipient: bob.did,
    actions,
    budget: 5,
    ttl: 3600,
  });
  return d.text;
}

describe('sharing by QR', () => {
  it('a delegation with three caveats fits one QR that reads back exactly', async () => {
    const text = await delegation(['read', 'write'], ['read']);
    expect(text.length).toBeLessThanOrEqual(MAX_QR_TEXT);
    const m = qrMatrix(text);
    console.log(JSON.stringify({ delegation_chars: text.length, qr_version: m.version, modules: m.size }));
    for (const scale of [2, 3, 5]) {
      const { data, width } = raster(m, scale);
      expect(readQrPixels(data, width, width)).toBe(text);
    }
  });

  it('the size decision: a usual delegation goes by QR, one with sixty actions goes by inbox reference', async () => {
    expect(fitsOneQr(await delegation(['read', 'write'], ['read']))).toBe(true);
    const many = Array.from({ length: 60 }, (_, i) => `action-number-${i}`);
    const big = await delegation(many, many);
    expect(fitsOneQr(big)).toBe(false);
    expect(() => qrMatrix(big)).toThrow(expect.objectContaining({ code: 'E_TOO_LARGE' }));
    const reference = `ccinbox:1/did:key:z6Mk${'a'.repeat(44)}/did:key:z6Mk${'b'.repeat(44)}/12/${'0'.repeat(64)}`;
    expect(fitsOneQr(reference)).toBe(true);
  });

  it('every text the decision lets through, whatever QR version it needs, reads back at 3 px per module', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const versions = new Set<number>();
    // From version 21 to 27 in small steps: jsQR cannot read version 23, which is never drawn.
    for (let n = 900; n <= MAX_QR_TEXT; n += 20) {
      const text = Array.from({ length: n }, (_, i) => alphabet[(i * 7919 + n) % 64]).join('');
      const m = qrMatrix(text);
      versions.add(m.version);
      const { data, width } = raster(m, 3);
      expect(readQrPixels(data, width, width)).toBe(text);
    }
    expect(versions.has(23)).toBe(false);
    expect([...versions].sort((a, b) => a - b)).toEqual([21, 22, 24, 25, 26, 27]);
  });

  it('whatever the decision lets through draws as one QR; what it refuses is E_TOO_LARGE (bytes, not characters)', () => {
    expect(fitsOneQr('x'.repeat(MAX_QR_TEXT))).toBe(true);
    expect(fitsOneQr('é'.repeat(MAX_QR_TEXT / 2 + 1))).toBe(false);
    // Just past the limit in bytes, within it in characters (version 27 would still hold these).
    for (const extra of [1, 2, 3, 4, 5]) {
      const text = `${'é'.repeat(extra)}${'x'.repeat(MAX_QR_TEXT - extra)}`;
      expect(fitsOneQr(text)).toBe(false);
      expect(() => qrMatrix(text)).toThrow(expect.objectContaining({ code: 'E_TOO_LARGE' }));
    }
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom('a', 'Z', '_', '-', '0', 'é', '€'),
          minLength: 600,
          maxLength: 1600,
        }),
        (text) => {
          if (fitsOneQr(text)) expect(qrMatrix(text).version).toBeLessThanOrEqual(27);
          else expect(() => qrMatrix(text)).toThrow(expect.objectContaining({ code: 'E_TOO_LARGE' }));
        },
      ),
      // Shrinking strings this long takes hours; the failing example itself is what we need.
      { numRuns: 40, endOnFailure: true },
    );
  });

  it('refuses a text too long for a reliable QR with a code', () => {
    expect(() => qrMatrix('x'.repeat(MAX_QR_TEXT + 1))).toThrow(
      expect.objectContaining({ code: 'E_TOO_LARGE' }),
    );
  });

  it('a picture with no QR code in it is E_DECODE', () => {
    const blank = new Uint8ClampedArray(64 * 64 * 4).fill(255);
    let error: unknown;
    try {
      readQrPixels(blank, 64, 64);
    } catch (e) {
      error = e;
    }
    expect(isDreggError(error, 'E_DECODE')).toBe(true);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleEd25519 as ed } from '../../src/crypto/ed25519.ts';
import { decodeCbor, encodeCbor } from '../../src/encoding/cbor.ts';
import { isDreggError } from '../../src/errors.ts';
import {
  admitIntent,
  decodeIntent,
  encodeIntent,
  intentId,
  signIntent,
  verifyIntent,
} from '../../src/intents/intent.ts';
import { intentTopic, zoneRouter } from '../../src/intents/zones.ts';
import { asset, T0 } from './fixtures.ts';

const seed = new Uint8Array(32).fill(7);
const nonce = new Uint8Array(16).fill(1);
const terms = {
  zone: 'market/metals',
  offers: [asset('gold', 5)],
  wants: [asset('iron', 9)],
  expires: T0 + 60,
};

async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (isDreggError(e)) return e.code;
    throw e;
  }
  return 'no error';
}

describe('intents', () => {
  it('are signed over every field: round trip, id, and any changed field breaks the signature', async () => {
    const i = await signIntent(terms, seed, nonce, ed);
    expect(i.accept).toBe(1);
    const bytes = encodeIntent(i);
    const back = decodeIntent(bytes);
    expect(back).toEqual(i);
    await verifyIntent(back, ed);
    expect(intentId(back)).toMatch(/^[0-9a-f]{64}$/);
    expect(intentId(await signIntent(terms, seed, new Uint8Array(16).fill(2), ed))).not.toBe(intentId(i));
    for (const changed of [
      { ...i, expires: i.expires + 1 },
      { ...i, zone: 'market/other' },
      { ...i, offers: [asset('gold', 6)] },
      { ...i, wants: [asset('iron', 8)] },
      { ...i, nonce: '11'.repeat(16) },
    ])
      expect(await codeOf(verifyIntent(decodeIntent(encodeIntent(changed)), ed))).toBe('E_BAD_SIGNATURE');
  });

  it('admits only live, well-signed intents', async () => {
    const i = await signIntent(terms, seed, nonce, ed);
    const admitted = await admitIntent(encodeIntent(i), T0, ed);
    expect(admitted.id).toBe(intentId(i));
    expect(await codeOf(admitIntent(encodeIntent(i), T0 + 60, ed))).toBe('E_EXPIRED');
    const forged = { ...i, signature: new Uint8Array(64).fill(3) };
    expect(await codeOf(admitIntent(encodeIntent(forged), T0, ed))).toBe('E_BAD_SIGNATURE');
  });

  it('refuses terms that break the rules, before signing', async () => {
    const sign = (t: object) => signIntent({ ...terms, ...t }, seed, nonce, ed);
    expect(await codeOf(sign({ zone: 'Market' }))).toBe('E_INVALID');
    expect(await codeOf(sign({ offers: [] }))).toBe('E_INVALID');
    expect(await codeOf(sign({ wants: new Array(9).fill(asset('iron', 1)) }))).toBe('E_INVALID');
    expect(await codeOf(sign({ accept: 2 }))).toBe('E_INVALID');
    expect(await codeOf(sign({ accept: 0 }))).toBe('E_INVALID');
    expect(await codeOf(sign({ expires: 1.5 }))).toBe('E_INVALID');
    expect(await codeOf(signIntent(terms, seed, new Uint8Array(8), ed))).toBe('E_ARGUMENT');
  });

  it('decodes outside bytes with typed errors only', async () => {
    const good = encodeIntent(await signIntent(terms, seed, nonce, ed));
    const m = decodeCbor(good, 'test') as Record<string, unknown>;
    const variants = [
      { ...m, v: 2 },
      { ...m, extra: 1 },
      { ...m, acc: 5 },
      { ...m, n: 'zz' },
      { ...m, sig: new Uint8Array(63) },
      { ...m, off: new Array(9).fill(m.want) },
      { ...m, by: 'did:key:nope' },
    ];
    for (const v of variants) {
      const code = await codeOf(() => decodeIntent(encodeCbor(v as never)));
      expect(['E_INVALID', 'E_DECODE']).toContain(code);
    }
    expect(await codeOf(() => decodeIntent(new Uint8Array(9000)))).toBe('E_TOO_LARGE');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(good.length - 1), (noise, at) => {
        for (const bytes of [noise, Uint8Array.from(good, (b, i) => (i === at ? b ^ 0x20 : b))]) {
          try {
            decodeIntent(bytes);
          } catch (e) {
            expect(isDreggError(e)).toBe(true);
          }
        }
      }),
    );
  });
});

describe('zones', () => {
  it('route an intent to the longest served prefix, and nowhere when no served zone covers it', () => {
    const r = zoneRouter(['market', 'market/compute', 'names']);
    expect(r.route('market/compute/gpu')).toBe('market/compute');
    expect(r.route('market/metals')).toBe('market');
    expect(r.route('names')).toBe('names');
    expect(r.route('marketplace')).toBeUndefined();
    expect(r.route('games/chess')).toBeUndefined();
    expect(r.topic('market/compute/gpu')).toBe('cipherclerk/v1/intents/market/compute');
    expect(r.topic('games')).toBeUndefined();
    expect(intentTopic('names')).toBe('cipherclerk/v1/intents/names');
    expect(r.zones).toEqual(['market', 'market/compute', 'names']);
  });

  it('refuse malformed zones with E_INVALID', async () => {
    const r = zoneRouter(['market']);
    for (const z of ['', '/market', 'market/', 'Market', 'a//b', 'a/b/c/d/e/f/g/h/i', 'x'.repeat(33)])
      expect(await codeOf(() => r.route(z))).toBe('E_INVALID');
    expect(await codeOf(() => zoneRouter(['ok', 'not ok']))).toBe('E_INVALID');
  });
});

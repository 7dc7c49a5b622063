import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleHmacSha256 } from '../../src/crypto/hmac.ts';
import { fromHex, toHex, utf8 } from '../../src/encoding/bytes.ts';
import { nodeHmacSha256 } from '../../src/node/native.ts';

const fill = (byte: number, n: number) => new Uint8Array(n).fill(byte);

// RFC 4231 §4, HMAC-SHA-256 results (test cases 1, 2, 3, 4 and 6).
const RFC4231: [Uint8Array, Uint8Array, string][] = [
  [
    fill(0x0b, 20),
    utf8.encode('Hi There'),
    'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
  ],
  [
    utf8.encode('Jefe'),
    utf8.encode('what do ya want for nothing?'),
    '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
  ],
  [fill(0xaa, 20), fill(0xdd, 50), '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe'],
  [
    fromHex('0102030405060708090a0b0c0d0e0f10111213141516171819'),
    fill(0xcd, 50),
    '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
  ],
  [
    fill(0xaa, 131),
    utf8.encode('Test Using Larger Than Block-Size Key - Hash Key First'),
    '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  ],
];

describe('HMAC-SHA256 implementations', () => {
  it.each([
    ['noble', nobleHmacSha256],
    ['node', nodeHmacSha256],
  ])('%s matches the RFC 4231 vectors', (_, f) => {
    for (const [key, data, mac] of RFC4231) expect(toHex(f(key, data))).toBe(mac);
  });

  it('noble and node agree on random keys and messages', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 300 }), (k, m) => {
        expect(toHex(nodeHmacSha256(k, m))).toBe(toHex(nobleHmacSha256(k, m)));
      }),
    );
  });
});

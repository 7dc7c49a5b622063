import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Cell, newCell } from '../../src/cells/cell.ts';
import { ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { isDreggError } from '../../src/errors.ts';
import {
  balanceLimbs,
  compareDigests,
  keyDigest,
  nullifierOf,
  proofSecret,
  provedState,
  provedStateCommitment,
  restDigest,
  stateElements,
  stateSalt,
  valueDigest,
} from '../../src/proofs/state.ts';
import { P } from '../../src/stark/field.ts';
import { poseidon2Hash } from '../../src/stark/poseidon2/sponge.ts';

const OWNER = didKeyFromEd25519(ed25519PublicKey(new Uint8Array(32).fill(1)));
const OTHER = didKeyFromEd25519(ed25519PublicKey(new Uint8Array(32).fill(2)));
const BASE = newCell(OWNER, '11'.repeat(32), 1000n);
const SALT = Uint32Array.of(1, 2, 3);
const SECRET = new Uint8Array(32).fill(9);

function throwsCode(f: () => unknown, code: string): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isDreggError(caught, code as 'E_ARGUMENT'), String(caught)).toBe(true);
}

const hex = (a: ArrayLike<number>) => Array.from(a).join(',');

const fieldValue = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.integer({ min: -1000, max: 1000 }),
  fc.boolean(),
  fc.uint8Array({ maxLength: 8 }),
);
const cellArb = fc.record({
  nonce: fc.integer({ min: 0, max: 2 ** 30 }),
  balance: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fields: fc.dictionary(fc.string({ maxLength: 6 }), fieldValue, { maxKeys: 4 }),
  owner: fc.constantFrom(OWNER, OTHER),
  salt: fc.array(fc.integer({ min: 0, max: P - 1 }), { minLength: 3, maxLength: 3 }),
});

describe('proved cell state', () => {
  it('lays out header, rest and sorted (key, value) blocks; the commitment is the cellState sponge of them', () => {
    const cell: Cell = { ...BASE, nonce: 5, balance: 0x0001_0002_0003_0004n, fields: { b: 2, a: 'x' } };
    const state = provedState(cell, SALT);
    const e = stateElements(state);
    expect(e.length).toBe(8 * 6);
    expect(Array.from(e.slice(0, 8))).toEqual([5, 4, 3, 2, 1, 1, 2, 3]);
    expect(hex(e.slice(8, 16))).toBe(hex(restDigest(cell)));
    const pairs = [
      { key: keyDigest('a'), value: valueDigest('x') },
      { key: keyDigest('b'), value: valueDigest(2) },
    ].sort((x, y) => compareDigests(x.key, y.key));
    expect(compareDigests(pairs[0]!.key, pairs[1]!.key)).toBeLessThan(0);
    expect(hex(e.slice(16, 40))).toBe(hex([...pairs[0]!.key, ...pairs[0]!.value, ...pairs[1]!.key]));
    expect(hex(e.slice(40, 48))).toBe(hex(pairs[1]!.value));
    expect(hex(provedStateCommitment(state))).toBe(hex(poseidon2Hash('cellState', e)));
  });

  it('balance limbs are 16-bit little-endian; out-of-range balances and nonces are refused', () => {
    expect(balanceLimbs((1n << 64n) - 1n)).toEqual([0xffff, 0xffff, 0xffff, 0xffff]);
    throwsCode(() => balanceLimbs(1n << 64n), 'E_ARGUMENT');
    throwsCode(() => balanceLimbs(-1n), 'E_ARGUMENT');
    throwsCode(() => provedState({ ...BASE, nonce: 2 ** 30 + 1 }, SALT), 'E_ARGUMENT');
    throwsCode(() => provedState(BASE, Uint32Array.of(1, 2)), 'E_ARGUMENT');
    throwsCode(() => stateSalt(new Uint8Array(31), BASE.id, 0), 'E_ARGUMENT');
  });

  it('the encoding is injective: different proved states give different elements (and commitments)', () => {
    fc.assert(
      fc.property(cellArb, cellArb, (a, b) => {
        const cell = (x: typeof a): Cell => ({
          ...BASE,
          owner: x.owner,
          nonce: x.nonce,
          balance: x.balance,
          fields: x.fields,
        });
        const same =
          a.nonce === b.nonce &&
          a.balance === b.balance &&
          a.owner === b.owner &&
          hex(a.salt) === hex(b.salt) &&
          JSON.stringify(Object.entries(a.fields).sort()) ===
            JSON.stringify(Object.entries(b.fields).sort()) &&
          Object.entries(a.fields).every(
            ([k, v]) => valueDigest(v).join() === valueDigest(b.fields[k]!).join(),
          );
        fc.pre(!same);
        const sa = provedState(cell(a), Uint32Array.from(a.salt));
        const sb = provedState(cell(b), Uint32Array.from(b.salt));
        expect(hex(stateElements(sa))).not.toBe(hex(stateElements(sb)));
        expect(hex(provedStateCommitment(sa))).not.toBe(hex(provedStateCommitment(sb)));
      }),
      { numRuns: 200, seed: 7 },
    );
  });

  it('one-element changes: each header element, the rest and each field move the commitment', () => {
    const cell: Cell = { ...BASE, fields: { a: 1 } };
    const base = hex(provedStateCommitment(provedState(cell, SALT)));
    const variants: Cell[] = [
      { ...cell, nonce: 1 },
      { ...cell, balance: 1001n },
      { ...cell, balance: 1000n + (1n << 48n) },
      { ...cell, owner: OTHER },
      { ...cell, lifecycle: 'frozen' },
      { ...cell, fields: { a: 2 } },
      { ...cell, fields: { b: 1 } },
      { ...cell, fields: {} },
    ];
    for (const v of variants) expect(hex(provedStateCommitment(provedState(v, SALT)))).not.toBe(base);
    expect(hex(provedStateCommitment(provedState(cell, Uint32Array.of(1, 2, 4))))).not.toBe(base);
  });

  it('salts are deterministic per (secret, cell, nonce) and differ otherwise', () => {
    const s = stateSalt(SECRET, BASE.id, 3);
    expect(hex(stateSalt(SECRET, BASE.id, 3))).toBe(hex(s));
    expect(hex(stateSalt(SECRET, BASE.id, 4))).not.toBe(hex(s));
    expect(hex(stateSalt(new Uint8Array(32).fill(8), BASE.id, 3))).not.toBe(hex(s));
    expect(s.length).toBe(3);
  });

  it('the proof secret is a one-way function of the identity seed, 32 bytes, and refuses other lengths', () => {
    const seed = new Uint8Array(32).fill(1);
    const secret = proofSecret(seed);
    expect(secret.length).toBe(32);
    expect(hex(secret)).toBe(hex(proofSecret(new Uint8Array(32).fill(1))));
    expect(hex(secret)).not.toBe(hex(proofSecret(new Uint8Array(32).fill(2))));
    expect(hex(secret)).not.toBe(hex(seed));
    throwsCode(() => proofSecret(new Uint8Array(31)), 'E_ARGUMENT');
  });

  it('the nullifier is the nullifier-domain sponge of commitment and salt, and depends on both', () => {
    const c = provedStateCommitment(provedState(BASE, SALT));
    const nf = nullifierOf(c, SALT);
    expect(hex(nf)).toBe(hex(poseidon2Hash('nullifier', [...c, ...SALT])));
    expect(hex(nf)).not.toBe(hex(poseidon2Hash('cellState', [...c, ...SALT])));
    expect(hex(nullifierOf(c, Uint32Array.of(1, 2, 4)))).not.toBe(hex(nf));
    const c2 = provedStateCommitment(provedState({ ...BASE, nonce: 1 }, SALT));
    expect(hex(nullifierOf(c2, SALT))).not.toBe(hex(nf));
  });
});

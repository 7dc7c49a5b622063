import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { add, mul, P, pow, sub } from '../../src/stark/field.ts';
import { charPoly, isIrreducible, satisfiesMinpolyCondition } from '../../src/stark/poseidon2/irreducible.ts';
import { generateInstance, permute, poseidon2BabyBear16 } from '../../src/stark/poseidon2/permutation.ts';

// Published values: HorizenLabs/poseidon2 at bb476b9, plain_implementations/src/poseidon2/
// poseidon2_instance_babybear.rs (constants, diagonals) and poseidon2.rs (the width-24 KAT); the
// width-16 outputs of that instance as published by Plonky3 (`test_poseidon2_hl_width_16_*`) and
// SP1 (its Poseidon2 precompile test, "generated with HorizenLabs POSEIDON2_BABYBEAR_16_PARAMS").
const HL_16 = {
  firstRound: [
    0x69cbb6af, 0x46ad93f9, 0x60a00f4e, 0x6b1297cd, 0x23189afe, 0x732e7bef, 0x72c246de, 0x2c941900,
    0x0557eede, 0x1580496f, 0x3a3ea77b, 0x54f3f271, 0x0f49b029, 0x47872fe1, 0x221e2e36, 0x1ab7202e,
  ],
  fourthRoundFirst: 0x0315b618,
  partial: [
    0x5a8053c0, 0x693be639, 0x3858867d, 0x19334f6b, 0x128f0fd8, 0x4e2b1ccb, 0x61210ce0, 0x3c318939,
    0x0b5b2f22, 0x2edb11d5, 0x213effdf, 0x0cac4606, 0x241af16d,
  ],
  fifthRoundFirst: 0x7290a80d,
  lastRoundLast: 0x608758b8,
  diagonalMinusOne: [
    0x0a632d94, 0x6db657b7, 0x56fbdc9e, 0x052b3d8a, 0x33745201, 0x5c03108c, 0x0beba37b, 0x258c2e8b,
    0x12029f39, 0x694909ce, 0x6d231724, 0x21c3b222, 0x3c0904a5, 0x01d6acda, 0x27705c83, 0x5231c802,
  ],
};
const HL_16_ZEROES = [
  1337856655, 1843094405, 328115114, 964209316, 1365212758, 1431554563, 210126733, 1214932203, 1929553766,
  1647595522, 1496863878, 324695999, 1569728319, 1634598391, 597968641, 679989771,
];
const HL_16_RANGE = [
  896560466, 771677727, 128113032, 1378976435, 160019712, 1452738514, 682850273, 223500421, 501450187,
  1804685789, 1671399593, 1788755219, 1736880027, 1352180784, 1928489698, 1128802977,
];
const HL_16_RANDOM_IN = [
  1179785652, 1291567559, 66272299, 471640172, 653876821, 478855335, 871063984, 540251327, 1506944720,
  1403776782, 770420443, 126472305, 1535928603, 1017977016, 818646757, 359411429,
];
const HL_16_RANDOM_OUT = [
  1736862924, 1950079822, 952072292, 1965704005, 236226362, 1113998185, 1624488077, 391891139, 1194078311,
  1040746778, 1898067001, 774167026, 193702242, 859952892, 732204701, 1744970965,
];
const HL_24_DIAGONAL_MINUS_ONE = [
  0x409133f0, 0x1667a8a1, 0x06a6c7b6, 0x6f53160e, 0x273b11d1, 0x03176c5d, 0x72f9bbf9, 0x73ceba91, 0x5cdef81d,
  0x01393285, 0x46daee06, 0x065d7ba6, 0x52d72d6f, 0x05dd05e0, 0x3bab4b63, 0x6ada3842, 0x2fc5fbec, 0x770d61b0,
  0x5715aae9, 0x03ef0e90, 0x75b6c770, 0x242adf5f, 0x00d0ca4c, 0x36c0e388,
];
const HL_24_RANGE = [
  0x2ed3e23d, 0x12921fb0, 0x0e659e79, 0x61d81dc9, 0x32bae33b, 0x62486ae3, 0x1e681b60, 0x24b91325, 0x2a2ef5b9,
  0x50e8593e, 0x5bc818ec, 0x10691997, 0x35a14520, 0x2ba6a3c5, 0x279d47ec, 0x55014e81, 0x5953a67f, 0x2f403111,
  0x6b8828ff, 0x1801301f, 0x2749207a, 0x3dc9cf21, 0x3c985ba2, 0x57a99864,
];

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
/** x^n - a. */
const binomial = (n: number, a: number) => [sub(0, a), ...new Array<number>(n - 1).fill(0), 1];

describe('Poseidon2 constants, generated from the Grain LFSR', () => {
  const instance = poseidon2BabyBear16();

  it('has the standard shape for BabyBear, t = 16: R_F = 8, R_P = 13', () => {
    expect([instance.width, instance.fullRounds, instance.partialRounds]).toEqual([16, 8, 13]);
    expect(instance.externalConstants).toHaveLength(8);
    expect(instance.internalConstants).toHaveLength(13);
  });

  it('reproduces the reference round constants', () => {
    expect([...instance.externalConstants[0]!]).toEqual(HL_16.firstRound);
    expect(instance.externalConstants[3]![0]).toBe(HL_16.fourthRoundFirst);
    expect([...instance.internalConstants]).toEqual(HL_16.partial);
    expect(instance.externalConstants[4]![0]).toBe(HL_16.fifthRoundFirst);
    expect(instance.externalConstants[7]![15]).toBe(HL_16.lastRoundLast);
  });

  it('reproduces the reference internal diagonal, which the minimal-polynomial condition selects', () => {
    expect([...instance.internalDiagonalMinusOne]).toEqual(HL_16.diagonalMinusOne);
  });

  it('reproduces the width-24 instance too (R_P = 21): its diagonal', () => {
    const wide = generateInstance(24, 8, 21);
    expect([...wide.internalDiagonalMinusOne]).toEqual(HL_24_DIAGONAL_MINUS_ONE);
  });
});

describe('Poseidon2 permutation: published vectors', () => {
  it('width 16, input 0..15', () => {
    expect([...permute(range(16))]).toEqual(HL_16_RANGE);
  });

  it('width 16, all zeroes', () => {
    expect([...permute(new Array(16).fill(0))]).toEqual(HL_16_ZEROES);
  });

  it('width 16, a random input', () => {
    expect([...permute(HL_16_RANDOM_IN)]).toEqual(HL_16_RANDOM_OUT);
  });

  it('width 24, input 0..23 (the reference repository own test)', () => {
    expect([...permute(range(24), generateInstance(24, 8, 21))]).toEqual(HL_24_RANGE);
  });

  it('rejects a state of the wrong width', () => {
    expect(() => permute(range(15))).toThrow(RangeError);
  });
});

describe('the internal-matrix condition', () => {
  const fieldMatrix = (n: number) =>
    fc.array(fc.array(fc.integer({ min: 0, max: P - 1 }), { minLength: n, maxLength: n }), {
      minLength: n,
      maxLength: n,
    });
  const matMul = (a: number[][], b: number[][]) =>
    a.map((row) => b[0]!.map((_, j) => row.reduce((acc, x, k) => add(acc, mul(x, b[k]![j]!)), 0)));

  it('charPoly satisfies Cayley-Hamilton: chi(A) = 0', () => {
    fc.assert(
      fc.property(fieldMatrix(5), (a) => {
        const chi = charPoly(a);
        expect(chi).toHaveLength(6);
        expect(chi[5]).toBe(1);
        let power: number[][] = a.map((row, i) => row.map((_, j) => (i === j ? 1 : 0)));
        let acc = power.map((row) => row.map(() => 0));
        for (const c of chi) {
          acc = acc.map((row, i) => row.map((x, j) => add(x, mul(c, power[i]![j]!))));
          power = matMul(a, power);
        }
        expect(acc.flat().every((x) => x === 0)).toBe(true);
      }),
      { numRuns: 50, seed: 7 },
    );
  });

  it('isIrreducible agrees with known factorizations over BabyBear', () => {
    expect(isIrreducible(binomial(4, 11), P)).toBe(true); // the extension field's modulus
    expect(isIrreducible(binomial(2, P - 1), P)).toBe(false); // x^2 + 1 = (x - i)(x + i), p = 1 mod 4
    expect(isIrreducible([0, 0, 1], P)).toBe(false);
    expect(isIrreducible([0, 1], P)).toBe(true);
  });

  it('isIrreducible decides x^n - a as the binomial theorem for finite fields says', () => {
    // p - 1 = 2^27 * 3 * 5 and 4 | p - 1, so x^n - a (a != 0) is irreducible iff a is not a q-th power
    // for any prime q | n (Lidl and Niederreiter, Theorem 3.75).
    const isSquare = (a: number) => pow(a, (P - 1) / 2) === 1;
    const isCube = (a: number) => pow(a, (P - 1) / 3) === 1;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: P - 1 }), (a) => {
        expect(isIrreducible(binomial(3, a), P)).toBe(!isCube(a));
        expect(isIrreducible(binomial(16, a), P)).toBe(!isSquare(a));
        expect(isIrreducible(binomial(24, a), P)).toBe(!isSquare(a) && !isCube(a));
      }),
      { numRuns: 40, seed: 3 },
    );
  });

  it('the fast decision equals the literal one (chi(M^i) irreducible for i = 1..2t) on random 4 x 4 matrices', () => {
    const outcomes = new Set<boolean>();
    fc.assert(
      fc.property(fieldMatrix(4), (m) => {
        let literal = true;
        let power = m;
        for (let i = 1; i <= 8 && literal; i++) {
          literal = isIrreducible(charPoly(power), P);
          power = matMul(m, power);
        }
        expect(satisfiesMinpolyCondition(m, P)).toBe(literal);
        outcomes.add(literal);
      }),
      { numRuns: 300, seed: 11 },
    );
    expect(outcomes).toEqual(new Set([true, false]));
  });

  it('the reference diagonal passes the literal condition', () => {
    const mu = HL_16.diagonalMinusOne.map((d) => add(d, 1));
    const m = mu.map((x, i) => mu.map((_, j) => (i === j ? x : 1)));
    let power = m;
    for (let i = 1; i <= 32; i++) {
      expect(isIrreducible(charPoly(power), P)).toBe(true);
      power = matMul(m, power);
    }
  });
});

describe('Poseidon2 round numbers', () => {
  /**
   * The reference script's round-number search (poseidon2_rust_params.sage, `find_FD_round_numbers`
   * with `sat_inequiv_alpha`, M = 128 bits, security margin on), written out again here: the
   * smallest t * R_F + R_P over (R_F, R_P) that resist the statistical, interpolation and Groebner
   * basis attacks (including the bound of eprint 2023/537), after adding 2 full rounds and 7.5%
   * partial rounds. Its quirk is kept: the margin updates the outer loop's R_P.
   */
  function roundNumbers(t: number): [number, number] {
    const M = 128;
    const alpha = 7;
    const n = 31; // bit length of p
    const log2p = Math.log2(P);
    const logAlpha = (x: number) => Math.log(x) / Math.log(alpha);
    const table = [0];
    const log2Factorial = (k: number) => {
      while (table.length <= k) table.push(table[table.length - 1]! + Math.log2(table.length));
      return table[k]!;
    };
    const log2Binomial = (over: number, under: number) =>
      log2Factorial(over) - log2Factorial(under) - log2Factorial(over - under);
    const secure = (rf: number, rp: number) => {
      const rf1 = M <= Math.floor(log2p - (alpha - 1) / 2) * (t + 1) ? 6 : 10;
      const rf2 = 1 + Math.ceil(logAlpha(2) * Math.min(M, n)) + Math.ceil(logAlpha(t)) - rp;
      const rf3 = logAlpha(2) * Math.min(M, log2p) - rp;
      const rf4 = t - 1 + logAlpha(2) * Math.min(M / (t + 1), log2p / 2) - rp;
      const rf5 = (t - 2 + M / (2 * Math.log2(alpha)) - rp) / (t - 1);
      const rfMax = Math.max(...[rf1, rf2, rf3, rf4, rf5].map(Math.ceil));
      if (rf < rfMax) return false;
      const r = Math.floor(t / 3);
      const over = (rf - 1) * t + rp + r + r * (rf / 2) + rp + alpha;
      const under = r * (rf / 2) + rp + alpha;
      return Math.ceil(2 * log2Binomial(over, under)) >= M;
    };
    let best: [number, number] = [0, 0];
    let minCost = Number.POSITIVE_INFINITY;
    let bestRf = 0;
    for (let rpOuter = 1; rpOuter < 500; rpOuter++) {
      let rp = rpOuter;
      for (let rf = 4; rf < 100; rf += 2) {
        if (!secure(rf, rp)) continue;
        rp = Math.ceil(rp * 1.075);
        const rfMargin = rf + 2;
        const cost = t * rfMargin + rp;
        if (cost < minCost || (cost === minCost && rfMargin < bestRf)) {
          best = [rfMargin, rp];
          minCost = cost;
          bestRf = rfMargin;
        }
      }
    }
    return best;
  }

  it('are the reference numbers for 128-bit security: (8, 13) at t = 16, (8, 21) at t = 24', () => {
    const instance = poseidon2BabyBear16();
    expect([instance.fullRounds, instance.partialRounds]).toEqual(roundNumbers(16));
    expect(roundNumbers(16)).toEqual([8, 13]);
    expect(roundNumbers(24)).toEqual([8, 21]);
  });
});

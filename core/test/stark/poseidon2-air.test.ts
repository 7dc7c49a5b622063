import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import type { ConstraintOps } from '../../src/stark/air.ts';
import { poseidon2ChainAir, poseidon2ChainTrace } from '../../src/stark/airs/poseidon2-chain.ts';
import { add, mul, P, sub } from '../../src/stark/field.ts';
import {
  POSEIDON2_CONSTRAINT_DEGREE,
  poseidon2Constraints,
  poseidon2Layout,
  poseidon2RoundValues,
} from '../../src/stark/poseidon2/gadget.ts';
import { permute } from '../../src/stark/poseidon2/permutation.ts';
import { checkTrace, prove, proveUnchecked } from '../../src/stark/prover.ts';
import { verify } from '../../src/stark/verifier.ts';

const fieldOps: ConstraintOps<number> = { add, sub, mul, constant: (c) => c };
const layout = poseidon2Layout();
const element = fc.integer({ min: 0, max: P - 1 });
const state16 = fc.array(element, { minLength: 16, maxLength: 16 });

/** A row of the 16 input columns followed by the permutation's columns. */
const rowOf = (input: readonly number[]) => [...input, ...poseidon2RoundValues(input)];

function constraintsOf(row: readonly number[]): number[] {
  const out = new Array<number>(layout.constraints).fill(-1);
  poseidon2Constraints(fieldOps, row.slice(0, 16), row, 16, out, 0);
  return out;
}

function rejects(f: () => void, message?: RegExp): void {
  let caught: unknown;
  try {
    f();
  } catch (e) {
    caught = e;
  }
  expect(isDreggError(caught, 'E_INVALID'), `expected E_INVALID, got ${String(caught)}`).toBe(true);
  if (message !== undefined) expect((caught as Error).message).toMatch(message);
}

describe('Poseidon2 gadget', () => {
  it('has the documented shape: 141 columns, 141 constraints, output in the last 16 columns', () => {
    expect(layout).toEqual({ columns: 141, constraints: 141, output: 125 });
  });

  it('the filled columns end with the permutation of the input and satisfy every constraint', () => {
    fc.assert(
      fc.property(state16, (input) => {
        const row = rowOf(input);
        expect(row.slice(16 + layout.output)).toEqual([...permute(input)]);
        expect(constraintsOf(row).every((c) => c === 0)).toBe(true);
      }),
      { numRuns: 20, seed: 21 },
    );
  });

  it('every column and every input is bound: changing any one of them violates a constraint', () => {
    const row = rowOf(Array.from({ length: 16 }, (_, i) => 7 * i + 3));
    for (let col = 0; col < row.length; col++) {
      const bad = row.slice();
      bad[col] = add(bad[col]!, 1);
      expect(
        constraintsOf(bad).some((c) => c !== 0),
        `column ${col}`,
      ).toBe(true);
    }
  });

  it(`has degree exactly ${POSEIDON2_CONSTRAINT_DEGREE} along random lines a + X b`, () => {
    // On a line every constraint is a polynomial in X of degree <= d iff its (d + 1)-th finite
    // difference vanishes; the d-th one is non-zero for the S-box constraints with overwhelming
    // probability, so the declared degree is also not an overstatement.
    const d = POSEIDON2_CONSTRAINT_DEGREE;
    const difference = (values: number[][], order: number, k: number) => {
      let acc = 0;
      let binomial = 1;
      for (let x = 0; x <= order; x++) {
        const term = mul(binomial, values[x]![k]!);
        acc = (order - x) % 2 === 0 ? add(acc, term) : sub(acc, term);
        binomial = (binomial * (order - x)) / (x + 1);
      }
      return acc;
    };
    fc.assert(
      fc.property(
        fc.array(element, { minLength: 16 + layout.columns, maxLength: 16 + layout.columns }),
        fc.array(element, { minLength: 16 + layout.columns, maxLength: 16 + layout.columns }),
        (a, b) => {
          const at = Array.from({ length: d + 2 }, (_, x) =>
            constraintsOf(a.map((ai, j) => add(ai, mul(x, b[j]!)))),
          );
          for (let k = 0; k < layout.constraints; k++) {
            expect(difference(at, d + 1, k), `constraint ${k}`).toBe(0);
            expect(difference(at, d, k), `constraint ${k}`).not.toBe(0);
          }
        },
      ),
      { numRuns: 5, seed: 22 },
    );
  });
});

describe('Poseidon2 hash-chain AIR', () => {
  const LOG_N = 3;
  const n = 2 ** LOG_N;
  const air = poseidon2ChainAir(LOG_N);
  const first = Array.from({ length: 16 }, (_, i) => 1000 * i + 17);
  const statement = poseidon2ChainTrace(LOG_N, first);

  it('its public inputs are the first input and the digest after n - 1 permutations', () => {
    let state: ArrayLike<number> = first;
    for (let i = 0; i < n - 1; i++) state = permute(state);
    expect(statement.publicInputs).toEqual([...first, ...Array.from(state).slice(0, 8)]);
  });

  it('proves and verifies', async () => {
    const proof = await prove(air, statement.trace, statement.publicInputs);
    expect(() => verify(air, statement.publicInputs, proof)).not.toThrow();
    // A wrong digest (any one element) is rejected.
    for (const at of [16, 23]) {
      const wrong = statement.publicInputs.slice();
      wrong[at] = add(wrong[at]!, 1);
      rejects(() => verify(air, wrong, proof));
    }
    const wrongStart = statement.publicInputs.slice();
    wrongStart[0] = add(wrongStart[0]!, 1);
    rejects(() => verify(air, wrongStart, proof));
  });

  it('a trace that breaks one round at one row: checkTrace and the prover refuse, the verifier rejects', async () => {
    const { trace, publicInputs } = poseidon2ChainTrace(LOG_N, first);
    // Row 2, the S-box output of the 5th partial round: column 16 + 4 * 16 + 4, bound by
    // constraint 4 * 16 + 4 = 68 (and the later rounds that read it).
    const column = 16 + 4 * 16 + 4;
    trace[column]![2] = add(trace[column]![2]!, 1);
    rejects(() => checkTrace(air, trace, publicInputs), /transition constraint 68 at row 2/);
    await expect(prove(air, trace, publicInputs)).rejects.toThrow(/at row 2/);
    const forged = await proveUnchecked(air, trace, publicInputs);
    rejects(() => verify(air, publicInputs, forged), /AIR constraints/);
  });

  it('a chain whose digest does not follow from its first input cannot be proved', async () => {
    // An honest chain from another start, presented with the claimed first input.
    const other = poseidon2ChainTrace(
      LOG_N,
      first.map((x) => add(x, 1)),
    );
    const claimed = [...first, ...other.publicInputs.slice(16)];
    rejects(() => checkTrace(air, other.trace, claimed), /boundary/);
    const forged = await proveUnchecked(air, other.trace, claimed);
    rejects(() => verify(air, claimed, forged));
  });
});

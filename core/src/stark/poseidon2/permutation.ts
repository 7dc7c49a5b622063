/**
 * The Poseidon2 permutation over BabyBear (Grassi, Khovratovich, Schofnegger, "Poseidon2: A Faster
 * Version of the Poseidon Hash Function", AFRICACRYPT 2023, eprint 2023/323), instantiated as the
 * authors' reference does (HorizenLabs/poseidon2, `poseidon2_instance_babybear.rs`):
 *
 *   state   t elements (t = 16 here; 24 is supported for checking against the reference's own vector)
 *   S-box   x^7 (the smallest d > 1 with gcd(d, p - 1) = 1, so a permutation; p - 1 = 2^27 * 3 * 5)
 *   rounds  R_F = 8 full (4 before, 4 after), R_P = 13 partial for t = 16 (21 for t = 24), the
 *           reference's numbers for 128-bit security with its security margin (R_F + 2, R_P * 1.075)
 *   layers  M_E = circ(2 M4, M4, ..., M4) applied once before the first round and after every full
 *           round; M_I = J + diag(mu - 1) (J all ones) after every partial round
 *
 * Round constants and the internal diagonal mu are generated here from the Grain LFSR (grain.ts), as
 * the reference's script does, never pasted in; the tests compare them with published values.
 */
import { add, mul, P } from '../field.ts';
import { grainSource } from './grain.ts';
import { satisfiesMinpolyCondition } from './irreducible.ts';

/** Bit length of p: the Grain draws are this wide. */
const FIELD_BITS = 31;

export interface Poseidon2Instance {
  readonly width: number;
  /** R_F: full rounds, half before and half after the partial rounds. */
  readonly fullRounds: number;
  /** R_P: partial rounds (S-box on the first element only). */
  readonly partialRounds: number;
  /** The round constants of the R_F full rounds, in order (t each). */
  readonly externalConstants: readonly Uint32Array[];
  /** The round constant of each partial round (added to the first element). */
  readonly internalConstants: Uint32Array;
  /** mu_i - 1, so that M_I s = (mu - 1) * s + sum(s), elementwise. */
  readonly internalDiagonalMinusOne: Uint32Array;
}

/**
 * Draws an instance's constants in the reference's order: R_F/2 * t, R_P, R_F/2 * t round constants
 * (31-bit draws, rejected when >= p), then t diagonal entries (31-bit draws reduced mod p, as the
 * script's F(...) does), redrawn until M_I satisfies the minimal-polynomial condition.
 */
export function generateInstance(
  width: number,
  fullRounds: number,
  partialRounds: number,
): Poseidon2Instance {
  if (width % 4 !== 0 || fullRounds % 2 !== 0)
    throw new RangeError('width must be a multiple of 4, R_F even');
  const draw = grainSource({ fieldBits: FIELD_BITS, width, fullRounds, partialRounds });
  const element = (): number => {
    for (;;) {
      const x = draw(FIELD_BITS);
      if (x < P) return x;
    }
  };
  const fullRoundConstants = () => Uint32Array.from({ length: width }, element);
  const first = Array.from({ length: fullRounds / 2 }, fullRoundConstants);
  const internalConstants = Uint32Array.from({ length: partialRounds }, element);
  const last = Array.from({ length: fullRounds / 2 }, fullRoundConstants);
  for (;;) {
    const mu = Array.from({ length: width }, () => draw(FIELD_BITS) % P);
    const matrix = mu.map((m, i) => mu.map((_, j) => (i === j ? m : 1)));
    if (!satisfiesMinpolyCondition(matrix, P)) continue;
    return {
      width,
      fullRounds,
      partialRounds,
      externalConstants: [...first, ...last],
      internalConstants,
      internalDiagonalMinusOne: Uint32Array.from(mu, (m) => (m + P - 1) % P),
    };
  }
}

let babyBear16: Poseidon2Instance | undefined;

/** The width-16 instance (R_F = 8, R_P = 13), generated on first use. */
export function poseidon2BabyBear16(): Poseidon2Instance {
  babyBear16 ??= generateInstance(16, 8, 13);
  return babyBear16;
}

export function sbox(x: number): number {
  const x2 = mul(x, x);
  const x3 = mul(x2, x);
  return mul(mul(x3, x3), x);
}

/**
 * y = M4 x for M4 = [[5 7 1 3] [4 6 1 1] [1 3 5 7] [1 1 4 6]] (Poseidon2 paper, section 5.1) on the
 * four elements at `at`, with additions only: rows 2 and 4 first, rows 1 and 3 as their differences.
 */
function m4(s: Uint32Array, at: number): void {
  const a = s[at]!;
  const b = s[at + 1]!;
  const c = s[at + 2]!;
  const d = s[at + 3]!;
  const ab = add(a, b);
  const cd = add(c, d);
  const r1 = add(add(add(ab, ab), add(ab, ab)), add(add(b, b), cd)); // 4a + 6b + c + d
  const r3 = add(add(add(cd, cd), add(cd, cd)), add(add(d, d), ab)); // a + b + 4c + 6d
  s[at] = add(r1, add(ab, add(d, d))); // 5a + 7b + c + 3d
  s[at + 1] = r1;
  s[at + 2] = add(r3, add(cd, add(b, b))); // a + 3b + 5c + 7d
  s[at + 3] = r3;
}

/** s = M_E s: M4 on each block of four, then every element gains the sum of its lane across blocks. */
export function externalLayer(s: Uint32Array): void {
  const t = s.length;
  for (let at = 0; at < t; at += 4) m4(s, at);
  for (let lane = 0; lane < 4; lane++) {
    let sum = 0;
    for (let i = lane; i < t; i += 4) sum = add(sum, s[i]!);
    for (let i = lane; i < t; i += 4) s[i] = add(s[i]!, sum);
  }
}

/** s = M_I s = (J + diag(mu - 1)) s. */
export function internalLayer(s: Uint32Array, diagonalMinusOne: Uint32Array): void {
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum = add(sum, s[i]!);
  for (let i = 0; i < s.length; i++) s[i] = add(mul(s[i]!, diagonalMinusOne[i]!), sum);
}

/** One full round: add the constants, S-box on every element, M_E. */
export function fullRound(s: Uint32Array, constants: Uint32Array): void {
  for (let i = 0; i < s.length; i++) s[i] = sbox(add(s[i]!, constants[i]!));
  externalLayer(s);
}

/** One partial round: add the constant to the first element, S-box on it, M_I. */
export function partialRound(s: Uint32Array, constant: number, diagonalMinusOne: Uint32Array): void {
  s[0] = sbox(add(s[0]!, constant));
  internalLayer(s, diagonalMinusOne);
}

/** Applies the permutation to `state` in place (canonical field elements, `width` of them). */
export function permuteInPlace(
  state: Uint32Array,
  instance: Poseidon2Instance = poseidon2BabyBear16(),
): void {
  if (state.length !== instance.width) throw new RangeError(`state must have ${instance.width} elements`);
  const half = instance.fullRounds / 2;
  externalLayer(state);
  for (let r = 0; r < half; r++) fullRound(state, instance.externalConstants[r]!);
  for (let r = 0; r < instance.partialRounds; r++) {
    partialRound(state, instance.internalConstants[r]!, instance.internalDiagonalMinusOne);
  }
  for (let r = half; r < instance.fullRounds; r++) fullRound(state, instance.externalConstants[r]!);
}

/** The permutation of `input`, as a new array. */
export function permute(
  input: ArrayLike<number>,
  instance: Poseidon2Instance = poseidon2BabyBear16(),
): Uint32Array {
  const state = Uint32Array.from(input);
  permuteInPlace(state, instance);
  return state;
}

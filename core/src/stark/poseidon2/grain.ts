/**
 * The Poseidon parameter source: the Grain LFSR in self-shrinking mode (Grassi, Khovratovich,
 * Rechberger, Roy, Schofnegger, "Poseidon", USENIX Security 2021, appendix F), exactly as the
 * Poseidon2 reference draws its constants (HorizenLabs/poseidon2, `poseidon2_rust_params.sage`, the
 * version that produced `poseidon2_instance_babybear.rs` at bb476b9):
 *
 *   state   80 bits: field (2 bits, 1 = prime field), S-box (4 bits, 0 = x^alpha), field size n
 *           (12 bits), width t (12), R_F (10), R_P (10), then thirty 1 bits; most significant first.
 *   clock   b_(i+80) = b_(i+62) + b_(i+51) + b_(i+38) + b_(i+23) + b_(i+13) + b_i (mod 2); the first
 *           160 bits are discarded.
 *   shrink  bits are taken in pairs (a, b): b is output when a = 1, the pair is dropped otherwise.
 *   element n output bits, most significant first.
 */

export interface GrainParameters {
  /** Bit length of the prime (31 for BabyBear). */
  readonly fieldBits: number;
  readonly width: number;
  readonly fullRounds: number;
  readonly partialRounds: number;
}

const STATE_BITS = 80;

/** A source of n-bit integers from the Grain LFSR seeded with the instance's parameters. */
export function grainSource(params: GrainParameters): (bits: number) => number {
  const init: number[] = [];
  const push = (value: number, bits: number) => {
    for (let i = bits - 1; i >= 0; i--) init.push((value >>> i) & 1);
  };
  push(1, 2);
  push(0, 4);
  push(params.fieldBits, 12);
  push(params.width, 12);
  push(params.fullRounds, 10);
  push(params.partialRounds, 10);
  push(0x3fffffff, 30);

  // A ring buffer kept twice over, so that s[head + k] is b_(i+k) for k < 80 without wrapping.
  const s = new Uint8Array(2 * STATE_BITS);
  s.set(init);
  s.set(init, STATE_BITS);
  let head = 0;
  const clock = (): number => {
    const bit = s[head + 62]! ^ s[head + 51]! ^ s[head + 38]! ^ s[head + 23]! ^ s[head + 13]! ^ s[head]!;
    s[head] = bit;
    s[head + STATE_BITS] = bit;
    head = head === STATE_BITS - 1 ? 0 : head + 1;
    return bit;
  };
  for (let i = 0; i < 160; i++) clock();
  const nextBit = (): number => {
    for (;;) {
      const keep = clock();
      const bit = clock();
      if (keep === 1) return bit;
    }
  };
  return (bits) => {
    let x = 0;
    for (let i = 0; i < bits; i++) x = x * 2 + nextBit();
    return x;
  };
}

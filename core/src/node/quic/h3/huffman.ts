/**
 * The HPACK Huffman code (RFC 7541 §5.2, Appendix B), which QPACK reuses for string literals
 * (RFC 9204 §4.1.2).
 *
 * The code is canonical: codes of equal length are consecutive in symbol order and each length
 * starts where the shorter ones left off. So the 257 code lengths are the whole table; the codes are
 * derived from them at load and checked against the RFC's examples in the tests.
 *
 * Decoding is table-driven, four bits at a time: a state is an internal node of the code tree, and
 * for every (state, nibble) the table gives the next state and the symbol completed on the way, if
 * any (no code is shorter than 5 bits, so one nibble completes at most one). Padding must be a
 * prefix of EOS of at most 7 bits, and EOS itself must never appear (RFC 7541 §5.2).
 */

import { DreggError } from '../../../errors.ts';

// Code lengths of symbols 0..255 and EOS (256), RFC 7541 Appendix B.
// biome-ignore format: a table
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30,
];

const EOS = 256;

/** Code of each symbol, right-aligned (the last bit is bit 0), canonical order. */
export const CODES: readonly number[] = (() => {
  const codes = new Array<number>(LENGTHS.length);
  const order = LENGTHS.map((_, symbol) => symbol).sort((a, b) => LENGTHS[a]! - LENGTHS[b]! || a - b);
  let code = 0;
  let length = LENGTHS[order[0]!]!;
  for (const symbol of order) {
    code *= 2 ** (LENGTHS[symbol]! - length);
    length = LENGTHS[symbol]!;
    codes[symbol] = code;
    code += 1;
  }
  return codes;
})();

export const CODE_LENGTHS: readonly number[] = LENGTHS;

// The decoding automaton. Node 0 is the root; children[2n], children[2n+1] are node n's 0/1
// children, a child >= 0 is another internal node, -1 - symbol a leaf.
const STATES = 256; // a complete binary tree with 257 leaves has 256 internal nodes
const NEXT = new Uint16Array(STATES * 16);
/** The symbol a (state, nibble) completes, or -1; EOS_SEEN marks a transition that decodes EOS. */
const EMIT = new Int16Array(STATES * 16);
const EOS_SEEN = -2;
/** States whose path from the last symbol boundary is all ones and at most 7 bits: valid padding. */
const ACCEPTS = new Uint8Array(STATES);

(() => {
  const children = new Int32Array(STATES * 2).fill(0);
  let nodes = 1;
  for (let symbol = 0; symbol < LENGTHS.length; symbol++) {
    const length = LENGTHS[symbol]!;
    const code = CODES[symbol]!;
    let node = 0;
    for (let i = length - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const slot = node * 2 + bit;
      if (i === 0) {
        children[slot] = -1 - symbol;
      } else {
        if (children[slot] === 0) children[slot] = nodes++;
        node = children[slot]!;
      }
    }
  }
  // The all-ones path: root, then 1, 11, ..., up to 7 ones.
  let node = 0;
  for (let depth = 0; depth <= 7; depth++) {
    ACCEPTS[node] = 1;
    node = children[node * 2 + 1]!;
  }
  for (let state = 0; state < STATES; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let at = state;
      let emit = -1;
      for (let i = 3; i >= 0; i--) {
        const child = children[at * 2 + ((nibble >> i) & 1)]!;
        if (child >= 0) {
          at = child;
          continue;
        }
        const symbol = -1 - child;
        emit = symbol === EOS ? EOS_SEEN : symbol;
        at = 0;
        if (symbol === EOS) break;
      }
      NEXT[state * 16 + nibble] = at;
      EMIT[state * 16 + nibble] = emit;
    }
  }
})();

function huffmanError(message: string): DreggError {
  return new DreggError('E_PROTOCOL', `QPACK_DECOMPRESSION_FAILED: ${message}`);
}

/** Decodes a Huffman-coded string; throws `E_PROTOCOL` on EOS, bad or overlong padding. */
export function huffmanDecode(input: Uint8Array): Uint8Array {
  // Every symbol is at least 5 bits, so the output is at most 8/5 of the input.
  const out = new Uint8Array(Math.ceil((input.length * 8) / 5));
  let n = 0;
  let state = 0;
  for (let i = 0; i < input.length; i++) {
    const byte = input[i]!;
    let t = state * 16 + (byte >> 4);
    let emit = EMIT[t]!;
    if (emit === EOS_SEEN) throw huffmanError('EOS in a string');
    if (emit >= 0) out[n++] = emit;
    state = NEXT[t]!;
    t = state * 16 + (byte & 15);
    emit = EMIT[t]!;
    if (emit === EOS_SEEN) throw huffmanError('EOS in a string');
    if (emit >= 0) out[n++] = emit;
    state = NEXT[t]!;
  }
  if (ACCEPTS[state] !== 1) throw huffmanError('padding is not a prefix of EOS of at most 7 bits');
  return out.subarray(0, n);
}

/** Length in bytes of the Huffman coding of `input`. */
export function huffmanLength(input: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < input.length; i++) bits += LENGTHS[input[i]!]!;
  return Math.ceil(bits / 8);
}

/** Huffman-codes `input`, padding the last byte with the high bits of EOS (ones). */
export function huffmanEncode(input: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanLength(input));
  let n = 0;
  // acc holds `bits` pending bits (< 8 between symbols, at most 37 after adding one): a double holds
  // them exactly, where 32-bit shifts would not.
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < input.length; i++) {
    const symbol = input[i]!;
    const length = LENGTHS[symbol]!;
    acc = acc * 2 ** length + CODES[symbol]!;
    bits += length;
    while (bits >= 8) {
      bits -= 8;
      const scale = 2 ** bits;
      const byte = Math.floor(acc / scale);
      out[n++] = byte;
      acc -= byte * scale;
    }
  }
  if (bits > 0) out[n] = (acc << (8 - bits)) | (0xff >> bits);
  return out;
}

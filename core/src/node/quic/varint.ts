/**
 * QUIC variable-length integers (RFC 9000 §16) and a bounds-checked cursor over received bytes.
 *
 * The two high bits of the first byte give the length (1, 2, 4 or 8 bytes); the rest is the value,
 * big-endian, up to 2^62 - 1. Values are JS numbers: exact up to 2^53, which covers every offset,
 * packet number and limit a connection can reach; larger 8-byte values (a peer advertising "no limit"
 * as 2^62 - 1) come out rounded, which only ever matters as "huge".
 */
import { fail } from '../../errors.ts';

/** The largest value a varint can hold, RFC 9000 §16 (as a number: rounded to 2^62). */
export const VARINT_MAX = 2 ** 62 - 1;

/** How many bytes `value` takes as a varint. */
export function varintLength(value: number): 1 | 2 | 4 | 8 {
  if (value < 0x40) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x40000000) return 4;
  if (value <= VARINT_MAX) return 8;
  return fail('E_ARGUMENT', 'Varint out of range');
}

/** Writes `value` at `offset` in its shortest form (or `length` bytes when given); returns the new offset. */
export function writeVarint(
  out: Uint8Array,
  offset: number,
  value: number,
  length = varintLength(value),
): number {
  if (!Number.isInteger(value) || value < 0 || length < varintLength(value))
    fail('E_ARGUMENT', 'Varint out of range');
  switch (length) {
    case 1:
      out[offset] = value;
      return offset + 1;
    case 2:
      out[offset] = 0x40 | (value >>> 8);
      out[offset + 1] = value & 0xff;
      return offset + 2;
    case 4:
      out[offset] = 0x80 | (value >>> 24);
      out[offset + 1] = (value >>> 16) & 0xff;
      out[offset + 2] = (value >>> 8) & 0xff;
      out[offset + 3] = value & 0xff;
      return offset + 4;
    default: {
      const hi = Math.floor(value / 2 ** 32);
      const lo = value >>> 0;
      out[offset] = 0xc0 | (hi >>> 24);
      out[offset + 1] = (hi >>> 16) & 0xff;
      out[offset + 2] = (hi >>> 8) & 0xff;
      out[offset + 3] = hi & 0xff;
      out[offset + 4] = lo >>> 24;
      out[offset + 5] = (lo >>> 16) & 0xff;
      out[offset + 6] = (lo >>> 8) & 0xff;
      out[offset + 7] = lo & 0xff;
      return offset + 8;
    }
  }
}

/** `value` as a standalone varint. */
export function encodeVarint(value: number): Uint8Array {
  const out = new Uint8Array(varintLength(value));
  writeVarint(out, 0, value);
  return out;
}

/**
 * A read position in received bytes. Every read checks the bounds and fails with `E_DECODE`
 * (`what` names the structure in the message), so a decoder built on it never throws a RangeError.
 */
export class Cursor {
  pos: number;
  readonly end: number;

  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    end = bytes.length,
    readonly what = 'QUIC packet',
  ) {
    this.pos = start;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || n > this.end - this.pos) fail('E_DECODE', `Truncated ${this.what}`);
  }

  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const b = this.bytes;
    const v = (b[this.pos]! << 8) | b[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u24(): number {
    this.need(3);
    const b = this.bytes;
    const v = (b[this.pos]! << 16) | (b[this.pos + 1]! << 8) | b[this.pos + 2]!;
    this.pos += 3;
    return v;
  }

  u32(): number {
    this.need(4);
    const b = this.bytes;
    const v =
      ((b[this.pos]! << 24) | (b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!) >>> 0;
    this.pos += 4;
    return v;
  }

  varint(): number {
    this.need(1);
    const b = this.bytes;
    const first = b[this.pos]!;
    const length = 1 << (first >> 6);
    this.need(length);
    let value = first & 0x3f;
    for (let i = 1; i < length; i++) value = value * 256 + b[this.pos + i]!;
    this.pos += length;
    return value;
  }

  /** `n` bytes as a view (no copy): the caller copies if it keeps them past the datagram. */
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

/**
 * Deterministic CBOR (RFC 8949 §4.2.1, "core deterministic encoding") for exactly the subset our
 * objects use: unsigned and negative integers (numbers up to 2^53, bigints up to 64 bits), byte
 * strings, UTF-8 text, arrays, maps with text keys, true, false and null. No floats, no tags, no
 * undefined, no indefinite lengths.
 *
 * The decoder is strict: a byte string decodes only if it is exactly what `encodeCbor` produces for
 * the decoded value (shortest arguments, keys sorted bytewise by their encoding, no duplicates, no
 * trailing bytes), so every value has one encoding and a hash or signature over bytes is one over the
 * value. We write it ourselves rather than use a general library because it sits on the hot path of
 * token verification, and because its refusals must be our typed `E_DECODE` by construction.
 */
import { DreggError } from '../errors.ts';

export type CborValue = number | bigint | string | boolean | null | Uint8Array | CborValue[] | CborMap;
export type CborMap = { [key: string]: CborValue };

/** Nesting deeper than this is not one of our objects; refusing it bounds recursion on hostile input. */
const MAX_DEPTH = 32;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

class Writer {
  buf = new Uint8Array(1024);
  len = 0;

  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  head(major: number, arg: number | bigint): void {
    this.reserve(9);
    const m = major << 5;
    const b = this.buf;
    if (typeof arg === 'number') {
      if (arg < 24) b[this.len++] = m | arg;
      else if (arg < 0x100) {
        b[this.len++] = m | 24;
        b[this.len++] = arg;
      } else if (arg < 0x10000) {
        b[this.len++] = m | 25;
        b[this.len++] = arg >>> 8;
        b[this.len++] = arg & 0xff;
      } else if (arg < 0x100000000) {
        b[this.len++] = m | 26;
        b[this.len++] = arg >>> 24;
        b[this.len++] = (arg >>> 16) & 0xff;
        b[this.len++] = (arg >>> 8) & 0xff;
        b[this.len++] = arg & 0xff;
      } else this.head(major, BigInt(arg));
      return;
    }
    if (arg < 0x100000000n) {
      this.head(major, Number(arg));
      return;
    }
    b[this.len++] = m | 27;
    for (let shift = 56n; shift >= 0n; shift -= 8n) b[this.len++] = Number((arg >> shift) & 0xffn);
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }
}

const MAX_U64 = (1n << 64n) - 1n;
const keyCache = new Map<string, Uint8Array>();

/** The encoding of a map key (cached: our keys are a small fixed vocabulary). */
function encodedKey(k: string): Uint8Array {
  let e = keyCache.get(k);
  if (e === undefined) {
    const w = new Writer();
    const t = utf8Encoder.encode(k);
    w.head(3, t.length);
    w.bytes(t);
    e = w.buf.slice(0, w.len);
    if (keyCache.size < 4096) keyCache.set(k, e);
  }
  return e;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function writeText(w: Writer, v: string): void {
  // ASCII fast path (names, DIDs, hex): write the bytes directly instead of allocating through TextEncoder.
  if (v.length < 0x10000) {
    let ascii = true;
    for (let i = 0; i < v.length; i++) {
      if (v.charCodeAt(i) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      w.head(3, v.length);
      w.reserve(v.length);
      for (let i = 0; i < v.length; i++) w.buf[w.len++] = v.charCodeAt(i);
      return;
    }
  }
  const t = utf8Encoder.encode(v);
  w.head(3, t.length);
  w.bytes(t);
}

function encodeInto(w: Writer, v: CborValue, depth: number): void {
  if (depth > MAX_DEPTH) throw new DreggError('E_INTERNAL', 'Value nested too deeply for CBOR');
  switch (typeof v) {
    case 'number':
      if (!Number.isSafeInteger(v))
        throw new DreggError('E_INTERNAL', 'Only safe integers are encodable (no floats)');
      if (v >= 0) w.head(0, v);
      else w.head(1, -1 - v);
      return;
    case 'bigint':
      if (v > MAX_U64 || v < -1n - MAX_U64) throw new DreggError('E_INTERNAL', 'Integer outside 64 bits');
      if (v >= 0n) w.head(0, v);
      else w.head(1, -1n - v);
      return;
    case 'string':
      writeText(w, v);
      return;
    case 'boolean':
      w.reserve(1);
      w.buf[w.len++] = v ? 0xf5 : 0xf4;
      return;
    case 'object':
      if (v === null) {
        w.reserve(1);
        w.buf[w.len++] = 0xf6;
        return;
      }
      if (v instanceof Uint8Array) {
        w.head(2, v.length);
        w.bytes(v);
        return;
      }
      if (Array.isArray(v)) {
        w.head(4, v.length);
        for (const x of v) encodeInto(w, x, depth + 1);
        return;
      }
      {
        const keys = Object.keys(v).filter((k) => v[k] !== undefined);
        const sorted = keys.map((k) => [k, encodedKey(k)] as const).sort((a, b) => compareBytes(a[1], b[1]));
        w.head(5, sorted.length);
        for (const [k, ek] of sorted) {
          w.bytes(ek);
          encodeInto(w, v[k]!, depth + 1);
        }
      }
      return;
    default:
      throw new DreggError('E_INTERNAL', `A ${typeof v} is not encodable as CBOR`);
  }
}

/** Encodes a value in deterministic CBOR. Map entries whose value is `undefined` are omitted. */
export function encodeCbor(value: CborValue): Uint8Array {
  // One scratch buffer, reused: encoding is synchronous and never re-entered, and small objects
  // (caveats, identifiers) are encoded on every token verification.
  const w = scratch;
  w.len = 0;
  try {
    encodeInto(w, value, 0);
    return w.buf.slice(0, w.len);
  } finally {
    if (w.buf.length > 1 << 16) w.buf = new Uint8Array(1024);
  }
}

const scratch = new Writer();

class Reader {
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    readonly what: string,
  ) {}

  fail(why: string): never {
    throw new DreggError('E_DECODE', `Malformed ${this.what}: ${why}`);
  }

  byte(): number {
    if (this.pos >= this.b.length) this.fail('truncated');
    return this.b[this.pos++]!;
  }

  /** Reads an argument, refusing any that is not in its shortest form. */
  arg(info: number): number | bigint {
    if (info < 24) return info;
    const b = this.b;
    const need = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : 0;
    if (need === 0)
      this.fail(info === 31 ? 'indefinite lengths are not allowed' : 'reserved additional information');
    if (this.pos + need > b.length) this.fail('truncated');
    const p = this.pos;
    this.pos += need;
    if (need === 1) {
      const v = b[p]!;
      if (v < 24) this.fail('non-shortest integer');
      return v;
    }
    if (need === 2) {
      const v = (b[p]! << 8) | b[p + 1]!;
      if (v < 0x100) this.fail('non-shortest integer');
      return v;
    }
    if (need === 4) {
      const v = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
      if (v < 0x10000) this.fail('non-shortest integer');
      return v;
    }
    const hi = ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
    const lo = ((b[p + 4]! << 24) | (b[p + 5]! << 16) | (b[p + 6]! << 8) | b[p + 7]!) >>> 0;
    if (hi === 0) this.fail('non-shortest integer');
    const v = (BigInt(hi) << 32n) | BigInt(lo);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  /** A length: must fit in what is left of the input (so hostile lengths cannot make us allocate). */
  length(info: number, unit: number): number {
    const n = this.arg(info);
    if (typeof n === 'bigint' || n * unit > this.b.length - this.pos) this.fail('length exceeds the input');
    return n;
  }

  take(n: number): Uint8Array {
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  value(depth: number): CborValue {
    if (depth > MAX_DEPTH) this.fail('nested too deeply');
    const ib = this.byte();
    const major = ib >> 5;
    const info = ib & 31;
    switch (major) {
      case 0:
        return this.arg(info);
      case 1: {
        const n = this.arg(info);
        return typeof n === 'number' && n < Number.MAX_SAFE_INTEGER ? -1 - n : -1n - BigInt(n);
      }
      case 2:
        return this.take(this.length(info, 1)).slice();
      case 3:
        return this.text(this.length(info, 1));
      case 4: {
        const n = this.length(info, 1);
        const out: CborValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
        return out;
      }
      case 5: {
        const n = this.length(info, 2);
        const out: CborMap = {};
        let prev: Uint8Array | undefined;
        for (let i = 0; i < n; i++) {
          const start = this.pos;
          const kb = this.byte();
          if (kb >> 5 !== 3) this.fail('map keys must be text');
          const key = this.text(this.length(kb & 31, 1));
          const encoded = this.b.subarray(start, this.pos);
          if (prev !== undefined && compareBytes(prev, encoded) >= 0)
            this.fail('map keys out of order or repeated');
          if (key === '__proto__') this.fail('forbidden map key');
          prev = encoded;
          out[key] = this.value(depth + 1);
        }
        return out;
      }
      case 7:
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        return this.fail('floats, undefined and simple values are not allowed');
      default:
        return this.fail('tags are not allowed');
    }
  }

  text(n: number): string {
    const bytes = this.take(n);
    // ASCII fast path: most of our text (names, DIDs, hex) is ASCII.
    let ascii = true;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i]! >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii && bytes.length < 128) {
      let out = '';
      for (let i = 0; i < bytes.length; i++) out += String.fromCharCode(bytes[i]!);
      return out;
    }
    if (ascii) return utf8Decoder.decode(bytes);
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return this.fail('invalid UTF-8');
    }
  }
}

/** Whether a decoded value is a map (not null, an array or a byte string). */
export function isCborMap(v: unknown): v is CborMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Decodes outside bytes; fails only with `E_DECODE`. */
export function decodeCbor(bytes: Uint8Array, what = 'CBOR'): CborValue {
  if (!(bytes instanceof Uint8Array)) throw new DreggError('E_DECODE', `Malformed ${what}: not bytes`);
  const r = new Reader(bytes, what);
  const value = r.value(0);
  if (r.pos !== bytes.length) r.fail('trailing bytes');
  return value;
}

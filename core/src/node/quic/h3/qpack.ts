/**
 * QPACK (RFC 9204) with the static table only. We advertise SETTINGS_QPACK_MAX_TABLE_CAPACITY 0 and
 * SETTINGS_QPACK_BLOCKED_STREAMS 0, so a peer may never reference a dynamic table: every field
 * section starts with Required Insert Count 0, and the only representations are indexed static
 * lines, literals with a static name reference and literals with a literal name (Huffman-coded or
 * not). The dynamic and post-base forms are refused as QPACK_DECOMPRESSION_FAILED (§2.2.3).
 *
 * Encoding uses a static reference wherever the table matches, Huffman wherever it is shorter, and
 * never the dynamic table, so our field sections need no encoder stream either.
 */

import { DreggError } from '../../../errors.ts';
import { huffmanDecode, huffmanEncode, huffmanLength } from './huffman.ts';

export interface Field {
  readonly name: string;
  readonly value: string;
}

/** The static table, RFC 9204 Appendix A (0-based). */
// biome-ignore format: a table
export const STATIC_TABLE: readonly (readonly [string, string])[] = [
  [':authority', ''], [':path', '/'], ['age', '0'], ['content-disposition', ''], ['content-length', '0'],
  ['cookie', ''], ['date', ''], ['etag', ''], ['if-modified-since', ''], ['if-none-match', ''],
  ['last-modified', ''], ['link', ''], ['location', ''], ['referer', ''], ['set-cookie', ''],
  [':method', 'CONNECT'], [':method', 'DELETE'], [':method', 'GET'], [':method', 'HEAD'],
  [':method', 'OPTIONS'], [':method', 'POST'], [':method', 'PUT'], [':scheme', 'http'],
  [':scheme', 'https'], [':status', '103'], [':status', '200'], [':status', '304'], [':status', '404'],
  [':status', '503'], ['accept', '*/*'], ['accept', 'application/dns-message'],
  ['accept-encoding', 'gzip, deflate, br'], ['accept-ranges', 'bytes'],
  ['access-control-allow-headers', 'cache-control'], ['access-control-allow-headers', 'content-type'],
  ['access-control-allow-origin', '*'], ['cache-control', 'max-age=0'],
  ['cache-control', 'max-age=2592000'], ['cache-control', 'max-age=604800'],
  ['cache-control', 'no-cache'], ['cache-control', 'no-store'],
  ['cache-control', 'public, max-age=31536000'], ['content-encoding', 'br'],
  ['content-encoding', 'gzip'], ['content-type', 'application/dns-message'],
  ['content-type', 'application/javascript'], ['content-type', 'application/json'],
  ['content-type', 'application/x-www-form-urlencoded'], ['content-type', 'image/gif'],
  ['content-type', 'image/jpeg'], ['content-type', 'image/png'], ['content-type', 'text/css'],
  ['content-type', 'text/html; charset=utf-8'], ['content-type', 'text/plain'],
  ['content-type', 'text/plain;charset=utf-8'], ['range', 'bytes=0-'],
  ['strict-transport-security', 'max-age=31536000'],
  ['strict-transport-security', 'max-age=31536000; includesubdomains'],
  ['strict-transport-security', 'max-age=31536000; includesubdomains; preload'],
  ['vary', 'accept-encoding'], ['vary', 'origin'], ['x-content-type-options', 'nosniff'],
  ['x-xss-protection', '1; mode=block'], [':status', '100'], [':status', '204'], [':status', '206'],
  [':status', '302'], [':status', '400'], [':status', '403'], [':status', '421'], [':status', '425'],
  [':status', '500'], ['accept-language', ''], ['access-control-allow-credentials', 'FALSE'],
  ['access-control-allow-credentials', 'TRUE'], ['access-control-allow-headers', '*'],
  ['access-control-allow-methods', 'get'], ['access-control-allow-methods', 'get, post, options'],
  ['access-control-allow-methods', 'options'], ['access-control-expose-headers', 'content-length'],
  ['access-control-request-headers', 'content-type'], ['access-control-request-method', 'get'],
  ['access-control-request-method', 'post'], ['alt-svc', 'clear'], ['authorization', ''],
  ['content-security-policy', "script-src 'none'; object-src 'none'; base-uri 'none'"],
  ['early-data', '1'], ['expect-ct', ''], ['forwarded', ''], ['if-range', ''], ['origin', ''],
  ['purpose', 'prefetch'], ['server', ''], ['timing-allow-origin', '*'],
  ['upgrade-insecure-requests', '1'], ['user-agent', ''], ['x-forwarded-for', ''],
  ['x-frame-options', 'deny'], ['x-frame-options', 'sameorigin'],
];

const EXACT = new Map<string, number>();
const BY_NAME = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], index) => {
  EXACT.set(`${name}\0${value}`, index);
  if (!BY_NAME.has(name)) BY_NAME.set(name, index);
});

function decompressionFailed(message: string): DreggError {
  return new DreggError('E_PROTOCOL', `QPACK_DECOMPRESSION_FAILED: ${message}`);
}

const utf8 = new TextDecoder();
const toUtf8 = new TextEncoder();

/** A cursor over one field section. */
interface Cursor {
  readonly bytes: Uint8Array;
  at: number;
}

/** A prefixed integer (RFC 7541 §5.1) whose prefix is the low `bits` bits of the current byte. */
function readInteger(c: Cursor, bits: number): number {
  if (c.at >= c.bytes.length) throw decompressionFailed('truncated integer');
  const max = (1 << bits) - 1;
  let value = c.bytes[c.at++]! & max;
  if (value < max) return value;
  let scale = 1;
  for (;;) {
    if (c.at >= c.bytes.length) throw decompressionFailed('truncated integer');
    const byte = c.bytes[c.at++]!;
    value += (byte & 0x7f) * scale;
    // Every integer we accept indexes the static table or measures bytes of this section: anything
    // beyond 2^32 is an attack, and stopping there keeps the arithmetic exact.
    if (value > 0xffffffff) throw decompressionFailed('integer too large');
    if ((byte & 0x80) === 0) return value;
    scale *= 128;
  }
}

/** A string literal whose H flag is bit `bits` of the current byte and length the bits below it. */
function readString(c: Cursor, bits: number): string {
  if (c.at >= c.bytes.length) throw decompressionFailed('truncated string');
  const huffman = (c.bytes[c.at]! & (1 << bits)) !== 0;
  const length = readInteger(c, bits);
  if (length > c.bytes.length - c.at) throw decompressionFailed('string runs past the section');
  const raw = c.bytes.subarray(c.at, c.at + length);
  c.at += length;
  return utf8.decode(huffman ? huffmanDecode(raw) : raw);
}

function staticEntry(index: number): readonly [string, string] {
  return STATIC_TABLE[index] ?? fail(`static index ${index} out of range`);
}

function fail(message: string): never {
  throw decompressionFailed(message);
}

/**
 * Decodes one field section (the payload of a HEADERS frame). Throws `E_PROTOCOL`
 * (QPACK_DECOMPRESSION_FAILED) on any reference to a dynamic table and on malformed input.
 */
export function decodeFieldSection(bytes: Uint8Array): Field[] {
  const c: Cursor = { bytes, at: 0 };
  // Required Insert Count must be 0 with a zero-capacity table (§4.5.1.1: with MaxEntries 0 any
  // encoded value but 0 is an error). The base is then meaningless; it is read and ignored.
  if (readInteger(c, 8) !== 0) fail('Required Insert Count is not 0 and our table capacity is 0');
  readInteger(c, 7);
  const fields: Field[] = [];
  while (c.at < bytes.length) {
    const first = bytes[c.at]!;
    if (first & 0x80) {
      // Indexed field line, T bit 0x40.
      if ((first & 0x40) === 0) fail('dynamic table reference');
      const [name, value] = staticEntry(readInteger(c, 6));
      fields.push({ name, value });
    } else if (first & 0x40) {
      // Literal with name reference: N 0x20, T 0x10, 4-bit index.
      if ((first & 0x10) === 0) fail('dynamic table name reference');
      const [name] = staticEntry(readInteger(c, 4));
      fields.push({ name, value: readString(c, 7) });
    } else if (first & 0x20) {
      // Literal with literal name: N 0x10, H 0x08, 3-bit length.
      const name = readString(c, 3);
      fields.push({ name, value: readString(c, 7) });
    } else {
      fail('post-base reference');
    }
  }
  return fields;
}

function writeInteger(out: number[], flags: number, bits: number, value: number): void {
  const max = (1 << bits) - 1;
  if (value < max) {
    out.push(flags | value);
    return;
  }
  out.push(flags | max);
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
}

function writeString(out: number[], flags: number, bits: number, text: string): void {
  const raw = toUtf8.encode(text);
  const coded = huffmanLength(raw) < raw.length;
  const body = coded ? huffmanEncode(raw) : raw;
  writeInteger(out, flags | (coded ? 1 << bits : 0), bits, body.length);
  for (let i = 0; i < body.length; i++) out.push(body[i]!);
}

/** Encodes a field section with static references only (Required Insert Count 0, Base 0). */
export function encodeFieldSection(fields: readonly Field[]): Uint8Array {
  const out: number[] = [0, 0];
  for (const { name, value } of fields) {
    const exact = EXACT.get(`${name}\0${value}`);
    if (exact !== undefined) {
      writeInteger(out, 0xc0, 6, exact);
      continue;
    }
    const named = BY_NAME.get(name);
    if (named !== undefined) {
      writeInteger(out, 0x50, 4, named);
    } else {
      writeString(out, 0x20, 3, name);
    }
    writeString(out, 0, 7, value);
  }
  return Uint8Array.from(out);
}

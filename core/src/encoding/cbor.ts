/**
 * Deterministic CBOR (RFC 8949 §4.2.1: preferred serialization, shortest integer and length forms,
 * definite lengths, map keys sorted bytewise by their encoding) via `cborg`, which is strict and fast.
 *
 * Decoding is strict and canonical: a byte string decodes only if it is exactly what we would have
 * encoded (checked by re-encoding), so every value has one encoding and a signature or hash over
 * bytes is a signature or hash over the value.
 */
import { decode, encode, rfc8949EncodeOptions } from 'cborg';
import { DreggError } from '../errors.ts';
import { bytesEqual } from './bytes.ts';

/** Values we put on the wire: no floats, no undefined, no tags; integers beyond 2^53 as bigint. */
export type CborValue = number | bigint | string | boolean | null | Uint8Array | CborValue[] | CborMap;
export type CborMap = { [key: string]: CborValue };

const decodeOptions = {
  strict: true,
  rejectDuplicateMapKeys: true,
  allowUndefined: false,
  allowIndefinite: false,
  allowNaN: false,
  allowInfinity: false,
  allowBigInt: true,
  useMaps: false,
  tags: [],
} as const;

export function encodeCbor(value: CborValue): Uint8Array {
  try {
    return encode(value, rfc8949EncodeOptions);
  } catch (e) {
    throw new DreggError('E_INTERNAL', 'Value is not encodable as deterministic CBOR', { cause: e });
  }
}

/** Decodes outside bytes; fails only with `E_DECODE`. */
export function decodeCbor(bytes: Uint8Array, what = 'CBOR'): CborValue {
  let value: unknown;
  try {
    value = decode(bytes, decodeOptions);
  } catch (e) {
    throw new DreggError('E_DECODE', `Malformed ${what}`, { cause: e });
  }
  let again: Uint8Array;
  try {
    again = encode(value, rfc8949EncodeOptions);
  } catch (e) {
    throw new DreggError('E_DECODE', `Malformed ${what}: unsupported value`, { cause: e });
  }
  if (!bytesEqual(again, bytes)) throw new DreggError('E_DECODE', `Malformed ${what}: not canonical CBOR`);
  return value as CborValue;
}

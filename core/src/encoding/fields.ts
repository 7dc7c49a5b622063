/**
 * The one field check of our CBOR wire maps: exactly the named fields, and the format's version `v`.
 * Fails only with `E_INVALID`, naming what was being read.
 */
import { DreggError } from '../errors.ts';
import { type CborMap, type CborValue, isCborMap } from './cbor.ts';

export function invalidWire(what: string, why: string): never {
  throw new DreggError('E_INVALID', `Invalid ${what}: ${why}`);
}

/**
 * `m` as a map holding every `required` field, any `optional` one and nothing else but `v`, which
 * must be `version`: always when `v` is 'required', when present when 'optional' (a nested map).
 */
export function exactFields(
  m: CborValue | undefined,
  what: string,
  required: readonly string[],
  optional: readonly string[],
  version: number,
  v: 'required' | 'optional' = 'required',
): CborMap {
  if (!isCborMap(m)) invalidWire(what, 'not a map');
  for (const k of Object.keys(m))
    if (k !== 'v' && !required.includes(k) && !optional.includes(k)) invalidWire(what, `unknown field ${k}`);
  for (const k of required) if (!(k in m)) invalidWire(what, `missing ${k}`);
  if (m.v !== version && (v === 'required' || m.v !== undefined))
    invalidWire(what, `unknown version ${String(m.v)}`);
  return m;
}

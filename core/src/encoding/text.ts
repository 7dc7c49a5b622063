/**
 * Text forms of binary objects: `prefix_` + base64url without padding (tokens, envelopes, revocation
 * records). The prefix names the type so that a token pasted where an envelope is expected fails
 * with a clear message instead of a decoding error deep inside.
 */
import { base64urlnopad } from '@scure/base';
import { DreggError } from '../errors.ts';

export const TextPrefixes = {
  token: 'cctok',
  envelope: 'ccdel',
  revocation: 'ccrev',
} as const;

export type TextKind = keyof typeof TextPrefixes;

export function toText(kind: TextKind, bytes: Uint8Array): string {
  return `${TextPrefixes[kind]}_${base64urlnopad.encode(bytes)}`;
}

/** Parses a text form of the given kind; fails only with `E_DECODE`. */
export function fromText(kind: TextKind, text: string): Uint8Array {
  const prefix = `${TextPrefixes[kind]}_`;
  if (typeof text !== 'string') throw new DreggError('E_DECODE', `Expected a ${kind} in text form`);
  const trimmed = text.trim();
  if (!trimmed.startsWith(prefix)) {
    const other = (Object.keys(TextPrefixes) as TextKind[]).find((k) =>
      trimmed.startsWith(`${TextPrefixes[k]}_`),
    );
    throw new DreggError(
      'E_DECODE',
      other
        ? `Expected a ${kind} but this is a ${other}`
        : `Expected a ${kind} (text starting with "${prefix}")`,
    );
  }
  try {
    return base64urlnopad.decode(trimmed.slice(prefix.length));
  } catch (e) {
    throw new DreggError('E_DECODE', `Malformed ${kind}: not base64url`, { cause: e });
  }
}

/** Which kind of text form this is, if any (for `dregg cap inspect`, which takes either). */
export function textKind(text: string): TextKind | undefined {
  const t = text.trim();
  return (Object.keys(TextPrefixes) as TextKind[]).find((k) => t.startsWith(`${TextPrefixes[k]}_`));
}

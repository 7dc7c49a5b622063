import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inspect } from '../../src/agent/inspect.ts';
import { decodeChain } from '../../src/caps/envelope.ts';
import { decodeRevocation, revocationFromText } from '../../src/caps/revocation.ts';
import { decodeToken } from '../../src/caps/token.ts';
import { fromHex } from '../../src/encoding/bytes.ts';
import { fromText } from '../../src/encoding/text.ts';
import { DreggError } from '../../src/errors.ts';
import { parseCount, parseDuration, parseRestrict } from '../../src/node/cli/args.ts';
import { arbGarbage } from '../encoding/arbitrary.ts';

/** Runs a decoder on hostile input: it may succeed or fail, but only ever with our typed error. */
function onlyTyped(decode: () => unknown): void {
  try {
    decode();
  } catch (e) {
    expect(e).toBeInstanceOf(DreggError);
    expect((e as DreggError).message).not.toMatch(/\n\s+at /);
  }
}

describe('decoders of outside input give only typed errors', () => {
  it('binary decoders: token, delegation chain, revocation record', () => {
    const bytes = arbGarbage(400);
    fc.assert(
      fc.property(bytes, (b) => {
        onlyTyped(() => decodeToken(b));
        onlyTyped(() => decodeChain(b));
        onlyTyped(() => decodeRevocation(b));
      }),
      { numRuns: 2000 },
    );
  });

  it('text decoders: text forms, inspect, hex', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 200 }),
        fc.constantFrom('cctok_', 'ccdel_', 'ccrev_', ''),
        (s, prefix) => {
          onlyTyped(() => inspect(prefix + s));
          onlyTyped(() => revocationFromText(prefix + s));
          onlyTyped(() => fromText('envelope', prefix + s));
          onlyTyped(() => fromHex(s));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('CLI argument parsers', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => {
        onlyTyped(() => parseDuration(s));
        onlyTyped(() => parseCount(s, '--cost'));
        onlyTyped(() => parseRestrict(s));
      }),
      { numRuns: 2000 },
    );
  });
});

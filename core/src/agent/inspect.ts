import { type Caveat, describeCaveat } from '../caps/caveats.ts';
import { type Chain, chainFromText, envelopeHashHex } from '../caps/envelope.ts';
import { rightsOf } from '../caps/rights.ts';
import { type Token, tokenFromText, tokenId } from '../caps/token.ts';
import { textKind } from '../encoding/text.ts';
import { DreggError } from '../errors.ts';

export interface CaveatView {
  readonly caveat: Caveat;
  readonly words: string;
}

export interface StepView {
  readonly hash: string;
  readonly from: string;
  readonly to: string;
  readonly issuedAt: number;
  readonly expiry: number;
  readonly epoch: number;
  readonly restrictions: readonly CaveatView[];
}

/** What a person sees before accepting: decoded, not yet verified. */
export interface Inspection {
  readonly kind: 'token' | 'delegation';
  readonly tokenId: string;
  readonly issuer: string;
  readonly holder: string | null;
  readonly caveats: readonly CaveatView[];
  readonly effective: {
    readonly services: readonly string[] | 'any';
    readonly actions: readonly string[] | 'any';
    readonly budget: number | null;
    readonly notBefore: number;
    readonly expiry: number | null;
  };
  readonly chain: readonly StepView[];
}

const view = (c: Caveat): CaveatView => ({ caveat: c, words: describeCaveat(c) });
const list = (s: ReadonlySet<string> | 'all') => (s === 'all' ? 'any' : [...s].sort());

function inspectParts(token: Token, chain: Chain): Inspection {
  const r = rightsOf(token.caveats);
  return {
    kind: chain.length > 0 ? 'delegation' : 'token',
    tokenId: tokenId(token),
    issuer: token.issuer,
    holder: chain.length > 0 ? chain[chain.length - 1]!.to : null,
    caveats: token.caveats.map(view),
    effective: {
      services: list(r.services),
      actions: list(r.actions),
      budget: r.budget,
      notBefore: r.notBefore,
      expiry: r.expiry,
    },
    chain: chain.map((e) => ({
      hash: envelopeHashHex(e),
      from: e.from,
      to: e.to,
      issuedAt: e.issuedAt,
      expiry: e.expiry,
      epoch: e.epoch,
      restrictions: e.restrict.map(view),
    })),
  };
}

/** Decodes a token or delegation text for display. Checks nothing beyond well-formedness. */
export function inspect(text: string): Inspection {
  switch (textKind(text)) {
    case 'token':
      return inspectParts(tokenFromText(text), []);
    case 'envelope': {
      const chain = chainFromText(text);
      return inspectParts(chain[chain.length - 1]!.token, chain);
    }
    default:
      throw new DreggError('E_DECODE', 'Expected a token (cctok_…) or a delegation (ccdel_…)');
  }
}

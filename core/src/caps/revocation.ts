/**
 * Revocation, the three kinds of seed 002, as signed records anyone can carry (the relay gossips them):
 *
 *  - `delegation`: revokes one delegation envelope by hash, and with it every chain that passes
 *    through it (a subtree). Honoured only when signed by the issuer or by a delegator at or above
 *    that envelope in the chain, so a stranger cannot revoke other people's delegations.
 *  - `trip`: trips a revocation channel; honoured only when signed by the channel's owner. A channel
 *    the verifier has never seen enrolled counts as tripped (PITFALLS 9).
 *  - `epoch`: the signer's delegation epoch is now at least `epoch`; delegations it signed at an
 *    epoch more than `maxStaleness` behind are refused.
 *
 * The records are facts; `RevocationState` is what a verifier has learned from them. Every verifier
 * applies the same checks (`checkChainRevocation`), whoever it is.
 */
import type { Ed25519 } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { type CborMap, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { fromText, toText } from '../encoding/text.ts';
import { DreggError } from '../errors.ts';
import { type Chain, envelopeHashHex } from './envelope.ts';
import type { Token } from './token.ts';

export const REVOCATION_VERSION = 1;

export type RevocationSubject =
  | { kind: 'delegation'; token: string; delegation: string }
  | { kind: 'trip'; channel: string }
  | { kind: 'epoch'; epoch: number };

export type RevocationBody = RevocationSubject & { by: string; at: number };
export type RevocationRecord = RevocationBody & { signature: Uint8Array };

function bodyToCbor(b: RevocationBody): CborMap {
  const common = { v: REVOCATION_VERSION, k: b.kind, by: b.by, at: b.at };
  switch (b.kind) {
    case 'delegation':
      return { ...common, tok: b.token, del: b.delegation };
    case 'trip':
      return { ...common, ch: b.channel };
    case 'epoch':
      return { ...common, ep: b.epoch };
  }
}

function digest(b: RevocationBody): Uint8Array {
  return hashFor('revocationSigning', encodeCbor(bodyToCbor(b)));
}

export async function signRevocation(
  body: RevocationBody,
  seed: Uint8Array,
  ed: Ed25519,
): Promise<RevocationRecord> {
  return { ...body, signature: await ed.sign(seed, digest(body)) };
}

export async function verifyRevocation(r: RevocationRecord, ed: Ed25519): Promise<void> {
  if (!(await ed.verify(ed25519FromDidKey(r.by), digest(r), r.signature))) {
    throw new DreggError('E_BAD_SIGNATURE', 'Revocation record signature does not verify');
  }
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX32 = /^[0-9a-f]{32}$/;

export function encodeRevocation(r: RevocationRecord): Uint8Array {
  return encodeCbor({ ...bodyToCbor(r), sig: r.signature });
}

export function decodeRevocation(bytes: Uint8Array): RevocationRecord {
  const v = decodeCbor(bytes, 'revocation record');
  if (!isCborMap(v)) throw new DreggError('E_INVALID', 'A revocation record is a map');
  const m = v;
  const invalid = (why: string) => new DreggError('E_INVALID', `Invalid revocation record: ${why}`);
  if (m.v !== REVOCATION_VERSION) throw invalid('unsupported version');
  if (typeof m.by !== 'string') throw invalid('missing signer');
  ed25519FromDidKey(m.by);
  if (typeof m.at !== 'number' || !Number.isSafeInteger(m.at) || m.at < 0) throw invalid('bad time');
  if (!(m.sig instanceof Uint8Array) || m.sig.length !== 64) throw invalid('signature must be 64 bytes');
  const base = { by: m.by, at: m.at, signature: m.sig };
  const expect = (keys: string[]) => {
    const all = ['v', 'k', 'by', 'at', 'sig', ...keys];
    if (Object.keys(m).length !== all.length || !all.every((k) => Object.hasOwn(m, k)))
      throw invalid('wrong fields');
  };
  switch (m.k) {
    case 'delegation':
      expect(['tok', 'del']);
      if (typeof m.tok !== 'string' || !HEX32.test(m.tok)) throw invalid('bad token id');
      if (typeof m.del !== 'string' || !HEX64.test(m.del)) throw invalid('bad delegation hash');
      return { kind: 'delegation', token: m.tok, delegation: m.del, ...base };
    case 'trip':
      expect(['ch']);
      if (typeof m.ch !== 'string' || !HEX32.test(m.ch)) throw invalid('bad channel id');
      return { kind: 'trip', channel: m.ch, ...base };
    case 'epoch':
      expect(['ep']);
      if (typeof m.ep !== 'number' || !Number.isSafeInteger(m.ep) || m.ep < 0) throw invalid('bad epoch');
      return { kind: 'epoch', epoch: m.ep, ...base };
    default:
      throw invalid('unknown kind');
  }
}

export function revocationToText(r: RevocationRecord): string {
  return toText('revocation', encodeRevocation(r));
}

export function revocationFromText(text: string): RevocationRecord {
  return decodeRevocation(fromText('revocation', text));
}

/** What a verifier has learned. Plain data so that it can be stored and merged. */
export interface RevocationState {
  /** delegation hash (hex) -> DIDs that signed a revocation of it */
  readonly delegations: Map<string, Set<string>>;
  /** `${channel}/${owner}` of every tripped channel (a trip counts only from the owner). */
  readonly tripped: Set<string>;
  /** `${channel}/${owner}` of channels this verifier knows were enrolled (its own, or seen signed). */
  readonly enrolled: Set<string>;
  /** Highest delegation epoch seen per DID. */
  readonly epochs: Map<string, number>;
}

export function emptyRevocationState(): RevocationState {
  return { delegations: new Map(), tripped: new Set(), enrolled: new Set(), epochs: new Map() };
}

/** Verifies a record's signature and folds it into the state. Idempotent. */
export async function applyRevocation(
  state: RevocationState,
  r: RevocationRecord,
  ed: Ed25519,
): Promise<void> {
  await verifyRevocation(r, ed);
  switch (r.kind) {
    case 'delegation': {
      const by = state.delegations.get(r.delegation) ?? new Set<string>();
      by.add(r.by);
      state.delegations.set(r.delegation, by);
      return;
    }
    case 'trip':
      state.tripped.add(`${r.channel}/${r.by}`);
      return;
    case 'epoch':
      state.epochs.set(r.by, Math.max(state.epochs.get(r.by) ?? 0, r.epoch));
      return;
  }
}

/**
 * The revocation checks every verifier applies to a token and the chain that delivered it (the chain
 * may be empty for a root token presented to its minter). Throws `E_REVOKED` or `E_STALE_EPOCH`.
 * Signatures in the chain must already have been verified.
 */
export function checkRevocation(
  state: RevocationState,
  token: Token,
  chain: Chain,
  options: { maxStaleness: number },
): void {
  const upstream = new Set<string>([token.issuer]);
  for (const env of chain) {
    upstream.add(env.from);
    const revokers = state.delegations.get(envelopeHashHex(env));
    if (revokers !== undefined && [...revokers].some((d) => upstream.has(d))) {
      throw new DreggError(
        'E_REVOKED',
        `Delegation ${envelopeHashHex(env).slice(0, 16)}… from ${env.from} was revoked`,
      );
    }
  }
  for (const c of token.caveats) {
    if (c.t === 'rev') {
      const key = `${c.channel}/${c.owner}`;
      if (state.tripped.has(key))
        throw new DreggError('E_REVOKED', `Revocation channel ${c.channel} was tripped`);
      // Enrolment: the verifier knows the channel, or its owner signed a step carrying this caveat.
      const signedByOwner = chain.some(
        (e) =>
          e.from === c.owner &&
          e.token.caveats.some((x) => x.t === 'rev' && x.channel === c.channel && x.owner === c.owner),
      );
      if (!state.enrolled.has(key) && !signedByOwner) {
        throw new DreggError('E_REVOKED', `Unknown revocation channel ${c.channel} counts as revoked`);
      }
    } else if (c.t === 'epoch') {
      const current = state.epochs.get(c.by) ?? c.epoch;
      if (current - c.epoch > options.maxStaleness) {
        throw new DreggError(
          'E_STALE_EPOCH',
          `Delegated at epoch ${c.epoch} by ${c.by}, who is now at epoch ${current}`,
        );
      }
    }
  }
}

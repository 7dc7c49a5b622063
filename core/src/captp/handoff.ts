/**
 * Three-party handoff (Introduce). Alice holds a sturdy reference to an object of Carol's, bound to
 * Alice's key. To give Bob a (possibly narrower) reference to it, Alice signs a certificate naming
 * herself (introducer), Bob (recipient), the target (federation, cell and the hash of the swiss number,
 * never the swiss itself), the caveats she appends, an expiry and a fresh nonce. The certificate is
 * plain data with a compact text form (`cchandoff_` + base64url of its CBOR, about 450 characters), so
 * it can travel by QR code, inbox or any channel; it is useless to anyone but Bob.
 *
 * Bob presents it to Carol over an authenticated session, with his own signature over the
 * certificate's digest and that session's id (so a presentation overheard cannot be replayed in
 * another session). Carol checks, in `acceptHandoff` (./vat.ts): both signatures, that the session's
 * peer is the recipient, that the certificate has not expired, that the introducer is the holder her
 * swiss table bound the target to (and that entry is live), that the appended caveats only narrow the
 * entry's rights (`declaredRights` + `assertNarrows`, the one lattice), and that the nonce was never
 * seen before (recorded durably with the use it consumes). Bob then holds a live reference to Carol's
 * object and talks to her directly; Alice need not be online.
 */
import { base64urlnopad } from '@scure/base';
import { type Caveat, caveatFromCbor, caveatToCbor, DID_SHAPE } from '../caps/caveats.ts';
import type { Ed25519 } from '../crypto/ed25519.ts';
import { hashFor } from '../crypto/hash.ts';
import { type CborMap, decodeCbor, encodeCbor, isCborMap } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import { type SturdyRef, swissId } from './sturdy.ts';

export const HANDOFF_PREFIX = 'cchandoff_';
const NONCE_BYTES = 16;
/** A certificate is a few hundred bytes; refuse far larger text before decoding it. */
const MAX_TEXT = 4096;
const FEDERATION = /^[a-z0-9][a-z0-9.-]{0,62}$/;
const CELL = /^[0-9a-f]{64}$/;

export interface HandoffCert {
  readonly introducer: string;
  readonly recipient: string;
  readonly federation: string;
  readonly cell: string;
  /** `swissId` of the introducer's sturdy reference. */
  readonly target: Uint8Array;
  /** Caveats appended to the introducer's rights (empty: the same rights). */
  readonly caveats: readonly Caveat[];
  /** Unix seconds; the certificate and the reference it yields end then. */
  readonly expiry: number;
  readonly nonce: Uint8Array;
  /** The introducer's signature over the digest of every field above. */
  readonly sig: Uint8Array;
}

type Body = Omit<HandoffCert, 'sig'>;

function bodyCbor(b: Body): CborMap {
  return {
    v: 1,
    introducer: b.introducer,
    recipient: b.recipient,
    federation: b.federation,
    cell: b.cell,
    target: b.target,
    caveats: b.caveats.map(caveatToCbor),
    expiry: b.expiry,
    nonce: b.nonce,
  };
}

/** What the introducer signs: every field of the certificate but the signature. */
export function handoffDigest(b: Body): Uint8Array {
  return hashFor('captpHandoffCert', encodeCbor(bodyCbor(b)));
}

export interface Signer {
  readonly did: string;
  readonly seed: Uint8Array;
  readonly ed: Ed25519;
}

/** Alice's side: a certificate handing `ref` (hers) to `recipient`, narrowed by `caveats`. */
export async function introduce(
  introducer: Signer,
  o: {
    ref: SturdyRef;
    recipient: string;
    caveats?: readonly Caveat[];
    expiry: number;
    random: (n: number) => Uint8Array;
  },
): Promise<HandoffCert> {
  if (o.ref.holder !== introducer.did)
    throw new DreggError('E_AUDIENCE', 'Only the holder a sturdy reference is bound to can hand it off');
  ed25519FromDidKey(o.recipient);
  if (o.ref.expiry !== undefined && o.expiry > o.ref.expiry)
    throw new DreggError('E_WIDENING', 'A handoff cannot outlive the reference it hands off');
  const body: Body = {
    introducer: introducer.did,
    recipient: o.recipient,
    federation: o.ref.federation,
    cell: o.ref.cell,
    target: swissId(o.ref.swiss),
    caveats: [...(o.caveats ?? [])],
    expiry: o.expiry,
    nonce: o.random(NONCE_BYTES),
  };
  return { ...body, sig: await introducer.ed.sign(introducer.seed, handoffDigest(body)) };
}

export function handoffToText(cert: HandoffCert): string {
  return HANDOFF_PREFIX + base64urlnopad.encode(encodeCbor({ ...bodyCbor(cert), sig: cert.sig }));
}

function bad(why: string): never {
  throw new DreggError('E_INVALID', `Malformed handoff certificate: ${why}`);
}

/** Parses the text form; `E_DECODE` or `E_INVALID`. Signatures are checked by the exporter, not here. */
export function handoffFromText(text: string): HandoffCert {
  if (typeof text !== 'string' || text.length > MAX_TEXT || !text.trim().startsWith(HANDOFF_PREFIX))
    throw new DreggError(
      'E_DECODE',
      `Expected a handoff certificate (text starting with "${HANDOFF_PREFIX}")`,
    );
  let bytes: Uint8Array;
  try {
    bytes = base64urlnopad.decode(text.trim().slice(HANDOFF_PREFIX.length));
  } catch {
    throw new DreggError('E_DECODE', 'Malformed handoff certificate: not base64url');
  }
  const v = decodeCbor(bytes, 'handoff certificate');
  if (!isCborMap(v)) return bad('not a map');
  const keys = [
    'v',
    'introducer',
    'recipient',
    'federation',
    'cell',
    'target',
    'caveats',
    'expiry',
    'nonce',
    'sig',
  ];
  if (Object.keys(v).length !== keys.length || !keys.every((k) => Object.hasOwn(v, k))) bad('wrong fields');
  const { introducer, recipient, federation, cell, target, caveats, expiry, nonce, sig } = v;
  if (v.v !== 1) bad('unknown version');
  if (typeof introducer !== 'string' || !DID_SHAPE.test(introducer)) bad('introducer');
  if (typeof recipient !== 'string' || !DID_SHAPE.test(recipient)) bad('recipient');
  if (typeof federation !== 'string' || !FEDERATION.test(federation)) bad('federation');
  if (typeof cell !== 'string' || !CELL.test(cell)) bad('cell');
  if (!(target instanceof Uint8Array) || target.length !== 32) bad('target');
  if (!Array.isArray(caveats) || caveats.length > 32) bad('caveats');
  if (typeof expiry !== 'number' || !Number.isSafeInteger(expiry) || expiry < 0) bad('expiry');
  if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) bad('nonce');
  if (!(sig instanceof Uint8Array) || sig.length !== 64) bad('signature');
  return {
    introducer,
    recipient,
    federation,
    cell,
    target,
    caveats: caveats.map(caveatFromCbor),
    expiry,
    nonce,
    sig,
  };
}

function presentationDigest(cert: HandoffCert, session: Uint8Array): Uint8Array {
  return hashFor('captpHandoffPresent', encodeCbor({ cert: handoffDigest(cert), sig: cert.sig, session }));
}

/** Bob's countersignature, for presenting `cert` in the session `session` (its id). */
export function presentHandoff(
  cert: HandoffCert,
  session: Uint8Array,
  recipient: Signer,
): Promise<Uint8Array> {
  if (cert.recipient !== recipient.did)
    throw new DreggError('E_AUDIENCE', 'This handoff certificate is for another recipient');
  return recipient.ed.sign(recipient.seed, presentationDigest(cert, session));
}

/**
 * The signature checks of Carol's acceptance: the introducer signed the certificate, the presenter is
 * its recipient and countersigned it for this session, and it has not expired. `E_AUDIENCE`,
 * `E_BAD_SIGNATURE`, `E_EXPIRED`. The swiss table checks follow in the vat.
 */
export async function verifyHandoff(
  cert: HandoffCert,
  presentation: Uint8Array,
  o: { session: Uint8Array; presenter: string; now: number; ed: Ed25519 },
): Promise<void> {
  if (cert.recipient !== o.presenter)
    throw new DreggError('E_AUDIENCE', 'The handoff certificate is for another recipient');
  if (!(await o.ed.verify(ed25519FromDidKey(cert.introducer), handoffDigest(cert), cert.sig)))
    throw new DreggError('E_BAD_SIGNATURE', 'The handoff certificate is not signed by its introducer');
  if (
    !(await o.ed.verify(ed25519FromDidKey(cert.recipient), presentationDigest(cert, o.session), presentation))
  )
    throw new DreggError(
      'E_BAD_SIGNATURE',
      'The handoff is not countersigned by its recipient for this session',
    );
  if (o.now >= cert.expiry)
    throw new DreggError('E_EXPIRED', `The handoff certificate expired at ${cert.expiry}`);
}

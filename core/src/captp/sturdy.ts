/**
 * Sturdy references as text. The grammar (ABNF, RFC 5234), with one spelling per reference:
 *
 *   sturdy-ref = "dregg://" federation "/" cell "/" swiss [ "?" params ]
 *   federation = lower-alnum *62( lower-alnum / "-" / "." )
 *   cell       = 64( DIGIT / %x61-66 )                  ; the exporter's cell id, lowercase hex
 *   swiss      = 43*44base58                            ; base58btc of exactly 32 random bytes
 *   params     = "exp=" 1*16DIGIT [ "&to=" did-key ]    ; or only "to=" did-key
 *              / "to=" did-key
 *
 * `exp` (Unix seconds) and `to` (the holder the exporter bound the reference to) repeat what the
 * exporter's swiss table says, so a holder can show them before using the reference; the exporter
 * never trusts them, it checks its table. A reference without `to` is a bearer secret: whoever reads
 * it can use it, so it must carry `exp` (PITFALLS 20), and a UI must warn before showing or sharing it.
 */
import { base58 } from '@scure/base';
import { DID_SHAPE } from '../caps/caveats.ts';
import { hashFor } from '../crypto/hash.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';

export const SWISS_BYTES = 32;

export interface SturdyRef {
  readonly federation: string;
  readonly cell: string;
  /** The 32-byte swiss number: the secret that designates the entry. */
  readonly swiss: Uint8Array;
  /** Expiry (Unix seconds), as the exporter stated it. */
  readonly expiry?: number;
  /** The DID the exporter bound it to; absent for a bearer reference. */
  readonly holder?: string;
}

const FEDERATION = /^[a-z0-9][a-z0-9.-]{0,62}$/;
const CELL = /^[0-9a-f]{64}$/;
const SWISS = /^[1-9A-HJ-NP-Za-km-z]{43,44}$/;
const EXP = /^[1-9][0-9]{0,15}$/;
const PATH = /^dregg:\/\/([^/?#]+)\/([^/?#]+)\/([^/?#]+)$/;
/** A sturdy ref is far shorter than this; longer input is refused before any parsing. */
const MAX_URI = 512;

function bad(why: string): never {
  throw new DreggError('E_DECODE', `Malformed sturdy ref: ${why}`);
}

/** The key of a swiss table entry: the table stores this hash, never the swiss number itself. */
export function swissId(swiss: Uint8Array): Uint8Array {
  return hashFor('captpSwissId', swiss);
}

/** True when the reference names no holder: anyone who reads it can use it. */
export function isBearer(ref: SturdyRef): boolean {
  return ref.holder === undefined;
}

export function formatSturdyRef(ref: SturdyRef): string {
  if (!FEDERATION.test(ref.federation))
    throw new DreggError('E_ARGUMENT', 'A federation name is lowercase letters, digits, "-" and "."');
  if (!CELL.test(ref.cell)) throw new DreggError('E_ARGUMENT', 'A cell id is 64 lowercase hex digits');
  if (ref.swiss.length !== SWISS_BYTES) throw new DreggError('E_ARGUMENT', 'A swiss number is 32 bytes');
  if (ref.holder === undefined && ref.expiry === undefined)
    throw new DreggError('E_ARGUMENT', 'A bearer sturdy ref must carry an expiry');
  const params: string[] = [];
  if (ref.expiry !== undefined) params.push(`exp=${ref.expiry}`);
  if (ref.holder !== undefined) params.push(`to=${ref.holder}`);
  const query = params.length === 0 ? '' : `?${params.join('&')}`;
  return `dregg://${ref.federation}/${ref.cell}/${base58.encode(ref.swiss)}${query}`;
}

/** Parses a sturdy ref; fails only with `E_DECODE`. */
export function parseSturdyRef(uri: string): SturdyRef {
  if (typeof uri !== 'string' || uri.length > MAX_URI) bad('not a dregg:// URI');
  const text = uri.trim();
  const at = text.indexOf('?');
  const m = PATH.exec(at < 0 ? text : text.slice(0, at));
  if (m === null) bad('expected dregg://<federation>/<cell>/<swiss>[?exp=…&to=…]');
  const [, federation = '', cell = '', swissText = ''] = m;
  const params = new Map<string, string>();
  for (const pair of at < 0 ? [] : text.slice(at + 1).split('&')) {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq);
    if (eq < 0 || (key !== 'exp' && key !== 'to') || params.has(key)) bad('unknown or repeated parameter');
    params.set(key, pair.slice(eq + 1));
  }
  const exp = params.get('exp');
  const to = params.get('to');
  if (!FEDERATION.test(federation)) bad('federation name');
  if (!CELL.test(cell)) bad('cell id');
  if (!SWISS.test(swissText)) bad('swiss number');
  let swiss: Uint8Array;
  try {
    swiss = base58.decode(swissText);
  } catch {
    return bad('swiss number is not base58');
  }
  if (swiss.length !== SWISS_BYTES || base58.encode(swiss) !== swissText) bad('swiss number is not 32 bytes');
  if (exp !== undefined && !EXP.test(exp)) bad('expiry');
  if (to !== undefined) {
    if (!DID_SHAPE.test(to)) bad('holder');
    ed25519FromDidKey(to);
  }
  if (to === undefined && exp === undefined) bad('a bearer reference must carry an expiry');
  const ref: SturdyRef = {
    federation,
    cell,
    swiss,
    ...(exp === undefined ? {} : { expiry: Number(exp) }),
    ...(to === undefined ? {} : { holder: to }),
  };
  if (formatSturdyRef(ref) !== text) bad('not in canonical form');
  return ref;
}

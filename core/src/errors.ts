/**
 * The one error type of cipherclerk. Every failure that crosses a module boundary, and every rejection
 * of outside input, is a `DreggError` with a stable `code` (part of our public contract: the CLI prints
 * it, tests pin it, other languages may match on it) and a human message that never contains a secret.
 */

/** Stable error codes. Add new codes at the end of a group; never rename or reuse one. */
export const ErrorCodes = {
  /** Outside input could not be decoded (malformed bytes, text, CBOR, base64, JSON). */
  E_DECODE: 'Outside input could not be decoded',
  /** Well-formed input that violates a rule of its format (unknown version, missing field, bad length). */
  E_INVALID: 'Input is well-formed but invalid',
  /** A command-line argument or API parameter is missing or malformed. */
  E_ARGUMENT: 'Invalid argument',
  /** An Ed25519 signature did not verify (or the key/signature is not strictly valid). */
  E_BAD_SIGNATURE: 'Signature verification failed',
  /** A MAC (HMAC chain or AEAD tag) did not verify. */
  E_BAD_MAC: 'Authentication tag verification failed',
  /** A child capability is not a narrowing of its parent. */
  E_WIDENING: 'Capability would widen its parent',
  /** Declared restrictions differ from the caveats actually appended. */
  E_RESTRICTION_MISMATCH: 'Declared restrictions differ from the appended caveats',
  /** The capability, delegation or channel has been revoked (an unknown channel counts as revoked). */
  E_REVOKED: 'Revoked',
  /** The capability has expired. */
  E_EXPIRED: 'Expired',
  /** The capability is not valid yet (not-before in the future). */
  E_NOT_YET_VALID: 'Not valid yet',
  /** A delegation carries a delegator epoch older than the allowed staleness. */
  E_STALE_EPOCH: 'Delegation epoch is stale',
  /** The chain does not lead back to an issuer the verifier trusts. */
  E_UNTRUSTED: 'Not signed by a trusted issuer',
  /** The holder is not the audience the capability is bound to. */
  E_AUDIENCE: 'Capability is bound to another holder',
  /** A request asks for something the capability does not grant (service, action). */
  E_DENIED: 'Request not permitted by the capability',
  /** A request's cost exceeds the capability's budget. */
  E_BUDGET: 'Budget exceeded',
  /** A cell (or escrow) holds fewer computrons than an effect moves. */
  E_INSUFFICIENT: 'Not enough computrons',
  /** A turn is out of order: its nonce or previous receipt is not the current one, or it is too late. */
  E_STALE: 'Turn is stale or out of order',
  /** A store-and-forward quota (per recipient or in total, messages or bytes) would be exceeded. */
  E_QUOTA: 'Quota exceeded',
  /** Unlocking failed: wrong passphrase or corrupted keyring. */
  E_LOCKED: 'Keyring is locked or the passphrase is wrong',
  /** The named object does not exist. */
  E_NOT_FOUND: 'Not found',
  /** The object already exists and will not be overwritten. */
  E_EXISTS: 'Already exists',
  /** Reading or writing local state failed. */
  E_IO: 'Storage failure',
  /** An internal invariant failed; a bug, never caused by input. */
  E_INTERNAL: 'Internal error',
  /** A network frame or message is larger than the operation allows (refused before it is buffered). */
  E_TOO_LARGE: 'Message too large',
  /** A network operation did not finish in time, or its caller cancelled it. */
  E_TIMEOUT: 'Timed out',
  /** No connection could be made to the peer, or it was lost before the answer arrived. */
  E_UNREACHABLE: 'Peer unreachable',
  /** The peer refused the request because this caller has too many requests in flight or too recent. */
  E_RATE_LIMITED: 'Rate limited',
  /** The peer does not speak this protocol (or this version of it). */
  E_UNSUPPORTED: 'Protocol not supported by the peer',
  /** A reference with a use limit has been used that many times. */
  E_EXHAUSTED: 'Use limit reached',
  /** A one-time credential (a handoff nonce) was presented again. */
  E_REPLAYED: 'Already used once',
  /** A TLS handshake failed (the error carries the TLS alert the peer is sent). */
  E_TLS: 'TLS handshake failed',
  /** A peer broke a wire protocol's rules (QUIC, HTTP/3, WebTransport); the connection is closed. */
  E_PROTOCOL: 'Protocol violation by the peer',
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class DreggError extends Error {
  override readonly name = 'DreggError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ErrorCodes[code], options);
    this.code = code;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** Throws a `DreggError`; reads well in expressions (`x ?? fail('E_NOT_FOUND', ...)`). */
export function fail(code: ErrorCode, message?: string): never {
  throw new DreggError(code, message);
}

export function isDreggError(e: unknown, code?: ErrorCode): e is DreggError {
  return e instanceof DreggError && (code === undefined || e.code === code);
}

/**
 * Runs a decoder of outside input and converts any foreign exception into `E_DECODE`, so callers
 * only ever see our typed error. The original is kept as `cause` for debugging, never in the message.
 */
export function decoding<T>(what: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    if (e instanceof DreggError) throw e;
    throw new DreggError('E_DECODE', `Malformed ${what}`, { cause: e });
  }
}

/**
 * A value read from outside input, as error text: JSON, with bigints as their digits and bytes as
 * their length, at most 40 characters. `JSON.stringify` alone throws on a bigint, which would turn a
 * decoder's typed refusal into a foreign exception.
 */
export function quoted(v: unknown): string {
  const text =
    JSON.stringify(v, (_key, x: unknown) =>
      typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? `<${x.length} bytes>` : x,
    ) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

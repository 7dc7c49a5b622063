/**
 * A site's signed use of a capability the extension granted it. The site holds a delegation bound to
 * its per-site session DID, but never that DID's key: the light node signs each request with it (the
 * key never leaves the worker), and the service checks the signature, the freshness, that the nonce is
 * new, and then the request against the delegation with core's `verifyRequest` (holder = the signer).
 *
 * The invocation is plain data (it crosses to the page and goes over HTTP as JSON); what is signed is
 * the deterministic CBOR of every field but the signature, under the `siteInvocation` context.
 */
import {
  type Agent,
  DreggError,
  type Ed25519,
  ed25519FromDidKey,
  encodeCbor,
  hashFor,
  MAX_SKEW_S,
  nowSeconds,
  toHex,
  type VerifyReturnType,
  verifyRequest,
} from '@cipherclerk/core';

export const INVOCATION_VERSION = 1;
/** The longest capability text an invocation carries (the light node's own limit on texts). */
const MAX_CAPABILITY = 64 * 1024;
const MAX_NAME = 256;

export interface InvocationRequest {
  readonly service: string;
  readonly action: string;
  readonly cost: number;
}

export interface Invocation extends InvocationRequest {
  readonly v: typeof INVOCATION_VERSION;
  /** The delegation (`ccdel_…`) whose final recipient is `holder`. */
  readonly capability: string;
  /** The site's session DID: the signer. */
  readonly holder: string;
  /** Unix seconds when it was signed. */
  readonly at: number;
  /** 16 random bytes, hex: the service refuses a nonce it has seen. */
  readonly nonce: string;
  /** Ed25519 signature by `holder`, hex. */
  readonly signature: string;
}

type Unsigned = Omit<Invocation, 'signature'>;

function digest(u: Unsigned): Uint8Array {
  return hashFor(
    'siteInvocation',
    encodeCbor({
      v: u.v,
      capability: u.capability,
      service: u.service,
      action: u.action,
      cost: u.cost,
      holder: u.holder,
      at: u.at,
      nonce: u.nonce,
    }),
  );
}

function fromHex(hex: string, bytes: number, what: string): Uint8Array {
  if (hex.length !== bytes * 2 || !/^[0-9a-f]*$/.test(hex))
    throw new DreggError('E_DECODE', `The invocation's ${what} is not ${bytes} bytes of lowercase hex`);
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function name(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_NAME)
    throw new DreggError('E_ARGUMENT', `The ${what} must be a name of 1 to ${MAX_NAME} characters`);
  return v;
}

/** Checks a request's fields as a site gives them (outside input): names and a whole, non-negative cost. */
export function checkInvocationRequest(r: unknown): InvocationRequest {
  if (typeof r !== 'object' || r === null) throw new DreggError('E_ARGUMENT', 'A request is an object');
  const { service, action, cost } = r as Record<string, unknown>;
  const c = cost ?? 0;
  if (typeof c !== 'number' || !Number.isSafeInteger(c) || c < 0)
    throw new DreggError('E_ARGUMENT', 'A request costs a whole number of units, 0 or more');
  return { service: name(service, 'service'), action: name(action, 'action'), cost: c };
}

/** Signs `request` made with `capability` as `holder` (whose Ed25519 seed is `seed`). */
export async function signInvocation(
  ed: Ed25519,
  holder: { readonly did: string; readonly seed: Uint8Array },
  capability: string,
  request: InvocationRequest,
  at: number,
): Promise<Invocation> {
  const nonce = toHex(crypto.getRandomValues(new Uint8Array(16)));
  const u: Unsigned = { v: INVOCATION_VERSION, capability, ...request, holder: holder.did, at, nonce };
  const signature = toHex(await ed.sign(holder.seed, digest(u)));
  return { ...u, signature };
}

/** Parses an invocation received from outside; fails only with `E_DECODE`/`E_INVALID`/`E_ARGUMENT`. */
export function invocationFromJson(v: unknown): Invocation {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new DreggError('E_DECODE', 'An invocation is a JSON object');
  const o = v as Record<string, unknown>;
  if (o.v !== INVOCATION_VERSION) throw new DreggError('E_INVALID', 'Unknown invocation version');
  const { service, action, cost } = checkInvocationRequest(o);
  if (typeof o.capability !== 'string' || o.capability.length > MAX_CAPABILITY)
    throw new DreggError('E_DECODE', 'The invocation carries no capability text');
  if (typeof o.holder !== 'string') throw new DreggError('E_DECODE', 'The invocation names no holder');
  ed25519FromDidKey(o.holder);
  if (typeof o.at !== 'number' || !Number.isSafeInteger(o.at) || o.at < 0)
    throw new DreggError('E_DECODE', 'The invocation has no time');
  if (typeof o.nonce !== 'string' || typeof o.signature !== 'string')
    throw new DreggError('E_DECODE', 'The invocation has no nonce or signature');
  fromHex(o.nonce, 16, 'nonce');
  fromHex(o.signature, 64, 'signature');
  return {
    v: INVOCATION_VERSION,
    capability: o.capability,
    service,
    action,
    cost,
    holder: o.holder,
    at: o.at,
    nonce: o.nonce,
    signature: o.signature,
  };
}

/**
 * The service's decision on an invocation: the holder's signature, its time within `MAX_SKEW_S`, a
 * nonce not seen before (`seen` is the service's memory of them), then `verifyRequest` with the
 * signer as the presenting holder, which meters the budget. Denials carry the first failing code.
 */
export async function checkInvocation(
  service: Agent,
  received: unknown,
  seen: Set<string>,
): Promise<VerifyReturnType> {
  let inv: Invocation;
  try {
    inv = invocationFromJson(received);
    const { signature, ...unsigned } = inv;
    const ok = await service.ed.verify(
      ed25519FromDidKey(inv.holder),
      digest(unsigned),
      fromHex(signature, 64, 'signature'),
    );
    if (!ok) throw new DreggError('E_BAD_SIGNATURE', 'The invocation is not signed by its holder');
    if (Math.abs(nowSeconds(service.clock) - inv.at) > MAX_SKEW_S)
      throw new DreggError('E_EXPIRED', 'The invocation is too old (or from the future)');
    if (seen.has(inv.nonce)) throw new DreggError('E_REPLAYED', 'This invocation was already used');
    seen.add(inv.nonce);
  } catch (e) {
    if (e instanceof DreggError && e.code !== 'E_INTERNAL')
      return { allowed: false, code: e.code, message: e.message };
    throw e;
  }
  return verifyRequest(service, inv.capability, {
    service: inv.service,
    action: inv.action,
    cost: inv.cost,
    holder: inv.holder,
  });
}

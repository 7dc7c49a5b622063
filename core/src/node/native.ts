/**
 * Native crypto for the Node build: the runtime's OpenSSL HMAC-SHA256 for the macaroon chain, several
 * times faster than the portable one on the hot path of token verification. Installed on import.
 */
import { createHmac } from 'node:crypto';
import { type HmacSha256, useHmacSha256 } from '../crypto/hmac.ts';

export const nodeHmacSha256: HmacSha256 = (key, message) =>
  createHmac('sha256', key).update(message).digest();

useHmacSha256(nodeHmacSha256);

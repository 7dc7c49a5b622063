/**
 * TLS alerts (RFC 8446 §6). Our server never sends an alert record (QUIC has none): a failure throws
 * a `TlsError`, an `E_TLS` DreggError carrying the alert, and the transport closes the connection
 * with CRYPTO_ERROR 0x100 + alert (RFC 9001 §4.8).
 */
import { DreggError } from '../../../errors.ts';

export const Alert = {
  unexpectedMessage: 10,
  handshakeFailure: 40,
  illegalParameter: 47,
  decodeError: 50,
  decryptError: 51,
  protocolVersion: 70,
  internalError: 80,
  missingExtension: 109,
  noApplicationProtocol: 120,
} as const;

export class TlsError extends DreggError {
  constructor(
    readonly alert: number,
    message: string,
  ) {
    super('E_TLS', message);
  }
}

export function tlsFail(alert: number, message: string): never {
  throw new TlsError(alert, message);
}

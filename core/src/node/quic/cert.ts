/**
 * The relay's WebTransport certificate: self-signed X.509 v3, ECDSA P-256 with SHA-256, valid for
 * at most 14 days (the WebTransport `serverCertificateHashes` rule), and its `certhash` as libp2p
 * publishes it in `/certhash/<multibase>` (base64url 'u' of the multihash sha2-256 of the DER).
 *
 * The DER is built here (about 40 lines) rather than with @peculiar/x509: that library is async
 * (WebCrypto) and brings a dependency-injection runtime, while the structure we need is fixed.
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { base64urlnopad } from '@scure/base';
import { fail } from '../../errors.ts';

export interface SelfSignedCertificate {
  readonly der: Uint8Array;
  /** PKCS#8 DER of the P-256 key. */
  readonly privateKey: Uint8Array;
  readonly sha256: Uint8Array;
  /** `uEi…`: multibase base64url of multihash(sha2-256, DER), the value after `/certhash/`. */
  readonly certhash: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

const DAY = 24 * 60 * 60 * 1000;
/** WebTransport refuses hashes of certificates whose validity exceeds two weeks. */
export const MAX_VALIDITY_MS = 14 * DAY;

function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const length =
    n < 0x80
      ? [n]
      : n < 0x100
        ? [0x81, n]
        : n < 0x10000
          ? [0x82, n >> 8, n & 0xff]
          : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Uint8Array.of(tag, ...length), content]);
}
const sequence = (...items: Uint8Array[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Uint8Array[]) => tlv(0x31, Buffer.concat(items));
const hexBytes = (hex: string) => Buffer.from(hex, 'hex');

/** 1.2.840.10045.4.3.2 ecdsa-with-SHA256, no parameters (RFC 5758 §3.2). */
const ECDSA_WITH_SHA256 = sequence(hexBytes('06082a8648ce3d040302'));
/** 2.5.4.3 commonName. */
const COMMON_NAME = hexBytes('0603550403');

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 §4.1.2.5), to the second, in UTC. */
function time(date: Date): Uint8Array {
  const iso = date.toISOString(); // 2025-01-02T03:04:05.678Z
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '');
  const year = date.getUTCFullYear();
  return year < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${digits}Z`));
}

function name(commonName: string): Uint8Array {
  return sequence(set(sequence(COMMON_NAME, tlv(0x0c, Buffer.from(commonName, 'utf8')))));
}

/** A fresh key and a self-signed certificate valid from `notBefore` to `notAfter` (at most 14 days). */
export function selfSignedCertificate(
  notBefore: Date,
  notAfter: Date,
  commonName = 'cipherclerk relay',
): SelfSignedCertificate {
  if (notAfter.getTime() - notBefore.getTime() > MAX_VALIDITY_MS || notAfter <= notBefore) {
    fail('E_ARGUMENT', 'Certificate validity must be positive and at most 14 days');
  }
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40; // positive and minimal (DER INTEGER)
  const tbs = sequence(
    tlv(0xa0, tlv(0x02, Uint8Array.of(2))), // [0] version v3
    tlv(0x02, serial),
    ECDSA_WITH_SHA256,
    name(commonName),
    sequence(time(notBefore), time(notAfter)),
    name(commonName),
    publicKey.export({ format: 'der', type: 'spki' }),
    // Chromium's WebTransport hash verifier (quiche CertificateView) refuses certificates without an
    // extensions block: carry one, basicConstraints critical CA:FALSE (2.5.29.19).
    tlv(0xa3, sequence(sequence(hexBytes('0603551d13'), hexBytes('0101ff'), tlv(0x04, sequence())))),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value, as X.509 wants
  const der = sequence(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.concat([Uint8Array.of(0), signature])));
  const sha256 = createHash('sha256').update(der).digest();
  return {
    der,
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }),
    sha256,
    certhash: certhash(sha256),
    notBefore: new Date(Math.floor(notBefore.getTime() / 1000) * 1000),
    notAfter: new Date(Math.floor(notAfter.getTime() / 1000) * 1000),
  };
}

/** The `/certhash/` value of a SHA-256 digest: 'u' + base64url(0x12 0x20 ‖ digest). */
export function certhash(sha256: Uint8Array): string {
  return `u${base64urlnopad.encode(Buffer.concat([Uint8Array.of(0x12, 0x20), sha256]))}`;
}

export interface CertificatePair {
  /** Serve this one now. */
  readonly current: SelfSignedCertificate;
  /** Served from the next period on; publish its hash now, so addresses handed out today keep working. */
  readonly next: SelfSignedCertificate;
}

export interface CertificateRotation {
  at(now: number): CertificatePair;
}

/**
 * Certificates by period: time is cut into periods of `periodMs` (7 days by default) from the Unix
 * epoch; the certificate of period k is served during period k and is valid from a day before it
 * starts to a day after it ends (clock skew), 9 days in all. Publishing the hashes of the current
 * and the next certificate keeps an address valid for between one and two periods.
 */
export function certificateRotation(periodMs = 7 * DAY, skewMs = DAY): CertificateRotation {
  if (periodMs + 2 * skewMs > MAX_VALIDITY_MS) fail('E_ARGUMENT', 'Period plus skew exceeds 14 days');
  const byPeriod = new Map<number, SelfSignedCertificate>();
  const forPeriod = (k: number) => {
    let cert = byPeriod.get(k);
    if (!cert) {
      cert = selfSignedCertificate(new Date(k * periodMs - skewMs), new Date((k + 1) * periodMs + skewMs));
      byPeriod.set(k, cert);
    }
    return cert;
  };
  return {
    at(now) {
      const k = Math.floor(now / periodMs);
      for (const old of byPeriod.keys()) if (old < k) byPeriod.delete(old);
      return { current: forPeriod(k), next: forPeriod(k + 1) };
    },
  };
}

import { createHash, X509Certificate } from 'node:crypto';
import { base64urlnopad } from '@scure/base';
import { describe, expect, it } from 'vitest';
import { toHex } from '../../src/encoding/bytes.ts';
import { certificateRotation, MAX_VALIDITY_MS, selfSignedCertificate } from '../../src/node/quic/cert.ts';
import { outcome } from '../crypto/expect-code.ts';

const DAY = 24 * 3600 * 1000;

describe('self-signed WebTransport certificate', () => {
  it('is an ECDSA P-256 certificate node:crypto parses, self-signed, with the validity asked for', () => {
    const notBefore = new Date('2030-03-01T10:00:00Z');
    const notAfter = new Date(notBefore.getTime() + 14 * DAY);
    const cert = selfSignedCertificate(notBefore, notAfter);
    const x509 = new X509Certificate(cert.der);
    expect(x509.publicKey.asymmetricKeyType).toBe('ec');
    expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(x509.verify(x509.publicKey)).toBe(true);
    expect(x509.checkIssued(x509)).toBe(true);
    expect(new Date(x509.validFrom).toISOString()).toBe(notBefore.toISOString());
    expect(new Date(x509.validTo).toISOString()).toBe(notAfter.toISOString());
    expect(x509.subject).toBe('CN=cipherclerk relay');
    expect(x509.fingerprint256.replaceAll(':', '').toLowerCase()).toBe(toHex(cert.sha256));
    expect(toHex(cert.sha256)).toBe(createHash('sha256').update(cert.der).digest('hex'));
  });

  it('uses GeneralizedTime from 2050 on', () => {
    const notBefore = new Date('2049-12-31T00:00:00Z');
    const cert = selfSignedCertificate(notBefore, new Date(notBefore.getTime() + 2 * DAY));
    expect(new Date(new X509Certificate(cert.der).validTo).toISOString()).toBe('2050-01-02T00:00:00.000Z');
  });

  it('gives the libp2p certhash: base64url multibase of the sha2-256 multihash', () => {
    const cert = selfSignedCertificate(new Date(), new Date(Date.now() + DAY));
    expect(cert.certhash.startsWith('uEi')).toBe(true);
    const multihash = base64urlnopad.decode(cert.certhash.slice(1));
    expect(toHex(multihash)).toBe(`1220${toHex(cert.sha256)}`);
  });

  it('refuses a validity longer than 14 days', () => {
    const start = new Date();
    expect(
      outcome(() => selfSignedCertificate(start, new Date(start.getTime() + MAX_VALIDITY_MS + 1000))),
    ).toBe('E_ARGUMENT');
  });
});

describe('certificate rotation', () => {
  it('keeps the current and the next certificate, both valid at most 14 days, the current valid now', () => {
    const rotation = certificateRotation();
    const now = Date.parse('2031-05-05T12:00:00Z');
    const { current, next } = rotation.at(now);
    for (const cert of [current, next]) {
      const x509 = new X509Certificate(cert.der);
      const from = Date.parse(x509.validFrom);
      const to = Date.parse(x509.validTo);
      expect(to - from).toBeLessThanOrEqual(MAX_VALIDITY_MS);
      expect(x509.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    }
    expect(Date.parse(new X509Certificate(current.der).validFrom)).toBeLessThanOrEqual(now);
    expect(Date.parse(new X509Certificate(current.der).validTo)).toBeGreaterThan(now);
    expect(current.certhash).not.toBe(next.certhash);
    // Within the same period nothing changes; in the next period, the old "next" is served.
    expect(rotation.at(now + 1000).current.certhash).toBe(current.certhash);
    const later = rotation.at(now + 7 * DAY);
    expect(later.current.certhash).toBe(next.certhash);
    expect(Date.parse(new X509Certificate(later.current.der).validTo)).toBeGreaterThan(now + 7 * DAY);
  });
});

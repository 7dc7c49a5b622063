/**
 * The relay's WebRTC-direct certificate, kept in its home so that its `/certhash/…` — part of every
 * webrtc-direct multiaddr a browser dials — survives restarts. libp2p would otherwise make a fresh
 * certificate at every start, and every address handed out (QR codes, bookmarks, config) would break.
 *
 * `webrtc-direct.json` (mode 0600) holds an ECDSA P-256 key (PKCS#8 PEM: the curve browsers accept for
 * DTLS) and a self-signed certificate for it, valid for a year. A start that finds the certificate
 * within `RENEW_BEFORE_MS` of its end makes a new one — the only time the certhash changes. Browsers
 * check a DTLS certificate by the fingerprint in the address, not by its dates.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { BasicConstraintsExtension, X509Certificate, X509CertificateGenerator } from '@peculiar/x509';
import { base64url } from '@scure/base';
import { DreggError } from '../../errors.ts';
import { atomicWrite } from '../home.ts';

/** What `@libp2p/webrtc`'s `webRTCDirect({certificate})` takes. */
export interface WebrtcCertificate {
  readonly privateKey: string;
  readonly pem: string;
  readonly certhash: string;
}

const LIFESPAN_MS = 365 * 24 * 3600 * 1000;
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

export const webrtcCertificatePath = (home: string): string => join(home, 'webrtc-direct.json');

/** The certhash libp2p puts in the address: multibase base64url of the SHA-256 multihash of the DER. */
function certhash(der: Uint8Array): string {
  const multihash = new Uint8Array(34);
  multihash.set([0x12, 0x20]);
  multihash.set(sha256(der), 2);
  return `u${base64url.encode(multihash).replace(/=+$/, '')}`;
}

function pem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .trimEnd();
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----`;
}

/** The stored pair, with the certificate parsed. */
interface Held {
  readonly privateKey: string;
  readonly cert: X509Certificate;
}

async function create(now: number): Promise<Held> {
  const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' } as const;
  const keys = await crypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
  // Whole seconds: X.509 times carry no milliseconds.
  const notBefore = new Date(Math.floor(now / 1000) * 1000);
  const cert = await X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex'),
      name: 'CN=cipherclerk relay',
      notBefore,
      notAfter: new Date(notBefore.getTime() + LIFESPAN_MS),
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      keys,
      extensions: [new BasicConstraintsExtension(false, undefined, true)],
    },
    crypto,
  );
  return { privateKey: pem('PRIVATE KEY', await crypto.subtle.exportKey('pkcs8', keys.privateKey)), cert };
}

function load(path: string): Held | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { privateKey?: unknown; pem?: unknown };
    if (typeof stored.privateKey !== 'string' || typeof stored.pem !== 'string') throw new Error('fields');
    return { privateKey: stored.privateKey, cert: new X509Certificate(stored.pem) };
  } catch (e) {
    throw new DreggError('E_IO', `${path} is not a WebRTC-direct certificate: delete it to make a new one`, {
      cause: e,
    });
  }
}

/** The relay's certificate from `home`, made (or renewed near its end) and saved when needed. */
export async function relayWebrtcCertificate(home: string, now = Date.now()): Promise<WebrtcCertificate> {
  const path = webrtcCertificatePath(home);
  let held = load(path);
  if (held === undefined || held.cert.notAfter.getTime() - now < RENEW_BEFORE_MS) {
    held = await create(now);
    atomicWrite(path, JSON.stringify({ privateKey: held.privateKey, pem: held.cert.toString('pem') }));
  }
  return {
    privateKey: held.privateKey,
    pem: held.cert.toString('pem'),
    certhash: certhash(new Uint8Array(held.cert.rawData)),
  };
}

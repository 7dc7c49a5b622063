/**
 * The relay's WebTransport listener, added to its libp2p transports when a listen address is
 * `/ip4|ip6/H/udp/P/quic-v1/webtransport`.
 *
 * Certificates: WebTransport's `serverCertificateHashes` accepts only certificates valid for at most
 * 14 days, so unlike the WebRTC-direct one (a year) they rotate. Time is cut into 7-day periods; the
 * certificate of period k is served during k and valid a day either side of it, and the relay
 * publishes the hashes of the current and the next certificate, so an address handed out today keeps
 * working for one to two periods. Both are kept in `webtransport.json` in the relay's home (mode
 * 0600, as `atomicWrite` makes it), so a restart within a period does not change the addresses.
 */

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DreggError } from '../../errors.ts';
import type { TransportFactory } from '../../net/node.ts';
import { atomicWrite } from '../home.ts';
import {
  type CertificatePair,
  certhash,
  type SelfSignedCertificate,
  selfSignedCertificate,
} from '../quic/cert.ts';
import { webTransportListener } from '../quic/libp2p.ts';

const DAY = 24 * 60 * 60 * 1000;
const PERIOD_MS = 7 * DAY;
const SKEW_MS = DAY;

export const webTransportCertificatePath = (home: string): string => join(home, 'webtransport.json');

/** True for a listen address our WebTransport listener serves. */
export const isWebTransportListen = (address: string): boolean =>
  /^\/ip[46]\/[^/]+\/udp\/\d+\/quic-v1\/webtransport$/.test(address);

interface Stored {
  readonly period: number;
  readonly der: string;
  readonly privateKey: string;
}

function revive(stored: Stored): SelfSignedCertificate {
  const der = new Uint8Array(Buffer.from(stored.der, 'base64'));
  const sha256 = new Uint8Array(createHash('sha256').update(der).digest());
  return {
    der,
    privateKey: new Uint8Array(Buffer.from(stored.privateKey, 'base64')),
    sha256,
    certhash: certhash(sha256),
    notBefore: new Date(stored.period * PERIOD_MS - SKEW_MS),
    notAfter: new Date((stored.period + 1) * PERIOD_MS + SKEW_MS),
  };
}

function load(path: string): Stored[] {
  if (!existsSync(path)) return [];
  try {
    const stored = JSON.parse(readFileSync(path, 'utf8')) as { certificates?: Stored[] };
    const list = stored.certificates ?? [];
    for (const c of list) {
      if (!Number.isSafeInteger(c.period) || typeof c.der !== 'string' || typeof c.privateKey !== 'string') {
        throw new Error('fields');
      }
    }
    return list;
  } catch (e) {
    throw new DreggError(
      'E_IO',
      `${path} is not a WebTransport certificate file: delete it to make new ones`,
      {
        cause: e,
      },
    );
  }
}

/**
 * The relay's certificates by period, from and to `home`: `at(now)` gives the current and next
 * certificate, making (and saving) those not stored yet and forgetting past periods.
 */
export function relayWebTransportCertificates(home: string): { at(now: number): CertificatePair } {
  const path = webTransportCertificatePath(home);
  const byPeriod = new Map<number, SelfSignedCertificate>();
  for (const stored of load(path)) byPeriod.set(stored.period, revive(stored));
  return {
    at(now) {
      const k = Math.floor(now / PERIOD_MS);
      let changed = false;
      for (const period of byPeriod.keys()) {
        if (period < k) {
          byPeriod.delete(period);
          changed = true;
        }
      }
      for (const period of [k, k + 1]) {
        if (!byPeriod.has(period)) {
          byPeriod.set(
            period,
            selfSignedCertificate(
              new Date(period * PERIOD_MS - SKEW_MS),
              new Date((period + 1) * PERIOD_MS + SKEW_MS),
            ),
          );
          changed = true;
        }
      }
      if (changed) {
        const certificates = [...byPeriod].map(([period, c]) => ({
          period,
          der: Buffer.from(c.der).toString('base64'),
          privateKey: Buffer.from(c.privateKey).toString('base64'),
        }));
        atomicWrite(path, JSON.stringify({ certificates }));
      }
      return { current: byPeriod.get(k)!, next: byPeriod.get(k + 1)! };
    },
  };
}

/** The WebTransport transport for the relay's libp2p node, if any listen address asks for it. */
export function relayWebTransport(home: string, listen: readonly string[]): TransportFactory[] {
  if (!listen.some(isWebTransportListen)) return [];
  const certificates = relayWebTransportCertificates(home);
  return [webTransportListener({ certificates: () => certificates.at(Date.now()) }) as TransportFactory];
}

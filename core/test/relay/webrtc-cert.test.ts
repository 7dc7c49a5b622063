/**
 * The relay's WebRTC-direct certificate: made once, kept across starts (the certhash in its addresses
 * stays), renewed only near its end, and a damaged file is a clear error rather than a silent new
 * identity. The certhash is the one libp2p advertises for that certificate.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createRelayNode } from '../../src/net/node.ts';
import { relayWebrtcCertificate, webrtcCertificatePath } from '../../src/node/relay/webrtc-cert.ts';
import { codeOf } from '../caps/fixtures.ts';
import { tempHome } from './fixtures.ts';

const homes: ReturnType<typeof tempHome>[] = [];
const home = () => {
  const h = tempHome();
  homes.push(h);
  return h.dir;
};
afterAll(() => {
  for (const h of homes) h.remove();
});

const DAY = 24 * 3600 * 1000;

describe('relay WebRTC-direct certificate', () => {
  it('is kept across starts and renewed only within 30 days of its end', async () => {
    const dir = home();
    const now = Date.now();
    const first = await relayWebrtcCertificate(dir, now);
    expect(await relayWebrtcCertificate(dir, now + 300 * DAY)).toEqual(first);
    const renewed = await relayWebrtcCertificate(dir, now + 340 * DAY);
    expect(renewed.certhash).not.toBe(first.certhash);
    expect(await relayWebrtcCertificate(dir, now + 341 * DAY)).toEqual(renewed);
  });

  it('refuses a damaged certificate file with E_IO', async () => {
    const dir = home();
    await relayWebrtcCertificate(dir);
    writeFileSync(webrtcCertificatePath(dir), '{"privateKey": "x", "pem": "not a certificate"}');
    expect(await codeOf(relayWebrtcCertificate(dir))).toBe('E_IO');
  });

  it('gives the certhash libp2p advertises in the webrtc-direct address', async () => {
    const certificate = await relayWebrtcCertificate(home());
    const node = await createRelayNode({
      listen: ['/ip4/127.0.0.1/udp/0/webrtc-direct'],
      webrtcCertificate: certificate,
    });
    try {
      const addr = node
        .getMultiaddrs()
        .map(String)
        .find((a) => a.includes('/webrtc-direct/'));
      expect(addr?.split('/certhash/')[1]?.split('/')[0]).toBe(certificate.certhash);
    } finally {
      await node.stop();
    }
  });
});

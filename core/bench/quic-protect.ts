/**
 * QUIC packet protection and TLS handshake cost on one core (`npx tsx core/bench/quic-protect.ts`),
 * the per-packet floor under the WebTransport goals (issue 13). One JSON line per figure:
 *
 *   quic_seal, quic_open   protect / unprotect one 1-RTT packet of 1200 payload bytes (AES-128-GCM
 *                          and ChaCha20-Poly1305): packets/s and the payload Mbit/s that rate carries
 *   quic_tls_server        the server's side of a handshake: ClientHello in, the whole flight out
 *                          (X25519, ECDSA P-256 signature, key schedule)
 */
import { randomBytes } from 'node:crypto';
import type { CipherSuite } from '../src/node/quic/api.ts';
import { selfSignedCertificate } from '../src/node/quic/cert.ts';
import { packetKeys } from '../src/node/quic/keys.ts';
import { parsePacket, shortHeader } from '../src/node/quic/packet.ts';
import { encodeTransportParameters } from '../src/node/quic/params.ts';
import { packetProtection } from '../src/node/quic/protect.ts';
import { createTlsServer } from '../src/node/quic/tls/server.ts';
import { emit, rate } from './measure.ts';

const PAYLOAD = 1200;
const dcid = randomBytes(8);

for (const suite of ['TLS_AES_128_GCM_SHA256', 'TLS_CHACHA20_POLY1305_SHA256'] as CipherSuite[]) {
  const protection = packetProtection(packetKeys(suite, randomBytes(32)));
  const payload = randomBytes(PAYLOAD);
  let pn = 0;
  const seal = await rate(() => protection.seal(shortHeader(dcid, pn, 2, 0), payload, pn++));
  emit('quic_seal', { suite, ...seal, mbit_s: Math.round((seal.per_s * PAYLOAD * 8) / 1e6) });

  const sealed = protection.seal(shortHeader(dcid, 7, 2, 0), payload, 7);
  const span = parsePacket(sealed, 0, dcid.length);
  const datagram = new Uint8Array(sealed.length);
  const open = await rate(() => {
    datagram.set(sealed); // open unmasks the header in place
    if (span.form === 'unsupported' || !protection.open(datagram, span, 6)) throw new Error('open failed');
  });
  emit('quic_open', { suite, ...open, mbit_s: Math.round((open.per_s * PAYLOAD * 8) / 1e6) });
}

// A ClientHello with an X25519 share, ALPN h3 and transport parameters, from a real key pair.
const { generateKeyPairSync } = await import('node:crypto');
const share = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(12);
const u16 = (n: number) => [n >> 8, n & 0xff];
const vec16 = (b: number[]) => [...u16(b.length), ...b];
const ext = (type: number, body: number[]) => [...u16(type), ...vec16(body)];
const params = encodeTransportParameters({ initialMaxData: 1 << 20 });
const exts = [
  ...ext(43, [2, 3, 4]),
  ...ext(10, vec16([0, 0x1d])),
  ...ext(13, vec16([4, 3])),
  ...ext(51, vec16([0, 0x1d, ...vec16(Array.from(share))])),
  ...ext(16, vec16([2, 0x68, 0x33])),
  ...ext(57, Array.from(params)),
];
const body = [3, 3, ...randomBytes(32), 0, ...vec16([0x13, 0x01]), 1, 0, ...vec16(exts)];
const hello = Uint8Array.from([1, 0, body.length >> 8, body.length & 0xff, ...body]);
const cert = selfSignedCertificate(new Date(), new Date(Date.now() + 86_400_000));
const handshake = await rate(() => {
  const server = createTlsServer({
    certificate: cert.der,
    privateKey: cert.privateKey,
    alpn: ['h3'],
    transportParameters: params,
  });
  if (server.receive('initial', hello).secrets.length !== 2) throw new Error('handshake failed');
});
emit('quic_tls_server', { ...handshake, ms: Math.round(1e5 / handshake.per_s) / 100 });

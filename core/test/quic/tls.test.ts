import { X509Certificate } from 'node:crypto';
import { connect } from 'node:tls';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../src/encoding/bytes.ts';
import { isDreggError } from '../../src/errors.ts';
import type { TlsServer } from '../../src/node/quic/api.ts';
import { selfSignedCertificate } from '../../src/node/quic/cert.ts';
import { decodeTransportParameters, encodeTransportParameters } from '../../src/node/quic/params.ts';
import { Alert, TlsError } from '../../src/node/quic/tls/alert.ts';
import { HELLO_RETRY_RANDOM } from '../../src/node/quic/tls/messages.ts';
import { createTlsServer, type TlsServerOptions } from '../../src/node/quic/tls/server.ts';
import { A2_CRYPTO } from './rfc9001-vectors.ts';
import { listenTlsOverTcp } from './tls-over-tcp.ts';

const DAY = 24 * 3600 * 1000;
const cert = selfSignedCertificate(new Date(Date.now() - 60_000), new Date(Date.now() + 10 * DAY));
const ourParams = encodeTransportParameters({
  initialMaxData: 1 << 20,
  maxIdleTimeout: 30_000,
  initialSourceConnectionId: fromHex('0102030405060708'),
});
const options = (extra: Partial<TlsServerOptions> = {}): TlsServerOptions => ({
  certificate: cert.der,
  privateKey: cert.privateKey,
  alpn: ['h3'],
  transportParameters: ourParams,
  ...extra,
});

/** Records whether a server answered with a HelloRetryRequest. */
function watched(server: TlsServer, seen: { retry: boolean }): TlsServer {
  return {
    receive(level, data) {
      const out = server.receive(level, data);
      for (const s of out.send) {
        if (s.level === 'initial' && toHex(s.data.subarray(6, 38)) === toHex(HELLO_RETRY_RANDOM))
          seen.retry = true;
      }
      return out;
    },
    get peerTransportParameters() {
      return server.peerTransportParameters;
    },
    get alpn() {
      return server.alpn;
    },
  };
}

describe('TLS 1.3 server against Node’s TLS client (records over TCP)', async () => {
  const seen = { retry: false };
  const harness = await listenTlsOverTcp(
    () => watched(createTlsServer(options({ requireTransportParameters: false })), seen),
    (text) => `${text} back`,
  );
  afterAll(() => harness.server.close());

  function handshake(extra: Record<string, unknown> = {}) {
    return new Promise<{ alpn: string | false | null; fingerprint: string; cipher: string; echoed: string }>(
      (resolve, reject) => {
        const socket = connect({
          host: '127.0.0.1',
          port: harness.port,
          ALPNProtocols: ['h3'],
          minVersion: 'TLSv1.3',
          ca: new X509Certificate(cert.der).toString(),
          checkServerIdentity: () => undefined,
          ...extra,
        });
        socket.on('error', reject);
        socket.on('secureConnect', () => {
          const info = {
            alpn: socket.alpnProtocol,
            fingerprint: socket.getPeerCertificate().fingerprint256,
            cipher: socket.getCipher().standardName,
          };
          socket.write('ping');
          socket.once('data', (data) => {
            socket.destroy();
            resolve({ ...info, echoed: data.toString() });
          });
        });
      },
    );
  }

  const ourFingerprint = new X509Certificate(cert.der).fingerprint256;

  it('completes with AES-128-GCM, ALPN h3 and our certificate, then carries application data', async () => {
    const result = await handshake();
    expect(result).toEqual({
      alpn: 'h3',
      fingerprint: ourFingerprint,
      cipher: 'TLS_AES_128_GCM_SHA256',
      echoed: 'ping back',
    });
    const server = harness.results.at(-1)!;
    expect(server).toEqual({ complete: true, received: ['ping'] });
  });

  it('completes with ChaCha20-Poly1305 when the client offers only that', async () => {
    const result = await handshake({ ciphers: 'TLS_CHACHA20_POLY1305_SHA256' });
    expect(result.cipher).toBe('TLS_CHACHA20_POLY1305_SHA256');
    expect(result.echoed).toBe('ping back');
  });

  it('sends a HelloRetryRequest when the client shares P-256 first, then completes on X25519', async () => {
    seen.retry = false;
    const result = await handshake({ ecdhCurve: 'P-256:X25519' });
    expect(seen.retry).toBe(true);
    expect(result.echoed).toBe('ping back');
  });

  it('refuses a client without a protocol in common with no_application_protocol', async () => {
    await expect(handshake({ ALPNProtocols: ['http/1.1'] })).rejects.toThrow();
    expect(harness.results.at(-1)!.alert).toBe(Alert.noApplicationProtocol);
  });
});

/** A ClientHello as a QUIC client sends it, with switches to break one rule at a time. */
function clientHello(o: {
  versions?: number[];
  suites?: number[];
  groups?: number[];
  shares?: [number, Uint8Array][];
  sigalgs?: number[];
  alpn?: string[];
  params?: Uint8Array | null;
  duplicate?: boolean;
}): Uint8Array {
  const u16 = (n: number) => [n >> 8, n & 0xff];
  const vec16 = (b: number[]) => [...u16(b.length), ...b];
  const ext = (type: number, body: number[]) => [...u16(type), ...vec16(body)];
  const x25519 = Array.from(fromHex('9370b2c9caa47fbabaf4559fedba753de171fa71f50f1ce15d43e994ec74d748'));
  const exts = [
    ...ext(43, [2 * (o.versions ?? [0x0304]).length, ...(o.versions ?? [0x0304]).flatMap(u16)]),
    ...ext(10, vec16((o.groups ?? [0x1d, 0x17]).flatMap(u16))),
    ...ext(13, vec16((o.sigalgs ?? [0x0403, 0x0804]).flatMap(u16))),
    ...ext(
      51,
      vec16(
        (o.shares ?? [[0x1d, Uint8Array.from(x25519)]]).flatMap(([g, k]) => [
          ...u16(g),
          ...vec16(Array.from(k)),
        ]),
      ),
    ),
    ...ext(16, vec16((o.alpn ?? ['h3']).flatMap((p) => [p.length, ...Buffer.from(p)]))),
    ...(o.params === null
      ? []
      : ext(57, Array.from(o.params ?? encodeTransportParameters({ initialMaxData: 5000 })))),
    ...(o.duplicate ? ext(16, vec16([2, 0x68, 0x33])) : []),
  ];
  const body = [
    3,
    3,
    ...new Array(32).fill(7),
    0,
    ...vec16((o.suites ?? [0x1301, 0x1302, 0x1303]).flatMap(u16)),
    1,
    0,
    ...vec16(exts),
  ];
  return Uint8Array.from([1, 0, body.length >> 8, body.length & 0xff, ...body]);
}

function alertOf(f: () => unknown): number | 'OK' | 'FOREIGN' | string {
  try {
    f();
    return 'OK';
  } catch (e) {
    if (e instanceof TlsError) return e.alert;
    return isDreggError(e) ? e.code : 'FOREIGN';
  }
}

describe('TLS 1.3 server, QUIC mode', () => {
  it('answers a ClientHello with ServerHello (Initial), the encrypted flight (Handshake) and both secrets', () => {
    const server = createTlsServer(options());
    const out = server.receive('initial', clientHello({}));
    expect(out.send.map((s) => [s.level, s.data[0]])).toEqual([
      ['initial', 2],
      ['handshake', 8],
    ]);
    expect(out.secrets.map((s) => [s.level, s.suite, s.read.length, s.write.length])).toEqual([
      ['handshake', 'TLS_AES_128_GCM_SHA256', 32, 32],
      ['application', 'TLS_AES_128_GCM_SHA256', 32, 32],
    ]);
    expect(out.complete).toBe(false);
    expect(server.alpn).toBe('h3');
    expect(decodeTransportParameters(server.peerTransportParameters!, 'client').initialMaxData).toBe(5000);
    // A wrong client Finished is decrypt_error, and the server stays failed.
    expect(
      alertOf(() => server.receive('handshake', Uint8Array.from([20, 0, 0, 32, ...new Array(32).fill(0)]))),
    ).toBe(Alert.decryptError);
    expect(alertOf(() => server.receive('handshake', new Uint8Array(1)))).toBe(Alert.decryptError);
  });

  it('takes a ClientHello split at any byte and the RFC 9001 A.2 client’s ClientHello', () => {
    const hello = clientHello({});
    for (const cut of [1, 3, 4, 50, hello.length - 1]) {
      const server = createTlsServer(options());
      expect(server.receive('initial', hello.subarray(0, cut)).send).toEqual([]);
      expect(server.receive('initial', hello.subarray(cut)).send.length).toBe(2);
    }
    // A.2's CRYPTO frame: type 06, offset 0, length 0x40f1, then the ClientHello (ALPN "alpn").
    const a2 = fromHex(A2_CRYPTO).subarray(4);
    const server = createTlsServer(options({ alpn: ['h3', 'alpn'] }));
    expect(server.receive('initial', a2).send.length).toBe(2);
    expect(server.alpn).toBe('alpn');
    const params = decodeTransportParameters(server.peerTransportParameters!, 'client');
    expect(params).toMatchObject({
      maxIdleTimeout: 30000,
      initialMaxStreamDataBidiLocal: 0x8000ffff - 0x80000000,
      initialMaxStreamsBidi: 16,
    });
    expect(toHex(params.initialSourceConnectionId!)).toBe('8394c8f03e515708');
  });

  it('prefers AES-128-GCM, and takes ChaCha20 when it is all the client offers', () => {
    const aes = createTlsServer(options()).receive('initial', clientHello({ suites: [0x1303, 0x1301] }));
    expect(aes.secrets[0]!.suite).toBe('TLS_AES_128_GCM_SHA256');
    const chacha = createTlsServer(options()).receive('initial', clientHello({ suites: [0x1303] }));
    expect(chacha.secrets[0]!.suite).toBe('TLS_CHACHA20_POLY1305_SHA256');
  });

  it('sends a HelloRetryRequest without an X25519 share, and refuses a second hello still without one', () => {
    const server = createTlsServer(options());
    const p256 = new Uint8Array(65).fill(4);
    const out = server.receive('initial', clientHello({ shares: [[0x17, p256]] }));
    expect(out.secrets).toEqual([]);
    expect(toHex(out.send[0]!.data.subarray(6, 38))).toBe(toHex(HELLO_RETRY_RANDOM));
    expect(alertOf(() => server.receive('initial', clientHello({ shares: [[0x17, p256]] })))).toBe(
      Alert.illegalParameter,
    );
    const again = createTlsServer(options());
    again.receive('initial', clientHello({ shares: [] }));
    expect(again.receive('initial', clientHello({})).secrets.length).toBe(2);
  });

  it('refuses with the alert RFC 8446 and RFC 9001 name', () => {
    const cases: [Parameters<typeof clientHello>[0], number][] = [
      [{ params: null }, Alert.missingExtension],
      [{ alpn: ['h2', 'http/1.1'] }, Alert.noApplicationProtocol],
      [{ versions: [0x0303] }, Alert.protocolVersion],
      [{ suites: [0x1302] }, Alert.handshakeFailure],
      [{ sigalgs: [0x0804] }, Alert.handshakeFailure],
      [{ groups: [0x17], shares: [] }, Alert.handshakeFailure],
      [{ shares: [[0x1d, new Uint8Array(31)]] }, Alert.illegalParameter],
      [{ shares: [[0x1d, new Uint8Array(32)]] }, Alert.illegalParameter],
      [{ duplicate: true }, Alert.illegalParameter],
    ];
    for (const [o, alert] of cases) {
      expect([o, alertOf(() => createTlsServer(options()).receive('initial', clientHello(o)))]).toEqual([
        o,
        alert,
      ]);
    }
    expect(alertOf(() => createTlsServer(options()).receive('handshake', clientHello({})))).toBe(
      Alert.unexpectedMessage,
    );
    const extra = Buffer.concat([clientHello({}), Uint8Array.of(20, 0, 0, 0)]);
    expect(alertOf(() => createTlsServer(options()).receive('initial', extra))).toBe(Alert.unexpectedMessage);
  });

  it('fails only with E_TLS on mutated, truncated or random ClientHellos (fast-check)', () => {
    const hello = clientHello({});
    const only = (f: () => unknown) => {
      const result = alertOf(f);
      return result === 'OK' || typeof result === 'number';
    };
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
        fc.nat(),
        (edits, cut) => {
          const bytes = Uint8Array.from(hello);
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          return only(() =>
            createTlsServer(options()).receive('initial', bytes.subarray(0, 4 + (cut % bytes.length))),
          );
        },
      ),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) =>
        only(() => createTlsServer(options()).receive('initial', bytes)),
      ),
      { numRuns: 1000 },
    );
  });
});

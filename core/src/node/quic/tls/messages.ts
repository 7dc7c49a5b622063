/**
 * The TLS 1.3 handshake messages our server reads and writes (RFC 8446 §4), without a record layer
 * (RFC 9001 §4: QUIC carries handshake messages in CRYPTO frames).
 *
 * The ClientHello reader is strict and bounded: every vector length is checked against its limits
 * and the bytes that hold it, duplicate extensions are refused (§4.2), and a failure is a `TlsError`
 * with the alert RFC 8446 names (decode_error for malformed bytes, illegal_parameter for bad values).
 */
import { Cursor } from '../varint.ts';
import { Alert, tlsFail } from './alert.ts';

export const HandshakeType = {
  clientHello: 1,
  serverHello: 2,
  encryptedExtensions: 8,
  certificate: 11,
  certificateVerify: 15,
  finished: 20,
  messageHash: 254,
} as const;

export const ExtensionType = {
  serverName: 0,
  supportedGroups: 10,
  signatureAlgorithms: 13,
  alpn: 16,
  supportedVersions: 43,
  keyShare: 51,
  quicTransportParameters: 57,
} as const;

export const TLS13 = 0x0304;
export const X25519 = 0x001d;
export const ECDSA_SECP256R1_SHA256 = 0x0403;
export const CipherSuiteId = {
  TLS_AES_128_GCM_SHA256: 0x1301,
  TLS_CHACHA20_POLY1305_SHA256: 0x1303,
} as const;

/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest (SHA-256 of "HelloRetryRequest"). */
export const HELLO_RETRY_RANDOM = Uint8Array.from(
  Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex'),
);

export interface ClientHello {
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuites: readonly number[];
  readonly supportedVersions: readonly number[];
  readonly groups: readonly number[];
  readonly keyShares: ReadonlyMap<number, Uint8Array>;
  readonly signatureAlgorithms: readonly number[];
  readonly alpn: readonly string[];
  /** The quic_transport_parameters body, if the client sent the extension. */
  readonly transportParameters: Uint8Array | undefined;
}

/** A cursor whose truncation errors become decode_error alerts. */
function reader(bytes: Uint8Array, what: string): Cursor {
  return new Cursor(bytes, 0, bytes.length, what);
}

function vector(c: Cursor, lengthBytes: 1 | 2 | 3, min: number, max: number, what: string): Cursor {
  const length = lengthBytes === 1 ? c.u8() : lengthBytes === 2 ? c.u16() : c.u24();
  if (length < min || length > max) tlsFail(Alert.decodeError, `${what}: length ${length} out of range`);
  return reader(c.take(length), what);
}

function u16List(c: Cursor, what: string): number[] {
  if (c.remaining % 2 !== 0) tlsFail(Alert.decodeError, `${what}: odd length`);
  const out: number[] = [];
  while (c.remaining > 0) out.push(c.u16());
  return out;
}

function done(c: Cursor, what: string): void {
  if (c.remaining !== 0) tlsFail(Alert.decodeError, `${what}: trailing bytes`);
}

/** Reads a ClientHello body (after the 4-byte handshake header), RFC 8446 §4.1.2. */
export function parseClientHello(body: Uint8Array): ClientHello {
  const c = reader(body, 'ClientHello');
  c.u16(); // legacy_version, ignored (§4.1.2: supported_versions decides)
  const random = c.take(32);
  const session = vector(c, 1, 0, 32, 'legacy_session_id');
  const sessionId = session.take(session.remaining);
  const suites = u16List(vector(c, 2, 2, 0xfffe, 'cipher_suites'), 'cipher_suites');
  const compression = vector(c, 1, 1, 0xff, 'legacy_compression_methods');
  if (compression.remaining !== 1 || compression.u8() !== 0) {
    tlsFail(Alert.illegalParameter, 'TLS 1.3 requires the null compression method only');
  }
  const extensions = vector(c, 2, 8, 0xffff, 'extensions');
  done(c, 'ClientHello');

  const seen = new Set<number>();
  let supportedVersions: number[] = [];
  let groups: number[] = [];
  let signatureAlgorithms: number[] = [];
  const alpn: string[] = [];
  const keyShares = new Map<number, Uint8Array>();
  let transportParameters: Uint8Array | undefined;
  while (extensions.remaining > 0) {
    const type = extensions.u16();
    const data = vector(extensions, 2, 0, 0xffff, 'extension');
    if (seen.has(type)) tlsFail(Alert.illegalParameter, `Extension ${type} repeated`);
    seen.add(type);
    switch (type) {
      case ExtensionType.supportedVersions:
        supportedVersions = u16List(vector(data, 1, 2, 254, 'supported_versions'), 'supported_versions');
        break;
      case ExtensionType.supportedGroups:
        groups = u16List(vector(data, 2, 2, 0xffff, 'supported_groups'), 'supported_groups');
        break;
      case ExtensionType.signatureAlgorithms:
        signatureAlgorithms = u16List(
          vector(data, 2, 2, 0xfffe, 'signature_algorithms'),
          'signature_algorithms',
        );
        break;
      case ExtensionType.keyShare: {
        const shares = vector(data, 2, 0, 0xffff, 'key_share');
        while (shares.remaining > 0) {
          const group = shares.u16();
          const key = vector(shares, 2, 1, 0xffff, 'key_exchange');
          // §4.2.8: each group at most once.
          if (keyShares.has(group)) tlsFail(Alert.illegalParameter, 'Key share group repeated');
          keyShares.set(group, key.take(key.remaining));
        }
        break;
      }
      case ExtensionType.alpn: {
        const list = vector(data, 2, 2, 0xffff, 'ALPN');
        while (list.remaining > 0) {
          const name = vector(list, 1, 1, 0xff, 'ALPN protocol');
          alpn.push(Buffer.from(name.take(name.remaining)).toString('latin1'));
        }
        break;
      }
      case ExtensionType.quicTransportParameters:
        transportParameters = data.take(data.remaining).slice();
        break;
      default:
        // Other extensions (server_name, psk modes, GREASE, ...) are read past: we resume no sessions
        // and accept no early data, so a full handshake ignores them safely (§4.2: unknown is fine).
        data.skip(data.remaining);
    }
    done(data, `extension ${type}`);
  }
  return {
    random: random.slice(),
    sessionId: sessionId.slice(),
    cipherSuites: suites,
    supportedVersions,
    groups,
    keyShares,
    signatureAlgorithms,
    alpn,
    transportParameters,
  };
}

/** A handshake message: type, 24-bit length, body. */
export function handshakeMessage(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out[0] = type;
  out[1] = body.length >>> 16;
  out[2] = (body.length >>> 8) & 0xff;
  out[3] = body.length & 0xff;
  out.set(body, 4);
  return out;
}

const u16 = (n: number) => Uint8Array.of(n >> 8, n & 0xff);
const vec8 = (b: Uint8Array) => Buffer.concat([Uint8Array.of(b.length), b]);
const vec16 = (b: Uint8Array) => Buffer.concat([u16(b.length), b]);
const vec24 = (b: Uint8Array) =>
  Buffer.concat([Uint8Array.of(b.length >>> 16, (b.length >>> 8) & 0xff, b.length & 0xff), b]);
const extension = (type: number, body: Uint8Array) => Buffer.concat([u16(type), vec16(body)]);

/** ServerHello (§4.1.3) choosing TLS 1.3, `suite` and our X25519 share. */
export function serverHello(
  random: Uint8Array,
  sessionId: Uint8Array,
  suite: number,
  publicKey: Uint8Array,
): Uint8Array {
  const extensions = Buffer.concat([
    extension(ExtensionType.supportedVersions, u16(TLS13)),
    extension(ExtensionType.keyShare, Buffer.concat([u16(X25519), vec16(publicKey)])),
  ]);
  const body = Buffer.concat([
    u16(0x0303),
    random,
    vec8(sessionId),
    u16(suite),
    Uint8Array.of(0),
    vec16(extensions),
  ]);
  return handshakeMessage(HandshakeType.serverHello, body);
}

/** HelloRetryRequest (§4.1.4) asking for an X25519 share. */
export function helloRetryRequest(sessionId: Uint8Array, suite: number): Uint8Array {
  const extensions = Buffer.concat([
    extension(ExtensionType.supportedVersions, u16(TLS13)),
    extension(ExtensionType.keyShare, u16(X25519)),
  ]);
  const body = Buffer.concat([
    u16(0x0303),
    HELLO_RETRY_RANDOM,
    vec8(sessionId),
    u16(suite),
    Uint8Array.of(0),
    vec16(extensions),
  ]);
  return handshakeMessage(HandshakeType.serverHello, body);
}

/** EncryptedExtensions (§4.3.1): the chosen ALPN and, for QUIC, our transport parameters. */
export function encryptedExtensions(alpn: string, transportParameters: Uint8Array | undefined): Uint8Array {
  const parts = [extension(ExtensionType.alpn, vec16(vec8(Buffer.from(alpn, 'latin1'))))];
  if (transportParameters) parts.push(extension(ExtensionType.quicTransportParameters, transportParameters));
  return handshakeMessage(HandshakeType.encryptedExtensions, vec16(Buffer.concat(parts)));
}

/** Certificate (§4.4.2): empty request context, the chain leaf first, no per-entry extensions. */
export function certificateMessage(chain: readonly Uint8Array[]): Uint8Array {
  const entries = Buffer.concat(chain.map((der) => Buffer.concat([vec24(der), u16(0)])));
  return handshakeMessage(HandshakeType.certificate, Buffer.concat([Uint8Array.of(0), vec24(entries)]));
}

export function certificateVerify(signature: Uint8Array): Uint8Array {
  return handshakeMessage(
    HandshakeType.certificateVerify,
    Buffer.concat([u16(ECDSA_SECP256R1_SHA256), vec16(signature)]),
  );
}

export function finished(verifyData: Uint8Array): Uint8Array {
  return handshakeMessage(HandshakeType.finished, verifyData);
}

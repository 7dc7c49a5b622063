/**
 * A TLS 1.3 server for QUIC (RFC 8446, RFC 9001 §4 and §8): one full handshake per connection.
 *
 *   Initial:    ClientHello  ->  ServerHello              (or HelloRetryRequest, then ClientHello again)
 *   Handshake:                   EncryptedExtensions, Certificate, CertificateVerify, Finished
 *   Handshake:  Finished     ->  complete
 *
 * X25519 only, ECDSA P-256 with SHA-256 only, TLS_AES_128_GCM_SHA256 preferred over
 * TLS_CHACHA20_POLY1305_SHA256. No session tickets or resumption, no 0-RTT, no client certificates,
 * no post-handshake messages. Every failure is a `TlsError` (E_TLS) carrying the alert to send.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type Hash,
  type KeyObject,
  randomBytes,
  sign,
  timingSafeEqual,
} from 'node:crypto';
import { isDreggError } from '../../../errors.ts';
import type { CipherSuite, Level, TlsOutput, TlsServer } from '../api.ts';
import { Alert, TlsError, tlsFail } from './alert.ts';
import {
  CipherSuiteId,
  type ClientHello,
  certificateMessage,
  certificateVerify,
  ECDSA_SECP256R1_SHA256,
  encryptedExtensions,
  finished,
  HandshakeType,
  handshakeMessage,
  helloRetryRequest,
  parseClientHello,
  serverHello,
  TLS13,
  X25519,
} from './messages.ts';
import { applicationSecrets, finishedData, handshakeSecrets } from './schedule.ts';

export interface TlsServerOptions {
  /** DER certificate chain, leaf first (or the leaf alone). */
  readonly certificate: Uint8Array | readonly Uint8Array[];
  /** The leaf's P-256 private key, PKCS#8 DER (as `cert.ts` makes it). */
  readonly privateKey: Uint8Array;
  /** Protocols we speak, in our order of preference (ALPN, RFC 7301). */
  readonly alpn: readonly string[];
  /** Our encoded transport parameters (`params.ts`), sent in EncryptedExtensions. */
  readonly transportParameters: Uint8Array;
  /**
   * RFC 9001 §8.2 makes the client's transport parameters mandatory (missing_extension otherwise).
   * Only a test that drives this server with a TCP TLS client, which sends none, turns this off.
   */
  readonly requireTransportParameters?: boolean;
}

/** A handshake message may not exceed this (Chromium's ClientHello is about 2 KB). */
const MAX_MESSAGE = 16 * 1024;
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
/** RFC 8446 §4.4.3: 64 spaces, the context string, a zero byte, then the transcript hash. */
const VERIFY_PREFIX = Buffer.concat([
  Buffer.alloc(64, 0x20),
  Buffer.from('TLS 1.3, server CertificateVerify', 'latin1'),
  Buffer.of(0),
]);

type State = 'client-hello' | 'retried-client-hello' | 'client-finished' | 'done' | 'failed';

export function createTlsServer(options: TlsServerOptions): TlsServer {
  const chain = options.certificate instanceof Uint8Array ? [options.certificate] : options.certificate;
  const signingKey: KeyObject = createPrivateKey({
    key: Buffer.from(options.privateKey),
    format: 'der',
    type: 'pkcs8',
  });
  const requireParams = options.requireTransportParameters ?? true;

  let state: State = 'client-hello';
  let failure: TlsError | undefined;
  let transcript: Hash = createHash('sha256');
  let buffer = new Uint8Array(0);
  let suite: CipherSuite | undefined;
  let clientFinished: Uint8Array | undefined;
  let peerTransportParameters: Uint8Array | undefined;
  let alpn: string | undefined;

  const expectedLevel = (): Level => (state === 'client-finished' ? 'handshake' : 'initial');
  const transcriptHash = () => transcript.copy().digest();

  function choose(hello: ClientHello) {
    if (!hello.supportedVersions.includes(TLS13))
      tlsFail(Alert.protocolVersion, 'Client does not offer TLS 1.3');
    const chosen: CipherSuite | undefined = hello.cipherSuites.includes(CipherSuiteId.TLS_AES_128_GCM_SHA256)
      ? 'TLS_AES_128_GCM_SHA256'
      : hello.cipherSuites.includes(CipherSuiteId.TLS_CHACHA20_POLY1305_SHA256)
        ? 'TLS_CHACHA20_POLY1305_SHA256'
        : undefined;
    if (!chosen) tlsFail(Alert.handshakeFailure, 'No cipher suite in common');
    if (suite && chosen !== suite)
      tlsFail(Alert.illegalParameter, 'Cipher suite changed after HelloRetryRequest');
    if (!hello.signatureAlgorithms.includes(ECDSA_SECP256R1_SHA256)) {
      tlsFail(Alert.handshakeFailure, 'Client does not accept ecdsa_secp256r1_sha256');
    }
    const protocol = options.alpn.find((p) => hello.alpn.includes(p));
    if (!protocol) tlsFail(Alert.noApplicationProtocol, 'No application protocol in common');
    if (requireParams && !hello.transportParameters) {
      tlsFail(Alert.missingExtension, 'Missing quic_transport_parameters');
    }
    return { chosen, protocol };
  }

  function onClientHello(message: Uint8Array, out: Output): void {
    const hello = parseClientHello(message.subarray(4));
    const { chosen, protocol } = choose(hello);
    const share = hello.keyShares.get(X25519);
    if (!share) {
      if (state === 'retried-client-hello')
        tlsFail(Alert.illegalParameter, 'No X25519 share after HelloRetryRequest');
      if (!hello.groups.includes(X25519)) tlsFail(Alert.handshakeFailure, 'Client does not support X25519');
      // §4.4.1: after a HelloRetryRequest, ClientHello1 enters the transcript as its hash.
      const firstHash = createHash('sha256').update(message).digest();
      transcript = createHash('sha256').update(handshakeMessage(HandshakeType.messageHash, firstHash));
      const retry = helloRetryRequest(hello.sessionId, CipherSuiteId[chosen]);
      transcript.update(retry);
      out.send.push({ level: 'initial', data: retry });
      suite = chosen;
      state = 'retried-client-hello';
      return;
    }
    if (share.length !== 32) tlsFail(Alert.illegalParameter, 'X25519 share must be 32 bytes');
    suite = chosen;
    alpn = protocol;
    peerTransportParameters = hello.transportParameters;

    const ours = generateKeyPairSync('x25519');
    let ecdhe: Uint8Array;
    try {
      const theirs = createPublicKey({
        key: Buffer.concat([X25519_SPKI_PREFIX, share]),
        format: 'der',
        type: 'spki',
      });
      ecdhe = diffieHellman({ privateKey: ours.privateKey, publicKey: theirs });
    } catch {
      // OpenSSL refuses a low-order point (an all-zero shared secret, RFC 8446 §7.4.2).
      tlsFail(Alert.illegalParameter, 'Unusable X25519 share');
    }
    const ourShare = ours.publicKey
      .export({ format: 'der', type: 'spki' })
      .subarray(X25519_SPKI_PREFIX.length);

    transcript.update(message);
    const hello2 = serverHello(randomBytes(32), hello.sessionId, CipherSuiteId[chosen], ourShare);
    transcript.update(hello2);
    const hs = handshakeSecrets(ecdhe, transcriptHash());

    const ee = encryptedExtensions(
      protocol,
      hello.transportParameters ? options.transportParameters : undefined,
    );
    transcript.update(ee);
    const cert = certificateMessage(chain);
    transcript.update(cert);
    const signature = sign('sha256', Buffer.concat([VERIFY_PREFIX, transcriptHash()]), signingKey);
    const verify = certificateVerify(signature);
    transcript.update(verify);
    const fin = finished(finishedData(hs.server, transcriptHash()));
    transcript.update(fin);
    const serverFinishedHash = transcriptHash();
    const app = applicationSecrets(hs.secret, serverFinishedHash);
    clientFinished = finishedData(hs.client, serverFinishedHash);

    out.send.push({ level: 'initial', data: hello2 });
    out.send.push({ level: 'handshake', data: Buffer.concat([ee, cert, verify, fin]) });
    out.secrets.push({ level: 'handshake', suite: chosen, read: hs.client, write: hs.server });
    out.secrets.push({ level: 'application', suite: chosen, read: app.client, write: app.server });
    state = 'client-finished';
  }

  function onFinished(message: Uint8Array): void {
    const data = message.subarray(4);
    const expected = clientFinished!;
    if (data.length !== expected.length || !timingSafeEqual(data, expected)) {
      tlsFail(Alert.decryptError, 'Client Finished does not verify');
    }
    state = 'done';
  }

  function onMessage(type: number, message: Uint8Array, out: Output): void {
    if (
      (state === 'client-hello' || state === 'retried-client-hello') &&
      type === HandshakeType.clientHello
    ) {
      onClientHello(message, out);
    } else if (state === 'client-finished' && type === HandshakeType.finished) {
      onFinished(message);
    } else {
      tlsFail(Alert.unexpectedMessage, `Unexpected handshake message ${type} in state ${state}`);
    }
  }

  function receive(level: Level, data: Uint8Array): TlsOutput {
    if (failure) throw failure;
    const out: Output = { send: [], secrets: [] };
    try {
      if (data.length > 0) {
        if (level !== expectedLevel() || state === 'done') {
          tlsFail(Alert.unexpectedMessage, `Handshake data at the ${level} level in state ${state}`);
        }
        buffer = buffer.length === 0 ? data.slice() : Buffer.concat([buffer, data]);
        while (buffer.length >= 4) {
          const length = (buffer[1]! << 16) | (buffer[2]! << 8) | buffer[3]!;
          if (length > MAX_MESSAGE) tlsFail(Alert.decodeError, 'Handshake message too large');
          if (buffer.length < 4 + length) break;
          const message = buffer.subarray(0, 4 + length);
          buffer = buffer.subarray(4 + length);
          const before = expectedLevel();
          onMessage(message[0]!, message, out);
          // A key change must fall on a message boundary (RFC 8446 §5.1, RFC 9001 §4.1.3).
          if (expectedLevel() !== before && buffer.length > 0) {
            tlsFail(Alert.unexpectedMessage, 'Handshake data continues past a key change');
          }
        }
      }
    } catch (e) {
      state = 'failed';
      // Truncated bytes (the cursor's E_DECODE) are decode_error; anything else would be our bug.
      failure =
        e instanceof TlsError
          ? e
          : isDreggError(e, 'E_DECODE')
            ? new TlsError(Alert.decodeError, e.message)
            : new TlsError(Alert.internalError, 'Internal TLS failure');
      throw failure;
    }
    return { send: out.send, secrets: out.secrets, complete: state === 'done' };
  }

  return {
    receive,
    get peerTransportParameters() {
      return peerTransportParameters;
    },
    get alpn() {
      return alpn;
    },
  };
}

interface Output {
  send: { level: Level; data: Uint8Array }[];
  secrets: { level: 'handshake' | 'application'; suite: CipherSuite; read: Uint8Array; write: Uint8Array }[];
}

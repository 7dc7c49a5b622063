/**
 * The seams of our QUIC stack (issue 13), fixed before the parts were written so that three people
 * could build them at once:
 *
 * - wire and crypto (`varint`, `packet`, `protect`, `keys`, `tls/`, `cert`): bytes in, bytes out;
 * - transport (`frames`, `ranges`, `recovery`, `congestion`, `streams`, `connection`, `endpoint`):
 *   one `QuicConnection` per peer, over `node:dgram`;
 * - HTTP/3 and WebTransport (`h3/`, `webtransport/`), and the libp2p listener, which see only the
 *   `QuicConnection` and `QuicStream` below.
 *
 * Node-only (node:dgram, node:crypto), hence under core/src/node: the browser dials with its own
 * WebTransport and never imports this.
 */

/** An encryption level, RFC 9001 §4.1.4. 0-RTT is not accepted (our server never enables it). */
export type Level = 'initial' | 'handshake' | 'application';

/** TLS 1.3 cipher suites QUIC may use; we negotiate the first two (RFC 9001 §5.3). */
export type CipherSuite = 'TLS_AES_128_GCM_SHA256' | 'TLS_CHACHA20_POLY1305_SHA256';

/** Keys for one direction at one level, RFC 9001 §5.1. */
export interface PacketKeys {
  readonly suite: CipherSuite;
  readonly key: Uint8Array;
  readonly iv: Uint8Array;
  readonly hp: Uint8Array;
}

/** What the TLS server hands the transport after consuming CRYPTO bytes. */
export interface TlsOutput {
  /** Handshake bytes to send in CRYPTO frames, in order, each at its level. */
  readonly send: ReadonlyArray<{ readonly level: Level; readonly data: Uint8Array }>;
  /** Traffic secrets that became available, in the order they must be installed. */
  readonly secrets: ReadonlyArray<{
    readonly level: Exclude<Level, 'initial'>;
    readonly suite: CipherSuite;
    readonly read: Uint8Array;
    readonly write: Uint8Array;
  }>;
  /** True once the client's Finished has verified: the handshake is complete (RFC 9001 §4.1.1). */
  readonly complete: boolean;
}

/**
 * A TLS 1.3 server for QUIC: no record layer, handshake messages only (RFC 9001 §4). `receive`
 * throws `DreggError('E_TLS', …)` carrying `alert` (a TLS alert number; the transport closes with
 * CRYPTO_ERROR 0x100 + alert).
 */
export interface TlsServer {
  receive(level: Level, data: Uint8Array): TlsOutput;
  /** The client's transport parameters (raw extension body), once the ClientHello is read. */
  readonly peerTransportParameters: Uint8Array | undefined;
  readonly alpn: string | undefined;
}

export interface QuicStream {
  /** The QUIC stream id (RFC 9000 §2.1): bit 0 initiator (1 = server), bit 1 direction (1 = uni). */
  readonly id: number;
  readonly bidirectional: boolean;
  /** Received bytes in order; ends at the peer's FIN, throws on RESET_STREAM. */
  readonly readable: AsyncIterable<Uint8Array>;
  /** Queues bytes; resolves when they fit in the peer's flow-control window (back-pressure). */
  write(data: Uint8Array): Promise<void>;
  /** Sends FIN after everything written. */
  end(): void;
  /** RESET_STREAM (our sending side) and STOP_SENDING (our receiving side) with this code. */
  abort(code: number): void;
}

export interface QuicConnection {
  readonly remote: { readonly address: string; readonly port: number };
  readonly alpn: string;
  /** Streams the peer opens. Register before the handshake completes; none are lost. */
  onStream(handler: (stream: QuicStream) => void): void;
  openStream(bidirectional: boolean): Promise<QuicStream>;
  /** RFC 9221 DATAGRAM frames (unreliable); false when too large or the peer doesn't accept them. */
  sendDatagram(data: Uint8Array): boolean;
  onDatagram(handler: (data: Uint8Array) => void): void;
  /** CONNECTION_CLOSE (application) and wait for the draining period to start. */
  close(code: number, reason: string): void;
  /** Resolves once closed, by either side or the idle timeout. */
  readonly closed: Promise<{ readonly code: number; readonly reason: string; readonly remote: boolean }>;
}

export interface QuicServerOptions {
  readonly host: string;
  readonly port: number;
  /** DER certificate chain (leaf first) and its P-256 private key, see `cert.ts`. */
  readonly certificate: () => { readonly der: Uint8Array; readonly privateKey: Uint8Array };
  readonly alpn: readonly string[];
  readonly maxIdleTimeoutMs?: number;
  /** Accept RFC 9221 datagrams up to this size (0 = not advertised). */
  readonly maxDatagramFrameSize?: number;
}

export interface QuicServer {
  readonly address: { readonly address: string; readonly port: number };
  onConnection(handler: (connection: QuicConnection) => void): void;
  close(): Promise<void>;
}

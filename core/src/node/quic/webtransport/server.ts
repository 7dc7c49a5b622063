/**
 * A WebTransport server: our QUIC endpoint (ALPN h3, datagrams on) with a draft-02 WebTransport
 * session layer on every connection, answering only the configured paths (404 for the rest).
 */

import type { QuicServer } from '../api.ts';
import { createQuicServer } from '../endpoint.ts';
import { serveWebTransport, type WebTransportSession } from './session.ts';

export interface WebTransportServerOptions {
  readonly host: string;
  /** 0 picks a free port (see `address`). */
  readonly port: number;
  /** The certificate to serve on a new connection (DER leaf and PKCS#8 P-256 key); called per handshake, so it may rotate. */
  readonly certificates: () => { readonly der: Uint8Array; readonly privateKey: Uint8Array };
  /** Paths that open a session, compared without the query string (`/x?type=noise` matches `/x`). */
  readonly paths: readonly string[];
  readonly maxIdleTimeoutMs?: number;
}

export interface WebTransportServer {
  readonly address: { readonly address: string; readonly port: number };
  onSession(handler: (session: WebTransportSession) => void): void;
  close(): Promise<void>;
}

/** Largest DATAGRAM frame we accept (RFC 9221): any size that fits a packet. */
const MAX_DATAGRAM_FRAME = 65535;

export async function createWebTransportServer(
  options: WebTransportServerOptions,
): Promise<WebTransportServer> {
  const quic: QuicServer = await createQuicServer({
    host: options.host,
    port: options.port,
    certificate: options.certificates,
    alpn: ['h3'],
    maxDatagramFrameSize: MAX_DATAGRAM_FRAME,
    ...(options.maxIdleTimeoutMs === undefined ? {} : { maxIdleTimeoutMs: options.maxIdleTimeoutMs }),
  });
  const paths = new Set(options.paths);
  let handler: ((session: WebTransportSession) => void) | undefined;
  quic.onConnection((connection) => {
    serveWebTransport(connection, {
      accept: (path) => handler !== undefined && paths.has(path.split('?')[0]!),
      onSession: (session) => handler?.(session),
    });
  });
  return {
    address: quic.address,
    onSession(h) {
      handler = h;
    },
    close: () => quic.close(),
  };
}

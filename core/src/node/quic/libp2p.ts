/**
 * A libp2p transport that listens on WebTransport (`/ip4/H/udp/P/quic-v1/webtransport`), for the
 * relay. It is the server half of what `@libp2p/webtransport` does in the browser, mirrored:
 *
 * - the browser opens `https://H:P/.well-known/libp2p-webtransport?type=noise` with our
 *   certificate hashes, so we publish `/certhash/<current>/certhash/<next>` on our addresses;
 * - on the session's first bidi stream it runs Noise XX as initiator; we answer as responder with
 *   our certhashes in the Noise extensions (it checks that the hashes it dialled are among them);
 * - then each libp2p stream is one WebTransport bidi stream (no yamux, no multistream for the
 *   muxer): we hand libp2p's upgrader a connection with `skipEncryption` (the session is already
 *   authenticated by Noise) and a muxer over the session's streams.
 *
 * Listen only: `dial` refuses (a Node relay has no reason to dial browsers).
 */

import type {
  AbortOptions,
  ComponentLogger,
  CreateListenerOptions,
  Listener,
  ListenerEvents,
  Logger,
  Metrics,
  MultiaddrConnection,
  PeerId,
  PrivateKey,
  StreamMuxerFactory,
  Transport,
  Upgrader,
} from '@libp2p/interface';
import { serviceCapabilities, TypedEventEmitter, transportSymbol } from '@libp2p/interface';
import { noise } from '@libp2p/noise';
import {
  AbstractMessageStream,
  AbstractMultiaddrConnection,
  AbstractStream,
  AbstractStreamMuxer,
  getThinWaistAddresses,
  type MessageStreamInit,
  type SendResult,
} from '@libp2p/utils';
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr';
import type { Uint8ArrayList } from 'uint8arraylist';
import { DreggError } from '../../errors.ts';
import type { CertificatePair } from './cert.ts';
import { createWebTransportServer, type WebTransportServer } from './webtransport/server.ts';
import type { WebTransportSession, WebTransportStream } from './webtransport/session.ts';

/** The path `@libp2p/webtransport` opens (with `?type=noise`). */
export const LIBP2P_PATH = '/.well-known/libp2p-webtransport';

export interface WebTransportListenerInit {
  /** The certificate to serve and the next one; both hashes are published. Called per handshake. */
  readonly certificates: () => CertificatePair;
  /** Time allowed for the Noise handshake once a session is open. */
  readonly handshakeTimeoutMs?: number;
}

interface Components {
  readonly peerId: PeerId;
  readonly privateKey: PrivateKey;
  readonly logger: ComponentLogger;
  readonly upgrader: Upgrader;
  readonly metrics?: Metrics;
}

const LISTEN = /^\/ip[46]\/[^/]+\/udp\/\d+\/quic-v1\/webtransport$/;
/** Bytes queued on a WebTransport stream before libp2p is told to wait for 'drain'. */
const HIGH_WATER = 1 << 20;

/** The transport factory for `createLibp2p({ transports })`. */
export function webTransportListener(init: WebTransportListenerInit) {
  return (components: Components): Transport => new WebTransportListenerTransport(components, init);
}

class WebTransportListenerTransport implements Transport {
  readonly [Symbol.toStringTag] = '@cipherclerk/webtransport-listener';
  readonly [transportSymbol] = true as const;
  readonly [serviceCapabilities] = ['@libp2p/transport'];

  constructor(
    private readonly components: Components,
    private readonly init: WebTransportListenerInit,
  ) {}

  async dial(): Promise<never> {
    throw new DreggError('E_UNSUPPORTED', 'This WebTransport transport only listens');
  }

  createListener(options: CreateListenerOptions): Listener {
    return new WebTransportListener(this.components, this.init, options.upgrader);
  }

  listenFilter(multiaddrs: Multiaddr[]): Multiaddr[] {
    return multiaddrs.filter((ma) => LISTEN.test(ma.toString()));
  }

  dialFilter(): Multiaddr[] {
    return [];
  }
}

class WebTransportListener extends TypedEventEmitter<ListenerEvents> implements Listener {
  private server: WebTransportServer | undefined;
  private listening: Multiaddr | undefined;
  private readonly log: Logger;
  private readonly sessions = new Set<WebTransportSession>();
  private readonly shutdown = new AbortController();

  constructor(
    private readonly components: Components,
    private readonly init: WebTransportListenerInit,
    private readonly upgrader: Upgrader,
  ) {
    super();
    this.log = components.logger.forComponent('cipherclerk:webtransport:listener');
  }

  async listen(ma: Multiaddr): Promise<void> {
    const [, family, host, , port] = ma.toString().split('/');
    if (family === undefined || host === undefined || port === undefined) {
      throw new DreggError('E_ARGUMENT', `Not a WebTransport listen address: ${ma.toString()}`);
    }
    this.server = await createWebTransportServer({
      host,
      port: Number(port),
      certificates: () => {
        const { der, privateKey } = this.init.certificates().current;
        return { der, privateKey };
      },
      paths: [LIBP2P_PATH],
    });
    this.server.onSession((session) => {
      this.sessions.add(session);
      void session.closed.then(() => this.sessions.delete(session));
      this.onSession(session).catch((e) => {
        this.log.error('inbound WebTransport session failed - %e', e);
        session.close(1, 'handshake failed');
      });
    });
    this.listening = multiaddr(`/${family}/${host}/udp/${this.server.address.port}/quic-v1/webtransport`);
    this.safeDispatchEvent('listening');
  }

  /** `/certhash/<current>/certhash/<next>`, as the browser dialer parses them. */
  private certhashes(): string {
    const { current, next } = this.init.certificates();
    return `/certhash/${current.certhash}/certhash/${next.certhash}`;
  }

  getAddrs(): Multiaddr[] {
    if (this.listening === undefined || this.server === undefined) return [];
    const suffix = this.certhashes();
    return getThinWaistAddresses(this.listening.decapsulate('/quic-v1'), this.server.address.port).map((ma) =>
      multiaddr(`${ma.toString()}/quic-v1/webtransport${suffix}`),
    );
  }

  updateAnnounceAddrs(addrs: Multiaddr[]): void {
    const suffix = this.certhashes();
    for (let i = 0; i < addrs.length; i++) {
      const text = addrs[i]!.toString();
      if (text.endsWith('/quic-v1/webtransport')) addrs[i] = multiaddr(`${text}${suffix}`);
    }
  }

  async close(): Promise<void> {
    this.shutdown.abort();
    for (const session of this.sessions) session.close(0, 'listener closing');
    await this.server?.close();
    this.safeDispatchEvent('close');
  }

  private async onSession(session: WebTransportSession): Promise<void> {
    if (!session.path.includes('type=noise')) {
      session.close(1, 'unsupported authentication type');
      return;
    }
    const log = this.components.logger.forComponent('cipherclerk:webtransport:connection');
    const streams = sessionStreams(session);
    const signal = AbortSignal.any([
      this.shutdown.signal,
      AbortSignal.timeout(this.init.handshakeTimeoutMs ?? 10_000),
    ]);
    const authStream = await streams.first(signal);
    const messages = new WebTransportMessages(authStream, {
      log: log.newScope('noise'),
      direction: 'inbound',
    });
    const { current, next } = this.init.certificates();
    const encrypter = noise({
      extensions: { webtransportCerthashes: [multihash(current.sha256), multihash(next.sha256)] },
    })(this.components);
    const { remotePeer } = await encrypter.secureInbound(messages, {
      signal,
      skipStreamMuxerNegotiation: true,
    });
    await messages.close();

    const remoteAddr = multiaddr(
      `/${session.remote.address.includes(':') ? 'ip6' : 'ip4'}/${session.remote.address}/udp/${session.remote.port}/quic-v1/webtransport`,
    );
    const maConn: MultiaddrConnection = new SessionConnection(session, {
      remoteAddr,
      direction: 'inbound',
      log,
    });
    await this.upgrader.upgradeInbound(maConn, {
      skipEncryption: true,
      skipProtection: true,
      remotePeer,
      muxerFactory: sessionMuxer(session, streams),
      signal: this.shutdown.signal,
    });
  }
}

/** The multihash (sha2-256) of a certificate's SHA-256, as Noise's certhash extension carries it. */
function multihash(sha256: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + sha256.length);
  out.set([0x12, 0x20]);
  out.set(sha256, 2);
  return out;
}

/**
 * Splits a session's incoming streams: the first bidi stream is Noise's, the rest belong to the
 * muxer, queued until it exists. Uni streams have no meaning in libp2p's mapping and are refused.
 */
function sessionStreams(session: WebTransportSession) {
  let auth: ((stream: WebTransportStream) => void) | undefined;
  let authStream: WebTransportStream | undefined;
  let muxer: ((stream: WebTransportStream) => void) | undefined;
  const early: WebTransportStream[] = [];
  session.onStream((stream) => {
    if (!stream.bidirectional) return stream.abort(0);
    if (authStream === undefined) {
      authStream = stream;
      auth?.(stream);
    } else if (muxer) {
      muxer(stream);
    } else {
      early.push(stream);
    }
  });
  return {
    first(signal: AbortSignal): Promise<WebTransportStream> {
      if (authStream) return Promise.resolve(authStream);
      return new Promise((resolve, reject) => {
        auth = resolve;
        signal.addEventListener('abort', () => reject(new DreggError('E_TIMEOUT', 'No Noise stream')), {
          once: true,
        });
      });
    },
    onMuxed(handler: (stream: WebTransportStream) => void) {
      muxer = handler;
      for (const stream of early.splice(0)) handler(stream);
    },
  };
}

/**
 * Pumps a WebTransport stream into an AbstractMessageStream: reads while libp2p wants data, writes
 * with back-pressure (libp2p waits for 'drain' past HIGH_WATER queued bytes).
 */
function pump(
  target: AbstractMessageStream & { onData(d: Uint8Array): void },
  stream: WebTransportStream,
  onEnd: () => void,
) {
  const iterator = stream.readable[Symbol.asyncIterator]();
  let reading = false;
  const read = () => {
    if (reading) return;
    reading = true;
    void (async () => {
      try {
        for (;;) {
          if (target.readStatus === 'paused') return;
          const next = await iterator.next();
          if (next.done) return onEnd();
          target.onData(next.value);
        }
      } catch (e) {
        target.abort(e instanceof Error ? e : new Error(String(e)));
      } finally {
        reading = false;
      }
    })();
  };
  let queued = 0;
  const send = (data: Uint8ArrayList): SendResult => {
    const bytes = data.subarray();
    queued += bytes.length;
    stream.write(bytes).then(
      () => {
        queued -= bytes.length;
        if (queued === 0 && target.writableNeedsDrain) target.safeDispatchEvent('drain');
      },
      (e: unknown) => target.abort(e instanceof Error ? e : new Error(String(e))),
    );
    return { sentBytes: bytes.length, canSendMore: queued < HIGH_WATER };
  };
  return { read, send, cancel: () => void iterator.return?.() };
}

/** The Noise handshake's byte stream. */
class WebTransportMessages extends AbstractMessageStream {
  private readonly io: ReturnType<typeof pump>;
  constructor(
    private readonly stream: WebTransportStream,
    init: MessageStreamInit,
  ) {
    super(init);
    this.io = pump(this, stream, () => this.onRemoteCloseWrite());
    this.io.read();
  }
  sendData(data: Uint8ArrayList): SendResult {
    return this.io.send(data);
  }
  sendReset(): void {
    this.stream.abort(0);
  }
  sendPause(): void {}
  sendResume(): void {
    this.io.read();
  }
  async close(_options?: AbortOptions): Promise<void> {
    this.stream.end();
  }
}

/** One libp2p stream = one WebTransport bidi stream. */
class SessionStream extends AbstractStream {
  private readonly io: ReturnType<typeof pump>;
  constructor(
    private readonly stream: WebTransportStream,
    init: ConstructorParameters<typeof AbstractStream>[0],
  ) {
    super(init);
    this.io = pump(this, stream, () => this.onRemoteCloseWrite());
    this.io.read();
  }
  sendData(data: Uint8ArrayList): SendResult {
    return this.io.send(data);
  }
  sendReset(): void {
    this.stream.abort(0);
  }
  async sendCloseWrite(): Promise<void> {
    this.stream.end();
  }
  async sendCloseRead(): Promise<void> {
    this.io.cancel();
  }
  sendPause(): void {}
  sendResume(): void {
    this.io.read();
  }
}

class SessionMuxer extends AbstractStreamMuxer<SessionStream> {
  private next = 0;
  constructor(
    private readonly session: WebTransportSession,
    streams: ReturnType<typeof sessionStreams>,
    maConn: ConstructorParameters<typeof AbstractStreamMuxer>[0],
  ) {
    super(maConn, { protocol: '/webtransport', name: 'muxer' });
    streams.onMuxed((stream) => this.onRemoteStream(this.wrap(stream, 'inbound')));
  }
  private wrap(stream: WebTransportStream, direction: 'inbound' | 'outbound'): SessionStream {
    const id = String(this.next++);
    return new SessionStream(stream, {
      ...this.streamOptions,
      id,
      direction,
      log: this.log.newScope(`${direction}:${id}`),
      protocol: '',
    });
  }
  async onCreateStream(options: AbortOptions): Promise<SessionStream> {
    const stream = await this.session.openStream(true);
    options.signal?.throwIfAborted();
    return this.wrap(stream, 'outbound');
  }
  onData(): void {}
  sendReset(): void {
    this.session.close(1, 'reset');
  }
}

function sessionMuxer(
  session: WebTransportSession,
  streams: ReturnType<typeof sessionStreams>,
): StreamMuxerFactory {
  return {
    protocol: '/webtransport',
    createStreamMuxer: (maConn) => new SessionMuxer(session, streams, maConn),
  };
}

/** The session as libp2p's MultiaddrConnection: it carries no bytes itself, only open/closed. */
class SessionConnection extends AbstractMultiaddrConnection {
  constructor(
    private readonly session: WebTransportSession,
    init: ConstructorParameters<typeof AbstractMultiaddrConnection>[0],
  ) {
    super(init);
    void session.closed.then(() => this.onTransportClosed());
  }
  sendData(data: Uint8ArrayList): SendResult {
    return { sentBytes: data.byteLength, canSendMore: true };
  }
  sendReset(): void {
    this.session.close(1, 'reset');
  }
  async sendClose(): Promise<void> {
    this.session.close(0, '');
  }
  sendPause(): void {}
  sendResume(): void {}
}

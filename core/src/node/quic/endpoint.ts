/**
 * The QUIC server endpoint (api.ts `QuicServer`) over one `node:dgram` socket: routes each datagram
 * to its connection by Destination Connection ID, starts connections from valid client Initials,
 * answers unknown versions with Version Negotiation, and drops everything else without state.
 *
 * Defences (RFC 9000 §21): nothing for an unknown DCID is kept unless it is a v1 Initial in a
 * datagram of at least 1200 bytes; each source address has a budget of datagrams per second (a
 * flood from one address is dropped early and does not starve the others) and of concurrent
 * handshakes. A stateless drop never throws.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import type { QuicConnection, QuicServer, QuicServerOptions } from './api.ts';
import { CID_LENGTH, Connection } from './connection.ts';
import { MIN_INITIAL_DATAGRAM, type Packet, splitDatagram, versionNegotiation } from './packet.ts';
import { decodeTransportParameters, encodeTransportParameters } from './params.ts';
import { createTlsServer } from './tls/server.ts';

/** Datagrams per second one source address may send us (bucket refill rate and burst). */
const RATE_PER_SECOND = 50_000;
const RATE_BURST = 5_000;
/** Connection attempts (new Initials) per second and handshakes in progress per source address. */
const NEW_PER_SECOND = 20;
const NEW_BURST = 20;
const MAX_HANDSHAKES_PER_ADDRESS = 16;
/** Addresses we keep buckets for; the oldest are dropped beyond this (bounded memory under spoofing). */
const MAX_TRACKED_ADDRESSES = 10_000;

interface Bucket {
  tokens: number;
  newTokens: number;
  at: number;
  handshakes: number;
}

/** Starts a QUIC server bound to `options.host:options.port` (port 0: any free port). */
export async function createQuicServer(options: QuicServerOptions): Promise<QuicServer> {
  const socket: Socket = createSocket({ type: options.host.includes(':') ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(options.port, options.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  // Large socket buffers: bursts of a congestion window must not be dropped by the kernel.
  try {
    socket.setRecvBufferSize(4 * 1024 * 1024);
    socket.setSendBufferSize(4 * 1024 * 1024);
  } catch {
    // Some systems cap the sizes; the defaults still work, only slower under bursts.
  }
  const routes = new Map<string, Connection>();
  const buckets = new Map<string, Bucket>();
  const connections = new Set<Connection>();
  let handler: ((c: QuicConnection) => void) | undefined;
  let closing = false;
  let socketClosed = false;

  function bucketFor(address: string, now: number): Bucket {
    let b = buckets.get(address);
    if (!b) {
      if (buckets.size >= MAX_TRACKED_ADDRESSES) {
        // Forget the oldest idle one (Map keeps insertion order).
        for (const [key, old] of buckets) {
          if (old.handshakes === 0) {
            buckets.delete(key);
            break;
          }
        }
      }
      b = { tokens: RATE_BURST, newTokens: NEW_BURST, at: now, handshakes: 0 };
      buckets.set(address, b);
      return b;
    }
    const elapsed = (now - b.at) / 1000;
    b.at = now;
    b.tokens = Math.min(RATE_BURST, b.tokens + elapsed * RATE_PER_SECOND);
    b.newTokens = Math.min(NEW_BURST, b.newTokens + elapsed * NEW_PER_SECOND);
    return b;
  }

  function send(datagrams: Uint8Array[], rinfo: { address: string; port: number }): void {
    if (socketClosed) return;
    for (const d of datagrams) socket.send(d, rinfo.port, rinfo.address);
  }

  function accept(
    datagram: Uint8Array,
    first: Extract<Packet, { form: 'long' }>,
    packets: Packet[],
    rinfo: RemoteInfo,
    b: Bucket,
  ): void {
    // Only a v1 Initial of a full-size datagram may create state (RFC 9000 §14.1); its DCID must be
    // at least 8 bytes (§7.2).
    if (first.type !== 'initial' || datagram.length < MIN_INITIAL_DATAGRAM || first.dcid.length < 8) return;
    if (b.newTokens < 1 || b.handshakes >= MAX_HANDSHAKES_PER_ADDRESS || closing) return;
    b.newTokens -= 1;
    b.handshakes++;
    const originalDcid = first.dcid.slice();
    const cid = new Uint8Array(randomBytes(CID_LENGTH));
    const remote = { address: rinfo.address, port: rinfo.port };
    let handshaking = true;
    const connection: Connection = new Connection(
      {
        send: (datagrams) => send(datagrams, remote),
        cidIssued: (id) => routes.set(key(id), connection),
        cidRetired: (id) => {
          if (routes.get(key(id)) === connection) routes.delete(key(id));
        },
        gone: () => {
          connections.delete(connection);
          routes.delete(key(originalDcid));
          routes.delete(key(cid));
          if (handshaking) {
            handshaking = false;
            b.handshakes--;
          }
        },
      },
      {
        remote,
        originalDcid,
        peerCid: first.scid.slice(),
        cid,
        maxIdleTimeoutMs: options.maxIdleTimeoutMs ?? 30_000,
        maxDatagramFrameSize: options.maxDatagramFrameSize ?? 0,
        tls: (params) => {
          const { der, privateKey } = options.certificate();
          return createTlsServer({
            certificate: der,
            privateKey,
            alpn: options.alpn,
            transportParameters: encodeTransportParameters(params),
          });
        },
        decodeParameters: (raw) => decodeTransportParameters(raw, 'client'),
      },
    );
    routes.set(key(originalDcid), connection);
    routes.set(key(cid), connection);
    connections.add(connection);
    void connection.established.then(() => {
      if (handshaking) {
        handshaking = false;
        b.handshakes--;
      }
      // The client's original DCID stops routing once it uses ours (it may still retransmit
      // Initials with it until then; the connection drops those once Initial keys are gone).
      handler?.(connection);
    });
    connection.receive(datagram, packets);
  }

  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    try {
      const now = performance.now();
      const b = bucketFor(rinfo.address, now);
      if (b.tokens < 1) return;
      b.tokens -= 1;
      const datagram = new Uint8Array(msg.buffer, msg.byteOffset, msg.length);
      let packets: ReturnType<typeof splitDatagram>;
      try {
        packets = splitDatagram(datagram, CID_LENGTH);
      } catch {
        return; // not a QUIC packet we can read: stateless drop
      }
      const first = packets[0];
      if (!first) return;
      if (first.form === 'unsupported') {
        // Version Negotiation only for datagrams a client could legitimately start with (§6.1, §14.1).
        if (datagram.length >= MIN_INITIAL_DATAGRAM && b.newTokens >= 1) {
          b.newTokens -= 1;
          send([versionNegotiation(first)], rinfo);
        }
        return;
      }
      const connection = routes.get(key(first.dcid));
      const usable = packets.filter((p): p is Packet => p.form !== 'unsupported');
      if (connection) connection.receive(datagram, usable);
      else if (first.form === 'long') accept(datagram, first, usable, rinfo, b);
    } catch (e) {
      // Connections handle their peers' errors themselves; anything reaching here is our bug, and
      // one bad datagram must not take the listener down: report it and keep serving.
      console.error('QUIC endpoint: unexpected error on a datagram', e);
    }
  });

  const address = socket.address();
  return {
    address: { address: address.address, port: address.port },
    onConnection(h) {
      handler = h;
    },
    async close() {
      closing = true;
      for (const c of connections) c.close(0, 'server closing');
      // Give the CONNECTION_CLOSE datagrams a moment to leave before the socket goes.
      await new Promise((resolve) => setTimeout(resolve, 20));
      for (const c of connections) c.terminateNow();
      socketClosed = true;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

function key(cid: Uint8Array): string {
  return Buffer.from(cid.buffer, cid.byteOffset, cid.length).toString('latin1');
}

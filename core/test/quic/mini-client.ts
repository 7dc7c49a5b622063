/**
 * A minimal QUIC client for tests, built from our own wire pieces (packet.ts, protect.ts, keys.ts,
 * frames.ts, tls/schedule.ts, streams.ts' reassembly), to drive a server `Connection` in memory: no
 * socket, no Chromium. It sends a ClientHello (X25519, TLS_AES_128_GCM_SHA256, ALPN h3, transport
 * parameters), derives the handshake and application keys from the server's flight, checks the
 * server's Finished (not its certificate: tls.test.ts and the Chromium tests do that), sends its own
 * Finished, then exchanges 1-RTT frames and can update its keys (RFC 9001 §6).
 */
import { createHash, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { Level, PacketKeys } from '../../src/node/quic/api.ts';
import { decodeFrames, encodeFrames, type Frame } from '../../src/node/quic/frames.ts';
import {
  initialSecrets,
  nextTrafficSecret,
  packetKeys,
  updatedPacketKeys,
} from '../../src/node/quic/keys.ts';
import { longHeader, type Packet, shortHeader, splitDatagram } from '../../src/node/quic/packet.ts';
import { encodeTransportParameters } from '../../src/node/quic/params.ts';
import { type PacketProtection, packetProtection } from '../../src/node/quic/protect.ts';
import { RecvBuffer } from '../../src/node/quic/streams.ts';
import { handshakeMessage } from '../../src/node/quic/tls/messages.ts';
import { applicationSecrets, finishedData, handshakeSecrets } from '../../src/node/quic/tls/schedule.ts';

const LEVELS: readonly Level[] = ['initial', 'handshake', 'application'];
const SUITE = 'TLS_AES_128_GCM_SHA256';
const sha256 = (parts: readonly Uint8Array[]) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export class MiniClient {
  /** The Destination Connection ID of our first Initial (the server's Initial keys derive from it). */
  readonly originalDcid = new Uint8Array(randomBytes(8));
  readonly scid = new Uint8Array(randomBytes(8));
  serverCid: Uint8Array | undefined;
  /** Frames received, per level, in order. */
  readonly frames: Record<Level, Frame[]> = { initial: [], handshake: [], application: [] };
  /** Key phase bits of the 1-RTT packets received, in order. */
  readonly phasesSeen: number[] = [];
  serverFinishedVerified = false;
  phase: 0 | 1 = 0;

  private readonly write: (PacketProtection | undefined)[] = [undefined, undefined, undefined];
  private readonly read: (PacketProtection | undefined)[] = [undefined, undefined, undefined];
  private previousRead: PacketProtection | undefined;
  private readonly nextPn = [0, 0, 0];
  private readonly largest: (number | undefined)[] = [undefined, undefined, undefined];
  private readonly crypto = [new RecvBuffer(), new RecvBuffer(), new RecvBuffer()];
  private readonly pendingTls: Uint8Array[] = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];
  private readonly transcript: Uint8Array[] = [];
  private readonly key = generateKeyPairSync('x25519');
  private hs: ReturnType<typeof handshakeSecrets> | undefined;
  private app:
    | { client: Uint8Array; server: Uint8Array; clientKeys: PacketKeys; serverKeys: PacketKeys }
    | undefined;
  /** Our Finished, once the server's is verified: to send at the Handshake level. */
  finished: Uint8Array | undefined;

  constructor() {
    const s = initialSecrets(this.originalDcid);
    this.write[0] = packetProtection(packetKeys(SUITE, s.client));
    this.read[0] = packetProtection(packetKeys(SUITE, s.server));
  }

  /** The first flight: an Initial with the ClientHello, padded to 1200 bytes. */
  initial(): Uint8Array {
    const hello = this.clientHello();
    this.transcript.push(hello);
    const frames: Frame[] = [{ type: 'crypto', offset: 0, data: hello }];
    const sized = this.packet('initial', frames);
    return this.packet('initial', [...frames, { type: 'padding', length: 1200 - sized.length }], true);
  }

  /** One protected packet at `level` carrying `frames` (padded to the header-protection sample). */
  packet(level: Level, frames: readonly Frame[], rewind = false): Uint8Array {
    const space = LEVELS.indexOf(level);
    if (rewind) this.nextPn[space]--;
    const pn = this.nextPn[space]++;
    let payload = encodeFrames(frames);
    if (payload.length < 4) payload = Uint8Array.from([...payload, ...new Array(4 - payload.length).fill(0)]);
    const dcid = this.serverCid ?? this.originalDcid;
    const header =
      level === 'application'
        ? shortHeader(dcid, pn, 2, this.phase)
        : longHeader({ type: level, dcid, scid: this.scid }, pn, 2, payload.length);
    const keys = this.write[space];
    if (!keys) throw new Error(`No ${level} keys yet`);
    return keys.seal(header, payload, pn);
  }

  /** Takes a datagram from the server: opens its packets and processes their frames. */
  receive(datagram: Uint8Array): void {
    for (const p of splitDatagram(datagram, this.scid.length)) {
      if (p.form === 'unsupported') throw new Error('Version Negotiation from our own server');
      this.receivePacket(datagram, p);
    }
  }

  /** Starts the next key phase for what we send (RFC 9001 §6.1) and expects the server to follow. */
  updateKeys(): void {
    if (!this.app) throw new Error('No 1-RTT keys yet');
    const client = nextTrafficSecret(this.app.client);
    const server = nextTrafficSecret(this.app.server);
    this.app = {
      client,
      server,
      clientKeys: updatedPacketKeys(this.app.clientKeys, client),
      serverKeys: updatedPacketKeys(this.app.serverKeys, server),
    };
    this.write[2] = packetProtection(this.app.clientKeys);
    this.previousRead = this.read[2];
    this.read[2] = packetProtection(this.app.serverKeys);
    this.phase = this.phase === 0 ? 1 : 0;
  }

  /** An ACK frame for every packet received so far at `level` (they arrive in order in these tests). */
  ack(level: Level): Frame {
    const largest = this.largest[LEVELS.indexOf(level)] ?? 0;
    return { type: 'ack', delay: 0, ranges: [[0, largest]] };
  }

  private receivePacket(datagram: Uint8Array, p: Packet): void {
    const space = p.form === 'short' ? 2 : p.type === 'initial' ? 0 : 1;
    if (p.form === 'long') this.serverCid ??= p.scid.slice();
    const keys = this.read[space];
    if (!keys) return;
    const header = keys.openHeader(datagram, p, this.largest[space]);
    const phase = (header.firstByte >> 2) & 1;
    const opener = space === 2 && phase !== this.phase ? this.previousRead : keys;
    const opened = opener?.openPayload(datagram, p, header);
    if (!opened) throw new Error(`A ${LEVELS[space]} packet from the server did not authenticate`);
    if (space === 2) this.phasesSeen.push(phase);
    this.largest[space] = Math.max(this.largest[space] ?? 0, opened.packetNumber);
    const level = LEVELS[space] as Level;
    for (const f of decodeFrames(opened.payload, level, { datagrams: true })) {
      this.frames[level].push(f);
      if (f.type === 'crypto') {
        this.crypto[space]!.insert(f.offset, f.data, false);
        for (const chunk of this.crypto[space]!.read()) this.onTls(space, chunk);
      }
    }
  }

  /** Handshake bytes in order at one level: split into messages and act on them. */
  private onTls(space: number, chunk: Uint8Array): void {
    let buf = Buffer.concat([this.pendingTls[space]!, chunk]);
    while (buf.length >= 4) {
      const length = (buf[1]! << 16) | (buf[2]! << 8) | buf[3]!;
      if (buf.length < 4 + length) break;
      const message = buf.subarray(0, 4 + length);
      buf = buf.subarray(4 + length);
      this.onMessage(message);
    }
    this.pendingTls[space] = buf;
  }

  private onMessage(message: Uint8Array): void {
    const type = message[0];
    if (type === 2) {
      // ServerHello: the server's X25519 share gives the handshake secrets.
      this.transcript.push(message);
      const share = serverShare(message.subarray(4));
      const ecdhe = diffieHellman({
        privateKey: this.key.privateKey,
        publicKey: createPublicKey({
          key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(share).toString('base64url') },
          format: 'jwk',
        }),
      });
      this.hs = handshakeSecrets(ecdhe, sha256(this.transcript));
      this.write[1] = packetProtection(packetKeys(SUITE, this.hs.client));
      this.read[1] = packetProtection(packetKeys(SUITE, this.hs.server));
      return;
    }
    if (type === 20 && this.hs) {
      const expected = finishedData(this.hs.server, sha256(this.transcript));
      if (Buffer.compare(Buffer.from(expected), Buffer.from(message.subarray(4))) !== 0)
        throw new Error("The server's Finished does not verify");
      this.serverFinishedVerified = true;
      this.transcript.push(message);
      const hash = sha256(this.transcript);
      const secrets = applicationSecrets(this.hs.secret, hash);
      const clientKeys = packetKeys(SUITE, secrets.client);
      const serverKeys = packetKeys(SUITE, secrets.server);
      this.app = { client: secrets.client, server: secrets.server, clientKeys, serverKeys };
      this.write[2] = packetProtection(clientKeys);
      this.read[2] = packetProtection(serverKeys);
      this.finished = handshakeMessage(20, finishedData(this.hs.client, hash));
      return;
    }
    this.transcript.push(message); // EncryptedExtensions, Certificate, CertificateVerify
  }

  private clientHello(): Uint8Array {
    const u16 = (n: number) => [n >> 8, n & 0xff];
    const vec16 = (b: readonly number[]) => [...u16(b.length), ...b];
    const ext = (type: number, body: readonly number[]) => [...u16(type), ...vec16(body)];
    const jwk = this.key.publicKey.export({ format: 'jwk' });
    const share = [...Buffer.from(jwk.x as string, 'base64url')];
    const params = encodeTransportParameters({
      initialSourceConnectionId: this.scid,
      initialMaxData: 1 << 20,
      initialMaxStreamDataBidiLocal: 1 << 18,
      initialMaxStreamDataBidiRemote: 1 << 18,
      initialMaxStreamDataUni: 1 << 18,
      initialMaxStreamsBidi: 16,
      initialMaxStreamsUni: 16,
      maxIdleTimeout: 30_000,
    });
    const extensions = [
      ...ext(43, [2, 3, 4]), // supported_versions: TLS 1.3
      ...ext(10, vec16(u16(0x1d))), // supported_groups: x25519
      ...ext(13, vec16(u16(0x0403))), // signature_algorithms: ecdsa_secp256r1_sha256
      ...ext(51, vec16([...u16(0x1d), ...vec16(share)])), // key_share
      ...ext(16, vec16([2, 0x68, 0x33])), // ALPN h3
      ...ext(57, [...params]), // quic_transport_parameters
    ];
    const body = [3, 3, ...randomBytes(32), 0, ...vec16(u16(0x1301)), 1, 0, ...vec16(extensions)];
    return handshakeMessage(1, Uint8Array.from(body));
  }
}

/** The X25519 key_share (extension 51) of a ServerHello body. */
function serverShare(body: Uint8Array): Uint8Array {
  let at = 2 + 32;
  at += 1 + body[at]!; // legacy_session_id_echo
  at += 2 + 1; // cipher_suite, legacy_compression_method
  const end = at + 2 + ((body[at]! << 8) | body[at + 1]!);
  at += 2;
  while (at < end) {
    const type = (body[at]! << 8) | body[at + 1]!;
    const length = (body[at + 2]! << 8) | body[at + 3]!;
    if (type === 51) return body.subarray(at + 8, at + 4 + length); // group(2), key length(2), key
    at += 4 + length;
  }
  throw new Error('ServerHello without a key_share');
}

/**
 * The server `Connection` state machine without Chromium or a socket: our minimal client
 * (mini-client.ts) against a real Connection with the real TLS server and certificate. Handshake
 * (anti-amplification, padding, keys per level, HANDSHAKE_DONE), a stream both ways, the client's
 * key update followed by the server, and the client's close.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QuicStream } from '../../src/node/quic/api.ts';
import { selfSignedCertificate } from '../../src/node/quic/cert.ts';
import { CID_LENGTH, Connection } from '../../src/node/quic/connection.ts';
import type { Frame } from '../../src/node/quic/frames.ts';
import { type Packet, splitDatagram } from '../../src/node/quic/packet.ts';
import { decodeTransportParameters, encodeTransportParameters } from '../../src/node/quic/params.ts';
import { createTlsServer } from '../../src/node/quic/tls/server.ts';
import { MiniClient } from './mini-client.ts';

const DAY = 24 * 3600 * 1000;
const cert = selfSignedCertificate(new Date(Date.now() - DAY), new Date(Date.now() + 10 * DAY));
const tick = () => new Promise((resolve) => setImmediate(resolve));
const open: Connection[] = [];
afterEach(() => {
  for (const c of open.splice(0)) c.terminateNow();
});

/** A server Connection for `client`'s first Initial; what it sends lands in `out`. */
function serverFor(client: MiniClient, out: Uint8Array[]): Connection {
  const connection = new Connection(
    { send: (ds) => out.push(...ds), cidIssued: () => {}, cidRetired: () => {}, gone: () => {} },
    {
      remote: { address: '127.0.0.1', port: 1 },
      originalDcid: client.originalDcid,
      peerCid: client.scid,
      cid: new Uint8Array(CID_LENGTH).fill(9),
      maxIdleTimeoutMs: 30_000,
      maxDatagramFrameSize: 0,
      tls: (params) =>
        createTlsServer({
          certificate: cert.der,
          privateKey: cert.privateKey,
          alpn: ['h3'],
          transportParameters: encodeTransportParameters(params),
        }),
      decodeParameters: (raw) => decodeTransportParameters(raw, 'client'),
    },
  );
  open.push(connection);
  return connection;
}

function deliver(connection: Connection, datagram: Uint8Array): void {
  const packets = splitDatagram(datagram, CID_LENGTH).filter((p): p is Packet => p.form !== 'unsupported');
  connection.receive(datagram, packets);
}

/** Runs the handshake to completion; returns the server's datagrams so far. */
async function handshake(client: MiniClient, connection: Connection, out: Uint8Array[]) {
  const first = client.initial();
  deliver(connection, first);
  await tick();
  const flight = out.splice(0);
  for (const d of flight) client.receive(d);
  deliver(
    connection,
    client.packet('handshake', [
      client.ack('handshake'),
      { type: 'crypto', offset: 0, data: client.finished! },
    ]),
  );
  await connection.established;
  await tick();
  for (const d of out.splice(0)) client.receive(d);
  return { first, flight };
}

const frames = (client: MiniClient, type: Frame['type']) =>
  client.frames.application.filter((f) => f.type === type);

/** Everything the server sent on stream `id`, in order, and whether the FIN came. */
function streamData(client: MiniClient, id: number): { text: string; fin: boolean } {
  const parts = client.frames.application
    .filter((f): f is Extract<Frame, { type: 'stream' }> => f.type === 'stream' && f.id === id)
    .sort((a, b) => a.offset - b.offset);
  return {
    text: Buffer.concat(parts.map((p) => p.data)).toString(),
    fin: parts.some((p) => p.fin),
  };
}

describe('Connection, driven by a minimal client in memory', () => {
  it('completes the handshake within the amplification limit and confirms it with HANDSHAKE_DONE', async () => {
    const client = new MiniClient();
    const out: Uint8Array[] = [];
    const connection = serverFor(client, out);
    const { first, flight } = await handshake(client, connection, out);
    expect(first.length).toBe(1200);
    // RFC 9000 §8.1: before the address is validated, at most 3x what the client sent.
    expect(flight.reduce((n, d) => n + d.length, 0)).toBeLessThanOrEqual(3 * first.length);
    // RFC 9000 §14.1: datagrams carrying an Initial are padded to 1200 bytes.
    expect(flight[0]!.length).toBeGreaterThanOrEqual(1200);
    expect(client.serverFinishedVerified).toBe(true);
    expect(connection.alpn).toBe('h3');
    expect(frames(client, 'handshake_done')).toHaveLength(1);
    // Our connection IDs go out too (the client allows 2 by default: one more than the first).
    expect(frames(client, 'new_connection_id').length).toBeGreaterThanOrEqual(1);
  });

  it('carries a stream both ways, follows the client key update, and ends on its close', async () => {
    const client = new MiniClient();
    const out: Uint8Array[] = [];
    const connection = serverFor(client, out);
    connection.onStream((stream: QuicStream) => {
      void (async () => {
        const chunks: Uint8Array[] = [];
        for await (const c of stream.readable) chunks.push(c);
        await stream.write(Buffer.from(`echo ${Buffer.concat(chunks).toString()}`));
        stream.end();
      })();
    });
    await handshake(client, connection, out);

    deliver(
      connection,
      client.packet('application', [
        { type: 'stream', id: 0, offset: 0, data: Buffer.from('one'), fin: true },
      ]),
    );
    await tick();
    await tick();
    for (const d of out.splice(0)) client.receive(d);
    expect(streamData(client, 0)).toEqual({ text: 'echo one', fin: true });
    expect(client.phasesSeen.every((p) => p === 0)).toBe(true);

    // Key update (RFC 9001 §6): the client sends in phase 1; the server must open it and answer in phase 1.
    client.updateKeys();
    const seenBefore = client.phasesSeen.length;
    deliver(
      connection,
      client.packet('application', [
        client.ack('application'),
        { type: 'stream', id: 4, offset: 0, data: Buffer.from('two'), fin: true },
      ]),
    );
    await tick();
    await tick();
    for (const d of out.splice(0)) client.receive(d);
    expect(streamData(client, 4)).toEqual({ text: 'echo two', fin: true });
    expect(client.phasesSeen.slice(seenBefore)).not.toHaveLength(0);
    expect(client.phasesSeen.slice(seenBefore).every((p) => p === 1)).toBe(true);

    deliver(
      connection,
      client.packet('application', [
        { type: 'connection_close', app: true, code: 7, frameType: 0, reason: 'bye' },
      ]),
    );
    expect(await connection.closed).toEqual({ code: 7, reason: 'bye', remote: true });
  });

  it('closes with CRYPTO_ERROR decode_error, in an Initial, for a ClientHello that does not parse', async () => {
    const client = new MiniClient();
    const out: Uint8Array[] = [];
    const connection = serverFor(client, out);
    const broken = Uint8Array.from([1, 0, 0, 4, 3, 3, 1, 2]); // a 4-byte ClientHello body
    deliver(
      connection,
      client.packet('initial', [
        { type: 'crypto', offset: 0, data: broken },
        { type: 'padding', length: 1100 },
      ]),
    );
    expect(await connection.closed).toMatchObject({ code: 0x100 + 50, remote: false });
    for (const d of out.splice(0)) client.receive(d);
    expect(client.frames.initial.find((f) => f.type === 'connection_close')).toMatchObject({
      app: false,
      code: 0x100 + 50, // CRYPTO_ERROR + decode_error
    });
  });
});

/**
 * Test harness: runs our QUIC TLS server behind a TCP socket with a TLS 1.3 record layer (RFC 8446
 * §5), so Node's own TLS client (OpenSSL) can drive a real handshake against it. Handshake messages
 * at the Initial level travel as plaintext records, later ones as AEAD records under the traffic
 * keys the server hands out; after the handshake the harness answers one application record.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { CipherSuite, Level, TlsServer } from '../../src/node/quic/api.ts';
import { hkdfExpandLabel } from '../../src/node/quic/keys.ts';
import { TlsError } from '../../src/node/quic/tls/alert.ts';

const HANDSHAKE = 22;
const APPLICATION_DATA = 23;
const ALERT = 21;

interface RecordKeys {
  readonly suite: CipherSuite;
  readonly key: Uint8Array;
  readonly iv: Uint8Array;
  seq: number;
}

function recordKeys(suite: CipherSuite, secret: Uint8Array): RecordKeys {
  const keyLength = suite === 'TLS_AES_128_GCM_SHA256' ? 16 : 32;
  const empty = new Uint8Array(0);
  return {
    suite,
    key: hkdfExpandLabel(secret, 'key', empty, keyLength),
    iv: hkdfExpandLabel(secret, 'iv', empty, 12),
    seq: 0,
  };
}

function nonce(keys: RecordKeys): Buffer {
  const n = Buffer.from(keys.iv);
  n.writeUInt32BE((n.readUInt32BE(8) ^ keys.seq) >>> 0, 8);
  keys.seq++;
  return n;
}

const algorithm = (suite: CipherSuite) =>
  suite === 'TLS_AES_128_GCM_SHA256' ? 'aes-128-gcm' : 'chacha20-poly1305';

function seal(keys: RecordKeys, type: number, content: Uint8Array): Buffer {
  const inner = Buffer.concat([content, Buffer.of(type)]);
  const header = Buffer.from([APPLICATION_DATA, 3, 3, (inner.length + 16) >> 8, (inner.length + 16) & 0xff]);
  const cipher = createCipheriv(algorithm(keys.suite) as 'aes-128-gcm', keys.key, nonce(keys), {
    authTagLength: 16,
  });
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(inner), cipher.final(), cipher.getAuthTag()]);
  return Buffer.concat([header, body]);
}

function open(keys: RecordKeys, header: Buffer, body: Buffer): { type: number; content: Buffer } {
  const decipher = createDecipheriv(algorithm(keys.suite) as 'aes-128-gcm', keys.key, nonce(keys), {
    authTagLength: 16,
  });
  decipher.setAAD(header);
  decipher.setAuthTag(body.subarray(body.length - 16));
  const inner = Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]);
  let end = inner.length - 1;
  while (end >= 0 && inner[end] === 0) end--;
  return { type: inner[end]!, content: inner.subarray(0, end) };
}

export interface HarnessResult {
  /** The alert our server raised, if it failed. */
  alert?: number;
  complete: boolean;
  /** Application data the client sent after the handshake, decrypted with the client's traffic key. */
  received: string[];
}

/**
 * Listens on 127.0.0.1; each connection gets a fresh server from `makeServer`. Application data
 * from the client is answered with `reply(text)` under the server's application key.
 */
export async function listenTlsOverTcp(
  makeServer: () => TlsServer,
  reply: (text: string) => string,
): Promise<{ server: Server; port: number; results: HarnessResult[] }> {
  const results: HarnessResult[] = [];
  const server = createServer((socket: Socket) => {
    const tls = makeServer();
    const result: HarnessResult = { complete: false, received: [] };
    results.push(result);
    let pending = Buffer.alloc(0);
    const read: Partial<Record<Level, RecordKeys>> = {};
    const write: Partial<Record<Level, RecordKeys>> = {};
    let readLevel: Level = 'initial';

    const deliver = (level: Level, data: Uint8Array) => {
      const out = tls.receive(level, data);
      for (const s of out.secrets) {
        read[s.level] = recordKeys(s.suite, s.read);
        write[s.level] = recordKeys(s.suite, s.write);
      }
      for (const { level: at, data: bytes } of out.send) {
        if (at === 'initial') {
          socket.write(
            Buffer.concat([Buffer.from([HANDSHAKE, 3, 3, bytes.length >> 8, bytes.length & 0xff]), bytes]),
          );
        } else {
          socket.write(seal(write[at]!, HANDSHAKE, bytes));
        }
      }
      if (out.secrets.length > 0) readLevel = 'handshake';
      if (out.complete) {
        result.complete = true;
        readLevel = 'application';
      }
    };

    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      try {
        while (pending.length >= 5) {
          const length = pending.readUInt16BE(3);
          if (pending.length < 5 + length) break;
          const header = pending.subarray(0, 5);
          const body = pending.subarray(5, 5 + length);
          pending = pending.subarray(5 + length);
          const type = header[0];
          if (type === 20) continue; // ChangeCipherSpec (middlebox compatibility), ignored by TLS 1.3
          if (type === HANDSHAKE) {
            deliver('initial', body);
          } else if (type === APPLICATION_DATA) {
            const record = open(read[readLevel]!, header, body);
            if (record.type === HANDSHAKE) deliver(readLevel, record.content);
            else if (record.type === APPLICATION_DATA) {
              const text = record.content.toString('utf8');
              result.received.push(text);
              socket.write(seal(write.application!, APPLICATION_DATA, Buffer.from(reply(text))));
            }
          } else if (type === ALERT) {
            socket.destroy();
            return;
          }
        }
      } catch (e) {
        if (!(e instanceof TlsError)) throw e;
        result.alert = e.alert;
        // A plaintext fatal alert, so the client reports why.
        socket.end(Buffer.from([ALERT, 3, 3, 0, 2, 2, e.alert]));
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return { server, port: address.port, results };
}

/**
 * The request/response machinery of the client<->relay contract, between real libp2p nodes on
 * loopback: a relay (createRelayNode) serving and light nodes (createLightNode) calling.
 */
import { describe, expect, it } from 'vitest';
import { decodeCbor } from '../../src/encoding/cbor.ts';
import { DreggError, isDreggError } from '../../src/errors.ts';
import { dialRelay } from '../../src/net/node.ts';
import { callRpc, encodeFrame, type RpcOp, rpcProtocol, serveRpc } from '../../src/net/rpc.ts';
import { addressesOf, light, rawExchange, relay, sleep, watchUnhandledRejections } from './helpers.ts';

watchUnhandledRejections();

const echo: RpcOp = { name: 'test/echo', maxRequest: 1024, maxResponse: 1024 };

/** The response frame's CBOR, after its one-byte or two-byte varint length. */
function responseOf(bytes: Uint8Array): unknown {
  const headerLength = bytes[0]! & 0x80 ? 2 : 1;
  return decodeCbor(bytes.subarray(headerLength));
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'OK';
  } catch (e) {
    return isDreggError(e) ? e.code : `FOREIGN ${String(e)}`;
  }
}

describe('rpc between a relay and a light node', () => {
  it('round-trips over ws and over webrtc-direct', async () => {
    const r = await relay();
    const seen: string[] = [];
    await serveRpc(r, echo, async (req) => req, {
      observer: { served: (op, outcome) => seen.push(`${op} ${outcome}`) },
    });
    for (const kind of ['ws', 'webrtc-direct'] as const) {
      const c = await light();
      const conn = await dialRelay(c, addressesOf(r, kind));
      expect(conn.remoteAddr.toString()).toContain(`/${kind}`);
      expect([...(await callRpc(c, conn, echo, Uint8Array.of(1, 2, 3)))]).toEqual([1, 2, 3]);
      // By peer id, over the connection already open; and an empty body.
      expect((await callRpc(c, r.peerId, echo, new Uint8Array(0))).length).toBe(0);
      const big = new Uint8Array(1024).fill(7);
      expect(await callRpc(c, conn, echo, big)).toEqual(big);
    }
    expect(seen).toContain('test/echo ok');
  });

  it('dials webrtc-direct first and reports every address tried when none answers', async () => {
    const r = await relay();
    const c = await light();
    const conn = await dialRelay(c, [...addressesOf(r, 'ws'), ...addressesOf(r, 'webrtc-direct')]);
    expect(conn.remoteAddr.toString()).toContain('/webrtc-direct');
    const dead = ['/ip4/127.0.0.1/tcp/1/ws', 'not a multiaddr'];
    const error = await dialRelay(c, dead, { limits: { dialTimeoutMs: 3000 } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DreggError);
    expect((error as DreggError).code).toBe('E_UNREACHABLE');
    expect((error as DreggError).message).toContain('/ip4/127.0.0.1/tcp/1/ws');
    expect((error as DreggError).message).toContain('not a multiaddr');
  });

  it("reports a handler's DreggError with its code and message, anything else as E_INTERNAL", async () => {
    const r = await relay();
    const notFound: RpcOp = { name: 'test/not-found', maxRequest: 64, maxResponse: 64 };
    const broken: RpcOp = { name: 'test/broken', maxRequest: 64, maxResponse: 64 };
    const outcomes: string[] = [];
    const observer = { served: (_op: string, outcome: string) => outcomes.push(outcome) };
    await serveRpc(
      r,
      notFound,
      async () => {
        throw new DreggError('E_NOT_FOUND', 'no such cell');
      },
      { observer },
    );
    await serveRpc(
      r,
      broken,
      async () => {
        throw new Error('secret key material 0xdeadbeef');
      },
      { observer },
    );
    const c = await light();
    const conn = await dialRelay(c, addressesOf(r, 'ws'));
    await expect(callRpc(c, conn, notFound, Uint8Array.of(1))).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
      message: 'no such cell',
    });
    const internal = await callRpc(c, conn, broken, Uint8Array.of(1)).catch((e: unknown) => e);
    expect(internal).toMatchObject({ code: 'E_INTERNAL', message: 'Internal error' });
    expect(outcomes.sort()).toEqual(['E_INTERNAL', 'E_NOT_FOUND']);
  });

  it('refuses an oversized request without reading it, and keeps serving', async () => {
    const r = await relay();
    const dropped: string[] = [];
    let handled = 0;
    await serveRpc(
      r,
      echo,
      async (req) => {
        handled++;
        return req;
      },
      { observer: { dropped: (_op, reason) => dropped.push(reason) } },
    );
    const c = await light();
    const conn = await dialRelay(c, addressesOf(r, 'ws'));
    // The caller refuses before sending.
    expect(await codeOf(callRpc(c, conn, echo, new Uint8Array(1025)))).toBe('E_TOO_LARGE');
    // A raw peer that declares 1025 bytes is answered E_TOO_LARGE (or reset) before the body is read.
    const declared = await rawExchange(c, r.peerId, rpcProtocol(echo), encodeFrame(new Uint8Array(1025)));
    if (declared.bytes.length > 0)
      expect(responseOf(declared.bytes)).toMatchObject({ err: { code: 'E_TOO_LARGE' } });
    // Megabytes past the limit: refused; the stream is answered or reset, never buffered.
    const huge = await rawExchange(c, r.peerId, rpcProtocol(echo), encodeFrame(new Uint8Array(4 << 20)));
    if (huge.bytes.length > 0) expect(responseOf(huge.bytes)).toMatchObject({ err: { code: 'E_TOO_LARGE' } });
    expect(handled).toBe(0);
    expect(dropped.filter((d) => d === 'too-large').length).toBe(2);
    expect([...(await callRpc(c, conn, echo, Uint8Array.of(9)))]).toEqual([9]);
  });

  it('answers malformed frames with E_DECODE or a reset, and keeps serving', async () => {
    const r = await relay();
    let handled = 0;
    await serveRpc(r, echo, async (req) => {
      handled++;
      return req;
    });
    const c = await light();
    await dialRelay(c, addressesOf(r, 'ws'));
    const protocol = rpcProtocol(echo);
    const cases = [
      Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80), // a varint that never ends
      Uint8Array.of(0x85, 0x00), // a non-minimal length
      Uint8Array.of(10, 1, 2, 3), // truncated: 10 declared, 3 sent
      Uint8Array.of(2, 1, 2, 3), // bytes after the frame
      new Uint8Array(0), // nothing at all
    ];
    for (const bytes of cases) {
      const result = await rawExchange(c, r.peerId, protocol, bytes);
      if (result.bytes.length > 0)
        expect(responseOf(result.bytes)).toMatchObject({ err: { code: 'E_DECODE' } });
      else expect(result.error).toBeDefined();
    }
    expect(handled).toBe(0);
    expect([...(await callRpc(c, r.peerId, echo, Uint8Array.of(5)))]).toEqual([5]);
  });

  it('refuses an oversized or malformed response on the caller side', async () => {
    const r = await relay();
    const op: RpcOp = { name: 'test/liar', maxRequest: 64, maxResponse: 16 };
    let answer: Uint8Array = new Uint8Array(0);
    // A misbehaving server written against libp2p directly, not with serveRpc.
    await r.handle(rpcProtocol(op), async (stream) => {
      for await (const _ of stream) break;
      stream.send(answer);
      await stream.close().catch(() => undefined);
    });
    const c = await light();
    const conn = await dialRelay(c, addressesOf(r, 'ws'));
    answer = encodeFrame(new Uint8Array(4096)); // a frame past the response limit
    expect(await codeOf(callRpc(c, conn, op, Uint8Array.of(1)))).toBe('E_TOO_LARGE');
    answer = encodeFrame(Uint8Array.of(0xa1, 0x62, 0x6f, 0x6b, 0x51, ...new Uint8Array(17))); // {ok: 17 bytes}
    expect(await codeOf(callRpc(c, conn, op, Uint8Array.of(1)))).toBe('E_TOO_LARGE');
    answer = encodeFrame(Uint8Array.of(0xff, 0x00)); // not CBOR
    expect(await codeOf(callRpc(c, conn, op, Uint8Array.of(1)))).toBe('E_DECODE');
    answer = encodeFrame(new Uint8Array(0)).subarray(0, 0); // no answer at all
    expect(await codeOf(callRpc(c, conn, op, Uint8Array.of(1)))).toBe('E_DECODE');
    const unknown = new TextEncoder().encode('E_FROM_THE_FUTURE');
    answer = encodeFrame(
      Uint8Array.of(
        0xa1,
        0x63,
        0x65,
        0x72,
        0x72,
        0xa2,
        0x64,
        0x63,
        0x6f,
        0x64,
        0x65,
        0x71,
        ...unknown,
        0x67,
        ...new TextEncoder().encode('message'),
        0x60,
      ),
    );
    expect(await codeOf(callRpc(c, conn, op, Uint8Array.of(1)))).toBe('E_INTERNAL');
  });

  it('times out on both sides', async () => {
    const r = await relay();
    const slowServer: RpcOp = { name: 'test/slow-server', maxRequest: 64, maxResponse: 64, timeoutMs: 300 };
    const slowClient: RpcOp = { name: 'test/slow-client', maxRequest: 64, maxResponse: 64 };
    const never = () => new Promise<Uint8Array>(() => {});
    let aborted = false;
    await serveRpc(r, slowServer, (_req, _from, { signal }) => {
      signal.addEventListener('abort', () => {
        aborted = true;
      });
      return never();
    });
    await serveRpc(r, slowClient, async () => {
      await sleep(1000);
      return new Uint8Array(0);
    });
    const c = await light();
    const conn = await dialRelay(c, addressesOf(r, 'ws'));
    // The server's deadline passes first: it answers E_TIMEOUT and aborts the handler's signal.
    const t0 = Date.now();
    expect(await codeOf(callRpc(c, conn, slowServer, Uint8Array.of(1), { timeoutMs: 10_000 }))).toBe(
      'E_TIMEOUT',
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(aborted).toBe(true);
    // The caller's deadline passes first; and a caller's own abort signal reads the same.
    expect(await codeOf(callRpc(c, conn, slowClient, Uint8Array.of(1), { timeoutMs: 200 }))).toBe(
      'E_TIMEOUT',
    );
    expect(
      await codeOf(callRpc(c, conn, slowClient, Uint8Array.of(1), { signal: AbortSignal.timeout(100) })),
    ).toBe('E_TIMEOUT');
    expect([...(await callRpc(c, conn, slowClient, Uint8Array.of(1), { timeoutMs: 10_000 }))]).toEqual([]);
  });

  it('reports an operation the peer does not serve as E_UNSUPPORTED, an unreachable peer as E_UNREACHABLE', async () => {
    const r = await relay();
    const c = await light();
    await dialRelay(c, addressesOf(r, 'ws'));
    expect(
      await codeOf(
        callRpc(c, r.peerId, { name: 'test/nobody', maxRequest: 8, maxResponse: 8 }, new Uint8Array(0)),
      ),
    ).toBe('E_UNSUPPORTED');
    const gone = await relay();
    const goneAddress = addressesOf(gone, 'ws');
    await gone.stop();
    const { multiaddr } = await import('@multiformats/multiaddr');
    expect(
      await codeOf(callRpc(c, multiaddr(goneAddress[0]!), echo, new Uint8Array(0), { timeoutMs: 5000 })),
    ).toBe('E_UNREACHABLE');
  });

  it('rate-limits a flooding peer while another peer is still served', async () => {
    const r = await relay({ rpcInFlightPerPeer: 4, rpcMaxInboundStreams: 64 });
    const slow: RpcOp = { name: 'test/slow', maxRequest: 64, maxResponse: 64 };
    const dropped: string[] = [];
    await serveRpc(
      r,
      slow,
      async (req) => {
        await sleep(300);
        return req;
      },
      {
        observer: { dropped: (_op, reason) => dropped.push(reason) },
        limits: { rpcInFlightPerPeer: 4, rpcMaxInboundStreams: 64 },
      },
    );
    const flooder = await light();
    const honest = await light();
    const fc = await dialRelay(flooder, addressesOf(r, 'ws'));
    const hc = await dialRelay(honest, addressesOf(r, 'webrtc-direct'));
    const flood = Array.from({ length: 40 }, (_, i) => codeOf(callRpc(flooder, fc, slow, Uint8Array.of(i))));
    await sleep(50);
    const fair = Array.from({ length: 3 }, (_, i) => codeOf(callRpc(honest, hc, slow, Uint8Array.of(i))));
    const floodCodes = await Promise.all(flood);
    expect(await Promise.all(fair)).toEqual(['OK', 'OK', 'OK']);
    expect(floodCodes.filter((c) => c === 'OK').length).toBeGreaterThan(0);
    expect(floodCodes.filter((c) => c === 'E_RATE_LIMITED').length).toBeGreaterThan(20);
    expect(floodCodes.every((c) => c === 'OK' || c === 'E_RATE_LIMITED')).toBe(true);
    expect(dropped.filter((d) => d === 'rate-limited').length).toBeGreaterThan(20);
  });
});

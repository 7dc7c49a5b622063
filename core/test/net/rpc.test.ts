/**
 * The request/response machinery of the client<->relay contract, between real libp2p nodes on
 * loopback: a relay (createRelayNode) serving and light nodes (createLightNode) calling.
 */
import { describe, expect, it } from 'vitest';
import { decodeCbor } from '../../src/encoding/cbor.ts';
import { DreggError, isDreggError } from '../../src/errors.ts';
import { dialRelay } from '../../src/net/node.ts';
import { callRpc, encodeFrame, FrameReader, type RpcOp, rpcProtocol, serveRpc } from '../../src/net/rpc.ts';
import { addressesOf, light, rawExchange, relay, sleep, watchUnhandledRejections } from './helpers.ts';

watchUnhandledRejections();

const echo: RpcOp = { name: 'test/echo', maxRequest: 1024, maxResponse: 1024 };

/** The response frames in `bytes`: each one's request id and CBOR body, in arrival order. */
function responsesOf(bytes: Uint8Array): { id: number; value: unknown }[] {
  const out: { id: number; value: unknown }[] = [];
  new FrameReader(1 << 20, {
    frame: (id, body) => out.push({ id, value: decodeCbor(body) }),
    tooLarge: () => out.push({ id: -1, value: 'too large' }),
    malformed: (_id, reason) => out.push({ id: -1, value: reason }),
  }).push(bytes);
  return out;
}

/** The one response frame in `bytes`. */
function responseOf(bytes: Uint8Array, id: number): unknown {
  const responses = responsesOf(bytes);
  expect(responses.map((r) => r.id)).toEqual([id]);
  return responses[0]!.value;
}

/** The client's open streams of `op` on `conn`. */
function streamsOf(conn: { streams: { protocol?: string }[] }, op: RpcOp): number {
  return conn.streams.filter((s) => s.protocol === rpcProtocol(op)).length;
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
    // A raw peer that declares 1025 bytes is answered E_TOO_LARGE for that id (or reset) before the
    // body is read.
    const declared = await rawExchange(c, r.peerId, rpcProtocol(echo), encodeFrame(7, new Uint8Array(1025)));
    if (declared.bytes.length > 0)
      expect(responseOf(declared.bytes, 7)).toMatchObject({ err: { code: 'E_TOO_LARGE' } });
    // Megabytes past the limit: refused; the stream is answered or reset, never buffered.
    const huge = await rawExchange(c, r.peerId, rpcProtocol(echo), encodeFrame(8, new Uint8Array(4 << 20)));
    if (huge.bytes.length > 0)
      expect(responseOf(huge.bytes, 8)).toMatchObject({ err: { code: 'E_TOO_LARGE' } });
    // A good request ahead of the oversized one on the same stream is still answered or reset with it.
    const both = await rawExchange(
      c,
      r.peerId,
      rpcProtocol(echo),
      Uint8Array.of(...encodeFrame(1, Uint8Array.of(1)), ...encodeFrame(2, new Uint8Array(2000))),
    );
    for (const { id, value } of responsesOf(both.bytes)) {
      if (id === 2) expect(value).toMatchObject({ err: { code: 'E_TOO_LARGE' } });
      else expect(id).toBe(1);
    }
    expect(handled).toBeLessThanOrEqual(1);
    expect(dropped.filter((d) => d === 'too-large').length).toBe(3);
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
    // Unreadable framing: the stream cannot resync, so it is reset (no request id to answer).
    for (const bytes of [
      Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80), // a varint that never ends
      Uint8Array.of(0x85, 0x00), // a non-minimal length
      Uint8Array.of(2, 1, 2), // too short to hold a request id
    ]) {
      const result = await rawExchange(c, r.peerId, protocol, bytes);
      expect(result.bytes.length).toBe(0);
      expect(result.error).toBeDefined();
    }
    // Truncated after its id (10 declared, 6 sent): that id is answered E_DECODE.
    const truncated = await rawExchange(c, r.peerId, protocol, Uint8Array.of(10, 0, 0, 0, 9, 1, 2));
    if (truncated.bytes.length > 0)
      expect(responseOf(truncated.bytes, 9)).toMatchObject({ err: { code: 'E_DECODE' } });
    else expect(truncated.error).toBeDefined();
    // Nothing at all: the server closes its side too.
    expect(await rawExchange(c, r.peerId, protocol, new Uint8Array(0))).toEqual({ bytes: new Uint8Array(0) });
    expect(handled).toBe(0);
    // Frames back to back in one write are requests in a pipeline, each answered by its id.
    const pipelined = await rawExchange(
      c,
      r.peerId,
      protocol,
      Uint8Array.of(...encodeFrame(0xfffffffe, Uint8Array.of(5)), ...encodeFrame(3, new Uint8Array(0))),
    );
    expect(responsesOf(pipelined.bytes).sort((x, y) => x.id - y.id)).toEqual([
      { id: 3, value: { ok: new Uint8Array(0) } },
      { id: 0xfffffffe, value: { ok: Uint8Array.of(5) } },
    ]);
    expect(handled).toBe(2);
    expect([...(await callRpc(c, r.peerId, echo, Uint8Array.of(5)))]).toEqual([5]);
  });

  it('refuses an oversized or malformed response on the caller side', async () => {
    const r = await relay();
    const op: RpcOp = { name: 'test/liar', maxRequest: 64, maxResponse: 16 };
    // What the server answers request `id` with; null: it closes the stream without answering.
    let answer: (id: number) => Uint8Array | null = () => null;
    let streams = 0;
    // A misbehaving server written against libp2p directly, not with serveRpc.
    await r.handle(rpcProtocol(op), (stream) => {
      streams++;
      const reader = new FrameReader(64, {
        frame: (id) => {
          const bytes = answer(id);
          try {
            if (bytes === null) void stream.close().catch(() => undefined);
            else stream.send(bytes);
          } catch {
            // Reset by the caller.
          }
        },
        tooLarge: () => undefined,
        malformed: () => undefined,
      });
      stream.addEventListener('message', (evt) => reader.push(evt.data.subarray()));
    });
    const c = await light();
    const conn = await dialRelay(c, addressesOf(r, 'ws'));
    answer = (id) => encodeFrame(id, new Uint8Array(4096)); // a frame past the response limit
    expect(await codeOf(callRpc(c, conn, op, Uint8Array.of(1)))).toBe('E_TOO_LARGE');
    // ... which reset that stream: the next call opens another.
    answer = (id) => encodeFrame(id, Uint8Array.of(0xa1, 0x62, 0x6f, 0x6b, 0x51, ...new Uint8Array(17))); // {ok: 17 bytes}
    expect(await codeOf(callRpc(c, conn, op, Uint8Array.of(1)))).toBe('E_TOO_LARGE');
    expect(streams).toBe(2);
    answer = (id) => encodeFrame(id, Uint8Array.of(0xff, 0x00)); // not CBOR
    expect(await codeOf(callRpc(c, conn, op, Uint8Array.of(1)))).toBe('E_DECODE');
    // An answer to an id nobody asked for is dropped; a stream that ends unanswered fails its calls.
    answer = (id) => encodeFrame(id + 1000, Uint8Array.of(0xa1, 0x62, 0x6f, 0x6b, 0x40));
    expect(await codeOf(callRpc(c, conn, op, Uint8Array.of(1), { timeoutMs: 300 }))).toBe('E_TIMEOUT');
    answer = () => null; // no answer at all: the stream ends
    expect(await codeOf(callRpc(c, conn, op, Uint8Array.of(1)))).toBe('E_UNREACHABLE');
    expect(streams).toBe(2);
    answer = (id) => encodeFrame(id, Uint8Array.of(0xa1, 0x62, 0x6f, 0x6b, 0x40)).subarray(0, 6); // truncated
    const truncated = callRpc(c, conn, op, Uint8Array.of(1));
    await sleep(100);
    answer = () => null;
    const second = codeOf(callRpc(c, conn, op, Uint8Array.of(2)));
    expect(await codeOf(truncated)).toBe('E_DECODE');
    expect(await second).toBe('E_UNREACHABLE');
    expect(streams).toBe(3);
    const unknown = new TextEncoder().encode('E_FROM_THE_FUTURE');
    answer = (id) =>
      encodeFrame(
        id,
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

  it('pipelines many concurrent calls on one stream, answered out of order', async () => {
    const r = await relay();
    const op: RpcOp = { name: 'test/pipeline', maxRequest: 64, maxResponse: 64 };
    const finished: number[] = [];
    let inbound = 0;
    await serveRpc(
      r,
      op,
      async (req) => {
        // Later requests finish first.
        await sleep(10 + 4 * (50 - req[0]!));
        finished.push(req[0]!);
        return Uint8Array.of(req[0]!, req[0]! ^ 0xff);
      },
      {
        observer: { served: () => inbound++ },
        limits: { rpcInFlightPerPeer: 64, rpcMaxInboundStreams: 1 },
      },
    );
    const c = await light();
    const conn = await dialRelay(c, addressesOf(r, 'ws'));
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => callRpc(c, conn, op, Uint8Array.of(i)).then((a) => [...a])),
    );
    expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => [i, i ^ 0xff]));
    expect(finished[0]).toBeGreaterThan(finished[finished.length - 1]!); // not in request order
    expect(inbound).toBe(50);
    // One stream carried them all (the server allows one per connection), and stays open for more.
    expect(streamsOf(conn, op)).toBe(1);
    expect([...(await callRpc(c, r.peerId, op, Uint8Array.of(49)))]).toEqual([49, 49 ^ 0xff]);
    expect(streamsOf(conn, op)).toBe(1);
  });

  it('fails the calls in flight on a broken stream, and the next call opens a fresh one', async () => {
    const r = await relay();
    const op: RpcOp = { name: 'test/break', maxRequest: 64, maxResponse: 64 };
    await serveRpc(
      r,
      op,
      async (req) => {
        await sleep(req[0] === 0 ? 3000 : 0);
        return req;
      },
      { limits: { rpcInFlightPerPeer: 64 } },
    );
    const c = await light();
    const conn = await dialRelay(c, addressesOf(r, 'ws'));
    expect([...(await callRpc(c, conn, op, Uint8Array.of(1)))]).toEqual([1]);
    const pending = Array.from({ length: 5 }, () => codeOf(callRpc(c, conn, op, Uint8Array.of(0))));
    await sleep(50);
    const [stream] = conn.streams.filter((s) => s.protocol === rpcProtocol(op));
    stream!.abort(new Error('test: the stream breaks'));
    expect(await Promise.all(pending)).toEqual(Array(5).fill('E_UNREACHABLE'));
    expect([...(await callRpc(c, conn, op, Uint8Array.of(2)))]).toEqual([2]);
    expect(streamsOf(conn, op)).toBe(1);
    // The server resetting it reads the same.
    const more = Array.from({ length: 3 }, () => codeOf(callRpc(c, conn, op, Uint8Array.of(0))));
    await sleep(50);
    const [inbound] = r
      .getConnections(c.peerId)
      .flatMap((x) => x.streams)
      .filter((s) => s.protocol === rpcProtocol(op));
    inbound!.abort(new Error('test: the server resets'));
    expect(await Promise.all(more)).toEqual(Array(3).fill('E_UNREACHABLE'));
    expect([...(await callRpc(c, r.peerId, op, Uint8Array.of(3)))]).toEqual([3]);
    // A closed connection fails its calls too, and the next call by peer id dials again.
    const last = codeOf(callRpc(c, conn, op, Uint8Array.of(0)));
    await sleep(50);
    await conn.close();
    expect(await last).toBe('E_UNREACHABLE');
    expect([...(await callRpc(c, r.peerId, op, Uint8Array.of(4)))]).toEqual([4]);
  });

  it('leaves other peers served while one peer floods a pipelined stream', async () => {
    const limits = { rpcInFlightPerPeer: 8, rpcRatePerSecond: 100, rpcBurst: 50 };
    const r = await relay(limits);
    const op: RpcOp = { name: 'test/flood', maxRequest: 64, maxResponse: 64 };
    let handled = 0;
    await serveRpc(
      r,
      op,
      async (req) => {
        handled++;
        await sleep(5);
        return req;
      },
      { limits },
    );
    const flooder = await light();
    const honest = await light();
    const fc = await dialRelay(flooder, addressesOf(r, 'ws'));
    const hc = await dialRelay(honest, addressesOf(r, 'ws'));
    const flood = Array.from({ length: 2000 }, (_, i) =>
      codeOf(callRpc(flooder, fc, op, Uint8Array.of(i & 0xff))),
    );
    await sleep(20);
    const fair: string[] = [];
    for (let i = 0; i < 10; i++) fair.push(await codeOf(callRpc(honest, hc, op, Uint8Array.of(i))));
    const floodCodes = await Promise.all(flood);
    expect(fair).toEqual(Array(10).fill('OK'));
    expect(floodCodes.every((x) => x === 'OK' || x === 'E_RATE_LIMITED')).toBe(true);
    expect(floodCodes.filter((x) => x === 'E_RATE_LIMITED').length).toBeGreaterThan(1500);
    expect(handled).toBeLessThan(200);
  });
});

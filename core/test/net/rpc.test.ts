import { describe, expect, it } from 'vitest';
import { DreggError } from '../../src/errors.ts';
import { dialRelay } from '../../src/net/node.ts';
import { callRpc, type RpcOp, serveRpc } from '../../src/net/rpc.ts';
import { addressesOf, light, relay, watchUnhandledRejections } from './helpers.ts';

watchUnhandledRejections();

const echo: RpcOp = { name: 'test/echo', maxRequest: 1024, maxResponse: 1024 };

describe('rpc', () => {
  it('round-trips over ws and over webrtc-direct', async () => {
    const r = await relay();
    await serveRpc(r, echo, async (req) => req);
    for (const kind of ['ws', 'webrtc-direct'] as const) {
      const c = await light();
      const conn = await dialRelay(c, addressesOf(r, kind));
      expect(conn.remoteAddr.toString()).toContain(kind === 'ws' ? '/ws' : '/webrtc-direct');
      const out = await callRpc(c, conn, echo, Uint8Array.of(1, 2, 3));
      expect([...out]).toEqual([1, 2, 3]);
      const out2 = await callRpc(c, r.peerId, echo, new Uint8Array(0));
      expect(out2.length).toBe(0);
    }
  });

  it('propagates a handler error code and message', async () => {
    const r = await relay();
    await serveRpc(r, echo, async () => {
      throw new DreggError('E_NOT_FOUND', 'no such cell');
    });
    const c = await light();
    const conn = await dialRelay(c, addressesOf(r, 'ws'));
    await expect(callRpc(c, conn, echo, Uint8Array.of(1))).rejects.toMatchObject({
      code: 'E_NOT_FOUND',
      message: 'no such cell',
    });
  });
});

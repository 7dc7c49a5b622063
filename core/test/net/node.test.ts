/** The node factory's small pieces: the relay's deterministic key, limits, and the runtime shims. */
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { describe, expect, it } from 'vitest';
import { isDreggError } from '../../src/errors.ts';
import { DEFAULT_NET_LIMITS, netLimits } from '../../src/net/limits.ts';
import { createRelayNode, relayPrivateKey } from '../../src/net/node.ts';
import { installLibp2pShims } from '../../src/net/shims.ts';
import { LOOPBACK_LISTEN, track, watchUnhandledRejections } from './helpers.ts';

watchUnhandledRejections();

describe('relayPrivateKey', () => {
  it('gives the same peer id for the same seed, across restarts', async () => {
    const seed = new Uint8Array(32).fill(5);
    const id = peerIdFromPrivateKey(relayPrivateKey(seed)).toString();
    expect(peerIdFromPrivateKey(relayPrivateKey(seed.slice())).toString()).toBe(id);
    expect(peerIdFromPrivateKey(relayPrivateKey(new Uint8Array(32).fill(6))).toString()).not.toBe(id);
    const node = await createRelayNode({ listen: LOOPBACK_LISTEN, privateKey: relayPrivateKey(seed) });
    track(node);
    expect(node.peerId.toString()).toBe(id);
    await node.stop();
  });

  it('refuses a seed that is not 32 bytes', () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(33)]) {
      expect(() => relayPrivateKey(bad)).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
    }
  });
});

describe('netLimits', () => {
  it('applies overrides over the defaults and refuses non-positive values', () => {
    expect(netLimits({ rpcInFlightPerPeer: 2 })).toEqual({ ...DEFAULT_NET_LIMITS, rpcInFlightPerPeer: 2 });
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      try {
        netLimits({ rpcTimeoutMs: bad });
        expect.unreachable();
      } catch (e) {
        expect(isDreggError(e, 'E_ARGUMENT')).toBe(true);
      }
    }
  });
});

describe('installLibp2pShims', () => {
  it('provides Promise.withResolvers and is idempotent', async () => {
    installLibp2pShims();
    installLibp2pShims();
    const { promise, resolve } = (
      Promise as unknown as { withResolvers<T>(): { promise: Promise<T>; resolve(v: T): void } }
    ).withResolvers<number>();
    resolve(7);
    expect(await promise).toBe(7);
    expect(typeof (globalThis as { WebSocket?: unknown }).WebSocket).toBe('function');
  });
});

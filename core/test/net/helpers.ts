/**
 * Test helpers for the networking layer: real libp2p nodes on loopback (no mocks), a relay listening
 * on WebSockets and WebRTC-direct, and a watch on process-level unhandled rejections.
 */
import '../../src/node/libp2p-shims.ts';
import type { Libp2p } from '@libp2p/interface';
import { afterAll, expect } from 'vitest';
import type { NetLimits } from '../../src/net/limits.ts';
import {
  createLightNode,
  createRelayNode,
  type LightServices,
  type RelayServices,
} from '../../src/net/node.ts';

export const LOOPBACK_LISTEN = ['/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/udp/0/webrtc-direct'];

const started: Libp2p[] = [];

export async function relay(limits?: Partial<NetLimits>): Promise<Libp2p<RelayServices>> {
  const node = await createRelayNode({ listen: LOOPBACK_LISTEN, ...(limits ? { limits } : {}) });
  started.push(node);
  return node;
}

export async function light(limits?: Partial<NetLimits>): Promise<Libp2p<LightServices>> {
  const node = await createLightNode(limits ? { limits } : {});
  started.push(node);
  return node;
}

/** Keeps a node stopped at the end of the file (for nodes built outside `relay`/`light`). */
export function track(node: Libp2p): void {
  started.push(node);
}

export function addressesOf(node: Libp2p, kind: 'ws' | 'webrtc-direct'): string[] {
  return node
    .getMultiaddrs()
    .map((m) => m.toString())
    .filter((a) => (kind === 'ws' ? a.includes('/ws/') : a.includes('/webrtc-direct')));
}

/** Collects unhandled rejections for the whole file and fails it if there were any. */
export function watchUnhandledRejections(): unknown[] {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  afterAll(async () => {
    await Promise.allSettled(started.splice(0).map((n) => n.stop()));
    // Give late stream teardown a moment to surface anything.
    await new Promise((r) => setTimeout(r, 100));
    process.off('unhandledRejection', listener);
    expect(seen.map(String)).toEqual([]);
  });
  return seen;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `f` until it returns true or `ms` pass. */
export async function until(f: () => boolean, ms = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Sends raw bytes on `protocol` (closing our side after them) and collects whatever comes back until
 * the stream closes; `error` is the name of what ended it abnormally, if anything. Reads with a
 * 'message' listener from the start: libp2p's async iterator, attached after a reset that arrived
 * with unread data, never ends.
 */
export async function rawExchange(
  node: Libp2p,
  target: Parameters<Libp2p['dialProtocol']>[0],
  protocol: string,
  bytes: Uint8Array,
  o: { close?: boolean; timeoutMs?: number } = {},
): Promise<{ bytes: Uint8Array; error?: string }> {
  const signal = AbortSignal.timeout(o.timeoutMs ?? 10_000);
  const stream = await node.dialProtocol(target, protocol, { signal });
  const chunks: Uint8Array[] = [];
  let error: string | undefined;
  const closed = new Promise<void>((resolve) => {
    stream.addEventListener('message', (evt) =>
      chunks.push(evt.data instanceof Uint8Array ? evt.data : evt.data.subarray()),
    );
    stream.addEventListener('close', (evt) => {
      if (evt.error !== undefined) error ??= evt.error.name;
      resolve();
    });
    signal.addEventListener(
      'abort',
      () => {
        error ??= 'TimeoutError';
        stream.abort(new Error('test timeout'));
        resolve();
      },
      { once: true },
    );
  });
  try {
    if (!stream.send(bytes)) await stream.onDrain({ signal });
    if (o.close !== false) await stream.close({ signal });
  } catch (e) {
    error ??= e instanceof Error ? e.name : 'unknown';
  }
  await closed;
  const total = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    total.set(c, at);
    at += c.length;
  }
  return error === undefined ? { bytes: total } : { bytes: total, error };
}

/**
 * A UDP proxy for loss tests: clients talk to the proxy's port, the proxy forwards to `target`,
 * dropping and reordering a fraction of datagrams in both directions, from a seeded generator so a
 * failing run can be replayed. Each client address gets its own upstream socket, so the server sees
 * one peer per client as it would without the proxy.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

export interface LossyProxyOptions {
  readonly target: { readonly address: string; readonly port: number };
  /** Fraction of datagrams dropped, per direction (0..1). */
  readonly loss: number;
  /** Fraction of (surviving) datagrams held back and sent after the next one. */
  readonly reorder?: number;
  readonly seed?: number;
}

export interface LossyProxy {
  readonly port: number;
  readonly stats: { forwarded: number; dropped: number; reordered: number };
  close(): Promise<void>;
}

/** mulberry32: a small seeded PRNG (deterministic drops for a given seed and datagram order). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function startLossyProxy(options: LossyProxyOptions): Promise<LossyProxy> {
  const random = prng(options.seed ?? 1);
  const stats = { forwarded: 0, dropped: 0, reordered: 0 };
  let closed = false;
  const front = createSocket('udp4');
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve));
  const upstreams = new Map<string, { socket: Socket; forward: ReturnType<typeof lossy> }>();

  /** Sends through `socket` after the loss/reorder decision; a held datagram goes out after the next. */
  function lossy(): (socket: Socket, data: Buffer, port: number, address: string) => void {
    let held: (() => void) | undefined;
    return (socket, data, port, address) => {
      if (random() < options.loss) {
        stats.dropped++;
        return;
      }
      const go = () => {
        if (closed) return;
        stats.forwarded++;
        socket.send(data, port, address);
      };
      if (!held && random() < (options.reorder ?? 0)) {
        stats.reordered++;
        held = go;
        // Never hold one forever: it leaves within a few ms even if nothing follows.
        setTimeout(() => {
          if (held === go) {
            held = undefined;
            go();
          }
        }, 5);
        return;
      }
      go();
      const h = held;
      held = undefined;
      h?.();
    };
  }

  front.on('message', (msg: Buffer, client: RemoteInfo) => {
    const id = `${client.address}:${client.port}`;
    let up = upstreams.get(id);
    if (!up) {
      const socket = createSocket('udp4');
      const back = lossy();
      socket.on('message', (reply: Buffer) => back(front, reply, client.port, client.address));
      socket.bind(0, '127.0.0.1');
      up = { socket, forward: lossy() };
      upstreams.set(id, up);
    }
    up.forward(up.socket, msg, options.target.port, options.target.address);
  });

  return {
    port: front.address().port,
    stats,
    async close() {
      closed = true;
      for (const up of upstreams.values()) up.socket.close();
      await new Promise<void>((resolve) => front.close(() => resolve()));
    },
  };
}

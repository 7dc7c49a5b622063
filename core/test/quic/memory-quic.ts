/**
 * A test double of the QUIC transport only: two `QuicConnection`s wired back to back in memory, so
 * that HTTP/3 and WebTransport can be tested before (and apart from) the real transport. It keeps the
 * seams' promises that the layers above rely on: ordered bytes per stream, FIN, RESET_STREAM and
 * STOP_SENDING as errors, streams announced to `onStream` in order, datagrams that may be dropped
 * (here: when no handler is registered yet), close seen by both sides.
 */
import { DreggError } from '../../src/errors.ts';
import type { QuicConnection, QuicStream } from '../../src/node/quic/api.ts';

/** One direction of a stream: chunks in order, then FIN or a reset. */
class Pipe {
  private readonly chunks: Uint8Array[] = [];
  private ended = false;
  private error: DreggError | undefined;
  private wake: (() => void) | undefined;

  push(data: Uint8Array): void {
    if (this.ended || this.error) return;
    this.chunks.push(data.slice());
    this.notify();
  }
  end(): void {
    this.ended = true;
    this.notify();
  }
  reset(code: number): void {
    if (this.ended && this.chunks.length === 0) return;
    this.error = new DreggError('E_UNREACHABLE', `stream reset with code ${code}`);
    this.chunks.length = 0;
    this.notify();
  }
  /** The connection closed: what already arrived is still read, then the error. */
  lost(code: number): void {
    if (this.ended || this.error) return;
    this.failAfterData = new DreggError('E_UNREACHABLE', `connection closed with code ${code}`);
    this.notify();
  }
  private failAfterData: DreggError | undefined;
  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
  async *read(): AsyncIterable<Uint8Array> {
    for (;;) {
      if (this.error) throw this.error;
      const chunk = this.chunks.shift();
      if (chunk) {
        yield chunk;
        continue;
      }
      if (this.ended) return;
      if (this.failAfterData) throw this.failAfterData;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}

interface Side {
  onStream?: (stream: QuicStream) => void;
  pendingStreams: QuicStream[];
  onDatagram?: (data: Uint8Array) => void;
  nextBidi: number;
  nextUni: number;
}

export interface MemoryPair {
  readonly server: QuicConnection;
  readonly client: QuicConnection;
}

/** A connected pair; `server` has the odd (server-initiated) stream ids. */
export function memoryQuicPair(): MemoryPair {
  let closed: { code: number; reason: string; by: 'server' | 'client' } | undefined;
  let resolveClosed: (value: { code: number; reason: string; by: 'server' | 'client' }) => void = () => {};
  const closedPromise = new Promise<{ code: number; reason: string; by: 'server' | 'client' }>((resolve) => {
    resolveClosed = resolve;
  });
  // Every pipe, so that closing the connection fails whatever is still reading or writing.
  const pipes = new Set<Pipe>();
  const sides: Record<'server' | 'client', Side> = {
    server: { pendingStreams: [], nextBidi: 1, nextUni: 3 },
    client: { pendingStreams: [], nextBidi: 0, nextUni: 2 },
  };

  const makeStream = (
    id: number,
    bidirectional: boolean,
    toPeer: Pipe,
    fromPeer: Pipe,
    peerStop: { code?: number },
    ourStop: { code?: number },
  ): QuicStream => ({
    id,
    bidirectional,
    readable: fromPeer.read(),
    async write(data) {
      if (closed) throw new DreggError('E_UNREACHABLE', 'connection closed');
      if (peerStop.code !== undefined) throw new DreggError('E_UNREACHABLE', `STOP_SENDING ${peerStop.code}`);
      toPeer.push(data);
      await Promise.resolve();
    },
    end() {
      toPeer.end();
    },
    abort(code) {
      toPeer.reset(code);
      ourStop.code = code;
    },
  });

  const deliver = (to: Side, stream: QuicStream) => {
    if (to.onStream) to.onStream(stream);
    else to.pendingStreams.push(stream);
  };

  const open = (by: 'server' | 'client', bidirectional: boolean): QuicStream => {
    if (closed) throw new DreggError('E_UNREACHABLE', 'connection closed');
    const side = sides[by];
    const peer = sides[by === 'server' ? 'client' : 'server'];
    const id = bidirectional ? side.nextBidi : side.nextUni;
    if (bidirectional) side.nextBidi += 4;
    else side.nextUni += 4;
    const forward = new Pipe();
    const backward = new Pipe();
    pipes.add(forward);
    pipes.add(backward);
    const stopByOpener: { code?: number } = {};
    const stopByPeer: { code?: number } = {};
    if (!bidirectional) backward.end();
    const ours = makeStream(id, bidirectional, forward, backward, stopByPeer, stopByOpener);
    const theirs = makeStream(
      id,
      bidirectional,
      bidirectional ? backward : new Pipe(),
      forward,
      stopByOpener,
      stopByPeer,
    );
    queueMicrotask(() => deliver(peer, theirs));
    return ours;
  };

  const connection = (me: 'server' | 'client'): QuicConnection => {
    const side = sides[me];
    const peer = sides[me === 'server' ? 'client' : 'server'];
    return {
      remote: { address: '127.0.0.1', port: me === 'server' ? 50000 : 4433 },
      alpn: 'h3',
      onStream(handler) {
        side.onStream = handler;
        for (const s of side.pendingStreams.splice(0)) handler(s);
      },
      openStream: async (bidirectional) => open(me, bidirectional),
      sendDatagram(data) {
        if (closed || data.length > 1200) return false;
        const copy = data.slice();
        queueMicrotask(() => peer.onDatagram?.(copy));
        return true;
      },
      onDatagram(handler) {
        side.onDatagram = handler;
      },
      close(code, reason) {
        if (closed) return;
        closed = { code, reason, by: me };
        for (const pipe of pipes) pipe.lost(code);
        resolveClosed(closed);
      },
      closed: closedPromise.then(({ code, reason, by }) => ({ code, reason, remote: by !== me })),
    };
  };
  return { server: connection('server'), client: connection('client') };
}

/**
 * What a CapTP session runs over: a reliable, ordered duplex of frames. A libp2p stream is one
 * (./libp2p.ts); so is a pair of in-memory ends, which is how two vats in one process (a worker and
 * its page, the tests) talk.
 */

export interface LinkHandlers {
  /** One whole frame, in order. */
  frame(bytes: Uint8Array): void;
  /** The link is gone (closed by either side, or failed); no frame follows. */
  closed(): void;
}

export interface Link {
  /** Queues a frame; silently dropped once the link is closed. */
  send(frame: Uint8Array): void;
  /** Closes both directions after the frames already sent. Idempotent. */
  close(): void;
  /** Installs the receiver; frames that arrived before it are held until then. */
  listen(handlers: LinkHandlers): void;
}

export interface MemoryLinkOptions {
  /** One-way latency added to every frame (ms); frames keep their order. */
  readonly latencyMs?: number;
}

interface End {
  handlers: LinkHandlers | undefined;
  held: Uint8Array[];
  closed: boolean;
}

/** Two connected in-memory ends. Delivery is asynchronous (never inside `send`), like a real transport. */
export function memoryLinkPair(o: MemoryLinkOptions = {}): [Link, Link] {
  const latency = o.latencyMs ?? 0;
  const ends: [End, End] = [
    { handlers: undefined, held: [], closed: false },
    { handlers: undefined, held: [], closed: false },
  ];
  const later = (f: () => void): void => {
    if (latency > 0) setTimeout(f, latency);
    else queueMicrotask(f);
  };
  const deliver = (to: End, frame: Uint8Array): void => {
    if (to.closed) return;
    if (to.handlers === undefined) to.held.push(frame);
    else to.handlers.frame(frame);
  };
  const shut = (end: End): void => {
    if (end.closed) return;
    end.closed = true;
    end.handlers?.closed();
  };
  const link = (self: End, peer: End): Link => ({
    send(frame) {
      if (self.closed) return;
      const copy = frame.slice();
      later(() => deliver(peer, copy));
    },
    close() {
      if (self.closed) return;
      shut(self);
      // The peer learns of the close after the frames already in flight.
      later(() => shut(peer));
    },
    listen(handlers) {
      self.handlers = handlers;
      const held = self.held.splice(0);
      for (const f of held) handlers.frame(f);
      if (self.closed) handlers.closed();
    },
  });
  return [link(ends[0], ends[1]), link(ends[1], ends[0])];
}

/**
 * CapTP on libp2p: one long-lived stream per session, protocol `/cipherclerk/captp/1`, directly or
 * through a relay's circuit (both ends allow limited connections). Frames use the framing of
 * ./../net/rpc.ts (`varint(4 + n) || u32 id || body`) with the id always 0: one bounded reader for
 * every framed protocol we speak. A frame over `MAX_FRAME` resets the stream (the session sees the
 * link close). The Noise identity of the stream is not the session's identity: the session
 * authenticates DIDs itself (./handshake.ts).
 */
import type { Libp2p, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import { encodeFrame, FrameReader } from '../net/rpc.ts';
import type { Link, LinkHandlers } from './link.ts';
import type { Session } from './session.ts';
import type { Vat } from './vat.ts';
import { MAX_FRAME } from './wire.ts';

export const CAPTP_PROTOCOL = '/cipherclerk/captp/1';

/** A `Link` over a libp2p stream. */
export function streamLink(stream: Stream): Link {
  let handlers: LinkHandlers | undefined;
  const held: Uint8Array[] = [];
  let closed = false;
  const shut = (): void => {
    if (closed) return;
    closed = true;
    reader.kill();
    handlers?.closed();
  };
  const reader = new FrameReader(MAX_FRAME, {
    frame: (_id, body) => (handlers === undefined ? held.push(body) : handlers.frame(body)),
    tooLarge: () => stream.abort(new Error('captp frame too large')),
    malformed: () => stream.abort(new Error('malformed captp frame')),
  });
  stream.addEventListener('message', (evt) => {
    reader.push(evt.data instanceof Uint8Array ? evt.data : evt.data.subarray());
  });
  stream.addEventListener('close', shut);
  return {
    send(frame) {
      if (closed) return;
      try {
        // libp2p buffers what it cannot write at once; a session's frames are small and bounded.
        stream.send(encodeFrame(0, frame));
      } catch {
        shut();
      }
    },
    close() {
      if (closed) return;
      stream.close({ signal: AbortSignal.timeout(1000) }).catch(() => stream.abort(new Error('captp close')));
      shut();
    },
    listen(h) {
      handlers = h;
      for (const f of held.splice(0)) h.frame(f);
      if (closed) h.closed();
    },
  };
}

/** Accepts CapTP sessions on `node` for `vat`; `onSession` sees each one once it is authenticated. */
export async function serveCaptp(node: Libp2p, vat: Vat, onSession?: (s: Session) => void): Promise<void> {
  await node.handle(
    CAPTP_PROTOCOL,
    (stream) => {
      vat.accept(streamLink(stream)).then(
        (s) => onSession?.(s),
        () => undefined,
      );
    },
    { runOnLimitedConnection: true },
  );
}

/** Opens a CapTP session to the vat `expect` (its DID) at `address` (a circuit address works). */
export async function dialCaptp(
  node: Libp2p,
  address: Multiaddr,
  vat: Vat,
  expect: string,
  o: { signal?: AbortSignal } = {},
): Promise<Session> {
  const stream = await node.dialProtocol(address, CAPTP_PROTOCOL, {
    runOnLimitedConnection: true,
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  return vat.connect(streamLink(stream), { expect });
}

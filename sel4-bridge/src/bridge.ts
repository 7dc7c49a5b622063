/**
 * The localhost bridge: a WebSocket server on 127.0.0.1 that lets the dashboard, the extension and
 * local tools call the firmament. Three gates, all before a line reaches the kernel:
 * - a per-launch token (random, 32 bytes), sent as the subprotocol `token.<hex>` so it never sits in
 *   a URL; a wrong one is refused at the handshake (401, code `E_DENIED` in the x-dregg-error header);
 * - an origin allowlist: a browser page from any other origin is refused (403, `E_DENIED` likewise); clients
 *   that send no Origin (local processes) pass on the token alone;
 * - a verb whitelist and strict argument shapes, so no request can inject a second line or a
 *   launcher-only verb (`halt`, `clock`).
 * Requests are JSON `{"id","verb","args"}`; answers `{"id","ok":{...}}` or `{"id","error":{code,message}}`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BRIDGE_VERBS, type BridgeVerb, DreggError, isDreggError, type KernelReply } from '@cipherclerk/core';
import { WebSocketServer } from 'ws';
import type { Kernel } from './kernel.ts';

/** The dashboard as `npm start` and the Vite dev server serve it. */
export const DEFAULT_ORIGINS = [
  'http://127.0.0.1:4010',
  'http://localhost:4010',
  'http://127.0.0.1:5173',
  'http://localhost:5173',
];
export const SUBPROTOCOL = 'dregg-firmament';
/** A request is at most a thaw of the largest checkpoint, hex-encoded, plus its framing. */
export const MAX_REQUEST = 2 * 32768 + 1024;
const ARG = /^[0-9a-z:._/-]{1,65600}$/;
const MAX_ARGS = 8;
/** A refused handshake names its code in a header (and in the body). */
export const ERROR_HEADER = 'x-dregg-error';
const DENIED = { [ERROR_HEADER]: 'E_DENIED' };

export interface Bridge {
  readonly url: string;
  readonly token: string;
  close(): Promise<void>;
}

export interface BridgeOptions {
  /** Origins allowed besides none at all; DEFAULT_ORIGINS when absent. */
  readonly origins?: readonly string[];
  /** Carries a checked uplink invocation to its remote cell (the relay backing); refused when absent. */
  readonly forward?: (cell: string, word: number) => Promise<unknown>;
}

function tokenOf(req: IncomingMessage): string | undefined {
  const offered = (req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  return offered.find((p) => p.startsWith('token.'))?.slice(6);
}

function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined || given.length !== token.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

function request(data: string): { id: number; verb: BridgeVerb; args: string[] } {
  let v: unknown;
  try {
    v = JSON.parse(data);
  } catch {
    throw new DreggError('E_DECODE', 'A bridge request is JSON');
  }
  const { id, verb, args } = (v ?? {}) as Record<string, unknown>;
  if (typeof id !== 'number' || !Number.isSafeInteger(id))
    throw new DreggError('E_INVALID', 'A bridge request carries a numeric id');
  if (typeof verb !== 'string' || !(BRIDGE_VERBS as readonly string[]).includes(verb))
    throw new DreggError('E_DENIED', 'That verb is not allowed through the bridge');
  if (
    !Array.isArray(args) ||
    args.length > MAX_ARGS ||
    !args.every((a) => typeof a === 'string' && ARG.test(a))
  )
    throw new DreggError('E_INVALID', 'Bridge arguments are up to 8 words of [0-9a-z:._/-]');
  return { id, verb: verb as BridgeVerb, args };
}

export async function openBridge(kernel: Kernel, options: BridgeOptions = {}): Promise<Bridge> {
  const token = randomBytes(32).toString('hex');
  const origins = new Set(options.origins ?? DEFAULT_ORIGINS);
  const server = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    maxPayload: MAX_REQUEST,
    handleProtocols: (protocols: Set<string>) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
    verifyClient: (
      info: { origin?: string; req: IncomingMessage },
      done: (ok: boolean, status?: number, message?: string, headers?: Record<string, string>) => void,
    ) => {
      const origin = info.req.headers.origin;
      if (origin !== undefined && !origins.has(origin)) return done(false, 403, 'E_DENIED', DENIED);
      if (!sameToken(tokenOf(info.req), token)) return done(false, 401, 'E_DENIED', DENIED);
      done(true);
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });

  async function serve(verb: BridgeVerb, args: string[]): Promise<KernelReply> {
    const reply = await kernel.call(verb, args);
    // A client that was handed only the URL and token learns how the launch went from a ping.
    if (verb === 'ping') return { ...reply, bootMs: kernel.bootMs.toFixed(1) };
    if (verb !== 'invoke' || reply.forward === undefined) return reply;
    if (options.forward === undefined)
      throw new DreggError('E_UNREACHABLE', 'This launcher has no route to remote cells');
    const result = await options.forward(reply.forward, Number(reply.a ?? 0));
    return { ...reply, result: JSON.stringify(result ?? null) };
  }

  server.on('connection', (socket) => {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      let id: number | null = null;
      void (async () => {
        try {
          if (isBinary) throw new DreggError('E_DECODE', 'A bridge request is a text frame');
          const r = request(data.toString('utf8'));
          id = r.id;
          socket.send(JSON.stringify({ id, ok: await serve(r.verb, r.args) }));
        } catch (e) {
          const error = isDreggError(e) ? e.toJSON() : { code: 'E_INTERNAL', message: 'Bridge failure' };
          socket.send(JSON.stringify({ id, error }));
        }
      })();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of server.clients) c.terminate();
        server.close(() => resolve());
      }),
  };
}

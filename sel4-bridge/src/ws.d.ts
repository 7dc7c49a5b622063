// The part of the `ws` package the bridge and its tests use (no @types/ws in this repository).
declare module 'ws' {
  import type { EventEmitter } from 'node:events';
  import type { IncomingMessage } from 'node:http';
  import type { AddressInfo } from 'node:net';

  export class WebSocket extends EventEmitter {
    constructor(url: string, protocols?: string | string[], options?: { headers?: Record<string, string> });
    readonly protocol: string;
    readonly readyState: number;
    onopen: ((e: unknown) => void) | null;
    onclose: ((e: { code: number; reason: string }) => void) | null;
    onerror: ((e: unknown) => void) | null;
    onmessage: ((e: { data: unknown }) => void) | null;
    send(data: string): void;
    close(code?: number): void;
    terminate(): void;
  }
  export class WebSocketServer extends EventEmitter {
    constructor(options: {
      host?: string;
      port?: number;
      maxPayload?: number;
      handleProtocols?: (protocols: Set<string>, req: IncomingMessage) => string | false;
      verifyClient?: (
        info: { origin?: string; req: IncomingMessage; secure: boolean },
        done: (ok: boolean, status?: number, message?: string, headers?: Record<string, string>) => void,
      ) => void;
    });
    readonly clients: Set<WebSocket>;
    address(): AddressInfo | string;
    close(cb?: () => void): void;
  }
  export default WebSocket;
}

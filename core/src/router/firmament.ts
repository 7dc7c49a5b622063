/**
 * The router's backing for firmament objects: kernel objects of the local firmament (our own
 * seL4-style kernel under QEMU, sel4-bridge), reached through the localhost bridge. A handle's rights
 * become a kernel capability's rights: its `actions` a set of bits over the fixed vocabulary below,
 * its budget, not-before and expiry as numbers. The kernel orders them exactly as `narrows` does, so
 * the router, this backing and the kernel refuse the same widening with the same `E_WIDENING`.
 *
 * Caveats the kernel cannot carry (services, audience, revocation channels, epochs) stay on the
 * handle and are checked here and by the router; the kernel enforces the rest on its own side.
 */
import { type Caveat, caveatKey } from '../caps/caveats.ts';
import { assertHandleNarrows, type Handle, handleRights } from '../caps/handle.ts';
import type { Rights } from '../caps/rights.ts';
import type { CborMap, CborValue } from '../encoding/cbor.ts';
import { DreggError, type ErrorCode, ErrorCodes } from '../errors.ts';
import type { Backing, Invocation } from './router.ts';

/**
 * The kernel's action vocabulary, one bit each in this order (the C header is generated from it):
 * `grant` permits minting, the others are the invocations of endpoints (send, recv), notifications
 * (signal, wait), memory regions (read, write, run the app domain over it) and uplinks (forward).
 */
export const FIRMAMENT_ACTIONS = [
  'grant',
  'send',
  'recv',
  'signal',
  'wait',
  'read',
  'write',
  'run',
  'forward',
] as const;
export type FirmamentAction = (typeof FIRMAMENT_ACTIONS)[number];

/** The kernel's object kinds, as `new` names them. */
export const FIRMAMENT_OBJECTS = ['ep', 'ntfn', 'region', 'uplink'] as const;
export type FirmamentObject = (typeof FIRMAMENT_OBJECTS)[number];

/** Verbs a bridge client may send (never `halt`, `clock` or raw lines: those are the launcher's). */
export const BRIDGE_VERBS = [
  'ping',
  'new',
  'mint',
  'invoke',
  'show',
  'revoke',
  'delete',
  'list',
  'ckpt',
  'thaw',
  'sha256',
] as const;
export type BridgeVerb = (typeof BRIDGE_VERBS)[number];

/** A kernel answer: the `key=value` fields of an `ok` line. */
export type KernelReply = Readonly<Record<string, string>>;

/** What the backing needs of a connection to the firmament: one verb, one answer (or a DreggError). */
export interface FirmamentConnection {
  call(verb: BridgeVerb, args: readonly string[]): Promise<KernelReply>;
}

/** The kernel's rights bits for a set of action names: names outside the vocabulary grant nothing here. */
export function rightsBits(rights: Rights): number {
  let bits = 0;
  FIRMAMENT_ACTIONS.forEach((a, i) => {
    if (rights.actions === 'all' || rights.actions.has(a)) bits |= 1 << i;
  });
  return bits >>> 0;
}

/** The `mint` arguments carrying `rights`: bits in hex, budget, not-before, expiry (`-` for none). */
export function mintArgs(rights: Rights): string[] {
  return [
    rightsBits(rights).toString(16),
    rights.budget === null ? '-' : String(rights.budget),
    String(rights.notBefore),
    rights.expiry === null ? '-' : String(rights.expiry),
  ];
}

/** Parses one `#FW <seq> ok k=v ...` / `#FW <seq> err CODE message` answer (after `#FW <seq> `). */
export function parseKernelAnswer(rest: string): KernelReply {
  if (rest.startsWith('err ')) {
    const space = rest.indexOf(' ', 4);
    const code = space < 0 ? rest.slice(4) : rest.slice(4, space);
    const message = space < 0 ? '' : rest.slice(space + 1);
    if (!Object.hasOwn(ErrorCodes, code))
      throw new DreggError('E_DECODE', 'The firmament answered with an unknown error code');
    throw new DreggError(code as ErrorCode, `Firmament: ${message}`);
  }
  if (rest !== 'ok' && !rest.startsWith('ok '))
    throw new DreggError('E_DECODE', 'The firmament answered neither ok nor err');
  const reply: Record<string, string> = {};
  for (const field of rest.slice(3).split(' ')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    if (eq <= 0) throw new DreggError('E_DECODE', 'Malformed firmament answer field');
    reply[field.slice(0, eq)] = field.slice(eq + 1);
  }
  return reply;
}

/** A recipient of a grant: one of the kernel's CNodes, named `cnode/N`. */
function cnodeOf(recipient: string): string {
  const m = /^cnode\/([0-7])$/.exec(recipient);
  if (m === null) throw new DreggError('E_ARGUMENT', 'A firmament recipient is a CNode, cnode/0 to cnode/7');
  return m[1]!;
}

const handleKey = (h: Handle): string =>
  `${h.target.kind}:${h.target.id}|${h.caveats.map(caveatKey).join(',')}`;

/** The numeric arguments of an invocation, in the kernel's order for each action. */
function invocationArgs(request: Invocation): string[] {
  const args = request.args ?? {};
  const order: Partial<Record<string, string[]>> = {
    send: ['word'],
    signal: ['bits'],
    read: ['offset'],
    write: ['offset', 'value'],
    run: ['program'],
    forward: ['word'],
  };
  return (order[request.action] ?? []).map((k) => {
    const v = args[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw new DreggError('E_ARGUMENT', `${request.action} takes a whole number ${k}`);
    return String(v);
  });
}

/** Fields the kernel writes in hex; they stay strings. */
const HEX_FIELDS = new Set(['rights', 'mtval', 'root', 'blob', 'digest']);

/** Decimal kernel numbers become numbers where they are exact, everything else stays a string. */
function replyValue(reply: KernelReply): CborMap {
  const out: Record<string, CborValue> = {};
  for (const [k, v] of Object.entries(reply)) {
    const n = !HEX_FIELDS.has(k) && /^\d{1,15}$/.test(v) ? Number(v) : undefined;
    out[k] = n ?? v;
  }
  return out;
}

export interface FirmamentBacking extends Backing {
  /** A new kernel object in `cnode` (0 to 7); the handle carries every right (no caveats). */
  create(type: FirmamentObject, cnode?: number, cell?: string): Promise<Handle>;
  /** The kernel reference (`slot:gen`) a handle is held at, if this backing holds it. */
  slotOf(h: Handle): string | undefined;
}

/**
 * The backing over one bridge connection. It remembers where each handle it created or granted sits
 * (`slot:gen`): the generation makes a reference to a revoked capability fail in the kernel even after
 * its slot is reused.
 */
export function firmamentBacking(conn: FirmamentConnection): FirmamentBacking {
  const slots = new Map<string, string>();
  const slotOf = (h: Handle) => slots.get(handleKey(h));
  const held = (h: Handle): string => {
    const ref = slotOf(h);
    if (ref === undefined) throw new DreggError('E_NOT_FOUND', 'This firmament holds no such handle');
    return ref;
  };
  const refOf = (reply: KernelReply) => `${reply.slot}:${reply.gen}`;
  const checkServices = (h: Handle) => {
    const { services } = handleRights(h);
    if (services !== 'all' && !services.has('firmament'))
      throw new DreggError('E_DENIED', 'This handle does not reach the firmament service');
  };
  return {
    kind: 'firmament',
    slotOf,
    async create(type, cnode = 0, cell) {
      const reply = await conn.call('new', [type, String(cnode), ...(cell === undefined ? [] : [cell])]);
      const h: Handle = { target: { kind: 'firmament', id: `${type}/${reply.obj}` }, caveats: [] };
      slots.set(handleKey(h), refOf(reply));
      return h;
    },
    async resolve(h) {
      const reply = await conn.call('show', [held(h)]);
      return { kind: 'firmament', id: h.target.id, held: `slot ${reply.slot}`, summary: replyValue(reply) };
    },
    async invoke(h, request) {
      checkServices(h);
      const reply = await conn.call('invoke', [held(h), request.action, ...invocationArgs(request)]);
      return replyValue(reply);
    },
    async grant(parent, child, recipient) {
      assertHandleNarrows(child, parent);
      const prefix: readonly Caveat[] = child.caveats.slice(0, parent.caveats.length);
      if (handleKey({ target: child.target, caveats: prefix }) !== handleKey(parent))
        throw new DreggError('E_WIDENING', 'A derived handle must keep every caveat of its parent, in order');
      const reply = await conn.call('mint', [
        held(parent),
        cnodeOf(recipient),
        ...mintArgs(handleRights(child)),
      ]);
      slots.set(handleKey(child), refOf(reply));
      return child;
    },
    async revoke(h) {
      await conn.call('delete', [held(h)]);
    },
  };
}

/** The part of the WebSocket API the client uses: the browser's, or the `ws` package's in Node. */
interface SocketLike {
  onopen: ((e: unknown) => void) | null;
  onclose: ((e: unknown) => void) | null;
  onerror: ((e: unknown) => void) | null;
  onmessage: ((e: { data: unknown }) => void) | null;
  send(data: string): void;
  close(): void;
}
export type SocketConstructor = new (url: string, protocols: string[]) => SocketLike;

export interface FirmamentClient extends FirmamentConnection {
  close(): void;
}

/**
 * Connects to a launcher's bridge (`dregg firmament up` prints its URL and token). The token travels
 * as a subprotocol, never in the URL. Every call times out after `timeoutMs`.
 */
export function connectFirmament(
  url: string,
  token: string,
  options: { WebSocket?: SocketConstructor; timeoutMs?: number } = {},
): Promise<FirmamentClient> {
  if (!/^ws:\/\/127\.0\.0\.1:\d{1,5}$/.test(url))
    throw new DreggError('E_ARGUMENT', 'A firmament bridge is ws://127.0.0.1:PORT');
  if (!/^[0-9a-f]{64}$/.test(token)) throw new DreggError('E_ARGUMENT', 'A bridge token is 64 hex digits');
  const Ctor = options.WebSocket ?? (globalThis as { WebSocket?: SocketConstructor }).WebSocket;
  if (Ctor === undefined) throw new DreggError('E_UNSUPPORTED', 'No WebSocket in this environment');
  const timeoutMs = options.timeoutMs ?? 10_000;
  const socket = new Ctor(url, ['dregg-firmament', `token.${token}`]);
  const waiting = new Map<number, { resolve(r: KernelReply): void; reject(e: Error): void }>();
  let next = 1;
  const lost = () => {
    for (const w of waiting.values())
      w.reject(new DreggError('E_UNREACHABLE', 'The bridge connection closed'));
    waiting.clear();
  };
  socket.onmessage = (e) => {
    let answer: { id?: unknown; ok?: KernelReply; error?: { code?: unknown; message?: unknown } };
    try {
      answer = JSON.parse(String(e.data));
    } catch {
      return;
    }
    const w = typeof answer.id === 'number' ? waiting.get(answer.id) : undefined;
    if (w === undefined) return;
    waiting.delete(answer.id as number);
    const code = answer.error?.code;
    if (answer.error === undefined) w.resolve(answer.ok ?? {});
    else
      w.reject(
        typeof code === 'string' && Object.hasOwn(ErrorCodes, code)
          ? new DreggError(code as ErrorCode, String(answer.error.message ?? ''))
          : new DreggError('E_DECODE', 'The bridge answered with an unknown error'),
      );
  };
  return new Promise((resolve, reject) => {
    socket.onerror = () =>
      reject(new DreggError('E_UNREACHABLE', 'Could not connect to the firmament bridge'));
    socket.onclose = () => {
      reject(new DreggError('E_UNREACHABLE', 'The firmament bridge refused the connection'));
      lost();
    };
    socket.onopen = () =>
      resolve({
        close: () => socket.close(),
        call(verb, args) {
          const id = next++;
          return new Promise<KernelReply>((res, rej) => {
            const timer = setTimeout(() => {
              waiting.delete(id);
              rej(new DreggError('E_TIMEOUT', 'The firmament bridge did not answer'));
            }, timeoutMs);
            waiting.set(id, {
              resolve: (r) => {
                clearTimeout(timer);
                res(r);
              },
              reject: (e) => {
                clearTimeout(timer);
                rej(e);
              },
            });
            socket.send(JSON.stringify({ id, verb, args }));
          });
        },
      });
  });
}

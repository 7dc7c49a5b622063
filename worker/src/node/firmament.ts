/**
 * The light node's link to a local firmament (a running `dregg firmament up`): the bridge connection
 * lives here in the worker, beside the keys and handles, not in the page. The bridge URL and its
 * per-launch token are remembered in the worker's settings store (never in localStorage), so a reload
 * reconnects while the same launcher runs; `forget` drops both.
 *
 * Views are plain data for the page: each capability of each CNode with its rights as action names
 * and its derivation parent. The kernel's refusals (E_WIDENING, E_DENIED, ...) pass through unchanged.
 */
import {
  connectFirmament,
  DreggError,
  FIRMAMENT_ACTIONS,
  FIRMAMENT_OBJECTS,
  type FirmamentAction,
  type FirmamentClient,
  type FirmamentObject,
  type KernelReply,
  type SocketConstructor,
  type Store,
} from '@cipherclerk/core';
import type { FirmamentCapView, FirmamentMintForm, FirmamentView, FirmamentWire } from './api.ts';
import { errorToWire } from './errors.ts';

const KEY = 'firmament';
/** The kernel's CNodes: slot `s` is in CNode `s / 32`. */
export const CNODES = 8;
const text = new TextEncoder();

interface Remembered {
  readonly bridge: string;
  readonly token: string;
}

async function readRemembered(store: Store): Promise<Remembered | undefined> {
  const bytes = await store.get('settings', KEY);
  if (bytes === undefined) return undefined;
  try {
    const v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as Remembered;
    if (typeof v.bridge === 'string' && typeof v.token === 'string') return v;
  } catch {
    // falls through: a malformed entry is forgotten below
  }
  await store.transact([{ op: 'delete', collection: 'settings', key: KEY }]);
  return undefined;
}

/** Action names for a rights mask, in the vocabulary's order. */
export function actionsOf(hex: string): FirmamentAction[] {
  const bits = Number.parseInt(hex, 16);
  return FIRMAMENT_ACTIONS.filter((_, i) => (bits >>> i) & 1);
}

function bitsOf(actions: readonly string[]): string {
  let bits = 0;
  for (const a of actions) {
    const i = (FIRMAMENT_ACTIONS as readonly string[]).indexOf(a);
    if (i < 0) throw new DreggError('E_ARGUMENT', `${a} is not a right of the firmament`);
    bits |= 1 << i;
  }
  return (bits >>> 0).toString(16);
}

const bound = (v: string | undefined): number | null => (v === undefined || v === '-' ? null : Number(v));

function capView(reply: KernelReply): FirmamentCapView {
  const slot = Number(reply.slot);
  return {
    ref: `${reply.slot}:${reply.gen}`,
    slot,
    cnode: Math.floor(slot / 32),
    kind: reply.type as FirmamentObject,
    object: Number(reply.obj),
    rights: actionsOf(reply.rights ?? '0'),
    budget: bound(reply.budget),
    spent: Number(reply.spent ?? 0),
    notBefore: Number(reply.nbf ?? 0),
    expiry: bound(reply.exp),
    parent: bound(reply.parent),
  };
}

/** A capability reference as the page names it: `slot:gen`. */
function checkRef(ref: unknown): string {
  if (typeof ref !== 'string' || !/^\d{1,3}:\d{1,10}$/.test(ref))
    throw new DreggError('E_ARGUMENT', 'A firmament capability is named slot:gen');
  return ref;
}

function checkCnode(cnode: unknown): string {
  if (typeof cnode !== 'number' || !Number.isInteger(cnode) || cnode < 0 || cnode >= CNODES)
    throw new DreggError('E_ARGUMENT', `A CNode is 0 to ${CNODES - 1}`);
  return String(cnode);
}

function checkWord(n: unknown, what: string): string {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new DreggError('E_ARGUMENT', `${what} is a whole number`);
  return String(n);
}

export interface FirmamentLink {
  view(): Promise<FirmamentView>;
  connect(bridge: string, token: string): Promise<FirmamentView>;
  forget(): Promise<FirmamentView>;
  create(kind: string, cnode: number, cell?: string): Promise<FirmamentCapView>;
  mint(form: FirmamentMintForm): Promise<FirmamentCapView>;
  invoke(ref: string, action: string, args: readonly number[]): Promise<FirmamentWire>;
  revoke(ref: string, self: boolean): Promise<number>;
  /** Closes the connection (the node locked); the remembered bridge stays for the next unlock. */
  close(): void;
}

export function firmamentLink(
  store: Store,
  o: { WebSocket?: SocketConstructor; now?: () => number } = {},
): FirmamentLink {
  const now = o.now ?? (() => Math.floor(Date.now() / 1000));
  let client: FirmamentClient | undefined;
  let bridge: string | undefined;
  let bootMs: number | undefined;

  async function open(r: Remembered): Promise<FirmamentClient> {
    client?.close();
    client = undefined;
    bridge = r.bridge;
    const c = await connectFirmament(r.bridge, r.token, o.WebSocket ? { WebSocket: o.WebSocket } : {});
    client = c;
    return c;
  }

  /** The open connection, reopened from the remembered bridge when there is none. */
  async function connected(): Promise<FirmamentClient> {
    if (client) return client;
    const r = await readRemembered(store);
    if (r === undefined)
      throw new DreggError('E_UNREACHABLE', 'No firmament: start one with npm run firmament -- up');
    return open(r);
  }

  /** Calls the kernel; a lost connection is dropped so the next call reconnects. */
  async function call(verb: Parameters<FirmamentClient['call']>[0], args: string[]): Promise<KernelReply> {
    const c = await connected();
    try {
      return await c.call(verb, args);
    } catch (e) {
      if (e instanceof DreggError && (e.code === 'E_UNREACHABLE' || e.code === 'E_TIMEOUT')) {
        if (client === c) client = undefined;
        c.close();
      }
      throw e;
    }
  }

  async function caps(): Promise<FirmamentCapView[]> {
    const lists = await Promise.all(Array.from({ length: CNODES }, (_, n) => call('list', [String(n)])));
    const refs = lists.flatMap((l) =>
      (l.caps ?? '')
        .split(',')
        .filter((e) => e !== '')
        .map((e) => e.split(':').slice(0, 2).join(':')),
    );
    return (await Promise.all(refs.map((ref) => call('show', [ref])))).map(capView);
  }

  async function view(): Promise<FirmamentView> {
    if (client === undefined && (await readRemembered(store)) === undefined)
      return { state: 'off', caps: [] };
    try {
      const started = performance.now();
      const ping = await call('ping', []);
      const latencyMs = Math.round((performance.now() - started) * 100) / 100;
      if (ping.bootMs !== undefined) bootMs = Number(ping.bootMs);
      return {
        state: 'connected',
        bridge: bridge!,
        latencyMs,
        ...(bootMs === undefined ? {} : { bootMs }),
        caps: await caps(),
      };
    } catch (e) {
      return {
        state: 'failed',
        ...(bridge === undefined ? {} : { bridge }),
        error: errorToWire(e),
        caps: [],
      };
    }
  }

  return {
    view,
    async connect(url, token) {
      if (typeof url !== 'string' || typeof token !== 'string')
        throw new DreggError('E_ARGUMENT', 'Give the bridge URL and token that dregg firmament up printed');
      const r = { bridge: url.trim(), token: token.trim().toLowerCase() };
      await open(r);
      await store.transact([
        { op: 'put', collection: 'settings', key: KEY, value: text.encode(JSON.stringify(r)) },
      ]);
      return view();
    },
    async forget() {
      client?.close();
      client = undefined;
      bridge = undefined;
      bootMs = undefined;
      await store.transact([{ op: 'delete', collection: 'settings', key: KEY }]);
      return { state: 'off', caps: [] };
    },
    async create(kind, cnode, cell) {
      if (!(FIRMAMENT_OBJECTS as readonly string[]).includes(kind))
        throw new DreggError('E_ARGUMENT', `A firmament object is one of ${FIRMAMENT_OBJECTS.join(', ')}`);
      if (kind === 'uplink' && (typeof cell !== 'string' || cell.trim() === ''))
        throw new DreggError('E_ARGUMENT', 'An uplink names the remote cell it reaches');
      const args = [kind, checkCnode(cnode), ...(kind === 'uplink' ? [cell!.trim().toLowerCase()] : [])];
      return capView(await call('new', args));
    },
    async mint(form) {
      // Bounds the form leaves out are the parent's, so only what the person chose can widen.
      const parent = capView(await call('show', [checkRef(form.from)]));
      const budget = form.budget === undefined ? parent.budget : Number(checkWord(form.budget, 'A budget'));
      const expiry =
        form.ttl === undefined ? parent.expiry : now() + Number(checkWord(form.ttl, 'A lifetime'));
      return capView(
        await call('mint', [
          parent.ref,
          checkCnode(form.cnode),
          bitsOf(form.actions),
          budget === null ? '-' : String(budget),
          String(parent.notBefore),
          expiry === null ? '-' : String(expiry),
        ]),
      );
    },
    async invoke(ref, action, args) {
      if (!(FIRMAMENT_ACTIONS as readonly string[]).includes(action) || action === 'grant')
        throw new DreggError('E_ARGUMENT', `${action} is not an invocation of the firmament`);
      if (!Array.isArray(args) || args.length > 2)
        throw new DreggError('E_ARGUMENT', 'An invocation takes at most two numbers');
      return {
        ...(await call('invoke', [checkRef(ref), action, ...args.map((a) => checkWord(a, 'An argument'))])),
      };
    },
    async revoke(ref, self) {
      const reply = await call(self ? 'delete' : 'revoke', [checkRef(ref)]);
      return Number(reply.revoked ?? 0);
    },
    close() {
      client?.close();
      client = undefined;
    },
  };
}

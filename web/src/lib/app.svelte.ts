/**
 * The page's view of the light node: its overview (status, DID, relay) kept fresh from the worker's
 * events, which screen is shown, and one way to run an action that shows progress while it runs and
 * its error (code and sentence) when it fails.
 */
import type { ErrorCode } from '@cipherclerk/core';
import { type LightNodeApi, startLightNode } from '@cipherclerk/worker/node';
import type { NodeEvent, Overview, ProofPhase } from '@cipherclerk/worker/node/api';

export type Screen =
  | 'identity'
  | 'capabilities'
  | 'share'
  | 'inbox'
  | 'cells'
  | 'trade'
  | 'network'
  | 'firmament';
export const SCREENS: readonly { id: Screen; label: string }[] = [
  { id: 'identity', label: 'Identity' },
  { id: 'capabilities', label: 'Capabilities' },
  { id: 'share', label: 'Share by QR' },
  { id: 'inbox', label: 'Inbox' },
  { id: 'cells', label: 'Cells' },
  { id: 'trade', label: 'Trade' },
  { id: 'network', label: 'Network' },
  { id: 'firmament', label: 'Local firmament' },
];

export interface Problem {
  readonly code: ErrorCode | 'E_INTERNAL';
  readonly message: string;
}

export const node: LightNodeApi = startLightNode();

export const app = $state({
  overview: undefined as Overview | undefined,
  screen: screenFromHash(),
  /** What is running now, for the progress line; undefined when idle. */
  busy: undefined as string | undefined,
  /** How far the running action has got, when the worker reports it. */
  progress: undefined as { done: number; total?: number } | undefined,
  problem: undefined as Problem | undefined,
  /** A sentence for the live region after something succeeded. */
  notice: undefined as string | undefined,
  /** Bumped when the held or issued capabilities change, so screens reload them. */
  changes: 0,
  /** Bumped when the inbox changes (a drain brought messages, one was accepted or dismissed). */
  inboxChanges: 0,
  /** Bumped when a ring this node approved moves on, so the Trade screen reloads. */
  tradeChanges: 0,
  /** Messages drained and not yet accepted or dismissed, for the navigation's count. */
  unread: 0,
  /** The issued delegation hash to show as a QR on the Share screen. */
  sharing: undefined as string | undefined,
  /** How far the proof of a built turn has got (the worker's `proof-progress` events). */
  proving: undefined as { turn: string; phase: ProofPhase; fraction: number } | undefined,
  /** Unix seconds, ticking once a second, for expiry countdowns. */
  now: Math.floor(Date.now() / 1000),
});

function screenFromHash(): Screen {
  const id = location.hash.replace(/^#\/?/, '');
  return SCREENS.find((s) => s.id === id)?.id ?? 'identity';
}

export function go(screen: Screen): void {
  app.screen = screen;
  if (location.hash !== `#/${screen}`) history.replaceState(null, '', `#/${screen}`);
}

function problemOf(e: unknown): Problem {
  if (typeof e === 'object' && e !== null && 'code' in e && 'message' in e)
    return { code: (e as Problem).code, message: (e as Problem).message };
  return { code: 'E_INTERNAL', message: 'Something went wrong in the page; reloading may help' };
}

/**
 * Runs `action` with `label` shown as progress; on failure shows its code and sentence and returns
 * undefined. One action at a time: the controls that start one are disabled while `app.busy` is set.
 */
export async function act<T>(label: string, action: () => Promise<T>, done?: string): Promise<T | undefined> {
  app.busy = label;
  app.problem = undefined;
  app.notice = undefined;
  try {
    const result = await action();
    if (done !== undefined) app.notice = done;
    return result;
  } catch (e) {
    app.problem = problemOf(e);
    return undefined;
  } finally {
    app.busy = undefined;
    app.progress = undefined;
  }
}

function heard(event: NodeEvent): void {
  switch (event.type) {
    case 'status':
      if (app.overview) app.overview = { ...app.overview, status: event.status };
      if (event.status === 'unlocked') countUnread();
      if (event.reason === 'idle') app.notice = 'Locked after a period of inactivity';
      break;
    case 'capabilities':
      app.changes++;
      break;
    case 'revocation':
      app.notice = `A revocation arrived from ${event.by.slice(0, 16)}…`;
      app.changes++;
      break;
    case 'relay':
      if (app.overview) app.overview = { ...app.overview, relay: event.relay };
      break;
    case 'inbox':
      if (event.fresh > 0) app.notice = `${event.fresh} new message(s) in your inbox`;
      app.inboxChanges++;
      countUnread();
      break;
    case 'progress':
      if (app.busy !== undefined)
        app.progress = { done: event.done, ...(event.total === undefined ? {} : { total: event.total }) };
      break;
    case 'trade':
      if (event.phase === 'settled' || event.phase === 'aborted')
        app.notice = `A ring you approved is ${event.phase === 'settled' ? 'settled' : 'over: escrows refunded'}`;
      app.tradeChanges++;
      break;
    case 'proof-progress':
      app.proving = { turn: event.turn, phase: event.phase, fraction: event.fraction };
      break;
  }
}

/** The navigation's count of messages waiting for a decision. */
export function countUnread(): void {
  node.inbox().then(
    (messages) => {
      app.unread = messages.filter((m) => m.state === 'new').length;
    },
    () => undefined,
  );
}

/** Activity in the page postpones auto-lock; told to the worker at most every 20 s. */
function watchActivity(): void {
  let last = 0;
  const touch = () => {
    const now = Date.now();
    if (now - last < 20_000 || app.overview?.status !== 'unlocked') return;
    last = now;
    node.touch().catch(() => undefined);
  };
  for (const type of ['pointerdown', 'keydown']) addEventListener(type, touch, { passive: true });
}

export async function start(): Promise<void> {
  addEventListener('hashchange', () => {
    app.screen = screenFromHash();
  });
  watchActivity();
  setInterval(() => {
    app.now = Math.floor(Date.now() / 1000);
  }, 1000);
  await node.subscribe(heard);
  app.overview = await node.overview();
  // The page answers input from here on: the worker is up and has read its store (npm run bench -w web).
  performance.mark('cipherclerk-interactive');
  // `?relay=<multiaddr>` (what `npm start` opens) configures the relay once.
  const relay = new URLSearchParams(location.search).get('relay');
  if (relay !== null && app.overview.relay.addresses[0] !== relay) {
    await act('Connecting to the relay', () => node.connect([relay]));
  }
}

export async function refresh(): Promise<void> {
  app.overview = await node.overview();
}

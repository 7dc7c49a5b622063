/**
 * The light node: one unlocked agent (or none), its sealed copy in a `Store`, an optional relay
 * connection, and the auto-lock timer. `createLightNode` returns the object that the worker entry
 * exposes with comlink (`api.ts` is its contract); tests call it directly.
 *
 * While unlocked the node keeps the unlock passphrase next to the agent's keys, because minting adds a
 * root key to the keyring, which must then be sealed again; both are dropped (and the key bytes wiped)
 * when it locks. Nothing is ever unlocked without the passphrase being typed: a new worker (a reload)
 * starts locked.
 */
import {
  type Agent,
  bumpEpoch,
  type Clock,
  createAgent,
  DreggError,
  delegate,
  fingerprint,
  importRevocation,
  inspect as inspectText,
  lockAgent,
  mintToken,
  nowSeconds,
  type RevocationRecord,
  receiveSignedDelegation,
  revocationToText,
  revoke as revokeDelegation,
  type SocketConstructor,
  type Store,
  systemClock,
  TrustedKey,
  toHex,
  tripChannel,
  unlockAgent,
  verifyRequest,
} from '@cipherclerk/core';
import type { RelayClient } from '@cipherclerk/core/net';
import type { ProvedTurn } from '@cipherclerk/core/proofs';
import type {
  Creation,
  InboxMessageView,
  LightNodeApi,
  LockReason,
  NodeEvent,
  NodeStatus,
  Overview,
  ReceiptView,
  RelayView,
} from './api.ts';
import {
  type Built,
  buildTurn,
  openCell,
  ownCells,
  receiptChain,
  rememberCell,
  submitBuilt,
  submitProvedBuilt,
} from './cells.ts';
import { errorToWire } from './errors.ts';
import { federationLink } from './federation.ts';
import { federationRelay } from './federation-relay.ts';
import { firmamentLink } from './firmament.ts';
import {
  deposit,
  drainAll,
  listMessages,
  message,
  readMemory,
  referenced,
  referenceFromText,
  referenceToText,
  setState,
  writeMemory,
} from './inbox.ts';
import { tradeDesk } from './intents.ts';
import { checkInvocationRequest, signInvocation } from './invocation.ts';
import {
  forgetProvedCell,
  proveBuilt,
  readProvedCell,
  type TurnProver,
  typescriptProver,
  writeProvedCell,
} from './proving.ts';
import { siteSessions } from './sites.ts';
import { readLocked, readSettings, type Settings, writeLocked, writeSettings } from './vault.ts';
import { capabilities, delegationView, mintedView } from './views.ts';

/** The scrypt parameters of core's at-rest encryption (tests pass cheap ones). */
export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export interface LightNodeOptions {
  readonly store: Store;
  readonly clock?: Clock;
  /** scrypt parameters for a keyring sealed here (default: core's `AT_REST_SCRYPT`). */
  readonly kdf?: KdfParams;
  /** How to reach a relay; without it `connect` refuses (`E_UNSUPPORTED`). */
  readonly connect?: (addresses: readonly string[]) => Promise<RelayClient>;
  /** Runs `run` once after `ms`; returns the cancel. Default `setTimeout`. */
  readonly schedule?: (ms: number, run: () => void) => () => void;
  /**
   * Opens the kernels turn proofs run on; called once, on the first proof. Default: the TypeScript
   * kernels (Node); the browser worker passes its WASM pool.
   */
  readonly prover?: () => Promise<TurnProver>;
  /** The WebSocket a firmament bridge is opened with (default: the global one). */
  readonly firmamentSocket?: SocketConstructor;
}

/** Words the person must type back after writing the mnemonic down. */
const CONFIRM_WORDS = 3;
const MIN_PASSPHRASE = 8;
/** Larger than any delegation chain we make; refuse before decoding anything bigger. */
const MAX_TEXT = 64 * 1024;

const defaultSchedule = (ms: number, run: () => void) => {
  const t = setTimeout(run, ms);
  return () => clearTimeout(t);
};

function checkPassphrase(p: unknown): string {
  if (typeof p !== 'string' || p.length < MIN_PASSPHRASE)
    throw new DreggError(
      'E_ARGUMENT',
      `Choose an unlock passphrase of at least ${MIN_PASSPHRASE} characters`,
    );
  return p;
}

function checkText(text: unknown): string {
  if (typeof text !== 'string') throw new DreggError('E_ARGUMENT', 'Expected text');
  if (text.length > MAX_TEXT)
    throw new DreggError('E_TOO_LARGE', 'That text is far too long to be a capability');
  return text.trim();
}

/** `n` distinct positions in `0..size-1`, uniformly, from `crypto.getRandomValues`. */
function randomPositions(n: number, size: number): number[] {
  const chosen = new Set<number>();
  const buf = new Uint32Array(1);
  while (chosen.size < n) {
    crypto.getRandomValues(buf);
    const limit = 2 ** 32 - (2 ** 32 % size);
    if (buf[0]! < limit) chosen.add(buf[0]! % size);
  }
  return [...chosen].sort((a, b) => a - b);
}

function wipe(agent: Agent): void {
  agent.identity.seed.fill(0);
  agent.identity.x25519.secretKey.fill(0);
  for (const key of Object.values(agent.secrets.rootKeys)) key.fill(0);
}

function subjectOf(r: RevocationRecord): string {
  switch (r.kind) {
    case 'delegation':
      return r.delegation;
    case 'trip':
      return `channel ${r.channel}`;
    case 'epoch':
      return `epoch ${r.epoch}`;
  }
}

export async function createLightNode(o: LightNodeOptions): Promise<LightNodeApi> {
  const { store } = o;
  const agentOptions = { ...(o.clock ? { clock: o.clock } : {}) };
  const schedule = o.schedule ?? defaultSchedule;
  let settings: Settings = await readSettings(store);
  let did: string | null = (await readLocked(store))?.state.did ?? null;
  let session: { agent: Agent; passphrase: string } | undefined;
  let pending: { agent: Agent; passphrase: string; confirm: number[] } | undefined;
  let cancelIdle: (() => void) | undefined;
  let client: RelayClient | undefined;
  let relay: RelayView = { state: 'offline', addresses: settings.relays };
  /** Turns built and run here, by hash, waiting to be submitted (dropped when the node locks). */
  const built = new Map<string, Built & { proof?: ProvedTurn }>();
  let prover: Promise<TurnProver> | undefined;
  /** Revocations heard while locked, applied at the next unlock. */
  const heard: string[] = [];
  const listeners = new Set<(e: NodeEvent) => void>();
  const sites = siteSessions(store);
  const federation = federationLink(store);
  const federated = federationRelay(federation);
  const firmament = firmamentLink(store, {
    ...(o.firmamentSocket ? { WebSocket: o.firmamentSocket } : {}),
    ...(o.clock ? { now: () => nowSeconds(o.clock!) } : {}),
  });

  const status = (): NodeStatus => (session ? 'unlocked' : did === null ? 'empty' : 'locked');
  const overview = (): Overview => ({
    status: status(),
    did,
    autoLockMinutes: settings.autoLockMinutes,
    relay,
  });

  function emit(event: NodeEvent): void {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch {
        listeners.delete(listener);
      }
    }
  }

  function armIdle(): void {
    cancelIdle?.();
    cancelIdle = undefined;
    if (session && settings.autoLockMinutes > 0)
      cancelIdle = schedule(settings.autoLockMinutes * 60_000, () => lockNow('idle'));
  }

  function lockNow(reason: LockReason): void {
    cancelIdle?.();
    cancelIdle = undefined;
    if (session) wipe(session.agent);
    sites.wipe();
    session = undefined;
    built.clear();
    firmament.close();
    emit({ type: 'status', status: status(), reason });
  }

  /** The unlocked agent; any use of it counts as activity. */
  function agent(): Agent {
    if (!session) throw new DreggError('E_LOCKED', 'Unlock first: the keys are sealed');
    armIdle();
    return session.agent;
  }

  /** Saves the state, and the keyring too when a root key was added (it must be sealed again). */
  async function persist(keyringChanged = false): Promise<void> {
    const s = session!;
    const keyring = keyringChanged ? (await lockAgent(s.agent, s.passphrase)).keyring : undefined;
    await writeLocked(store, s.agent.state, keyring);
    emit({ type: 'capabilities' });
  }

  async function begin(a: Agent, passphrase: string): Promise<Overview> {
    for (const text of heard.splice(0)) await importRevocation(a, text);
    session = { agent: a, passphrase };
    did = a.did;
    armIdle();
    // The rings approved before a reload: watched again, their reveals and escrows not lost.
    await trade.resume(a).catch((e) => console.error('light node: resuming approved rings failed', e));
    emit({ type: 'status', status: 'unlocked' });
    if (client)
      catchUp(client).catch((e) => console.error('light node: catching up on revocations failed', e));
    return overview();
  }

  async function keep(a: Agent, passphrase: string): Promise<Overview> {
    const locked = await lockAgent(a, passphrase);
    await writeLocked(store, locked.state, locked.keyring);
    return begin(a, passphrase);
  }

  function refuseIfStored(): void {
    if (did !== null) throw new DreggError('E_EXISTS', 'This browser already holds an identity');
  }

  /**
   * Applies revocations heard from the relay and tells the UI about the ones that are news. Gossip
   * may hand over a record again (gossipsub offers recent messages to a peer that just joined), and
   * catch-up may return one gossip already brought: a repeat changes nothing and raises no event.
   */
  async function heardRevocations(records: readonly RevocationRecord[]): Promise<void> {
    const known = new Set(session ? session.agent.state.revocations : heard);
    const fresh = records
      .map((record) => ({ record, text: revocationToText(record) }))
      .filter(({ text }) => !known.has(text) && known.add(text));
    if (fresh.length === 0) return;
    const texts = fresh.map((f) => f.text);
    if (session) {
      for (const text of texts) await importRevocation(session.agent, text);
      await persist();
    } else {
      heard.push(...texts);
    }
    const last = fresh[fresh.length - 1]!.record;
    emit({ type: 'revocation', by: last.by, subject: subjectOf(last) });
  }

  /**
   * Learns the revocations the relay logged since this node last asked (it may have been offline
   * while they were gossiped), then remembers where it stopped. Gossip covers the rest while online.
   */
  async function catchUp(c: RelayClient): Promise<number> {
    // Locked, what is learnt would live only in memory while the cursor moved on: wait for an unlock.
    if (!session) return 0;
    const memory = await readMemory(store, c.info.relay);
    const { records, next } = await c.revocationsSince(memory.revocations);
    await heardRevocations(records);
    // Read again: a drain may have moved the inbox point meanwhile.
    await writeMemory(store, c.info.relay, { ...(await readMemory(store, c.info.relay)), revocations: next });
    return records.length;
  }

  /** Hands a revocation this node made to the relay, if connected. */
  async function publish(record: RevocationRecord): Promise<void> {
    if (!client) return;
    try {
      await client.publishRevocation(record);
    } catch (e) {
      const w = errorToWire(e);
      throw new DreggError(w.code, `Revoked here, but the relay could not be told: ${w.message}`);
    }
  }

  /** On a federation relay, the turn's federated receipt, checked; a refusal is shown on the relay view. */
  async function withFederated(receipt: ReceiptView, turn: string): Promise<ReceiptView> {
    const c = online();
    try {
      const proven = await federated.settled(c, turn);
      return proven === undefined ? receipt : { ...receipt, federated: proven };
    } catch (e) {
      if (client === c) setRelay({ ...relay, error: errorToWire(e) });
      throw e;
    }
  }

  function online(): RelayClient {
    if (!client)
      throw new DreggError('E_UNREACHABLE', 'Not connected to a relay: connect on the Network screen first');
    return client;
  }

  function issuedText(hash: string): { to: string; text: string } {
    const issued = agent().state.issued[checkText(hash).toLowerCase()];
    if (issued === undefined) throw new DreggError('E_NOT_FOUND', 'You issued no delegation with that hash');
    return { to: issued.to, text: issued.chain };
  }

  async function drain(): Promise<{ fresh: number; expired: number }> {
    const a = agent();
    const c = online();
    const label = 'Draining your inbox';
    emit({ type: 'progress', label, done: 0 });
    const result = await drainAll(store, c, a, (done) => emit({ type: 'progress', label, done }));
    if (result.fresh > 0) emit({ type: 'inbox', fresh: result.fresh });
    return result;
  }

  async function sendText(to: string, text: string) {
    const r = await deposit(online(), to, text);
    return { to, relay: r.relay, seq: r.seq, reference: referenceToText(r) };
  }

  function turnProver(): Promise<TurnProver> {
    prover ??= (o.prover ?? typescriptProver)().catch((e) => {
      prover = undefined; // a failed start is tried again next time
      throw e;
    });
    return prover;
  }

  function builtTurn(turn: string): Built & { proof?: ProvedTurn } {
    const b = built.get(checkText(turn));
    if (b === undefined) throw new DreggError('E_NOT_FOUND', 'Execute the turn here first');
    return b;
  }

  /**
   * The relay accepted the proved turn `turn`: the state its proof ends in becomes the state this node
   * keeps for the cell (the relay knows only its commitment from now on).
   */
  async function commitProvedTurn(turn: string): Promise<void> {
    const proof = built.get(turn)?.proof;
    if (proof === undefined) throw new DreggError('E_NOT_FOUND', 'No proof was made for that turn');
    await writeProvedCell(store, proof.next);
  }

  const trade = tradeDesk({
    store,
    now: () => nowSeconds(o.clock ?? systemClock),
    online: () => online(),
    agent: () => agent(),
    emit,
    schedule,
    adopt: (cell) => rememberCell(store, online(), cell),
  });

  function setRelay(next: RelayView): RelayView {
    relay = next;
    emit({ type: 'relay', relay });
    return relay;
  }

  return {
    async overview() {
      return overview();
    },
    async create(passphrase) {
      refuseIfStored();
      const p = checkPassphrase(passphrase);
      const a = await createAgent({ ...agentOptions, ...(o.kdf ? { kdf: o.kdf } : {}) });
      const words = a.secrets.mnemonic.split(' ');
      pending = { agent: a, passphrase: p, confirm: randomPositions(CONFIRM_WORDS, words.length) };
      const creation: Creation = { mnemonic: a.secrets.mnemonic, did: a.did, confirm: pending.confirm };
      return creation;
    },
    async confirm(words) {
      if (!pending) throw new DreggError('E_NOT_FOUND', 'Nothing to confirm: create an identity first');
      refuseIfStored();
      const expected = pending.agent.secrets.mnemonic.split(' ');
      pending.confirm.forEach((position, i) => {
        if ((words[i] ?? '').trim().toLowerCase() !== expected[position])
          throw new DreggError('E_ARGUMENT', `Word ${position + 1} is not the word you were shown`);
      });
      const { agent: a, passphrase } = pending;
      pending = undefined;
      return keep(a, passphrase);
    },
    async restore(mnemonic, passphrase) {
      refuseIfStored();
      const p = checkPassphrase(passphrase);
      const a = await createAgent({
        ...agentOptions,
        ...(o.kdf ? { kdf: o.kdf } : {}),
        mnemonic: checkText(mnemonic),
      });
      return keep(a, p);
    },
    async unlock(passphrase) {
      if (session) return overview();
      const locked = await readLocked(store);
      if (locked === undefined)
        throw new DreggError('E_NOT_FOUND', 'There is no identity in this browser yet');
      if (typeof passphrase !== 'string') throw new DreggError('E_ARGUMENT', 'Type your unlock passphrase');
      return begin(await unlockAgent(locked, passphrase, agentOptions), passphrase);
    },
    async lock() {
      lockNow('user');
      return overview();
    },
    async touch() {
      if (session) armIdle();
    },
    async setAutoLock(minutes) {
      if (!Number.isFinite(minutes) || minutes < 0 || minutes > 24 * 60)
        throw new DreggError('E_ARGUMENT', 'Auto-lock is a number of minutes from 0 (off) to 1440');
      settings = { ...settings, autoLockMinutes: minutes };
      await writeSettings(store, settings);
      armIdle();
      return overview();
    },
    async identity() {
      const a = agent();
      return {
        did: a.did,
        fingerprints: {
          signing: fingerprint(a.identity.publicKey),
          sealing: fingerprint(a.identity.x25519.publicKey),
        },
      };
    },
    async capabilities() {
      return capabilities(agent());
    },
    async mint(form) {
      const a = agent();
      const r = mintToken(a, {
        service: checkText(form.service),
        ...(form.actions ? { actions: form.actions } : {}),
        ...(form.budget !== undefined ? { budget: form.budget } : {}),
        ...(form.ttl !== undefined ? { ttl: form.ttl } : {}),
      });
      await persist(true);
      return mintedView(a, r.id);
    },
    async delegate(form) {
      const a = agent();
      const r = await delegate(a, checkText(form.from), checkText(form.recipient), {
        ...(form.services ? { services: form.services } : {}),
        ...(form.actions ? { actions: form.actions } : {}),
        ...(form.budget !== undefined ? { maxBudget: form.budget } : {}),
        ...(form.ttl !== undefined ? { maxTtl: form.ttl } : {}),
        ...(form.channel === true ? { channel: true } : {}),
      });
      await persist();
      return delegationView(a, r.text, nowSeconds(a.clock));
    },
    async inspect(text) {
      if (session) armIdle();
      return inspectText(checkText(text));
    },
    async accept(text, issuer) {
      const a = agent();
      const r = await receiveSignedDelegation(a, checkText(text), TrustedKey(checkText(issuer)));
      await persist();
      return delegationView(a, a.state.held[r.id]!.chain, a.state.held[r.id]!.acceptedAt);
    },
    async verify(capability, request) {
      const a = agent();
      const decision = await verifyRequest(a, checkText(capability), {
        service: checkText(request.service),
        action: checkText(request.action),
        ...(request.cost !== undefined ? { cost: request.cost } : {}),
      });
      await persist();
      return decision;
    },
    async revoke(hash) {
      const a = agent();
      const id = checkText(hash).toLowerCase();
      const issued = a.state.issued[id];
      if (issued === undefined)
        throw new DreggError('E_NOT_FOUND', 'You issued no delegation with that hash');
      const r = await revokeDelegation(a, { token: issued.token, delegation: id });
      await persist();
      await publish(r.record);
      return delegationView(a, issued.chain, issued.issuedAt);
    },
    async tripChannel(channel) {
      const r = await tripChannel(agent(), checkText(channel));
      await persist();
      await publish(r.record);
    },
    async bumpEpoch() {
      const r = await bumpEpoch(agent());
      await persist();
      await publish(r.record);
      return { epoch: r.epoch };
    },
    async sendToInbox(hash) {
      const { to, text } = issuedText(hash);
      return sendText(to, text);
    },
    async inbox() {
      agent();
      return listMessages(store);
    },
    async drainInbox() {
      const { fresh, expired } = await drain();
      return { fresh, expired, messages: await listMessages(store) };
    },
    async acceptMessage(id) {
      const m: InboxMessageView = await message(store, checkText(id));
      if (m.text === undefined || m.inspection === undefined)
        throw new DreggError(
          m.error?.code ?? 'E_DECODE',
          m.error?.message ?? 'This message holds no capability',
        );
      const a = agent();
      const r = await receiveSignedDelegation(a, m.text, TrustedKey(m.inspection.issuer));
      await persist();
      await setState(store, m.id, 'accepted');
      emit({ type: 'inbox', fresh: 0 });
      return delegationView(a, a.state.held[r.id]!.chain, a.state.held[r.id]!.acceptedAt);
    },
    async dismissMessage(id) {
      agent();
      const m = await setState(store, checkText(id), 'dismissed');
      emit({ type: 'inbox', fresh: 0 });
      return m;
    },
    async openReference(text) {
      const a = agent();
      const r = referenceFromText(checkText(text));
      if (r.recipient !== a.did)
        throw new DreggError('E_AUDIENCE', 'This inbox reference is for someone else, not for you');
      const c = online();
      if (c.info.relay !== r.relay)
        throw new DreggError(
          'E_UNREACHABLE',
          `The message waits at relay ${r.relay}, not at the one you are connected to`,
        );
      await drain();
      return referenced(store, r);
    },
    async cells() {
      const a = agent();
      return ownCells(store, online(), a.did);
    },
    async openCell() {
      return openCell(store, online(), agent());
    },
    async executeTurn(cell, effects) {
      const id = checkText(cell).toLowerCase();
      const c = online();
      const a = agent();
      const b = await buildTurn(c, a, id, effects, await readProvedCell(store, id));
      built.set(b.preview.turn, b);
      return b.preview;
    },
    async proveTurn(turn) {
      const a = agent();
      const b = builtTurn(turn);
      const hash = b.preview.turn;
      const { proofSecret } = await import('@cipherclerk/core/proofs');
      const kernels = await turnProver();
      const secret = proofSecret(a.identity.seed);
      try {
        const { proved, view } = await proveBuilt(b, secret, kernels, (phase, fraction) =>
          emit({ type: 'proof-progress', turn: hash, phase, fraction }),
        );
        // The node may have locked (or the turn been submitted) while the proof ran.
        if (built.get(hash) === b) built.set(hash, { ...b, proof: proved });
        return view;
      } finally {
        secret.fill(0);
      }
    },
    async submitTurn(turn) {
      const a = agent();
      const b = builtTurn(turn);
      if (b.proof === undefined) {
        // A plaintext turn, checked by the relay's executor on its own view: that view holds again.
        const c = online();
        const receipt = await federated.submit(c, () => submitBuilt(c, b));
        await forgetProvedCell(store, b.cell.id);
        built.delete(b.preview.turn);
        return withFederated(receipt, b.preview.turn);
      }
      // A proved turn goes as its proof; once the relay orders it, its end state is what this node
      // keeps for the cell (the relay holds only the commitment).
      const { proofSecret } = await import('@cipherclerk/core/proofs');
      const secret = proofSecret(a.identity.seed);
      let receipt: ReceiptView;
      try {
        receipt = await submitProvedBuilt(online(), a, b, b.proof, secret);
      } finally {
        secret.fill(0);
      }
      await commitProvedTurn(b.preview.turn);
      built.delete(b.preview.turn);
      return withFederated(receipt, b.preview.turn);
    },
    async receipts() {
      return receiptChain(online(), agent());
    },
    federation: () => federation.view(),
    pinFederation: async (genesis, source = 'genesis') => {
      if (source !== 'genesis' && source !== 'first-use')
        throw new DreggError('E_ARGUMENT', 'A federation is pinned from its genesis file or at first use');
      return federation.pin(checkText(genesis), source);
    },
    forgetFederation: () => federation.forget(),
    federationRoot: async (root, transitions = []) => {
      if (
        !(root instanceof Uint8Array) ||
        !Array.isArray(transitions) ||
        !transitions.every((t) => t instanceof Uint8Array)
      )
        throw new DreggError('E_ARGUMENT', 'A root and its transitions are bytes');
      return federation.root(root, transitions);
    },
    federationReceipt: async (bundle) => {
      if (!(bundle instanceof Uint8Array)) throw new DreggError('E_ARGUMENT', 'A receipt bundle is bytes');
      return federation.receipt(bundle);
    },
    async peers() {
      return client ? client.peers() : [];
    },
    async connect(addresses) {
      if (!o.connect) throw new DreggError('E_UNSUPPORTED', 'This light node has no network');
      if (
        !Array.isArray(addresses) ||
        addresses.length === 0 ||
        !addresses.every((a) => typeof a === 'string')
      )
        throw new DreggError('E_ARGUMENT', 'Give at least one relay address (a multiaddr)');
      await client?.close();
      client = undefined;
      const list = addresses.map((a) => a.trim());
      setRelay({ state: 'connecting', addresses: list });
      try {
        const c = await o.connect(list);
        client = c;
        await federated.joined(c);
        settings = { ...settings, relays: list };
        await writeSettings(store, settings);
        c.onRevocation((record) => {
          heardRevocations([record]).catch((e) =>
            console.error('light node: a revocation was not applied', e),
          );
        });
        c.onRoot((root) => {
          if (client === c)
            setRelay({ ...relay, root: { height: root.height, at: root.at, logRoot: toHex(root.logRoot) } });
        });
        const started = performance.now();
        const root = await c.latestRoot();
        const latencyMs = Math.round(performance.now() - started);
        if (session)
          await trade
            .resume(session.agent)
            .catch((e) => console.error('light node: watching rings failed', e));
        const missed = await catchUp(c).then(
          () => undefined,
          (e) => errorToWire(e),
        );
        return setRelay({
          ...(missed
            ? {
                error: { code: missed.code, message: `Catching up on revocations failed: ${missed.message}` },
              }
            : {}),
          state: 'online',
          addresses: list,
          relay: c.info.relay,
          latencyMs,
          root: { height: root.height, at: root.at, logRoot: toHex(root.logRoot) },
        });
      } catch (e) {
        setRelay({ state: 'failed', addresses: list, error: errorToWire(e) });
        throw e;
      }
    },
    async disconnect() {
      trade.stop();
      await client?.close();
      client = undefined;
      return setRelay({ state: 'offline', addresses: relay.addresses });
    },
    async siteSession(origin) {
      return { did: (await sites.identity(agent(), origin)).did };
    },
    async invokeForSite(origin, capability, request) {
      const a = agent();
      const site = await sites.identity(a, origin);
      const text = checkText(capability);
      if (inspectText(text).holder !== site.did)
        throw new DreggError('E_AUDIENCE', 'This capability was not granted to this site');
      return signInvocation(a.ed, site, text, checkInvocationRequest(request), nowSeconds(a.clock));
    },
    async forgetSite(origin) {
      agent();
      await sites.forget(origin);
    },
    async subscribe(listener) {
      listeners.add(listener);
    },
    trades: (zone) => trade.trades(checkText(zone)),
    postIntent: (form) => trade.post(form),
    withdrawIntent: (id) => trade.withdraw(checkText(id)),
    approveRing: (ring, cell, gives = []) =>
      trade.approve(
        checkText(ring),
        checkText(cell).toLowerCase(),
        (Array.isArray(gives) ? gives : [gives]).map((g) => checkText(g).toLowerCase()),
      ),
    reclaimEscrow: (ring) => trade.reclaim(checkText(ring)),
    solveLocally: (zone) => trade.solveLocally(checkText(zone)),
    async firmament() {
      agent();
      return firmament.view();
    },
    async connectFirmament(bridge, token) {
      agent();
      return firmament.connect(bridge, token);
    },
    async forgetFirmament() {
      agent();
      return firmament.forget();
    },
    async firmamentNew(kind, cnode, cell) {
      agent();
      return firmament.create(kind, cnode, cell);
    },
    async firmamentMint(form) {
      agent();
      return firmament.mint(form);
    },
    async firmamentInvoke(ref, action, args) {
      agent();
      return firmament.invoke(ref, action, args);
    },
    async firmamentRevoke(ref, self) {
      agent();
      return firmament.revoke(ref, self);
    },
  };
}

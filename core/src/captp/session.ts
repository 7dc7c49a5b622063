/**
 * One CapTP session between two vats over a `Link`: the handshake, the four tables (exports and
 * imports, questions and answers), strands, promise pipelining and distributed GC.
 *
 * Tables. Export id 0 is the peer's bootstrap object (it lives as long as the session); other exports
 * are numbered from 1 by the exporter. Each export carries a wire count: how many times its
 * descriptor was sent. An import carries how many times it was received since it was last dropped,
 * and a drop reports exactly that number. The exporter subtracts it and reclaims the export at zero,
 * so a drop that crosses a fresh send of the same export on the wire cannot reclaim what the importer
 * is about to hold again (the scheme of E's CapTP and OCapN's op:gc-export).
 *
 * Questions are numbered by the caller; the callee keeps the answer position until the caller sends
 * `finish` (which it does as soon as the return arrives: later calls go to the result itself).
 *
 * Strands. Calls carry a strand id and a per-strand sequence number; the receiver delivers each
 * strand's calls in order. A call to a pending answer holds its strand until the answer settles, so
 * independent work belongs on another strand. Everything that changes a table (a descriptor received,
 * an answer position opened) happens when the frame is read, in wire order; only delivery waits.
 *
 * Any malformed or out-of-protocol frame aborts the session with a typed reason; the session then
 * rejects everything pending, empties its tables (its exports are reclaimed) and closes the link.
 */
import type { Ed25519 } from '../crypto/ed25519.ts';
import { type CborValue, encodeCbor } from '../encoding/cbor.ts';
import { ed25519FromDidKey } from '../encoding/did-key.ts';
import { DreggError, type ErrorCode } from '../errors.ts';
import { type Role, sessionId, signAuth, verifyAuth } from './handshake.ts';
import type { Link } from './link.ts';
import {
  brokenAnswer,
  type CallOptions,
  call,
  invokeLocal,
  isAnswerRef,
  isLocalObject,
  isRef,
  isRemoteRef,
  type LocalObject,
  newAnswer,
  type RemoteRef,
  remoteRef,
  type SessionPort,
  sendOnly,
  type Value,
} from './refs.ts';
import {
  type Arg,
  CAPTP_VERSION,
  type Call,
  decodeMessage,
  encodeMessage,
  type Hello,
  MAX_ARGS,
  MAX_STRANDS,
  type Message,
  type TargetDesc,
  wireError,
} from './wire.ts';

export interface SessionIdentity {
  readonly did: string;
  readonly seed: Uint8Array;
  readonly ed: Ed25519;
}

/** What the vat gives each of its sessions. */
export interface SessionHost {
  readonly identity: SessionIdentity;
  /** The epoch this vat proposes for a new session with `peer` (undefined: not known yet). */
  proposeEpoch(peer: string | undefined): number;
  /** The session is authenticated: record its epoch, and give it its bootstrap object. */
  opened(session: Session): LocalObject;
  /** The session is over (its tables are already empty). */
  closed(session: Session): void;
  readonly random: (n: number) => Uint8Array;
  readonly handshakeTimeoutMs: number;
}

export interface ExportEntry {
  readonly id: number;
  readonly object: LocalObject;
  /** Descriptors sent and not yet dropped. */
  readonly count: number;
}

export interface Session {
  readonly role: Role;
  /** The peer's DID, authenticated (valid once `ready` has resolved). */
  readonly peer: string;
  /** The session id (hash of both hellos) and its epoch (the larger of the two proposals). */
  readonly id: Uint8Array;
  readonly epoch: number;
  /** Resolves when both sides are authenticated; rejects with the reason the handshake failed. */
  readonly ready: Promise<Session>;
  /** Resolves when the session is over, with the reason (undefined for a plain close). */
  readonly done: Promise<DreggError | undefined>;
  readonly isOpen: boolean;
  /** The peer's bootstrap object. */
  bootstrap(): RemoteRef;
  /** This side's export table (for GC inspection). */
  exports(): ExportEntry[];
  /** This side's import ids with their unreported counts. */
  imports(): { id: number; count: number }[];
  /** Answer positions this side keeps for the peer. */
  answerCount(): number;
  /** Closes the session; everything pending breaks with `E_UNREACHABLE`. */
  close(): void;
}

interface Question {
  resolve(v: Value): void;
  reject(e: DreggError): void;
}

interface Import {
  ref: RemoteRef;
  count: number;
}

interface Export {
  object: LocalObject;
  count: number;
}

const ended = (why = 'The CapTP session has ended'): DreggError => new DreggError('E_UNREACHABLE', why);

/** Starts a session on `link`. The initiator sends its hello at once; `expect` pins the peer's DID. */
export function startSession(link: Link, host: SessionHost, o: { role: Role; expect?: string }): Session {
  const { identity } = host;
  const role = o.role;
  let state: 'hello' | 'auth' | 'open' | 'closed' = 'hello';
  let peer = '';
  let id: Uint8Array = new Uint8Array(0);
  let epoch = 0;
  let ours: Hello | undefined;
  let bootstrapObject: LocalObject | undefined;
  let bootstrapRef: RemoteRef | undefined;

  const exportsById = new Map<number, Export>();
  const exportIds = new Map<LocalObject, number>();
  let nextExport = 1;
  const importsById = new Map<number, Import>();
  const questions = new Map<number, Question>();
  let nextQuestion = 1;
  const answers = new Map<number, Promise<Value>>();
  const outSeq = new Map<number, number>();
  const inSeq = new Map<number, number>();
  const strandTails = new Map<number, Promise<void>>();

  let markReady!: (s: Session) => void;
  let failReady!: (e: DreggError) => void;
  const ready = new Promise<Session>((res, rej) => {
    markReady = res;
    failReady = rej;
  });
  ready.catch(() => undefined);
  let markDone!: (e: DreggError | undefined) => void;
  const done = new Promise<DreggError | undefined>((res) => {
    markDone = res;
  });

  const put = (m: Message): void => link.send(encodeMessage(m));

  // ---- shutdown ----------------------------------------------------------------------------------

  const shutdown = (reason: DreggError | undefined): void => {
    if (state === 'closed') return;
    const wasOpen = state === 'open';
    state = 'closed';
    clearTimeout(handshakeTimer);
    const broken = reason ?? ended();
    for (const q of questions.values()) q.reject(broken);
    questions.clear();
    exportsById.clear();
    exportIds.clear();
    importsById.clear();
    answers.clear();
    link.close();
    if (wasOpen) host.closed(session);
    else failReady(broken);
    markDone(reason);
  };

  /** Tells the peer why, then closes. Only this side's own code decides what the message says. */
  const abort = (code: ErrorCode, message: string): void => {
    if (state === 'closed') return;
    put({ op: 'abort', code, message });
    shutdown(new DreggError(code, message));
  };

  const handshakeTimer = setTimeout(
    () => abort('E_TIMEOUT', 'The CapTP handshake did not finish in time'),
    host.handshakeTimeoutMs,
  );

  // ---- values <-> wire ---------------------------------------------------------------------------

  /** Checks that every value can be sent, before any count changes (a refusal leaves no trace). */
  const checkSendable = (values: readonly Value[]): void => {
    for (const v of values) {
      if (isLocalObject(v)) continue;
      if (isRemoteRef(v)) {
        if (v.session !== port)
          throw new DreggError(
            'E_ARGUMENT',
            'A reference imported from another vat cannot be passed on; introduce it with a handoff',
          );
        if (v.id !== 0 && importsById.get(v.id)?.ref !== v)
          throw new DreggError('E_ARGUMENT', 'This reference has been released');
        continue;
      }
      if (isAnswerRef(v)) throw new DreggError('E_ARGUMENT', 'Await a promise before passing it');
      encodeCbor(v);
    }
  };

  const toArg = (v: Value): Arg => {
    if (isLocalObject(v)) {
      let eid = exportIds.get(v);
      if (eid === undefined) {
        eid = nextExport++;
        exportIds.set(v, eid);
        exportsById.set(eid, { object: v, count: 0 });
      }
      exportsById.get(eid)!.count++;
      return { r: { t: 'export', id: eid } };
    }
    if (isRemoteRef(v)) return { r: { t: 'import', id: v.id } };
    return { d: v as CborValue };
  };

  /** Reads one argument in wire order: a received descriptor counts at once. */
  const fromArg = (a: Arg): Value => {
    if ('d' in a) return a.d;
    const d = a.r;
    if (d.t === 'export') {
      let imp = importsById.get(d.id);
      if (imp === undefined) {
        imp = { ref: remoteRef(port, d.id), count: 0 };
        importsById.set(d.id, imp);
      }
      imp.count++;
      return imp.ref;
    }
    if (d.t === 'import') {
      if (d.id === 0 && bootstrapObject !== undefined) return bootstrapObject;
      const e = exportsById.get(d.id);
      if (e === undefined)
        throw new DreggError('E_INVALID', `The peer named export ${d.id}, which it does not hold`);
      return e.object;
    }
    throw new DreggError('E_INVALID', 'A promise cannot be passed as a value');
  };

  // ---- outgoing calls ----------------------------------------------------------------------------

  const port: SessionPort = {
    get peer() {
      return peer;
    },
    send(to: TargetDesc, method: string, args: readonly Value[], co: CallOptions, want: boolean) {
      if (state !== 'open') return want ? brokenAnswer(ended()) : undefined;
      const strand = co.strand ?? 0;
      if (!Number.isInteger(strand) || strand < 0 || strand >= MAX_STRANDS)
        throw new DreggError('E_ARGUMENT', `A strand is a whole number below ${MAX_STRANDS}`);
      if (args.length > MAX_ARGS) throw new DreggError('E_ARGUMENT', `At most ${MAX_ARGS} arguments`);
      if (to.t === 'import' && to.id !== 0 && !importsById.has(to.id))
        return want
          ? brokenAnswer(new DreggError('E_ARGUMENT', 'This reference has been released'))
          : undefined;
      checkSendable(args);
      const q = outSeq.get(strand) ?? 0;
      outSeq.set(strand, q + 1);
      const m: Call = { op: 'call', s: strand, q, to, m: method, a: args.map(toArg) };
      if (!want) {
        put(m);
        return undefined;
      }
      const question = nextQuestion++;
      const a = newAnswer({ port, question });
      questions.set(question, a);
      put({ ...m, ans: question });
      return a.answer;
    },
    release(ref: RemoteRef) {
      if (ref.id === 0 || state !== 'open') return;
      const imp = importsById.get(ref.id);
      if (imp === undefined || imp.ref !== ref) return;
      importsById.delete(ref.id);
      put({ op: 'drop', id: ref.id, n: imp.count });
    },
  };

  // ---- incoming ----------------------------------------------------------------------------------

  const answer = (ans: number, outcome: Promise<Value>): void => {
    outcome.then(
      (v) => {
        if (state !== 'open' || !answers.has(ans)) return;
        let ok: Arg;
        try {
          checkSendable([v]);
          ok = toArg(v);
        } catch (e) {
          put({ op: 'return', ans, err: wireError(e) });
          return;
        }
        put({ op: 'return', ans, ok });
      },
      (e: unknown) => {
        if (state === 'open' && answers.has(ans)) put({ op: 'return', ans, err: wireError(e) });
      },
    );
  };

  /** Delivers a call to what its target turned out to be. */
  const deliver = (target: Value, m: Call, args: readonly Value[]): Promise<Value> => {
    if (isLocalObject(target)) return invokeLocal(target, m.m, args, peer);
    if (isRef(target)) {
      if (m.ans === undefined) {
        sendOnly(target, m.m, args);
        return Promise.resolve(null);
      }
      return call(target, m.m, args).promise;
    }
    return Promise.reject(new DreggError('E_INVALID', 'The promise resolved to data, not a reference'));
  };

  const onCall = (m: Call): void => {
    const expected = inSeq.get(m.s) ?? 0;
    if (m.q !== expected)
      throw new DreggError('E_INVALID', `Strand ${m.s} expected message ${expected}, got ${m.q}`);
    inSeq.set(m.s, expected + 1);
    let target: Promise<Value>;
    if (m.to.t === 'import') {
      const object = m.to.id === 0 ? bootstrapObject : exportsById.get(m.to.id)?.object;
      target =
        object === undefined
          ? Promise.reject(new DreggError('E_NOT_FOUND', `No export ${m.to.id} in this session`))
          : Promise.resolve(object);
    } else {
      target =
        answers.get(m.to.id) ??
        Promise.reject(new DreggError('E_NOT_FOUND', `No answer ${m.to.id} in this session`));
    }
    target.catch(() => undefined);
    const args = m.a.map(fromArg);
    let settle: ((p: Promise<Value>) => void) | undefined;
    if (m.ans !== undefined) {
      if (answers.has(m.ans)) throw new DreggError('E_INVALID', `Question ${m.ans} is already open`);
      const outcome = new Promise<Value>((res) => {
        settle = res;
      });
      outcome.catch(() => undefined);
      answers.set(m.ans, outcome);
      answer(m.ans, outcome);
    }
    const tail = strandTails.get(m.s) ?? Promise.resolve();
    strandTails.set(
      m.s,
      tail.then(() =>
        target.then(
          (t) => {
            if (state !== 'open') return;
            const outcome = deliver(t, m, args);
            outcome.catch(() => undefined);
            settle?.(outcome);
          },
          (e: unknown) => settle?.(Promise.reject(e)),
        ),
      ),
    );
  };

  const onReturn = (m: Extract<Message, { op: 'return' }>): void => {
    const q = questions.get(m.ans);
    if (q === undefined)
      throw new DreggError('E_INVALID', `A return for question ${m.ans}, which is not open`);
    questions.delete(m.ans);
    if ('ok' in m) q.resolve(fromArg(m.ok));
    else q.reject(new DreggError(m.err.code, m.err.message));
    put({ op: 'finish', ans: m.ans });
  };

  const onOpen = (m: Message): void => {
    switch (m.op) {
      case 'call':
        onCall(m);
        return;
      case 'return':
        onReturn(m);
        return;
      case 'finish':
        if (!answers.delete(m.ans))
          throw new DreggError('E_INVALID', `Finish for answer ${m.ans}, which is not open`);
        return;
      case 'drop': {
        const e = exportsById.get(m.id);
        if (e === undefined || m.n === 0 || m.n > e.count)
          throw new DreggError('E_INVALID', `A drop of export ${m.id} that does not match what was sent`);
        e.count -= m.n;
        if (e.count === 0) {
          exportsById.delete(m.id);
          exportIds.delete(e.object);
        }
        return;
      }
      case 'abort':
        shutdown(new DreggError(m.code, `The peer aborted the session: ${m.message}`));
        return;
      default:
        throw new DreggError('E_INVALID', `Unexpected ${m.op} in an open session`);
    }
  };

  const sendHello = (peerDid: string | undefined): Hello => {
    const hello: Hello = {
      op: 'hello',
      v: CAPTP_VERSION,
      did: identity.did,
      nonce: host.random(32),
      epoch: host.proposeEpoch(peerDid),
    };
    put(hello);
    return hello;
  };

  const onHandshake = async (m: Message): Promise<void> => {
    if (m.op === 'abort') {
      shutdown(new DreggError(m.code, `The peer aborted the handshake: ${m.message}`));
      return;
    }
    if (state === 'hello') {
      if (m.op !== 'hello') throw new DreggError('E_INVALID', 'Expected a hello');
      if (m.v !== CAPTP_VERSION)
        throw new DreggError('E_UNSUPPORTED', `CapTP version ${m.v} is not supported`);
      ed25519FromDidKey(m.did);
      if (o.expect !== undefined && m.did !== o.expect)
        throw new DreggError('E_UNTRUSTED', `The peer is ${m.did}, not the expected ${o.expect}`);
      peer = m.did;
      if (role === 'responder') ours = sendHello(peer);
      const [initiator, responder] = role === 'initiator' ? [ours!, m] : [m, ours!];
      id = sessionId(initiator, responder);
      epoch = Math.max(initiator.epoch, responder.epoch);
      state = 'auth';
      put({ op: 'auth', sig: await signAuth(id, identity.did, identity.seed, identity.ed) });
      return;
    }
    if (m.op !== 'auth') throw new DreggError('E_INVALID', 'Expected an auth');
    if (!(await verifyAuth(id, peer, m.sig, identity.ed)))
      throw new DreggError('E_BAD_SIGNATURE', 'The peer did not prove its DID');
    if (state !== 'auth') return;
    clearTimeout(handshakeTimer);
    state = 'open';
    bootstrapObject = host.opened(session);
    markReady(session);
  };

  // During the handshake frames wait their turn (it awaits signatures); once open, they are handled
  // as they arrive, after whatever was queued before.
  const queued: Uint8Array[] = [];
  let pumping = false;
  const pump = async (): Promise<void> => {
    pumping = true;
    while (queued.length > 0 && state !== 'closed') {
      const frame = queued.shift()!;
      if (state === 'open') handleFrame(frame);
      else
        try {
          await onHandshake(decodeMessage(frame));
        } catch (e) {
          fail(e);
        }
    }
    pumping = false;
  };
  const onFrame = (frame: Uint8Array): void => {
    if (state === 'closed') return;
    if (state === 'open' && !pumping) {
      handleFrame(frame);
      return;
    }
    queued.push(frame);
    if (!pumping) void pump();
  };

  const fail = (e: unknown): void => {
    const err = e instanceof DreggError ? e : new DreggError('E_INTERNAL');
    abort(err.code, err.message);
  };

  const handleFrame = (frame: Uint8Array): void => {
    try {
      onOpen(decodeMessage(frame));
    } catch (e) {
      fail(e);
    }
  };

  const session: Session = {
    role,
    get peer() {
      return peer;
    },
    get id() {
      return id;
    },
    get epoch() {
      return epoch;
    },
    ready,
    done,
    get isOpen() {
      return state === 'open';
    },
    bootstrap() {
      bootstrapRef ??= remoteRef(port, 0);
      return bootstrapRef;
    },
    exports() {
      return [...exportsById].map(([eid, e]) => ({ id: eid, object: e.object, count: e.count }));
    },
    imports() {
      return [...importsById].map(([iid, i]) => ({ id: iid, count: i.count }));
    },
    answerCount() {
      return answers.size;
    },
    close() {
      if (state === 'open') put({ op: 'abort', code: 'E_UNREACHABLE', message: 'Closed by the peer' });
      shutdown(undefined);
    },
  };

  link.listen({ frame: onFrame, closed: () => shutdown(state === 'closed' ? undefined : ended()) });
  if (role === 'initiator') ours = sendHello(o.expect);
  return session;
}

/**
 * References, as a vat's code holds them:
 *
 * - a `LocalObject` is an object of this vat: methods, and the rights this facet of it grants;
 * - a `RemoteRef` is an import: an object of the peer of one session, dead when that session ends;
 * - an `AnswerRef` is the promise of a call's result. It can be called before it settles (promise
 *   pipelining): the call goes to the answer position on the peer and is delivered there when the
 *   result is known; if the result breaks, every call made on it breaks with the same reason.
 *
 * `call(ref, method, args)` works on all three, so code does not care where an object lives.
 * References are recognised by brand (WeakSets), never by shape: a data map can look like anything.
 */
import { type Rights, TOP } from '../caps/rights.ts';
import { type Clock, nowSeconds, systemClock } from '../clock.ts';
import type { CborValue } from '../encoding/cbor.ts';
import { DreggError } from '../errors.ts';
import type { TargetDesc } from './wire.ts';

export type Ref = LocalObject | RemoteRef | AnswerRef;
/** What calls take and return. References may only be whole arguments or whole results. */
export type Value = CborValue | Ref;

export interface CallContext {
  /** The DID of the vat the call came from; undefined for a call made inside this vat. */
  readonly peer: string | undefined;
  /** The rights of the facet called (for objects that meter budgets or check services themselves). */
  readonly rights: Rights;
}

export type Method = (args: readonly Value[], context: CallContext) => Value | Promise<Value>;

export interface LocalObject {
  /** A short public name for logs and errors (never a secret). */
  readonly label: string;
  readonly methods: Readonly<Record<string, Method>>;
  /** What this facet allows: the method must be one of its actions, the call inside its validity window. */
  readonly rights: Rights;
  /** The clock its validity window is checked against (the vat's, injected). */
  readonly clock: Clock;
}

export interface RemoteRef {
  /** The session it was imported on; its id in that session's import table. */
  readonly session: SessionPort;
  readonly id: number;
}

export interface AnswerRef {
  /** Settles with the result, or rejects with the reason the promise broke (a `DreggError`). */
  readonly promise: Promise<Value>;
}

export interface CallOptions {
  /** Strand to send on (default 0). Messages on one strand are delivered in the order sent. */
  readonly strand?: number;
}

/** What a session offers its references; implemented in ./session.ts. */
export interface SessionPort {
  readonly peer: string;
  /** Sends a call to one of the peer's objects; returns its answer (undefined for a send-only call). */
  send(
    to: TargetDesc,
    method: string,
    args: readonly Value[],
    o: CallOptions,
    answer: boolean,
  ): AnswerRef | undefined;
  /** Forgets an import and tells the exporter. */
  release(ref: RemoteRef): void;
}

const locals = new WeakSet<object>();
const remotes = new WeakSet<object>();

type AnswerState =
  | { status: 'pending'; port: SessionPort | undefined; question: number }
  | { status: 'resolved'; value: Value }
  | { status: 'broken'; error: DreggError };

const answers = new WeakMap<object, AnswerState>();

export function isLocalObject(v: unknown): v is LocalObject {
  return typeof v === 'object' && v !== null && locals.has(v);
}

export function isRemoteRef(v: unknown): v is RemoteRef {
  return typeof v === 'object' && v !== null && remotes.has(v);
}

export function isAnswerRef(v: unknown): v is AnswerRef {
  return typeof v === 'object' && v !== null && answers.has(v);
}

export function isRef(v: unknown): v is Ref {
  return isLocalObject(v) || isRemoteRef(v) || isAnswerRef(v);
}

/** A new object of this vat with full rights (narrow it with `facet` before handing it out). */
export function localObject(
  label: string,
  methods: Record<string, Method>,
  clock: Clock = systemClock,
): LocalObject {
  return brandLocal({ label, methods: Object.freeze({ ...methods }), rights: TOP, clock });
}

/**
 * The same object with other rights. Callers derive `rights` from the object's own through the one
 * lattice (`rightsOf` of appended caveats, `assertNarrows`), so a facet never widens.
 */
export function facet(object: LocalObject, rights: Rights): LocalObject {
  return brandLocal({ label: object.label, methods: object.methods, rights, clock: object.clock });
}

function brandLocal(o: LocalObject): LocalObject {
  const frozen = Object.freeze(o);
  locals.add(frozen);
  return frozen;
}

export function remoteRef(session: SessionPort, id: number): RemoteRef {
  const ref = Object.freeze({ session, id });
  remotes.add(ref);
  return ref;
}

/**
 * A new answer: `settle` is called once with the outcome. `port`/`question` say where a pipelined
 * call goes while it is pending (absent for an answer computed in this vat).
 */
export function newAnswer(pending: { port: SessionPort; question: number } | undefined): {
  answer: AnswerRef;
  resolve(v: Value): void;
  reject(e: DreggError): void;
} {
  let resolve!: (v: Value) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<Value>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Nobody has to await an answer (a send whose result is unused); its failure is not unhandled.
  promise.catch(() => undefined);
  const answer: AnswerRef = Object.freeze({ promise });
  answers.set(answer, { status: 'pending', port: pending?.port, question: pending?.question ?? 0 });
  return {
    answer,
    resolve(v) {
      if (answers.get(answer)?.status !== 'pending') return;
      answers.set(answer, { status: 'resolved', value: v });
      resolve(v);
    },
    reject(e) {
      if (answers.get(answer)?.status !== 'pending') return;
      answers.set(answer, { status: 'broken', error: e });
      reject(e);
    },
  };
}

/** An answer that is already broken. */
export function brokenAnswer(e: DreggError): AnswerRef {
  const a = newAnswer(undefined);
  a.reject(e);
  return a.answer;
}

/** What a failed method call reports: its DreggError, or E_INTERNAL for anything else (no details leak). */
export function asDreggError(e: unknown): DreggError {
  return e instanceof DreggError ? e : new DreggError('E_INTERNAL');
}

/**
 * Invokes a method of a local facet after checking the facet's rights: the method is one of its
 * actions (`E_DENIED`) and now is inside its validity window (`E_EXPIRED`, `E_NOT_YET_VALID`).
 */
export async function invokeLocal(
  object: LocalObject,
  method: string,
  args: readonly Value[],
  peer: string | undefined,
): Promise<Value> {
  const { rights } = object;
  const now = nowSeconds(object.clock);
  if (rights.actions !== 'all' && !rights.actions.has(method))
    throw new DreggError('E_DENIED', `This reference does not allow ${method}`);
  if (rights.expiry !== null && now >= rights.expiry)
    throw new DreggError('E_EXPIRED', `This reference expired at ${rights.expiry}`);
  if (now < rights.notBefore)
    throw new DreggError('E_NOT_YET_VALID', `This reference is not valid before ${rights.notBefore}`);
  const m = Object.hasOwn(object.methods, method) ? object.methods[method] : undefined;
  if (m === undefined) throw new DreggError('E_NOT_FOUND', `${object.label} has no method ${method}`);
  return m(args, { peer, rights });
}

function dispatch(
  target: Ref,
  method: string,
  args: readonly Value[],
  o: CallOptions,
  want: boolean,
): AnswerRef | undefined {
  if (isRemoteRef(target)) return target.session.send({ t: 'import', id: target.id }, method, args, o, want);
  if (isLocalObject(target)) {
    const a = newAnswer(undefined);
    invokeLocal(target, method, args, undefined).then(a.resolve, (e) => a.reject(asDreggError(e)));
    return a.answer;
  }
  const state = answers.get(target);
  if (state === undefined) throw new DreggError('E_ARGUMENT', 'Not a reference');
  switch (state.status) {
    case 'resolved':
      return isRef(state.value)
        ? dispatch(state.value, method, args, o, want)
        : brokenAnswer(new DreggError('E_INVALID', 'The promise resolved to data, not a reference'));
    case 'broken':
      return brokenAnswer(state.error);
    case 'pending': {
      if (state.port !== undefined)
        return state.port.send({ t: 'answer', id: state.question }, method, args, o, want);
      // A local promise: the call waits for it in this vat.
      const a = newAnswer(undefined);
      target.promise.then(
        (v) =>
          isRef(v)
            ? (dispatch(v, method, args, o, true) as AnswerRef).promise.then(a.resolve, a.reject)
            : a.reject(new DreggError('E_INVALID', 'The promise resolved to data, not a reference')),
        (e) => a.reject(asDreggError(e)),
      );
      return a.answer;
    }
  }
}

/** Calls `method` on whatever `target` is; the answer can itself be called before it settles. */
export function call(
  target: Ref,
  method: string,
  args: readonly Value[] = [],
  o: CallOptions = {},
): AnswerRef {
  return dispatch(target, method, args, o, true) ?? brokenAnswer(new DreggError('E_INTERNAL'));
}

/** Sends `method` to `target` without asking for an answer (no answer position is kept anywhere). */
export function sendOnly(
  target: Ref,
  method: string,
  args: readonly Value[] = [],
  o: CallOptions = {},
): void {
  dispatch(target, method, args, o, false);
}

/** Drops an import: the exporter's count for this vat goes down by what it sent (distributed GC). */
export function release(ref: RemoteRef): void {
  ref.session.release(ref);
}

/**
 * A vat: one agent's CapTP endpoint. It holds the agent's key, its registered objects (the roots that
 * sturdy references name, registered again by name after a restart), its swiss table (in the agent's
 * `Store`) and its open sessions. Each session's bootstrap object (export 0) is the vat's public door,
 * with exactly two methods:
 *
 *   fetch(cell, swiss)             enliven a sturdy reference: the swiss table's checks, one use
 *                                  consumed, a live reference to a facet with the entry's rights
 *   handoff(certificate, countersignature)
 *                                  redeem a three-party handoff (./handoff.ts) for the session's peer
 *
 * Holders call them through `enliven` and `redeemHandoff`, which return answers that can be called at
 * once (the fetch and the first calls on its result travel together: promise pipelining).
 */
import type { Caveat } from '../caps/caveats.ts';
import { assertNarrows, declaredRights, type Rights, rightsOf } from '../caps/rights.ts';
import { type Clock, nowSeconds, systemClock } from '../clock.ts';
import { defaultEd25519, type Ed25519, ed25519PublicKey } from '../crypto/ed25519.ts';
import { toHex } from '../encoding/bytes.ts';
import { type CborValue, decodeCbor, encodeCbor } from '../encoding/cbor.ts';
import { didKeyFromEd25519 } from '../encoding/did-key.ts';
import { DreggError } from '../errors.ts';
import type { Store, Write } from '../store/store.ts';
import { handoffFromText, handoffToText, introduce, presentHandoff, verifyHandoff } from './handoff.ts';
import { createMailroom, type Letter, type LetterOutcome } from './letters.ts';
import type { Link } from './link.ts';
import { type AnswerRef, call, facet, type LocalObject, localObject, type Value } from './refs.ts';
import { type Session, type SessionHost, startSession } from './session.ts';
import { formatSturdyRef, parseSturdyRef, swissId } from './sturdy.ts';
import {
  checkSwiss,
  EPOCHS,
  type MintOptions,
  openSwissTable,
  type SwissEntry,
  type SwissTable,
} from './swiss-table.ts';

export interface VatOptions {
  /** The agent's Ed25519 private key (32 bytes); its did:key is the vat's identity. */
  readonly seed: Uint8Array;
  /** The federation and cell that this vat's sturdy references name. */
  readonly federation: string;
  readonly cell: string;
  /** Durable state: must declare `CAPTP_COLLECTIONS`. */
  readonly store: Store;
  readonly ed?: Ed25519;
  readonly clock?: Clock;
  readonly random?: (n: number) => Uint8Array;
  readonly handshakeTimeoutMs?: number;
}

export interface Vat {
  readonly did: string;
  readonly federation: string;
  readonly cell: string;
  readonly clock: Clock;
  readonly swissTable: SwissTable;
  /** Makes `object` the root named `name` (what sturdy references designate). */
  register(name: string, object: LocalObject): void;
  /** Opens a session as the initiator; `expect` pins the peer's DID. Resolves once authenticated. */
  connect(link: Link, o?: { expect?: string }): Promise<Session>;
  /** Opens a session as the responder. */
  accept(link: Link): Promise<Session>;
  sessions(): Session[];
  /** Mints a sturdy reference to a registered object; returns its `dregg://` URI. */
  mintSturdyRef(o: MintOptions): Promise<string>;
  revokeSturdyRef(uri: string): Promise<void>;
  /** As introducer: a handoff certificate (text form) giving `recipient` this vat's `uri`, narrowed. */
  introduce(
    uri: string,
    recipient: string,
    o: { caveats?: readonly Caveat[]; expiry: number },
  ): Promise<string>;
  /** As recipient: countersigns a handoff for `session` (to its exporter) and presents it. */
  redeemHandoff(session: Session, text: string): Promise<AnswerRef>;
  /**
   * A letter (./letters.ts) to the vat `to`, calling `method` on its sturdy reference `ref`: the next
   * number in this vat's sequence to `to`, signed. Post letters in order with `postLetter`, retrying
   * a failed post (the same letter is one deposit): a later letter waits for every earlier one.
   */
  writeLetter(o: { to: string; ref: string; method: string; args?: readonly CborValue[] }): Promise<Letter>;
  /** Receives a letter (text form): its outcome and those of the held letters it released, in order. */
  receiveLetter(text: string): Promise<LetterOutcome[]>;
  /** Closes every session. */
  close(): void;
}

const randomBytes = (n: number): Uint8Array => crypto.getRandomValues(new Uint8Array(n));

function expiryCaveat(at: number | null): Caveat[] {
  return at === null ? [] : [{ t: 'exp', at }];
}

export async function createVat(o: VatOptions): Promise<Vat> {
  const ed = o.ed ?? (await defaultEd25519());
  const clock = o.clock ?? systemClock;
  const random = o.random ?? randomBytes;
  const did = didKeyFromEd25519(ed25519PublicKey(o.seed));
  const swissTable = openSwissTable(o.store, random);
  const registry = new Map<string, LocalObject>();
  const sessions = new Set<Session>();
  const identity = { did, seed: o.seed, ed };
  // Epochs are read once here and written through, so they keep increasing across restarts.
  const epochs = new Map<string, number>();
  for (const { key, value } of await o.store.list(EPOCHS)) {
    const epoch = decodeCbor(value, 'session epoch');
    if (typeof epoch === 'number' && Number.isSafeInteger(epoch) && epoch >= 0) epochs.set(key, epoch);
  }
  let epochWrites: Promise<unknown> = Promise.resolve();

  const registered = (entry: SwissEntry): LocalObject => {
    const object = registry.get(entry.object);
    if (object === undefined)
      throw new DreggError('E_NOT_FOUND', 'The object this sturdy reference names is not available');
    return object;
  };

  /** A facet of `object` with `caveats`; the one lattice refuses anything wider than the object. */
  const narrowed = (object: LocalObject, caveats: readonly Caveat[]): LocalObject => {
    const rights: Rights = rightsOf(caveats);
    assertNarrows(rights, object.rights, 'reference');
    return facet(object, rights);
  };

  /**
   * Enlivening a sturdy reference for `claimant`: the swiss table's checks, one use consumed (with
   * `also` in the same transaction), a facet with the entry's rights.
   */
  const claimRef = async (
    cell: Value | undefined,
    swiss: Value | undefined,
    claimant: string,
    also: readonly Write[] = [],
  ): Promise<LocalObject> => {
    if (cell !== o.cell) throw new DreggError('E_NOT_FOUND', 'No such sturdy reference here');
    const id = swissId(checkSwiss(swiss));
    const { entry } = await swissTable.claim(id, claimant, nowSeconds(clock), { check: registered, also });
    return narrowed(registered(entry), [...entry.caveats, ...expiryCaveat(entry.expiry)]);
  };

  const bootstrapFor = (session: Session): LocalObject =>
    localObject(
      'bootstrap',
      {
        fetch: ([cell, swiss]) => claimRef(cell, swiss, session.peer),
        async handoff([text, countersignature]) {
          if (typeof text !== 'string' || !(countersignature instanceof Uint8Array))
            throw new DreggError(
              'E_INVALID',
              'handoff takes a certificate (text) and a countersignature (bytes)',
            );
          const cert = handoffFromText(text);
          if (cert.federation !== o.federation || cert.cell !== o.cell)
            throw new DreggError('E_NOT_FOUND', 'This handoff names another exporter');
          const now = nowSeconds(clock);
          await verifyHandoff(cert, countersignature, {
            session: session.id,
            presenter: session.peer,
            now,
            ed,
          });
          let granted: Caveat[] = [];
          await swissTable.claim(cert.target, cert.introducer, now, {
            nonce: { key: `${cert.introducer}/${toHex(cert.nonce)}`, until: cert.expiry },
            check(entry) {
              registered(entry);
              if (entry.holder === null)
                throw new DreggError(
                  'E_AUDIENCE',
                  'A bearer reference cannot be handed off; it names no holder',
                );
              const held = [...entry.caveats, ...expiryCaveat(entry.expiry)];
              const appended = [...cert.caveats, ...expiryCaveat(cert.expiry)];
              assertNarrows(declaredRights(rightsOf(held), appended), rightsOf(held), 'handoff');
              granted = [...held, ...appended];
            },
          });
          const entry = await swissTable.entry(cert.target);
          return narrowed(registered(entry!), granted);
        },
      },
      clock,
    );

  const mailroom = createMailroom({
    signer: identity,
    store: o.store,
    clock,
    claim(ref, sender, also) {
      if (ref.federation !== o.federation)
        throw new DreggError('E_NOT_FOUND', 'No such sturdy reference here');
      return claimRef(ref.cell, ref.swiss, sender, also);
    },
  });

  const host: SessionHost = {
    identity,
    random,
    handshakeTimeoutMs: o.handshakeTimeoutMs ?? 10_000,
    proposeEpoch: (peer) => (peer === undefined ? 0 : (epochs.get(peer) ?? 0)) + 1,
    opened(session) {
      const epoch = Math.max(epochs.get(session.peer) ?? 0, session.epoch);
      epochs.set(session.peer, epoch);
      // In the background (the handshake is synchronous here); a lost write only repeats an epoch
      // number after a crash, and every session's id is fresh anyway (both nonces).
      epochWrites = epochWrites
        .then(() =>
          o.store.transact([{ op: 'put', collection: EPOCHS, key: session.peer, value: encodeCbor(epoch) }]),
        )
        .catch(() => undefined);
      sessions.add(session);
      return bootstrapFor(session);
    },
    closed(session) {
      sessions.delete(session);
    },
  };

  const vat: Vat = {
    did,
    federation: o.federation,
    cell: o.cell,
    clock,
    swissTable,
    register(name, object) {
      registry.set(name, object);
    },
    connect: (link, co = {}) =>
      startSession(link, host, {
        role: 'initiator',
        ...(co.expect === undefined ? {} : { expect: co.expect }),
      }).ready,
    accept: (link) => startSession(link, host, { role: 'responder' }).ready,
    sessions: () => [...sessions],
    async mintSturdyRef(m) {
      const { swiss, entry } = await swissTable.mint(m, nowSeconds(clock));
      return formatSturdyRef({
        federation: o.federation,
        cell: o.cell,
        swiss,
        ...(entry.expiry === null ? {} : { expiry: entry.expiry }),
        ...(entry.holder === null ? {} : { holder: entry.holder }),
      });
    },
    async revokeSturdyRef(uri) {
      await swissTable.revoke(swissId(parseSturdyRef(uri).swiss));
    },
    async introduce(uri, recipient, io) {
      const cert = await introduce(identity, {
        ref: parseSturdyRef(uri),
        recipient,
        expiry: io.expiry,
        random,
        ...(io.caveats === undefined ? {} : { caveats: io.caveats }),
      });
      return handoffToText(cert);
    },
    async redeemHandoff(session, text) {
      const countersignature = await presentHandoff(handoffFromText(text), session.id, identity);
      return call(session.bootstrap(), 'handoff', [text, countersignature] satisfies Value[]);
    },
    writeLetter: (lo) => mailroom.write(lo),
    receiveLetter: (text) => mailroom.receive(text),
    close() {
      for (const s of sessions) s.close();
    },
  };
  return vat;
}

/** The holder's side of a sturdy reference: a live reference (as an answer, callable at once). */
export function enliven(session: Session, uri: string): AnswerRef {
  const ref = parseSturdyRef(uri);
  return call(session.bootstrap(), 'fetch', [ref.cell, ref.swiss]);
}

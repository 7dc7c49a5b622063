/**
 * The contract between the dashboard (page) and the light node (its dedicated Web Worker), spoken over
 * comlink. Everything that crosses it is plain, structured-cloneable data: DIDs, fingerprints, texts of
 * delegations bound to a recipient, inspections, decisions. No seed, root key or passphrase ever comes
 * back out; the one exception is the mnemonic, returned once by `create` so the person can write it down.
 *
 * Every method either resolves or rejects with a `DreggError` (stable `code`, human message): the worker
 * side sends errors as `WireError` and the page side (`client.ts`) turns them back into `DreggError`.
 */
import type { ErrorCode, Inspection } from '@cipherclerk/core';

/** `empty`: no identity in this browser yet. `locked`: one is stored, encrypted. `unlocked`: keys in memory. */
export type NodeStatus = 'empty' | 'locked' | 'unlocked';

/** Why the node locked: the person asked, or nobody touched it for the auto-lock delay. */
export type LockReason = 'user' | 'idle';

export interface Overview {
  readonly status: NodeStatus;
  /** The stored identity's DID (known while locked too: it is not secret). */
  readonly did: string | null;
  readonly autoLockMinutes: number;
  readonly relay: RelayView;
}

export interface IdentityView {
  readonly did: string;
  /** Short forms people can compare aloud (core `fingerprint`): the signing key and the sealing key. */
  readonly fingerprints: { readonly signing: string; readonly sealing: string };
}

/** What `create` hands out once: the words, and which of them the person must type back. */
export interface Creation {
  readonly mnemonic: string;
  readonly did: string;
  /** 0-based positions of the words `confirm` asks for. */
  readonly confirm: readonly number[];
}

export type CapabilityState = 'valid' | 'revoked' | 'expired' | 'not-yet-valid';

export interface CapabilityStatus {
  readonly state: CapabilityState;
  /** The code and sentence of the check that failed, when not valid. */
  readonly code?: ErrorCode;
  readonly message?: string;
}

/** A root token this node minted. Its text (with the HMAC tag) stays in the worker. */
export interface MintedView {
  readonly id: string;
  readonly createdAt: number;
  readonly inspection: Inspection;
  readonly status: CapabilityStatus;
}

/** A delegation this node issued or holds, by its envelope hash. */
export interface DelegationView {
  readonly hash: string;
  readonly tokenId: string;
  readonly from: string;
  readonly to: string;
  /** The delegation's text form (`ccdel_…`): bound to `to`, safe to show and to put in a QR. */
  readonly text: string;
  readonly at: number;
  readonly inspection: Inspection;
  readonly status: CapabilityStatus;
}

/** One node of the delegation graph: a root token, or a delegation step below its parent. */
export interface TreeNode {
  readonly id: string;
  readonly parent: string | null;
  readonly kind: 'token' | 'delegation';
  readonly from: string;
  readonly to: string | null;
  readonly mine: 'minted' | 'issued' | 'held' | 'upstream';
  readonly state: CapabilityState;
}

export interface Capabilities {
  readonly minted: readonly MintedView[];
  readonly issued: readonly DelegationView[];
  readonly held: readonly DelegationView[];
  readonly tree: readonly TreeNode[];
}

export interface MintForm {
  readonly service: string;
  readonly actions?: readonly string[];
  readonly budget?: number;
  /** Seconds; none means the root token does not expire. */
  readonly ttl?: number;
}

export interface DelegateForm {
  /** A minted token id or a held delegation hash. */
  readonly from: string;
  readonly recipient: string;
  readonly actions?: readonly string[];
  readonly services?: readonly string[];
  readonly budget?: number;
  /** Seconds from now. */
  readonly ttl?: number;
}

export interface ServiceRequest {
  readonly service: string;
  readonly action: string;
  readonly cost?: number;
}

export type Decision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly code: ErrorCode; readonly message: string };

export interface RelayView {
  readonly state: 'offline' | 'connecting' | 'online' | 'failed';
  readonly addresses: readonly string[];
  /** The relay's did:key as it introduced itself. */
  readonly relay?: string;
  /** Milliseconds of the last round trip (an attested-root fetch), when online. */
  readonly latencyMs?: number;
  /** The attested root last checked: its signature verified against the relay's key. */
  readonly root?: { readonly height: number; readonly at: number; readonly logRoot: string };
  readonly error?: WireError;
}

/** What the worker tells the page without being asked. */
export type NodeEvent =
  | { readonly type: 'status'; readonly status: NodeStatus; readonly reason?: LockReason }
  | { readonly type: 'capabilities' }
  | { readonly type: 'revocation'; readonly by: string; readonly subject: string }
  | { readonly type: 'relay'; readonly relay: RelayView };

export interface WireError {
  readonly code: ErrorCode;
  readonly message: string;
}

export interface LightNodeApi {
  overview(): Promise<Overview>;
  /**
   * Makes fresh words; nothing is stored until `confirm` gets the right words back. `create` and
   * `restore` refuse (`E_EXISTS`) while an identity is stored: nothing here ever overwrites one.
   */
  create(passphrase: string): Promise<Creation>;
  /** Checks the asked-for words (`E_ARGUMENT` if any differs), then stores the identity and unlocks. */
  confirm(words: readonly string[]): Promise<Overview>;
  /** Restores an identity from its words, stores it sealed under `passphrase` and unlocks it. */
  restore(mnemonic: string, passphrase: string): Promise<Overview>;
  /** `E_LOCKED` on a wrong passphrase. */
  unlock(passphrase: string): Promise<Overview>;
  lock(): Promise<Overview>;
  /** The page saw the person act: postpones auto-lock. */
  touch(): Promise<void>;
  /** 0 turns auto-lock off. */
  setAutoLock(minutes: number): Promise<Overview>;
  identity(): Promise<IdentityView>;
  capabilities(): Promise<Capabilities>;
  mint(form: MintForm): Promise<MintedView>;
  delegate(form: DelegateForm): Promise<DelegationView>;
  /** Decodes a token or delegation text (pasted or scanned) for display; checks only its form. */
  inspect(text: string): Promise<Inspection>;
  /** Accepts a delegation made to us, trusting `issuer` to vouch for it (every check of seed 002). */
  accept(text: string, issuer: string): Promise<DelegationView>;
  /** The service side: would a request made with `capability` be allowed here? Metered. */
  verify(capability: string, request: ServiceRequest): Promise<Decision>;
  /** Revokes a delegation this node issued (and so its subtree); gossiped through the relay if online. */
  revoke(hash: string): Promise<DelegationView>;
  connect(addresses: readonly string[]): Promise<RelayView>;
  disconnect(): Promise<RelayView>;
  /** `listener` must be a `comlink.proxy`; it hears every event for the life of the page. */
  subscribe(listener: (event: NodeEvent) => void): Promise<void>;
}

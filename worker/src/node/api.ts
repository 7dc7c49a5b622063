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
import type { Invocation, InvocationRequest } from './invocation.ts';

export type { Invocation, InvocationRequest } from './invocation.ts';

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
  /** The revocation channel this step enrolled, when this node owns it (tripping it revokes the step). */
  readonly channel?: { readonly id: string; readonly tripped: boolean };
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
  /** This node's delegation epoch: moving it on makes every delegation it signed before stale. */
  readonly epoch: number;
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
  /** Enrol the delegation in a fresh revocation channel of ours, so it can be cut off on its own. */
  readonly channel?: boolean;
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

/** The federation this wallet pinned, and the last attested root it verified against it. */
export type FederationView =
  | { readonly pinned: false }
  | {
      readonly pinned: true;
      readonly federation: string;
      /** The epoch of the committee trusted now (it moves only through signed transitions). */
      readonly epoch: number;
      /** What the person compares out of band: the committee's id (hex). */
      readonly committeeId: string;
      readonly members: number;
      readonly source: 'genesis' | 'first-use';
      /** For a first-use pin: the relay (its did) that served the committee. */
      readonly from?: string;
      readonly root?: { readonly epoch: number; readonly height: number };
    };

/** A federated receipt whose inclusion under an attested root of the pinned committee was checked. */
export interface FederatedReceiptView {
  readonly turn: string;
  readonly height: number;
  readonly outcome: 'accepted' | 'duplicate' | 'refused';
  readonly code?: ErrorCode;
  readonly root: { readonly epoch: number; readonly height: number };
}

export type MessageState = 'new' | 'accepted' | 'dismissed';

/** A message drained from this node's inbox at a relay, opened in the worker. */
export interface InboxMessageView {
  /** `<relay did>/<seq>`: stable across drains. */
  readonly id: string;
  readonly relay: string;
  readonly seq: number;
  /** When the relay took the deposit (Unix seconds). */
  readonly at: number;
  /** Size of the sealed box in bytes. */
  readonly size: number;
  readonly state: MessageState;
  /** What it holds: a capability (decoded for display, nothing trusted yet) or something unreadable. */
  readonly kind: 'delegation' | 'token' | 'unreadable';
  readonly text?: string;
  readonly inspection?: Inspection;
  /** Why it is unreadable. */
  readonly error?: WireError;
}

export interface Drained {
  /** Messages that arrived in this drain. */
  readonly fresh: number;
  /** Messages that expired on the relay before they were drained. */
  readonly expired: number;
  readonly messages: readonly InboxMessageView[];
}

/** A capability deposited in its recipient's inbox. */
export interface Sent {
  readonly to: string;
  readonly relay: string;
  readonly seq: number;
  /** The inbox reference (`ccinbox:1/…`): what a QR carries instead of a capability too long for one. */
  readonly reference: string;
}

export interface PeerView {
  readonly peer: string;
  readonly addresses: readonly string[];
  readonly relay: boolean;
  readonly latencyMs?: number;
}

/** A cell on the relay's ledger, for display (amounts as decimal text: they are 64-bit). */
export interface CellView {
  readonly id: string;
  readonly owner: string;
  readonly mine: boolean;
  readonly balance: string;
  /** Wrapped assets the cell holds (bridged in from other federations), by asset id. */
  readonly assets: readonly { readonly asset: string; readonly amount: string }[];
  readonly nonce: number;
  readonly lifecycle: 'active' | 'frozen';
  readonly fields: readonly { readonly name: string; readonly value: string }[];
  readonly clist: readonly { readonly slot: number; readonly target: string; readonly caveats: number }[];
  /** Private: the relay holds only its commitment, and this is the state this node keeps for it. */
  readonly proved?: boolean;
}

/** One effect of a turn, as the form gives it (acting on the chosen cell). */
export type EffectForm =
  | { readonly type: 'set-field'; readonly key: string; readonly value: string }
  | { readonly type: 'transfer'; readonly to: string; readonly amount: string }
  | { readonly type: 'increment-nonce' };

/** A turn built, signed and run here; not sent yet. */
export interface TurnPreview {
  /** The turn's hash: what `submitTurn` takes. */
  readonly turn: string;
  readonly cell: string;
  /** Its place in the agent's receipt chain. */
  readonly seq: number;
  readonly before: CellView;
  readonly after: CellView;
  readonly effects: number;
}

export interface ReceiptView {
  readonly hash: string;
  readonly turn: string;
  readonly seq: number;
  readonly cell: string;
  readonly at: number;
  readonly fee: string;
  readonly results: number;
  /**
   * For a turn just submitted from here: whether the relay's state commitments repeat the local run
   * (false when a cell it touches changed in between; the relay's result stands).
   */
  readonly matchesLocal?: boolean;
  /** For a turn just submitted from here: it went as a proof (the relay checked the proof, saw no effects). */
  readonly proved?: boolean;
  /**
   * For a turn submitted to a federation relay: its federated receipt, proven under a root more than
   * 2/3 of the pinned committee signed (a bundle that does not verify fails the submission, `E_UNTRUSTED`).
   */
  readonly federated?: FederatedReceiptView;
  /** Its inclusion in the relay's log, checked against the relay's signed (attested) root. */
  readonly inclusion:
    | { readonly verified: true; readonly height: number; readonly at: number; readonly logRoot: string }
    | { readonly verified: false; readonly error: WireError };
}

export interface ReceiptChain {
  /** Newest first. */
  readonly receipts: readonly ReceiptView[];
  /** The chain itself: consecutive, each following the one before, every signature the relay's. */
  readonly chain: { readonly ok: true } | ({ readonly ok: false } & WireError);
}

/** A proof's public statement, in hex: all the relay sees of a proved turn. */
export interface TurnStatementView {
  /** Poseidon2 commitments of the acting cell's state before and after (8 elements as 32 bytes). */
  readonly oldCommitment: string;
  readonly newCommitment: string;
  /** Spends the old state: a second turn from it shows the same nullifier. */
  readonly nullifier: string;
  readonly turnHash: string;
}

/** A turn proved and verified here, kept with the built turn for the submit step. */
export interface ProofView {
  readonly turn: string;
  readonly statement: TurnStatementView;
  readonly bytes: number;
  readonly rows: number;
  readonly proveMs: number;
  /** Verified here with `verifyTurnProof` before this view was made. */
  readonly verified: true;
  /** The kernels that proved it (e.g. "pool-2x", "typescript"). */
  readonly prover: string;
  /** Whether WebGPU assisted. */
  readonly gpu: boolean;
}

/** The prover's phases, then 'verified' once the proof checked here. */
export type ProofPhase = 'trace' | 'quotient' | 'deep' | 'fri' | 'queries' | 'verified';

/** A capability in the local firmament's kernel, as the Firmament screen shows it. */
export interface FirmamentCapView {
  /** `slot:gen`: names this one capability, even after its slot is reused. */
  readonly ref: string;
  readonly slot: number;
  readonly cnode: number;
  readonly kind: 'ep' | 'ntfn' | 'region' | 'uplink';
  /** The kernel object it designates (several capabilities may share one). */
  readonly object: number;
  /** Action names of the kernel's vocabulary (`grant` permits minting narrower children). */
  readonly rights: readonly string[];
  readonly budget: number | null;
  readonly spent: number;
  readonly notBefore: number;
  readonly expiry: number | null;
  /** The slot it was minted from; null for a capability `new` made. */
  readonly parent: number | null;
}

export interface FirmamentView {
  /** `off`: no bridge remembered. `failed`: one is remembered but did not answer (see `error`). */
  readonly state: 'off' | 'connected' | 'failed';
  readonly bridge?: string;
  /** The launcher's boot to ready, as the launcher measured it. */
  readonly bootMs?: number;
  /** One bridge round trip (a `ping`), measured by the worker. */
  readonly latencyMs?: number;
  readonly error?: WireError;
  readonly caps: readonly FirmamentCapView[];
}

export interface FirmamentMintForm {
  /** The parent's `slot:gen`; it must carry `grant`. */
  readonly from: string;
  readonly cnode: number;
  readonly actions: readonly string[];
  /** Left out: the parent's. */
  readonly budget?: number;
  /** Seconds from now; left out: the parent's expiry. */
  readonly ttl?: number;
}

/** A kernel answer's fields, as the kernel wrote them. */
export type FirmamentWire = Readonly<Record<string, string>>;

/** A wanted or offered item, as the Trade form gives it (amounts and counts as decimal text). */
export type TradeItemForm =
  | { readonly kind: 'computrons'; readonly amount: string }
  | { readonly kind: 'asset'; readonly asset: string; readonly amount: string }
  | { readonly kind: 'service'; readonly service: string; readonly units: string }
  | { readonly kind: 'storage'; readonly bytes: string; readonly seconds: string }
  | { readonly kind: 'name'; readonly zone: string; readonly name: string }
  /** A capability to a cell: the effects it allows (names separated by commas or spaces), and at most `budget` computrons moved. */
  | { readonly kind: 'capability'; readonly actions: string; readonly budget?: string };

export interface TradeForm {
  /** The namespace zone, e.g. `market`. */
  readonly zone: string;
  /** What is offered; bare text is an amount of computrons. */
  readonly offer: string | TradeItemForm;
  readonly want: TradeItemForm;
  /** Minutes from now. */
  readonly expiresIn: number;
}

/** An open intent, for display. */
export interface IntentView {
  readonly id: string;
  readonly zone: string;
  readonly by: string;
  readonly offers: readonly string[];
  readonly wants: readonly string[];
  /** Unix seconds. */
  readonly expires: number;
}

/** A capability this node gives in a ring: from which cell, what the escrow holds, what the receiver gets. */
export interface TradeGrantView {
  /** The offered item, in words. */
  readonly item: string;
  /** Which of the person's cells can give it (any, or one carrying some fields). */
  readonly needs: string;
  /** The fields the chosen cell must carry. */
  readonly fields: Readonly<Record<string, string>>;
  /** The restrictions escrowed, and what the receiver gets (those and the wanted ones). */
  readonly escrowed: readonly string[];
  readonly delivered: readonly string[];
  /** A name: the chosen cell itself changes hands (custody by the coordinator, then the receiver's). */
  readonly ownership: boolean;
}

/** A ring one of this node's intents is in, as this node sees its part. */
export interface TradeRingView {
  readonly id: string;
  readonly phase: 'committing' | 'revealing' | 'settled' | 'aborted';
  readonly participants: number;
  readonly committed: number;
  readonly escrowed: number;
  /** Unix seconds: after the cutoff an unfinished ring is refunded. */
  readonly cutoff: number;
  /** Unix seconds: from then on an escrow still out is its payer's to take back (`reclaimEscrow`). */
  readonly deadline: number;
  /**
   * This node's escrow may still be in the ring's escrow cell (revealed here, and the ring has neither
   * settled nor refunded it as far as the relay said last): after the deadline, "Take back".
   */
  readonly escrowOut: boolean;
  readonly myIntent: string;
  /** What goes out: computrons escrowed from the chosen cell, paid on to the next participant ('' for none). */
  readonly pays: string;
  /** What else goes out: capabilities escrowed from cells the person chooses, delegated on to the next participant. */
  readonly grants: readonly TradeGrantView[];
  readonly paysTo: string;
  /** What comes in (each item, and for a capability exactly what it will allow), and from whom. */
  readonly receives: string;
  readonly receivesFrom: string;
  /** This node has committed (approved) its part. */
  readonly approved: boolean;
  readonly outcome?:
    | { readonly kind: 'settled'; readonly receipt: string }
    | {
        readonly kind: 'aborted';
        readonly reason: string;
        /** Whether escrows already in were returned (a refund receipt exists). */
        readonly refunded: boolean;
        readonly blamed?: { readonly agent: string; readonly code: ErrorCode; readonly me: boolean };
      };
}

/** An escrow taken back after its ring's deadline. */
export interface ReclaimView {
  readonly ring: string;
  readonly cell: string;
  /** Computrons returned to the cell, and its balance after. */
  readonly amount: string;
  readonly balance: string;
  /** The reclaiming turn's receipt (its turn hash). */
  readonly receipt: string;
}

export interface Trades {
  readonly zone: string;
  /** This node's open intents in the zone. */
  readonly open: readonly IntentView[];
  readonly rings: readonly TradeRingView[];
}

/** A search run here over the zone's open intents (the relay's solver, locally). */
export interface LocalSolve {
  readonly intents: number;
  readonly rings: number;
  /** The rings, among those the solver would choose, that include one of this node's intents. */
  readonly mine: readonly {
    readonly participants: number;
    readonly wants: number;
    readonly intents: readonly string[];
  }[];
}

/** What the worker tells the page without being asked. */
export type NodeEvent =
  | { readonly type: 'status'; readonly status: NodeStatus; readonly reason?: LockReason }
  | { readonly type: 'capabilities' }
  | { readonly type: 'revocation'; readonly by: string; readonly subject: string }
  | { readonly type: 'relay'; readonly relay: RelayView }
  | { readonly type: 'inbox'; readonly fresh: number }
  /** A ring this node approved moved on (`phase` as in `TradeRingView`). */
  | { readonly type: 'trade'; readonly ring: string; readonly phase: TradeRingView['phase'] }
  /** Progress of a long action the page started (`done` of `total` when known). */
  | { readonly type: 'progress'; readonly label: string; readonly done: number; readonly total?: number }
  /** Progress of `proveTurn` (fraction 0..1, non-decreasing; the last event is ('verified', 1)). */
  | {
      readonly type: 'proof-progress';
      readonly turn: string;
      readonly phase: ProofPhase;
      readonly fraction: number;
    };

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
  /** Trips one of this node's revocation channels: every delegation enrolled in it dies at once. */
  tripChannel(channel: string): Promise<void>;
  /** Moves this node's delegation epoch on: every delegation it signed before is refused from now. */
  bumpEpoch(): Promise<{ readonly epoch: number }>;
  /**
   * Seals an issued delegation to its recipient's inbox at the relay (they may be offline). The
   * answer's `reference` is what a QR carries when the delegation is too long for one.
   */
  sendToInbox(hash: string): Promise<Sent>;
  /** The messages drained so far (kept in this browser), newest first. */
  inbox(): Promise<readonly InboxMessageView[]>;
  /** Drains the inbox at the relay: verified against our history, opened here, kept, acknowledged. */
  drainInbox(): Promise<Drained>;
  /** Accepts the capability a message holds (the same checks as `accept`). */
  acceptMessage(id: string): Promise<DelegationView>;
  dismissMessage(id: string): Promise<InboxMessageView>;
  /** Reads an inbox reference (scanned from a QR): drains, and returns the message it names. */
  openReference(text: string): Promise<InboxMessageView>;
  /** This node's cells on the relay's ledger. */
  cells(): Promise<readonly CellView[]>;
  /** Opens a new cell on the relay's ledger (with the relay's opening grant, if any). */
  openCell(): Promise<CellView>;
  /**
   * Builds a turn acting as `cell` from the form, signs it and runs it here with the executor against
   * the state this node keeps for `cell` (a cell it proved a turn for), else the relay's current view;
   * nothing is sent. The turn waits in the worker for `proveTurn` and `submitTurn`.
   */
  executeTurn(cell: string, effects: readonly EffectForm[]): Promise<TurnPreview>;
  /**
   * Proves the turn `executeTurn` built (the turn AIR: its effect on the acting cell, from the state
   * before it) with this identity's proof secret, and verifies the proof here; the proof waits with
   * the turn for `submitTurn`. Progress comes as `proof-progress` events. A turn the AIR does not
   * cover is refused with E_INVALID ("This turn cannot be proved yet: …").
   */
  proveTurn(turn: string): Promise<ProofView>;
  /** Submits the turn `executeTurn` built; the receipt is compared with the local run, its inclusion checked. */
  submitTurn(turn: string): Promise<ReceiptView>;
  /** This agent's receipts at the relay, with the chain and each inclusion checked. */
  receipts(): Promise<ReceiptChain>;
  /** The pinned federation (none until `pinFederation`). */
  federation(): Promise<FederationView>;
  /**
   * Pins a federation's committee from its genesis JSON: from a file (`genesis`) or what the first
   * relay served (`first-use`). Another committee while one is pinned: `E_EXISTS`.
   */
  pinFederation(genesis: string, source?: 'genesis' | 'first-use'): Promise<FederationView>;
  forgetFederation(): Promise<FederationView>;
  /** Checks an encoded attested root (after the encoded transitions up to its epoch); `E_UNTRUSTED` if refused. */
  federationRoot(root: Uint8Array, transitions?: readonly Uint8Array[]): Promise<FederationView>;
  /** Checks an encoded receipt bundle (receipt, path, root) against the pinned committee; `E_UNTRUSTED` if refused. */
  federationReceipt(bundle: Uint8Array): Promise<FederatedReceiptView>;
  /** The peers of the light node's libp2p node, each pinged. */
  peers(): Promise<readonly PeerView[]>;
  connect(addresses: readonly string[]): Promise<RelayView>;
  disconnect(): Promise<RelayView>;
  /**
   * The browser extension's side. A web origin's session DID: its own account in the person's words
   * (allocated on first use), so a site learns nothing of the person's DID or of other sites'.
   */
  siteSession(origin: string): Promise<{ readonly did: string }>;
  /**
   * Signs `request` with the origin's session key, made with `capability` (a delegation whose final
   * recipient must be that session DID, else `E_AUDIENCE`). The key never leaves the worker.
   */
  invokeForSite(origin: string, capability: string, request: InvocationRequest): Promise<Invocation>;
  /** Forgets the origin's account: its next `siteSession` is a new DID that holds nothing. */
  forgetSite(origin: string): Promise<void>;
  /**
   * The local firmament (a running `dregg firmament up`): status and every capability of every CNode.
   * Reconnects to the remembered bridge when not connected. Needs the node unlocked.
   */
  firmament(): Promise<FirmamentView>;
  /** Connects to a launcher's bridge with the URL and token it printed, and remembers both. */
  connectFirmament(bridge: string, token: string): Promise<FirmamentView>;
  /** Disconnects and forgets the bridge and its token. */
  forgetFirmament(): Promise<FirmamentView>;
  /** A new kernel object (ep, ntfn, region, or uplink to `cell`) held with every right in `cnode`. */
  firmamentNew(kind: string, cnode: number, cell?: string): Promise<FirmamentCapView>;
  /** Mints a child of `form.from` into a CNode; the kernel refuses one wider than its parent (E_WIDENING). */
  firmamentMint(form: FirmamentMintForm): Promise<FirmamentCapView>;
  firmamentInvoke(ref: string, action: string, args: readonly number[]): Promise<FirmamentWire>;
  /** Revokes every descendant of `ref` (and `ref` itself when `self`); resolves with how many died. */
  firmamentRevoke(ref: string, self: boolean): Promise<number>;
  /** This node's open intents in `zone` and every ring its intents are in (at the relay). */
  trades(zone: string): Promise<Trades>;
  /** Signs an intent here with the person's key and posts it to the relay. */
  postIntent(form: TradeForm): Promise<IntentView>;
  /** Takes one of this node's open intents out of the relay's pool (a signed withdrawal). */
  withdrawIntent(id: string): Promise<void>;
  /**
   * Approves this node's part of a ring: builds and signs the escrow turn from `cell` (computrons are
   * paid from it, everything comes in to it) and `gives` (for each of the ring's `grants`, in order,
   * the cell of this node's whose capability is given), commits to it, and reveals it once every
   * participant has committed; `trade` events follow the ring to its end.
   */
  approveRing(ring: string, cell: string, gives?: readonly string[]): Promise<TradeRingView>;
  /**
   * Takes back this node's escrow in `ring` once the ring's deadline has passed and the escrow is
   * still out (the relay never settled or refunded it): one turn signed here. `E_NOT_YET_VALID`
   * before the deadline, `E_STALE` when the ring settled or refunded it, `E_NOT_FOUND` when this node
   * holds no escrow turn for that ring (approved in another session).
   */
  reclaimEscrow(ring: string): Promise<ReclaimView>;
  /** Runs the solver here over the zone's open intents, each signature checked. */
  solveLocally(zone: string): Promise<LocalSolve>;
  /** `listener` must be a `comlink.proxy`; it hears every event for the life of the page. */
  subscribe(listener: (event: NodeEvent) => void): Promise<void>;
}

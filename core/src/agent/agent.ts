/**
 * The agent context: an unlocked identity with its secrets, its public bookkeeping and what it has
 * learned about revocations. Every SDK action (`mintToken`, `delegate`, `receiveSignedDelegation`,
 * `verifyRequest`, `revoke`, `tripChannel`, `bumpEpoch`) is a plain function taking this context.
 *
 * Secrets (mnemonic, root keys) live in `secrets` and reach disk only through `lockAgent`, encrypted
 * under the unlock passphrase. `state` holds nothing secret and is stored in plain JSON.
 */

import {
  applyRevocation,
  emptyRevocationState,
  type RevocationState,
  revocationFromText,
} from '../caps/revocation.ts';
import { type Clock, systemClock } from '../clock.ts';
import { AT_REST_SCRYPT, atRestParams, type ScryptParams } from '../crypto/at-rest.ts';
import { defaultEd25519, type Ed25519 } from '../crypto/ed25519.ts';
import { DreggError } from '../errors.ts';
import { type Identity, identityFromMnemonic } from '../keys/identity.ts';
import { type KeyringContents, lockKeyring, unlockKeyring } from '../keys/keyring.ts';
import { newMnemonic, normalizeMnemonic } from '../keys/mnemonic.ts';

export const STATE_VERSION = 1;

/** A token this agent minted: its public part. The tag is recomputed from the root key on use. */
export interface MintedToken {
  readonly caveats: string; // hex of the canonical CBOR list of caveats
  readonly createdAt: number;
}

/** A delegation this agent accepted. */
export interface HeldDelegation {
  readonly chain: string; // text form
  readonly from: string;
  readonly acceptedAt: number;
}

/** A delegation this agent made. */
export interface IssuedDelegation {
  readonly token: string; // token id
  readonly to: string;
  readonly chain: string; // text form
  readonly issuedAt: number;
}

/** Everything an agent keeps that is not secret. JSON-serialisable as is. */
export interface AgentState {
  readonly version: typeof STATE_VERSION;
  readonly did: string;
  epoch: number;
  readonly minted: Record<string, MintedToken>;
  /** Revocation channels this agent owns (channel id -> tripped). */
  readonly channels: Record<string, { tripped: boolean }>;
  readonly held: Record<string, HeldDelegation>;
  readonly issued: Record<string, IssuedDelegation>;
  /** Every revocation record known, own and imported, in text form. */
  readonly revocations: string[];
  /** Units spent per budget id, for tokens this agent minted. */
  readonly meters: Record<string, number>;
}

export interface Agent {
  readonly identity: Identity;
  readonly did: string;
  readonly secrets: KeyringContents;
  readonly state: AgentState;
  readonly revocation: RevocationState;
  readonly ed: Ed25519;
  readonly clock: Clock;
  /** Epochs a delegation may lag its delegator's current epoch before it is refused (default 0). */
  readonly maxStaleness: number;
  /** The scrypt parameters the keyring is sealed with; kept when it is sealed again. */
  readonly kdf: ScryptParams;
}

export interface AgentOptions {
  readonly clock?: Clock;
  readonly ed?: Ed25519;
  readonly maxStaleness?: number;
  /** scrypt parameters for the keyring (default `AT_REST_SCRYPT`). */
  readonly kdf?: ScryptParams;
}

function emptyState(did: string): AgentState {
  return {
    version: STATE_VERSION,
    did,
    epoch: 0,
    minted: {},
    channels: {},
    held: {},
    issued: {},
    revocations: [],
    meters: {},
  };
}

async function assemble(secrets: KeyringContents, state: AgentState, options: AgentOptions): Promise<Agent> {
  const identity = identityFromMnemonic(secrets.mnemonic, {
    bip39Passphrase: secrets.bip39Passphrase,
    account: secrets.account,
  });
  if (identity.did !== state.did) {
    throw new DreggError('E_INVALID', 'The keyring and the state belong to different identities');
  }
  const ed = options.ed ?? (await defaultEd25519());
  const revocation = emptyRevocationState();
  for (const id of Object.keys(state.channels)) revocation.enrolled.add(`${id}/${state.did}`);
  for (const text of state.revocations) await applyRevocation(revocation, revocationFromText(text), ed);
  return {
    identity,
    did: identity.did,
    secrets,
    state,
    revocation,
    ed,
    clock: options.clock ?? systemClock,
    maxStaleness: options.maxStaleness ?? 0,
    kdf: options.kdf ?? AT_REST_SCRYPT,
  };
}

/** A new agent, from fresh words or restored from existing ones. */
export async function createAgent(
  args: { mnemonic?: string; bip39Passphrase?: string; account?: number } & AgentOptions = {},
): Promise<Agent> {
  const mnemonic = args.mnemonic === undefined ? newMnemonic() : normalizeMnemonic(args.mnemonic);
  const secrets: KeyringContents = {
    version: 1,
    mnemonic,
    bip39Passphrase: args.bip39Passphrase ?? '',
    account: args.account ?? 0,
    rootKeys: {},
  };
  const identity = identityFromMnemonic(mnemonic, {
    bip39Passphrase: secrets.bip39Passphrase,
    account: secrets.account,
  });
  return assemble(secrets, emptyState(identity.did), args);
}

/** What goes to disk: the encrypted keyring and the plain state. */
export interface LockedAgent {
  readonly keyring: Uint8Array;
  readonly state: AgentState;
}

/** Seals the agent's secrets with the scrypt parameters it was created or unlocked with. */
export async function lockAgent(agent: Agent, unlockPassphrase: string): Promise<LockedAgent> {
  return { keyring: await lockKeyring(agent.secrets, unlockPassphrase, agent.kdf), state: agent.state };
}

export async function unlockAgent(
  locked: LockedAgent,
  unlockPassphrase: string,
  options: AgentOptions = {},
): Promise<Agent> {
  const secrets = await unlockKeyring(locked.keyring, unlockPassphrase);
  return assemble(secrets, parseState(locked.state), { ...options, kdf: atRestParams(locked.keyring) });
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks the shape of a state read from disk (it is outside input: a user may have edited it). */
export function parseState(value: unknown): AgentState {
  const ok =
    isRecord(value) &&
    value.version === STATE_VERSION &&
    typeof value.did === 'string' &&
    Number.isSafeInteger(value.epoch) &&
    ['minted', 'channels', 'held', 'issued', 'meters'].every((k) => isRecord(value[k])) &&
    Array.isArray(value.revocations) &&
    value.revocations.every((r) => typeof r === 'string');
  if (!ok) throw new DreggError('E_INVALID', 'The agent state file is malformed');
  return value as unknown as AgentState;
}

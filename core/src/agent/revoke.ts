import {
  applyRevocation,
  type RevocationRecord,
  type RevocationSubject,
  revocationFromText,
  revocationToText,
  signRevocation,
} from '../caps/revocation.ts';
import { nowSeconds } from '../clock.ts';
import { DreggError } from '../errors.ts';
import type { Agent } from './agent.ts';

export interface RevokeReturnType {
  readonly record: RevocationRecord;
  /** The signed record in text form, to hand to verifiers (the relay gossips these). */
  readonly text: string;
}

async function record(agent: Agent, subject: RevocationSubject): Promise<RevokeReturnType> {
  const rec = await signRevocation(
    { ...subject, by: agent.did, at: nowSeconds(agent.clock) },
    agent.identity.seed,
    agent.ed,
  );
  await applyRevocation(agent.revocation, rec, agent.ed);
  const text = revocationToText(rec);
  agent.state.revocations.push(text);
  return { record: rec, text };
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Revokes a delegation (and so its whole subtree) by its hash. */
export async function revoke(
  agent: Agent,
  p: { token: string; delegation: string },
): Promise<RevokeReturnType> {
  const delegation = p.delegation.trim().toLowerCase();
  if (!HEX64.test(delegation)) throw new DreggError('E_ARGUMENT', 'A delegation hash is 64 hex characters');
  const issued = agent.state.issued[delegation];
  const token = issued?.token ?? p.token.trim();
  if (issued !== undefined && p.token.trim() !== issued.token) {
    throw new DreggError(
      'E_ARGUMENT',
      `Delegation ${delegation.slice(0, 16)}… is of token ${issued.token}, not ${p.token}`,
    );
  }
  if (!/^[0-9a-f]{32}$/.test(token)) throw new DreggError('E_ARGUMENT', 'A token id is 32 hex characters');
  return record(agent, { kind: 'delegation', token, delegation });
}

/** Trips one of this agent's revocation channels: everything enrolled in it dies at once. */
export async function tripChannel(agent: Agent, channel: string): Promise<RevokeReturnType> {
  const id = channel.trim().toLowerCase();
  const owned = agent.state.channels[id];
  if (owned === undefined) throw new DreggError('E_NOT_FOUND', `You own no revocation channel ${channel}`);
  owned.tripped = true;
  return record(agent, { kind: 'trip', channel: id });
}

/** Moves this agent's delegation epoch forward: every delegation it signed before becomes stale. */
export async function bumpEpoch(agent: Agent): Promise<RevokeReturnType & { epoch: number }> {
  agent.state.epoch += 1;
  return { ...(await record(agent, { kind: 'epoch', epoch: agent.state.epoch })), epoch: agent.state.epoch };
}

/** Learns a revocation record made by someone else (after checking its signature). */
export async function importRevocation(agent: Agent, text: string): Promise<RevocationRecord> {
  const rec = revocationFromText(text);
  await applyRevocation(agent.revocation, rec, agent.ed);
  const canonical = revocationToText(rec);
  if (!agent.state.revocations.includes(canonical)) agent.state.revocations.push(canonical);
  return rec;
}

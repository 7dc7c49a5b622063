/**
 * The agent's bookkeeping as the page sees it: minted tokens, issued and held delegations with their
 * current status, and the delegation graph that joins them. Built fresh on every call from the agent,
 * so a revocation learned a moment ago shows at once.
 */
import {
  type Agent,
  type Chain,
  chainFromText,
  checkRevocation,
  checkValidity,
  envelopeHashHex,
  inspect,
  isDreggError,
  mintedToken,
  nowSeconds,
  type Token,
  tokenToText,
} from '@cipherclerk/core';
import type {
  Capabilities,
  CapabilityState,
  CapabilityStatus,
  DelegationView,
  MintedView,
  TreeNode,
} from './api.ts';

const STATE_OF: Partial<Record<string, CapabilityState>> = {
  E_REVOKED: 'revoked',
  E_STALE_EPOCH: 'revoked',
  E_EXPIRED: 'expired',
  E_NOT_YET_VALID: 'not-yet-valid',
};

/** Revocation first (it is final), then the validity window, as every verifier checks them. */
export function statusOf(agent: Agent, token: Token, chain: Chain): CapabilityStatus {
  try {
    checkRevocation(agent.revocation, token, chain, agent);
    checkValidity(token, nowSeconds(agent.clock));
    return { state: 'valid' };
  } catch (e) {
    if (!isDreggError(e)) throw e;
    return { state: STATE_OF[e.code] ?? 'revoked', code: e.code, message: e.message };
  }
}

export function mintedView(agent: Agent, id: string): MintedView {
  const token = mintedToken(agent, id)!;
  return {
    id,
    createdAt: agent.state.minted[id]!.createdAt,
    inspection: inspect(tokenToText(token)),
    status: statusOf(agent, token, []),
  };
}

export function delegationView(agent: Agent, text: string, at: number): DelegationView {
  const chain = chainFromText(text);
  const last = chain[chain.length - 1]!;
  const inspection = inspect(text);
  const enrolled = last.restrict.find((c) => c.t === 'rev' && c.owner === agent.did);
  const owned = enrolled?.t === 'rev' ? agent.state.channels[enrolled.channel] : undefined;
  return {
    ...(enrolled?.t === 'rev' && owned ? { channel: { id: enrolled.channel, tripped: owned.tripped } } : {}),
    hash: envelopeHashHex(last),
    tokenId: inspection.tokenId,
    from: last.from,
    to: last.to,
    text,
    at,
    inspection,
    status: statusOf(agent, last.token, chain),
  };
}

/**
 * The graph: each minted token is a root; each step of each known chain hangs below the step before it
 * (or below its token). Steps seen only as the upstream of something held are drawn too, so a held
 * delegation is never an orphan.
 */
function tree(agent: Agent, issued: readonly DelegationView[], held: readonly DelegationView[]): TreeNode[] {
  const nodes = new Map<string, TreeNode>();
  for (const id of Object.keys(agent.state.minted)) {
    const token = mintedToken(agent, id)!;
    nodes.set(id, {
      id,
      parent: null,
      kind: 'token',
      from: agent.did,
      to: null,
      mine: 'minted',
      state: statusOf(agent, token, []).state,
    });
  }
  const add = (view: DelegationView, mine: 'issued' | 'held') => {
    const chain = chainFromText(view.text);
    if (!nodes.has(view.tokenId)) {
      nodes.set(view.tokenId, {
        id: view.tokenId,
        parent: null,
        kind: 'token',
        from: chain[0]!.token.issuer,
        to: null,
        mine: 'upstream',
        state: 'valid',
      });
    }
    chain.forEach((env, i) => {
      const id = envelopeHashHex(env);
      const isLast = i === chain.length - 1;
      if (nodes.has(id) && !isLast) return;
      nodes.set(id, {
        id,
        parent: i === 0 ? view.tokenId : envelopeHashHex(chain[i - 1]!),
        kind: 'delegation',
        from: env.from,
        to: env.to,
        mine: isLast ? mine : 'upstream',
        state: statusOf(agent, env.token, chain.slice(0, i + 1)).state,
      });
    });
  };
  for (const v of issued) add(v, 'issued');
  for (const v of held) add(v, 'held');
  return [...nodes.values()];
}

export function capabilities(agent: Agent): Capabilities {
  const minted = Object.keys(agent.state.minted).map((id) => mintedView(agent, id));
  const issued = Object.values(agent.state.issued).map((d) => delegationView(agent, d.chain, d.issuedAt));
  const held = Object.values(agent.state.held).map((d) => delegationView(agent, d.chain, d.acceptedAt));
  return { minted, issued, held, tree: tree(agent, issued, held), epoch: agent.state.epoch };
}

import { type CapRequest, checkRequest } from '../caps/request.ts';
import { nowSeconds } from '../clock.ts';
import { type ErrorCode, isDreggError } from '../errors.ts';
import type { Agent } from './agent.ts';
import { resolveCapability } from './resolve.ts';

export type VerifyReturnType =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly code: ErrorCode; readonly message: string };

/**
 * The minting service's decision on a request made with a capability (token or delegation text, or
 * a reference): allowed, or denied with the code of the first check that failed. Budgets are metered.
 */
export async function verifyRequest(
  agent: Agent,
  capability: string,
  request: CapRequest,
): Promise<VerifyReturnType> {
  try {
    const presented = resolveCapability(agent, capability);
    await checkRequest(presented, request, {
      ed: agent.ed,
      now: nowSeconds(agent.clock),
      revocation: agent.revocation,
      maxStaleness: agent.maxStaleness,
      self: agent.did,
      rootKey: (id) => agent.secrets.rootKeys[id],
      meter: {
        spent: (id) => agent.state.meters[id] ?? 0,
        charge: (id, amount) => {
          agent.state.meters[id] = (agent.state.meters[id] ?? 0) + amount;
        },
      },
    });
    return { allowed: true };
  } catch (e) {
    if (!isDreggError(e) || e.code === 'E_INTERNAL') throw e;
    return { allowed: false, code: e.code, message: e.message };
  }
}

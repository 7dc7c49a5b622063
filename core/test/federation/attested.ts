/**
 * Settling a simulated federation's final order on every member, keeping each member's receipt log,
 * and having the members sign the attested root they agree on: what a relay does after a final wave,
 * without the relay process.
 */
import { toHex } from '../../src/encoding/bytes.ts';
import {
  type FederationRoot,
  type FederationRootBody,
  signFederationRoot,
} from '../../src/federation/attest.ts';
import { createReceiptLog, type ReceiptLog } from '../../src/federation/receipts.ts';
import { type Apply, createSettlement, type Outcome, type Settlement } from '../../src/federation/settle.ts';
import type { Sim } from './sim.ts';

export interface Settled {
  readonly settlement: Settlement;
  readonly log: ReceiptLog;
  readonly outcomes: Outcome[];
  /** How much of the member's order was settled already. */
  done: number;
}

/** One settlement and receipt log per member, fed with `apply(member)`. */
export function settleEach(sim: Sim, apply: (member: number) => Apply = () => () => {}): Settled[] {
  return sim.members.map((_, i) => ({
    settlement: createSettlement(apply(i)),
    log: createReceiptLog(),
    outcomes: [],
    done: 0,
  }));
}

/** Settles what each honest member's order gained since the last call. */
export async function catchUp(sim: Sim, settled: Settled[]): Promise<void> {
  for (const m of sim.honest()) {
    const s = settled[m.index]!;
    const fresh = await s.settlement.settle(m.order.slice(s.done));
    s.done = m.order.length;
    s.log.append(fresh);
    s.outcomes.push(...fresh);
  }
}

/**
 * The root every honest member attests at the shortest log among them, signed by `signers` (member
 * indexes). Throws if the members' logs disagree: a test of anything else would be meaningless then.
 */
export async function attest(
  sim: Sim,
  settled: Settled[],
  signers: readonly number[],
  ledgerRoot: Uint8Array = new Uint8Array(32),
): Promise<FederationRoot> {
  const honest = sim.honest();
  const height = Math.min(...honest.map((m) => settled[m.index]!.log.height()));
  const logRoots = new Set(honest.map((m) => toHex(settled[m.index]!.log.root(height))));
  if (logRoots.size !== 1) throw new Error('The members settled different logs');
  const body: FederationRootBody = {
    federation: sim.committee.federation,
    epoch: sim.committee.epoch,
    ledgerRoot,
    height,
    logRoot: settled[honest[0]!.index]!.log.root(height),
  };
  const signatures = await Promise.all(
    signers.map((i) => {
      const m = sim.members[i]!;
      return signFederationRoot(body, m.member.publicKey, m.member.sign);
    }),
  );
  return { ...body, signatures };
}

/**
 * What a federation relay answers (core/docs/federation.md, "Relay mode" and "Light clients"): the
 * frontier exchange for its fellow members, and for wallets the latest attested root, a turn's
 * receipt bundle, and the committee to pin at first use. Everything served here is checkable by the
 * asker against the committee it pinned; nothing asks to be trusted.
 */
import type { Libp2p } from '@libp2p/interface';
import { toHex } from '../../encoding/bytes.ts';
import { fail } from '../../errors.ts';
import { encodeFederationRoot } from '../../federation/attest.ts';
import { encodeReceiptBundle, type ReceiptBundle } from '../../federation/receipts.ts';
import { decodeEmpty } from '../../net/contract.ts';
import {
  decodeProposal,
  decodeReceiptRequest,
  encodeCommitteeAnswer,
  encodeProposed,
  FEDERATION_OPS,
} from '../../net/federation.ts';
import type { NetLimits } from '../../net/limits.ts';
import { type ServeRpcOptions, serveRpc } from '../../net/rpc.ts';
import { serveBridges } from './bridges.ts';
import type { Federation } from './federation.ts';
import type { Genesis } from './genesis.ts';

/**
 * The bundle proving `turn` (hex) settled: its first receipt (the one that took effect or was
 * refused; a later copy is a duplicate of it), the path to it, and the latest root more than 2/3 of
 * the committee signed. `E_NOT_FOUND` until that root covers the turn and this relay has settled as
 * far as the root: a wallet asks again shortly (votes trail settlement by a gossip round).
 */
export function receiptBundle(fed: Pick<Federation, 'receipts' | 'root'>, turn: string): ReceiptBundle {
  const log = fed.receipts;
  const height = log.find(turn);
  if (height === undefined) fail('E_NOT_FOUND', `Turn ${turn} is not settled here`);
  const root = fed.root();
  if (root === undefined || root.height <= height)
    fail('E_NOT_FOUND', `Turn ${turn} is settled at height ${height}; no root covers it yet`);
  if (root.height > log.height())
    fail('E_NOT_FOUND', `This relay has settled ${log.height()} turns, the latest root ${root.height}`);
  return { receipt: log.receipt(height), proof: log.prove(height, root.height), root };
}

export interface ServeFederationOptions {
  readonly limits?: Partial<NetLimits>;
  readonly observer?: ServeRpcOptions['observer'];
}

/**
 * Serves `federation/blocks`, `federation/root`, `federation/receipt`, `federation/committee` (the
 * genesis committee and the transition certificates this relay holds), `federation/propose` (the
 * operator's admin path: only a request signed with this relay's own key is taken), and with bridges
 * `federation/bridge-claim` and `federation/bridge-void` (./bridges.ts).
 */
export async function serveFederation(
  node: Libp2p,
  fed: Federation,
  genesis: Genesis,
  o: ServeFederationOptions = {},
): Promise<void> {
  const opts = { limits: o.limits, ...(o.observer ? { observer: o.observer } : {}) };
  await serveRpc(node, FEDERATION_OPS.blocks, (request, from) => fed.serveBlocks(request, from), opts);
  await serveRpc(
    node,
    FEDERATION_OPS.root,
    async (request) => {
      decodeEmpty(request, 'root request');
      const root = fed.root();
      if (root === undefined) fail('E_NOT_FOUND', 'No root has been signed by more than 2/3 yet');
      return encodeFederationRoot(root);
    },
    opts,
  );
  await serveRpc(
    node,
    FEDERATION_OPS.receipt,
    async (request) => encodeReceiptBundle(receiptBundle(fed, toHex(decodeReceiptRequest(request)))),
    opts,
  );
  await serveRpc(
    node,
    FEDERATION_OPS.committee,
    async (request) => {
      decodeEmpty(request, 'committee request');
      return encodeCommitteeAnswer({ genesis: genesis.committee, transitions: fed.transitions() });
    },
    opts,
  );
  await serveRpc(
    node,
    FEDERATION_OPS.propose,
    async (request) => encodeProposed(await fed.propose(decodeProposal(request))),
    opts,
  );
  if (fed.bridges !== undefined) await serveBridges(node, fed.bridges, (item) => fed.enqueue(item), opts);
}

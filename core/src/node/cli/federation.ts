/**
 * `dregg federation propose`: the operator of a federation relay asks it to endorse a committee
 * change (core/docs/federation.md, "Epochs in relay mode"). The request is signed with the relay's
 * own key, read from `<home>/relay` (so the command runs where the relay's files are, as the relay's
 * operator), and sent over libp2p to that relay, which takes no other signer's. The change is carried
 * once more than 2/3 of the current committee's members endorsed it in the final order: each
 * member's operator runs this against their own relay.
 *
 *   dregg federation propose --relay MULTIADDR (--add DID [--multiaddr ADDR ...] | --remove DID) [--epoch N]
 */

import { ed25519FromDidKey } from '../../encoding/did-key.ts';
import { DreggError } from '../../errors.ts';
import { connectRelay } from '../../net/client.ts';
import { encodeEmpty } from '../../net/contract.ts';
import {
  decodeCommitteeAnswer,
  decodeProposed,
  encodeProposal,
  FEDERATION_OPS,
  type ProposalBody,
  proposalDigest,
} from '../../net/federation.ts';
import { nodeEd25519 } from '../ed25519.ts';
import { relayKeys } from '../relay/keys.ts';
import { type Invocation, print } from './main.ts';
import { relayHome } from './relay.ts';

function memberKey(did: string): Uint8Array {
  try {
    return ed25519FromDidKey(did);
  } catch {
    throw new DreggError('E_ARGUMENT', `${did} is not an Ed25519 did:key`);
  }
}

async function propose(inv: Invocation): Promise<number> {
  const { add, remove } = inv.flags;
  if ((add === undefined) === (remove === undefined))
    throw new DreggError('E_ARGUMENT', 'Name one change: --add DID or --remove DID');
  const relay = inv.flags.relay ?? [];
  if (relay.length === 0)
    throw new DreggError('E_ARGUMENT', '--relay MULTIADDR (your own relay) is required');
  const did = (add ?? remove)!;
  const member = memberKey(did);
  const multiaddrs = inv.flags.multiaddr ?? [];
  if (remove !== undefined && multiaddrs.length > 0)
    throw new DreggError('E_ARGUMENT', '--multiaddr goes with --add');
  const keys = relayKeys(relayHome(inv.home));
  const client = await connectRelay(relay);
  try {
    // The federation and its epoch as the relay serves them; --epoch when it has moved on already.
    const served = decodeCommitteeAnswer(await client.call(FEDERATION_OPS.committee, encodeEmpty()));
    const epochText = inv.flags.epoch;
    if (epochText !== undefined && !/^\d{1,9}$/.test(epochText))
      throw new DreggError('E_ARGUMENT', '--epoch must be a whole number');
    const body: ProposalBody = {
      federation: served.genesis.federation,
      epoch: epochText === undefined ? served.genesis.epoch + served.transitions.length : Number(epochText),
      op: add === undefined ? 'remove' : 'add',
      member,
      multiaddrs,
      time: Math.floor(Date.now() / 1000),
    };
    const signature = await nodeEd25519.sign(keys.signing, proposalDigest(body));
    const epoch = decodeProposed(
      await client.call(FEDERATION_OPS.propose, encodeProposal({ ...body, signature })),
    );
    print(
      inv,
      { federation: body.federation, epoch, op: body.op, member: did },
      `relay ${keys.did} endorses ${body.op === 'add' ? 'adding' : 'removing'} ${did} in epoch ${epoch} of ${body.federation}`,
    );
    return 0;
  } finally {
    await client.close();
  }
}

export async function federationCommand(inv: Invocation): Promise<number> {
  const [sub] = inv.positionals;
  if (sub === 'propose') return propose(inv);
  throw new DreggError(
    'E_ARGUMENT',
    `Unknown federation command "${sub ?? ''}": try "dregg federation propose"`,
  );
}

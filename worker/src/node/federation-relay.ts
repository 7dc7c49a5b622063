/**
 * What the wallet asks a federation relay for: the committee to pin at first use, and after each
 * submitted turn the bundle proving it settled (core/src/net/federation.ts, `federation/committee` and
 * `federation/receipt`). Only fetching lives here; every check is the pinned committee's
 * (./federation.ts), so a relay gains nothing by answering differently.
 */
import { DreggError, fromHex, isDreggError } from '@cipherclerk/core';
// The net module (and libp2p behind it) loads on first use, as entry.ts loads it: a static import here
// would pull it into the worker's first chunk.
import type { CommitteeAnswer, RelayClient } from '@cipherclerk/core/net';
import type { FederatedReceiptView } from './api.ts';
import type { federationLink } from './federation.ts';

type FederationLink = ReturnType<typeof federationLink>;

/** The relay's committee and transitions; undefined when the relay is not in federation mode. */
export async function relayCommittee(client: RelayClient): Promise<CommitteeAnswer | undefined> {
  try {
    const net = await import('@cipherclerk/core/net');
    return net.decodeCommitteeAnswer(await client.call(net.FEDERATION_OPS.committee, net.encodeEmpty()));
  } catch (e) {
    if (isDreggError(e) && e.code === 'E_UNSUPPORTED') return undefined;
    throw e;
  }
}

/**
 * How long a wallet waits for a federation to settle a turn, and then for a root to cover it (votes
 * trail settlement by a gossip round). Generous: a loaded federation finalizes in seconds, not one
 * call's deadline, and giving up early would show a failure for a turn that then takes effect.
 */
export const SETTLE_WAIT_MS = 60_000;
export const BUNDLE_WAIT_MS = 60_000;
const RETRY_MS = 250;

/** The encoded receipt bundle of `turn` (hex), asked again while the relay has no root covering it. */
export async function fetchReceiptBundle(
  client: RelayClient,
  turn: string,
  waitMs = BUNDLE_WAIT_MS,
): Promise<Uint8Array> {
  const net = await import('@cipherclerk/core/net');
  const until = Date.now() + waitMs;
  for (;;) {
    try {
      return await client.call(net.FEDERATION_OPS.receipt, net.encodeReceiptRequest(fromHex(turn)));
    } catch (e) {
      if (!isDreggError(e) || e.code !== 'E_NOT_FOUND') throw e;
      if (Date.now() + RETRY_MS > until)
        throw new DreggError('E_TIMEOUT', `No attested root covered the turn in time: ${e.message}`);
      await new Promise((r) => setTimeout(r, RETRY_MS));
    }
  }
}

/**
 * The wallet's side of a federation relay: on connect it learns whether the relay is a federation
 * member (and pins its committee at first use); after a submission it fetches and checks the turn's
 * receipt bundle. A relay not in federation mode is left alone.
 */
export function federationRelay(link: FederationLink) {
  const served = new WeakMap<RelayClient, CommitteeAnswer>();
  return {
    async joined(client: RelayClient): Promise<void> {
      const answer = await relayCommittee(client);
      if (answer === undefined) return;
      served.set(client, answer);
      await link.firstUse(answer.genesis, client.info.relay);
    },
    /**
     * Sends a turn: on a federation relay a submission that timed out is sent again (the relay answers
     * a resubmitted turn once it has settled, so nothing takes effect twice) until `SETTLE_WAIT_MS`;
     * elsewhere once.
     */
    async submit<T>(client: RelayClient, send: () => Promise<T>): Promise<T> {
      if (!served.has(client)) return send();
      const until = Date.now() + SETTLE_WAIT_MS;
      for (;;) {
        try {
          return await send();
        } catch (e) {
          if (!isDreggError(e) || e.code !== 'E_TIMEOUT' || Date.now() > until) throw e;
        }
      }
    },
    /** The turn's federated receipt, checked (`E_UNTRUSTED` if not); undefined off a federation. */
    async settled(client: RelayClient, turn: string): Promise<FederatedReceiptView | undefined> {
      const answer = served.get(client);
      if (answer === undefined) return undefined;
      const bundle = await fetchReceiptBundle(client, turn);
      try {
        return await link.receipt(bundle, { turn, transitions: answer.transitions });
      } catch (e) {
        // The committee may have changed since connect: the relay's certificates, fetched again, are
        // checked like the first ones (each signed by more than 2/3 of the committee before it).
        // Kept only once a receipt checks out under them.
        const fresh = await relayCommittee(client);
        if (fresh === undefined) throw e;
        const view = await link.receipt(bundle, { turn, transitions: fresh.transitions });
        served.set(client, fresh);
        return view;
      }
    },
  };
}

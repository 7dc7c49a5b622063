/**
 * Uplinks to a real relay: what carries a checked `forward` from the kernel to a remote cell.
 *
 * The launcher acts at the relay as its own agent, with a key made for this launch and kept only in
 * memory, and its own cell (opened at start; `up --json` prints both, so a cell owner can grant the
 * launcher's cell a capability). An uplink invocation passes two checks: the kernel's (the
 * capability must carry `forward`), then the relay's executor's: the launcher's cell must hold a
 * handle to the target cell that permits `set-field`. The word lands in the target's `uplink` field.
 */
import {
  DreggError,
  didKeyFromEd25519,
  ed25519PublicKey,
  type Handle,
  nobleEd25519,
  systemClock,
  toHex,
} from '@cipherclerk/core';
import { connectRelay, installLibp2pShims, type RelayClient, relayCellBacking } from '@cipherclerk/core/net';
import WebSocket from 'ws';

/** The field of the target cell an uplink word is written to. */
export const UPLINK_FIELD = 'uplink';

export interface RelayUplink {
  /** The launcher's agent at the relay (did:key) and its cell. */
  readonly did: string;
  readonly cell: string;
  readonly relay: string;
  /** The bridge's forward hook: the relay's receipt results for the turn that carried `word`. */
  forward(cell: string, word: number): Promise<unknown>;
  close(): Promise<void>;
}

/** Node 20 has no global WebSocket, and libp2p's websocket transport dials with it. */
function installWebSocket(): void {
  installLibp2pShims();
  const g = globalThis as { WebSocket?: unknown };
  g.WebSocket ??= WebSocket;
}

/** The handle the launcher's cell holds to `target`: a c-list entry, or ownership of its own cell. */
async function handleTo(client: RelayClient, own: string, target: string): Promise<Handle> {
  const acting = await client.cell(own);
  for (const h of acting?.clist.values() ?? []) if (h.target.id === target) return h;
  if (target === own) return { target: { kind: 'cell', id: own }, caveats: [] };
  throw new DreggError('E_NOT_FOUND', `The launcher's cell holds no capability to cell ${target}`);
}

export async function relayUplink(addresses: readonly string[]): Promise<RelayUplink> {
  installWebSocket();
  const seed = crypto.getRandomValues(new Uint8Array(32));
  const did = didKeyFromEd25519(ed25519PublicKey(seed));
  const client = await connectRelay(addresses);
  try {
    const salt = toHex(crypto.getRandomValues(new Uint8Array(32)));
    const cell = (await client.openCell(did, salt)).id;
    const backing = relayCellBacking(client, {
      ed: nobleEd25519,
      clock: systemClock,
      agent: { did, seed },
      cell,
    });
    return {
      did,
      cell,
      relay: client.info.relay,
      async forward(target, word) {
        const h = await handleTo(client, cell, target);
        return backing.invoke(h, { action: 'set-field', args: { key: UPLINK_FIELD, value: word } });
      },
      async close() {
        seed.fill(0);
        await client.close();
      },
    };
  } catch (e) {
    await client.close().catch(() => undefined);
    throw e;
  }
}

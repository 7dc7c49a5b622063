/**
 * A real relay for tests: started in this process on loopback (ws and webrtc-direct on free ports,
 * the operators' endpoint too), in a fresh home, with a silent log; and people who act on it through
 * the real client.
 */
import '../../src/node/libp2p-shims.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../src/clock.ts';
import { ed25519PublicKey, nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import type { RelayClient } from '../../src/net/client.ts';
import type { Log } from '../../src/node/relay/log.ts';
import { type Relay, type RelayConfig, startRelay } from '../../src/node/relay/relay.ts';
import { nextTurn } from '../../src/router/cells.ts';
import type { Effect } from '../../src/turns/effects.ts';
import type { Turn } from '../../src/turns/turn.ts';

export const LOOPBACK = ['/ip4/127.0.0.1/tcp/0/ws', '/ip4/127.0.0.1/udp/0/webrtc-direct'];
export const silent: Log = () => {};

export function tempHome(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cipherclerk-relay-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export async function testRelay(
  home: string,
  o: Partial<Omit<RelayConfig, 'home' | 'log'>> & { clock?: Clock } = {},
): Promise<Relay> {
  return startRelay({
    home,
    listen: LOOPBACK,
    http: '127.0.0.1:0',
    ledger: 'main',
    grant: 1000n,
    log: silent,
    ...o,
  });
}

export interface Person {
  readonly did: string;
  readonly seed: Uint8Array;
}

export function person(i: number): Person {
  const seed = new Uint8Array(32).fill(i);
  return { did: didKeyFromEd25519(ed25519PublicKey(seed)), seed };
}

export const saltOf = (n: number): string => toHex(new Uint8Array(32).fill(n));

/** A turn by `who` acting as `cell`, continuing its chain as the relay reports it. */
export async function turnOn(
  client: RelayClient,
  who: Person,
  cell: string,
  effects: Effect[],
  validUntil = Math.floor(Date.now() / 1000) + 600,
): Promise<Turn> {
  return nextTurn(client.ledger(), who, cell, effects, nobleEd25519, validUntil);
}

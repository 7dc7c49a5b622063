/**
 * A federation of real relays for tests and the bench: `dregg relay --federation` child processes on
 * loopback, their keys made beforehand so the genesis can pin them, fixed free ports so the genesis
 * can name their addresses, and people with cells the genesis funds.
 */
import '../../src/node/libp2p-shims.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { cellId } from '../../src/cells/cell.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import { relayPrivateKey } from '../../src/net/node.ts';
import { type GenesisCell, genesisJson } from '../../src/node/federation/genesis.ts';
import { relayKeys } from '../../src/node/relay/keys.ts';
import { type SpawnedRelay, spawnRelay } from '../../src/node/relay/spawn.ts';
import { person, saltOf } from '../relay/fixtures.ts';

export const FEDERATION = 'test-fed';
export const LEDGER = 'main';
export const BALANCE = 1_000_000n;

export interface Member {
  readonly index: number;
  readonly home: string;
  readonly did: string;
  readonly peerId: string;
  readonly port: number;
  readonly address: string;
}

export interface Payer {
  readonly did: string;
  readonly seed: Uint8Array;
  readonly cell: string;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Status {
  readonly ordered: number;
  readonly orderDigest: string;
  readonly lastWave: number;
  readonly settled: number;
  readonly ledgerRoot: string;
  readonly equivocators: readonly string[];
  readonly convicted: readonly string[];
  readonly pending: number;
  readonly rootHeight: number;
}

export interface Fed {
  readonly dir: string;
  readonly members: readonly Member[];
  readonly payers: readonly Payer[];
  readonly relays: (SpawnedRelay | undefined)[];
  start(i: number, env?: Record<string, string>): Promise<SpawnedRelay>;
  health(i: number): Promise<{ supplyDelta: string; federation: Status }>;
  client(i: number): Promise<RelayClient>;
  /** Writes relay i's partition file: the peers it refuses. */
  partition(i: number, peers: readonly string[]): void;
  close(): Promise<void>;
}

/** `cells`: more genesis cells, made knowing the members (the intent desk's coordinator cells). */
export async function federation(
  n: number,
  payers: number,
  o: { cells?: (members: readonly Member[]) => readonly GenesisCell[] } = {},
): Promise<Fed> {
  const dir = mkdtempSync(join(tmpdir(), 'cipherclerk-fed-'));
  const members: Member[] = [];
  for (let i = 0; i < n; i++) {
    const home = join(dir, `r${i}`);
    const keys = relayKeys(join(home, 'relay'));
    const peerId = peerIdFromPrivateKey(relayPrivateKey(keys.peer)).toString();
    const port = await freePort();
    members.push({
      index: i,
      home,
      did: keys.did,
      peerId,
      port,
      address: `/ip4/127.0.0.1/tcp/${port}/ws/p2p/${peerId}`,
    });
  }
  const people: Payer[] = Array.from({ length: payers }, (_, i) => {
    const p = person(i + 1);
    return { ...p, cell: cellId(p.did, saltOf(i + 1)) };
  });
  const genesisPath = join(dir, 'genesis.json');
  writeFileSync(
    genesisPath,
    genesisJson({
      federation: FEDERATION,
      members: members.map((m) => ({ did: m.did, multiaddrs: [m.address] })),
      cells: [
        ...people.map((p, i) => ({ owner: p.did, salt: saltOf(i + 1), balance: BALANCE })),
        ...(o.cells?.(members) ?? []),
      ],
    }),
  );
  const relays: (SpawnedRelay | undefined)[] = members.map(() => undefined);
  const clients = new Map<number, RelayClient>();
  const https: (string | null)[] = members.map(() => null);

  async function start(i: number, env: Record<string, string> = {}): Promise<SpawnedRelay> {
    const m = members[i]!;
    const r = await spawnRelay({
      home: m.home,
      args: [
        '--listen',
        `/ip4/127.0.0.1/tcp/${m.port}/ws`,
        '--http',
        '127.0.0.1:0',
        '--ledger',
        LEDGER,
        '--federation',
        genesisPath,
      ],
      env: { CIPHERCLERK_TEST_PARTITION_FILE: join(dir, `partition-${i}`), ...env },
      readyTimeoutMs: 90_000,
    });
    relays[i] = r;
    https[i] = r.ready.http;
    const old = clients.get(i);
    clients.delete(i);
    await old?.close().catch(() => undefined);
    return r;
  }

  return {
    dir,
    members,
    payers: people,
    relays,
    start,
    async health(i) {
      const res = await fetch(`${https[i]}/healthz`);
      return (await res.json()) as { supplyDelta: string; federation: Status };
    },
    async client(i) {
      let c = clients.get(i);
      if (c === undefined) {
        c = await connectRelay(relays[i]!.ready.multiaddrs);
        clients.set(i, c);
      }
      return c;
    },
    partition(i, peers) {
      writeFileSync(join(dir, `partition-${i}`), peers.join('\n'));
    },
    async close() {
      for (const c of clients.values()) await c.close().catch(() => undefined);
      await Promise.all(relays.map((r) => r?.stop(5000)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

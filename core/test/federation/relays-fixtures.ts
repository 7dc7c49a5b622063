/**
 * A federation of real relays for tests and the bench: `dregg relay --federation` child processes on
 * loopback, their keys made beforehand so the genesis can pin them, fixed free ports so the genesis
 * can name their addresses, and people with cells the genesis funds.
 */
import '../../src/node/libp2p-shims.ts';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { cellId } from '../../src/cells/cell.ts';
import { ed25519PublicKey, nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { DreggError } from '../../src/errors.ts';
import { decodeFederationRoot, type FederationRoot } from '../../src/federation/attest.ts';
import { connectRelay, type RelayClient } from '../../src/net/client.ts';
import { encodeEmpty, type Submitted } from '../../src/net/contract.ts';
import { FEDERATION_OPS } from '../../src/net/federation.ts';
import { relayPrivateKey } from '../../src/net/node.ts';
import {
  type Genesis,
  type GenesisCell,
  genesisJson,
  parseGenesis,
} from '../../src/node/federation/genesis.ts';
import { relayKeys } from '../../src/node/relay/keys.ts';
import { type SpawnedRelay, spawnRelay } from '../../src/node/relay/spawn.ts';
import { signTurn, type Turn } from '../../src/turns/turn.ts';

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

/** Payer i's seed: distinct for any number of payers (a bench funds thousands). */
function payer(i: number): Payer {
  const seed = new Uint8Array(32).fill(7);
  new DataView(seed.buffer).setUint32(0, i + 1);
  const did = didKeyFromEd25519(ed25519PublicKey(seed));
  return { did, seed, cell: cellId(did, toHex(seed)) };
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
  readonly convictedAt: Readonly<Record<string, number>>;
  readonly leaders: readonly { readonly wave: number; readonly creator: string }[];
  readonly dropped: number;
  readonly connected: number;
}

export interface Fed {
  readonly dir: string;
  readonly members: readonly Member[];
  readonly payers: readonly Payer[];
  /** The genesis every relay started from: the committee a wallet pins. */
  readonly genesis: Genesis;
  /** The ledger its turns name. */
  readonly ledger: string;
  /** Pins the committees of `others` in this federation's genesis (`bridges`); before any start. */
  bridge(others: readonly Fed[]): void;
  readonly relays: (SpawnedRelay | undefined)[];
  start(i: number, env?: Record<string, string>): Promise<SpawnedRelay>;
  health(i: number): Promise<{ supplyDelta: string; federation: Status }>;
  client(i: number): Promise<RelayClient>;
  /** Relay i's answer to `federation/root`, fetched over libp2p as a wallet would. */
  root(i: number): Promise<FederationRoot>;
  /** Writes relay i's partition file: the peers it refuses. */
  partition(i: number, peers: readonly string[]): void;
  close(): Promise<void>;
}

export interface FedOptions {
  /** Node options for every relay process (`--cpu-prof` ...). */
  readonly nodeOptions?: readonly string[];
  /** Further `dregg relay` arguments for every relay (`--limit` ...). */
  readonly args?: readonly string[];
  /** Further genesis cells after the payers', made knowing the members (a wallet's, the desks' coordinator cells). */
  readonly cells?: (members: readonly Member[]) => readonly GenesisCell[];
  /** How many of the `n` relays the genesis names (all by default); the rest join by a committee change. */
  readonly inGenesis?: number;
  /** The federation's name (default `FEDERATION`) and its ledger's (default `LEDGER`). */
  readonly federation?: string;
  readonly ledger?: string;
}

/** `n` relays; the genesis funds `payers` fixture people, then `options.cells`. */
export async function federation(n: number, payers: number, options: FedOptions = {}): Promise<Fed> {
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
  const people: Payer[] = Array.from({ length: payers }, (_, i) => payer(i));
  const genesisPath = join(dir, 'genesis.json');
  const ledger = options.ledger ?? LEDGER;
  const writeGenesis = (bridges: readonly Fed[] = []): Genesis => {
    writeFileSync(
      genesisPath,
      genesisJson({
        federation: options.federation ?? FEDERATION,
        members: members
          .slice(0, options.inGenesis ?? n)
          .map((m) => ({ did: m.did, multiaddrs: [m.address] })),
        cells: [
          ...people.map((p) => ({ owner: p.did, salt: toHex(p.seed), balance: BALANCE })),
          ...(options.cells?.(members) ?? []),
        ],
        bridges: bridges.map((f) => ({
          federation: f.genesis.federation,
          members: f.members.map((m) => m.did),
        })),
      }),
    );
    return parseGenesis(readFileSync(genesisPath, 'utf8'));
  };
  let genesis = writeGenesis();
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
        ledger,
        '--federation',
        genesisPath,
        ...(options.args ?? []),
      ],
      nodeOptions: options.nodeOptions,
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

  async function client(i: number): Promise<RelayClient> {
    let c = clients.get(i);
    if (c === undefined) {
      c = await connectRelay(relays[i]!.ready.multiaddrs);
      clients.set(i, c);
    }
    return c;
  }

  return {
    dir,
    members,
    payers: people,
    get genesis() {
      return genesis;
    },
    ledger,
    bridge(others) {
      genesis = writeGenesis(others);
    },
    relays,
    start,
    async health(i) {
      const res = await fetch(`${https[i]}/healthz`);
      return (await res.json()) as { supplyDelta: string; federation: Status };
    },
    client,
    async root(i) {
      return decodeFederationRoot(await (await client(i)).call(FEDERATION_OPS.root, encodeEmpty()));
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

const validUntil = () => Math.floor(Date.now() / 1000) + 600;

/** A transfer by `p` continuing its chain as relay `client` reports it. */
export async function transfer(client: RelayClient, p: Payer, to: Payer, amount: bigint): Promise<Turn> {
  const [head, cell] = await Promise.all([client.ledger().head(p.did), client.ledger().cell(p.cell)]);
  return signTurn(
    {
      ledger: LEDGER,
      agent: p.did,
      cell: p.cell,
      nonce: cell!.nonce,
      prev: head.prev,
      effects: [{ type: 'transfer', from: p.cell, to: to.cell, amount }],
      fee: 0n,
      validUntil: validUntil(),
    },
    p.seed,
    nobleEd25519,
  );
}

/**
 * Submits a turn the way a wallet does: a call that times out (finality can take longer than one
 * call's deadline on a loaded machine) is sent again, and the relay answers a resubmitted turn once it
 * has settled; any other refusal is the answer.
 */
export async function submitPatiently(client: RelayClient, turn: Turn): Promise<Submitted> {
  for (;;) {
    try {
      return await client.submitTurn(turn);
    } catch (e) {
      if (!(e instanceof DreggError) || e.code !== 'E_TIMEOUT') throw e;
    }
  }
}

/** Polls the given relays' /healthz until `done` holds for their statuses; fails with the last ones. */
export async function until(
  fed: Fed,
  relays: readonly number[],
  done: (s: Status[]) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<Status[]> {
  const deadline = Date.now() + timeoutMs;
  let last: Status[] = [];
  while (Date.now() < deadline) {
    last = await Promise.all(relays.map(async (i) => (await fed.health(i)).federation));
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`relays ${relays}: ${what} did not happen: ${JSON.stringify(last, null, 1)}`);
}

/** Waits until the given relays report one final order and ledger root, and nothing pending. */
export function converged(
  fed: Fed,
  relays: readonly number[],
  atLeast = 0,
  timeoutMs = 60_000,
): Promise<Status[]> {
  return until(
    fed,
    relays,
    (all) => {
      const first = all[0]!;
      return (
        first.settled >= atLeast &&
        all.every(
          (s) =>
            s.pending === 0 &&
            s.ordered === first.ordered &&
            s.orderDigest === first.orderDigest &&
            s.ledgerRoot === first.ledgerRoot,
        )
      );
    },
    'convergence',
    timeoutMs,
  );
}

/**
 * `dregg inbox send` seals a file to a did:key and deposits it at a relay; `dregg inbox fetch` drains
 * this identity's inbox at a relay, checks the relay's answer against what it last acknowledged there
 * (`inbox.json` in the home: per relay did:key, the acknowledged height and root), opens each sealed
 * box locally and writes the plaintexts to --out (default: the current directory). The relay only
 * ever sees ciphertext; nothing is unsealed outside this process.
 */
import '../libp2p-shims.ts';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openSealed, seal, x25519FromEd25519Public } from '../../crypto/sealed-box.ts';
import { fromHex, toHex } from '../../encoding/bytes.ts';
import { ed25519FromDidKey } from '../../encoding/did-key.ts';
import { DreggError } from '../../errors.ts';
import { INBOX_ORIGIN, type InboxPoint } from '../../inbox/client.ts';
import { connectRelay, type RelayClient } from '../../net/client.ts';
import { atomicWrite, openAgent } from '../home.ts';
import { parseDuration } from './args.ts';
import { unlockPassphrase } from './io.ts';
import { type Invocation, print, required } from './main.ts';

const DEFAULT_TTL = 7 * 24 * 3600;
const inboxStatePath = (home: string) => join(home, 'inbox.json');

type AckedPoints = Record<string, { height: number; root: string }>;

function readAcked(home: string): AckedPoints {
  const path = inboxStatePath(home);
  if (!existsSync(path)) return {};
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as AckedPoints;
  } catch (e) {
    throw new DreggError('E_DECODE', `${path} is not an inbox state file`, { cause: e });
  }
}

function relays(inv: Invocation): string[] {
  const list = inv.flags.relay ?? inv.io.env.DREGG_RELAY?.split(',').filter(Boolean) ?? [];
  if (list.length === 0) throw new DreggError('E_ARGUMENT', '--relay MULTIADDR is required');
  return list;
}

async function withRelay<T>(inv: Invocation, work: (c: RelayClient) => Promise<T>): Promise<T> {
  const client = await connectRelay(relays(inv));
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

async function send(inv: Invocation): Promise<number> {
  const to = required(inv, 'to');
  let recipientKey: Uint8Array;
  try {
    recipientKey = ed25519FromDidKey(to);
  } catch {
    throw new DreggError('E_ARGUMENT', '--to must be an Ed25519 did:key');
  }
  const file = required(inv, 'file');
  let plaintext: Uint8Array;
  try {
    plaintext = new Uint8Array(readFileSync(file));
  } catch (e) {
    throw new DreggError('E_IO', `Cannot read ${file}`, { cause: e });
  }
  const ttl = inv.flags.ttl === undefined ? DEFAULT_TTL : parseDuration(inv.flags.ttl);
  const request = {
    recipient: to,
    ciphertext: seal(x25519FromEd25519Public(recipientKey), plaintext),
    ttl,
    deposit: 0n,
    idempotencyKey: crypto.getRandomValues(new Uint8Array(16)),
  };
  return withRelay(inv, async (client) => {
    const receipt = await client.deposit(request);
    print(
      inv,
      { relay: client.info.relay, to, seq: receipt.seq, size: receipt.size, expires: receipt.expires },
      `Deposited ${receipt.size} bytes for ${to} at ${client.info.relay} (message ${receipt.seq}, kept until ${new Date(receipt.expires * 1000).toISOString()}).`,
    );
    return 0;
  });
}

async function fetch(inv: Invocation): Promise<number> {
  const agent = await openAgent(inv.home, await unlockPassphrase(inv.io));
  const out = resolve(inv.flags.out ?? '.');
  return withRelay(inv, async (client) => {
    const state = readAcked(inv.home);
    const saved = state[client.info.relay];
    let acked: InboxPoint =
      saved === undefined ? INBOX_ORIGIN : { height: saved.height, root: fromHex(saved.root) };
    const files: { seq: number; path: string; bytes: number }[] = [];
    let expired = 0;
    for (;;) {
      const page = await client.drain({ did: agent.did, seed: agent.identity.seed, acked });
      for (const m of page.delivered) {
        const path = join(out, `inbox-${client.info.relay.slice(-8)}-${m.seq}.bin`);
        // An unopenable box is skipped, not fatal: anyone can deposit anything in anyone's inbox.
        try {
          const plaintext = openSealed(agent.identity.x25519.secretKey, m.ciphertext!);
          writeFileSync(path, plaintext, { mode: 0o600 });
          files.push({ seq: m.seq, path, bytes: plaintext.length });
        } catch {
          inv.io.stderr(`dregg: message ${m.seq} is not a sealed box for this identity; skipped\n`);
        }
      }
      expired += page.expired.length;
      acked = page.head;
      atomicWrite(
        inboxStatePath(inv.home),
        `${JSON.stringify({ ...state, [client.info.relay]: { height: acked.height, root: toHex(acked.root) } }, null, 2)}\n`,
      );
      if (!page.more) break;
    }
    print(
      inv,
      { relay: client.info.relay, height: acked.height, files, expired },
      files.length === 0 && expired === 0
        ? 'No new messages.'
        : [
            ...files.map((f) => `message ${f.seq}: ${f.bytes} bytes -> ${f.path}`),
            ...(expired > 0 ? [`${expired} message(s) expired before they were fetched`] : []),
          ].join('\n'),
    );
    return 0;
  });
}

export async function inboxCommand(inv: Invocation): Promise<number> {
  const [sub] = inv.positionals;
  if (sub === 'send') return send(inv);
  if (sub === 'fetch') return fetch(inv);
  throw new DreggError(
    'E_ARGUMENT',
    'Usage: dregg inbox send --relay MULTIADDR --to DID --file F | dregg inbox fetch --relay MULTIADDR',
  );
}

/**
 * `dregg inbox send` seals a file to a did:key and deposits it at a relay, paying the relay's deposit
 * (its minimum unless --deposit says more) from --cell when it takes one; the refund secret is kept in
 * `refunds.json` in the home, and `dregg inbox refunds` claims what has become claimable (the
 * recipient drained the message). `dregg inbox fetch` drains
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
import type { DepositRequest } from '../../inbox/wire.ts';
import { connectRelay, type RelayClient } from '../../net/client.ts';
import { paidDeposit } from '../../net/deposits.ts';
import { nodeEd25519 } from '../ed25519.ts';
import { atomicWrite, openAgent } from '../home.ts';
import { parseAmount, parseDuration } from './args.ts';
import { unlockPassphrase } from './io.ts';
import { type Invocation, print, required } from './main.ts';

const DEFAULT_TTL = 7 * 24 * 3600;
const inboxStatePath = (home: string) => join(home, 'inbox.json');
const refundsPath = (home: string) => join(home, 'refunds.json');

/** A paid deposit's refund, claimable once its recipient has drained the message. */
interface OwedRefund {
  readonly relay: string;
  readonly recipient: string;
  readonly seq: number;
  /** Hex of the 32-byte secret whose digest the deposit carried: whoever holds it collects. */
  readonly secret: string;
  readonly cell: string;
  readonly amount: string;
  /** When the relay stops keeping the message (Unix seconds); an unclaimed refund lapses with it. */
  readonly expires: number;
}

function readJson<T>(path: string, what: string, empty: T, valid: (v: unknown) => boolean): T {
  if (!existsSync(path)) return empty;
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (!valid(value)) throw new Error('unexpected shape');
    return value as T;
  } catch (e) {
    throw new DreggError('E_DECODE', `${path} is not ${what}`, { cause: e });
  }
}

const readRefunds = (home: string): OwedRefund[] =>
  readJson<OwedRefund[]>(refundsPath(home), 'a refunds file', [], Array.isArray);

function writeRefunds(home: string, refunds: readonly OwedRefund[]): void {
  // The secrets are money: atomicWrite makes the file the owner's alone (0600).
  atomicWrite(refundsPath(home), `${JSON.stringify(refunds, null, 2)}\n`);
}

type AckedPoints = Record<string, { height: number; root: string }>;

const readAcked = (home: string): AckedPoints =>
  readJson<AckedPoints>(
    inboxStatePath(home),
    'an inbox state file',
    {},
    (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  );

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
  const chosen = inv.flags.deposit === undefined ? undefined : parseAmount(inv.flags.deposit, '--deposit');
  return withRelay(inv, async (client) => {
    const amount = chosen ?? client.info.minDeposit;
    const unpaid: DepositRequest = {
      recipient: to,
      ciphertext: seal(x25519FromEd25519Public(recipientKey), plaintext),
      ttl,
      deposit: amount,
      idempotencyKey: crypto.getRandomValues(new Uint8Array(16)),
    };
    let refund: Omit<OwedRefund, 'seq' | 'expires'> | undefined;
    let request = unpaid;
    if (amount > 0n) {
      const cell = inv.flags.cell ?? inv.io.env.DREGG_CELL;
      if (cell === undefined)
        throw new DreggError(
          'E_ARGUMENT',
          `This deposit is ${amount} computrons (refunded when ${to} drains it): pay it with --cell CELL, a cell of yours on the relay's ledger`,
        );
      const agent = await openAgent(inv.home, await unlockPassphrase(inv.io));
      const secret = crypto.getRandomValues(new Uint8Array(32));
      request = await paidDeposit(
        client,
        unpaid,
        { did: agent.did, seed: agent.identity.seed, cell },
        secret,
        nodeEd25519,
      );
      refund = {
        relay: client.info.relay,
        recipient: to,
        secret: toHex(secret),
        cell,
        amount: String(amount),
      };
      // Kept before the deposit is made: a crash after the relay took the payment still leaves the
      // secret here (a retry of the same request is the same deposit).
      writeRefunds(inv.home, [...readRefunds(inv.home), { ...refund, seq: -1, expires: 0 }]);
    }
    const receipt = await client.deposit(request);
    if (refund !== undefined) {
      const pending = readRefunds(inv.home).filter((r) => r.secret !== refund.secret);
      writeRefunds(inv.home, [...pending, { ...refund, seq: receipt.seq, expires: receipt.expires }]);
    }
    print(
      inv,
      {
        relay: client.info.relay,
        to,
        seq: receipt.seq,
        size: receipt.size,
        expires: receipt.expires,
        deposit: String(amount),
      },
      `Deposited ${receipt.size} bytes for ${to} at ${client.info.relay} (message ${receipt.seq}, kept until ${new Date(receipt.expires * 1000).toISOString()})${amount > 0n ? `; ${amount} computrons paid, refundable with \`dregg inbox refunds\` once it is drained` : ''}.`,
    );
    return 0;
  });
}

/**
 * Claims every refund owed at the relay whose message has been drained. One that is not claimable
 * yet stays; one whose message expired undrained is dropped (the relay keeps nothing to refund).
 */
async function refunds(inv: Invocation): Promise<number> {
  return withRelay(inv, async (client) => {
    const now = Math.floor(Date.now() / 1000);
    const kept: OwedRefund[] = [];
    const paid: { seq: number; amount: string; cell: string }[] = [];
    for (const r of readRefunds(inv.home)) {
      if (r.relay !== client.info.relay || r.seq < 0) {
        kept.push(r);
        continue;
      }
      try {
        const claim = { recipient: r.recipient, seq: r.seq, secret: fromHex(r.secret), cell: r.cell };
        await client.claimRefund(claim, BigInt(r.amount));
        paid.push({ seq: r.seq, amount: r.amount, cell: r.cell });
      } catch (e) {
        if (!(e instanceof DreggError)) throw e;
        const lapsed = e.code === 'E_NOT_FOUND' && now > r.expires;
        if (!lapsed) kept.push(r);
      }
    }
    writeRefunds(inv.home, kept);
    const waiting = kept.filter((r) => r.relay === client.info.relay).length;
    print(
      inv,
      { relay: client.info.relay, paid, waiting },
      [
        ...paid.map((p) => `message ${p.seq}: ${p.amount} computrons refunded to ${p.cell}`),
        `${waiting} refund(s) not claimable yet (the recipient has not drained those messages).`,
      ].join('\n'),
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
  if (sub === 'refunds') return refunds(inv);
  throw new DreggError(
    'E_ARGUMENT',
    'Usage: dregg inbox send --relay MULTIADDR --to DID --file F [--deposit N --cell CELL] | dregg inbox fetch --relay MULTIADDR | dregg inbox refunds --relay MULTIADDR',
  );
}

/**
 * `dregg relay`: runs a relay until SIGTERM or SIGINT, and `dregg relay audit`: the supply audit over
 * a relay's log. Configuration comes from flags, then the environment (DREGG_RELAY_LISTEN and
 * DREGG_RELAY_LIMITS, comma separated; DREGG_RELAY_HTTP; DREGG_RELAY_LEDGER; DREGG_RELAY_GRANT;
 * DREGG_RELAY_MIN_DEPOSIT; DREGG_RELAY_FEDERATION, a genesis file: federation mode;
 * DREGG_RELAY_ZONES, comma separated, and DREGG_RELAY_RING_SECONDS for the intent desk), then
 * the defaults below. The relay's files live in `<home>/relay`.
 */
import '../libp2p-shims.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { systemClock } from '../../clock.ts';
import { DreggError } from '../../errors.ts';
import { DEFAULT_NET_LIMITS, type NetLimits, netLimits } from '../../net/limits.ts';
import { openNotary } from '../../notary/index.ts';
import { nodeEd25519 } from '../ed25519.ts';
import { readGenesis } from '../federation/genesis.ts';
import { relayKeys } from '../relay/keys.ts';
import { jsonLog } from '../relay/log.ts';
import { RELAY_COLLECTIONS, relayStorePath, startRelay } from '../relay/relay.ts';
import { openSqliteStore } from '../sqlite-store.ts';
import { type Invocation, print } from './main.ts';

export const DEFAULT_LISTEN = ['/ip4/127.0.0.1/tcp/4011/ws', '/ip4/127.0.0.1/udp/4011/webrtc-direct'];
export const DEFAULT_LEDGER = 'main';

export const relayHome = (home: string): string => join(home, 'relay');

/** `--limit NAME=N` (repeatable) or DREGG_RELAY_LIMITS=NAME=N,...: per-peer admission and other net limits. */
function limits(texts: readonly string[]): Partial<NetLimits> {
  const out: Record<string, number> = {};
  for (const text of texts) {
    const [name, value] = text.split('=');
    if (
      name === undefined ||
      !(name in DEFAULT_NET_LIMITS) ||
      value === undefined ||
      !/^\d{1,12}$/.test(value)
    ) {
      throw new DreggError(
        'E_ARGUMENT',
        `--limit takes NAME=N with NAME one of ${Object.keys(DEFAULT_NET_LIMITS).join(', ')}`,
      );
    }
    out[name] = Number(value);
  }
  return netLimits(out);
}

function amount(text: string, what: string): bigint {
  if (!/^\d{1,20}$/.test(text)) throw new DreggError('E_ARGUMENT', `${what} must be a whole number`);
  return BigInt(text);
}

async function run(inv: Invocation): Promise<number> {
  const env = inv.io.env;
  const listen = inv.flags.listen ?? env.DREGG_RELAY_LISTEN?.split(',').filter(Boolean) ?? DEFAULT_LISTEN;
  const http = inv.flags.http ?? env.DREGG_RELAY_HTTP;
  const ledger = inv.flags.ledger ?? env.DREGG_RELAY_LEDGER ?? DEFAULT_LEDGER;
  const grantText = inv.flags.grant ?? env.DREGG_RELAY_GRANT;
  const minDepositText = inv.flags['min-deposit'] ?? env.DREGG_RELAY_MIN_DEPOSIT;
  const limitTexts = inv.flags.limit ?? env.DREGG_RELAY_LIMITS?.split(',').filter(Boolean) ?? [];
  const log = jsonLog((line) => inv.io.stderr(line));
  const genesisPath = inv.flags.federation ?? env.DREGG_RELAY_FEDERATION;
  const relay = await startRelay({
    home: relayHome(inv.home),
    listen,
    http,
    ledger,
    grant: grantText === undefined ? 0n : amount(grantText, '--grant'),
    netLimits: limits(limitTexts),
    inboxLimits: minDepositText === undefined ? {} : { minDeposit: amount(minDepositText, '--min-deposit') },
    ...(genesisPath === undefined ? {} : { federation: { genesis: readGenesis(genesisPath) } }),
    intents: {
      ...(env.DREGG_RELAY_ZONES ? { zones: env.DREGG_RELAY_ZONES.split(',').filter(Boolean) } : {}),
      ...(env.DREGG_RELAY_RING_SECONDS
        ? { ringSeconds: Number(amount(env.DREGG_RELAY_RING_SECONDS, 'DREGG_RELAY_RING_SECONDS')) }
        : {}),
    },
    log,
  });
  // The ready line: the one thing on stdout, whatever --json says, so scripts and tests can read it.
  inv.io.stdout(
    `${JSON.stringify({ peerId: relay.peerId, did: relay.did, multiaddrs: relay.multiaddrs, http: relay.http ?? null })}\n`,
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log('info', 'signal received', { signal });
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve();
    };
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
  await relay.stop();
  // Everything durable is closed. Native transports (WebRTC) can keep the event loop alive after
  // their connections are gone; a graceful stop still ends the process, soon, with status 0.
  setTimeout(() => process.exit(0), 2000).unref();
  return 0;
}

async function audit(inv: Invocation): Promise<number> {
  const home = relayHome(inv.home);
  if (!existsSync(relayStorePath(home)))
    throw new DreggError('E_NOT_FOUND', `No relay has run in ${home}: start one with "dregg relay"`);
  const keys = relayKeys(home);
  const store = await openSqliteStore(relayStorePath(home), { collections: RELAY_COLLECTIONS });
  try {
    const notary = await openNotary({
      store,
      ed: nodeEd25519,
      clock: systemClock,
      seed: keys.signing,
      ledger: inv.flags.ledger ?? inv.io.env.DREGG_RELAY_LEDGER ?? DEFAULT_LEDGER,
    });
    const a = await notary.audit();
    await notary.close();
    const result = {
      relay: keys.did,
      height: a.height,
      issued: a.issued.toString(),
      destroyed: a.destroyed.toString(),
      transit: a.transit.toString(),
      shielded: a.shielded.toString(),
      circulating: a.circulating.toString(),
      delta: a.delta.toString(),
    };
    print(
      inv,
      result,
      [
        `relay ${keys.did}, log height ${a.height}`,
        `issued ${a.issued} - destroyed ${a.destroyed} - transit ${a.transit} - circulating ${a.circulating} = delta ${a.delta}`,
        ...(a.shielded === 0n ? [] : [`(transit includes ${a.shielded} shielded in proved cells)`]),
        a.delta === 0n ? 'supply balances' : 'SUPPLY DOES NOT BALANCE',
      ].join('\n'),
    );
    return a.delta === 0n ? 0 : 1;
  } finally {
    await store.close();
  }
}

export async function relayCommand(inv: Invocation): Promise<number> {
  const [sub] = inv.positionals;
  if (sub === undefined) return run(inv);
  if (sub === 'audit') return audit(inv);
  throw new DreggError(
    'E_ARGUMENT',
    `Unknown relay command "${sub}": try "dregg relay" or "dregg relay audit"`,
  );
}

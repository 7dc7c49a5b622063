/**
 * `dregg`: the command line of cipherclerk (seed 002's commands). Every command takes `--json` and then
 * prints exactly one JSON object on stdout; errors go to stderr as {"error":{"code","message"}}.
 * Exit codes: 0 success (and "allowed" for `cap verify`), 1 "denied" from `cap verify`, 2 error.
 */
import '../native.ts';
import { parseArgs } from 'node:util';
import { DreggError, isDreggError } from '../../errors.ts';
import { defaultHome } from '../home.ts';
import { capCommand } from './cap.ts';
import { cellCommand } from './cell.ts';
import { demoCommand } from './demo.ts';
import { federationCommand } from './federation.ts';
import { firmamentCommand } from './firmament.ts';
import { idCommand } from './id.ts';
import { inboxCommand } from './inbox.ts';
import { type CliIO, processIO } from './io.ts';
import { receiptCommand } from './receipt.ts';
import { relayCommand } from './relay.ts';
import { turnCommand } from './turn.ts';

export const USAGE = `dregg — cipherclerk on the command line

  dregg id new | show | restore --mnemonic-file F
  dregg cap mint --service NAME [--actions read,write] [--budget N] [--ttl 24h] [--channel]
  dregg cap delegate --token TOKEN --to DID [--restrict service=S,action=A,budget=N] [--ttl 24h] [--channel]
  dregg cap accept --from DID [--envelope TEXT | stdin]
  dregg cap inspect TEXT
  dregg cap list
  dregg cap verify TEXT --service S --action A [--cost N] [--holder DID]   exit 0 allow, 1 deny
  dregg cap revoke --token TOKEN --delegation HASH
  dregg cap trip-channel --channel ID
  dregg cap epoch bump
  dregg cap revocation import [TEXT | stdin]
  dregg cell new [--balance N] [--salt HEX]   a cell of yours in the local ledger; --balance N is a
                                   LOCAL DEMO genesis allowance (computrons created from nothing, recorded)
  dregg cell show ID | list
  dregg turn submit --cell ID --effects FILE.json [--out FILE]   sign, apply locally, print the receipt
  dregg turn submit ... --prove [--proof FILE]   also prove it (STARK) and write the proof file
  dregg turn verify-proof FILE                  verify a proof file, print its statement
  dregg receipt verify [FILE...] [--executor DID] [--chain]       check signatures (and chain order)
  dregg receipt list [--agent DID]
  dregg relay [--listen MULTIADDR ...] [--http HOST:PORT] [--ledger NAME] [--grant N] [--federation GENESIS.json]
              [--min-deposit N] [--limit NAME=N ...]   (NetLimits names, e.g. rpcRatePerSecond=1000)
                                   run a relay until SIGTERM; prints one JSON line when ready
  dregg relay audit                the supply audit over this home's relay log (exit 1 if unbalanced)
  dregg federation propose --relay MULTIADDR (--add DID [--multiaddr ADDR ...] | --remove DID) [--epoch N]
                                   have this home's federation relay endorse a committee change
                                   (carried once more than 2/3 of the members endorse it)
  dregg inbox send --relay MULTIADDR --to DID --file F [--ttl 7d] [--deposit N] [--cell CELL]
                       seal F to DID, deposit it (paying the relay's deposit from CELL)
  dregg inbox fetch --relay MULTIADDR [--out DIR]   drain your inbox, check it, unseal locally
  dregg inbox refunds --relay MULTIADDR   claim the deposits of your drained messages back
  dregg firmament up [--origin ORIGIN ...] [--relay MULTIADDR]   boot the local firmament (our own
                                   seL4-style kernel under QEMU) and its localhost bridge; prints the
                                   bridge URL and token; with --relay, uplinks reach cells on that relay
  dregg firmament selftest         boot it and check every verb; exit 0 only if all behave
  dregg demo                       a guided tour: two identities, mint, delegate, accept, verify, revoke

Options: --home DIR (default ~/.cipherclerk), --json.
The unlock passphrase comes from DREGG_PASSPHRASE or a prompt; an optional BIP39 passphrase for
"id new"/"id restore" from DREGG_BIP39_PASSPHRASE (it changes the identity; it is not the unlock one).
`;

/** Options every command understands, and those of each command (values are all strings or flags). */
const OPTIONS = {
  home: { type: 'string' },
  origin: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'mnemonic-file': { type: 'string' },
  'reveal-mnemonic': { type: 'boolean' },
  service: { type: 'string' },
  actions: { type: 'string' },
  action: { type: 'string' },
  budget: { type: 'string' },
  ttl: { type: 'string' },
  channel: { type: 'string' },
  token: { type: 'string' },
  to: { type: 'string' },
  restrict: { type: 'string', multiple: true },
  from: { type: 'string' },
  envelope: { type: 'string' },
  cost: { type: 'string' },
  holder: { type: 'string' },
  delegation: { type: 'string' },
  balance: { type: 'string' },
  salt: { type: 'string' },
  cell: { type: 'string' },
  effects: { type: 'string' },
  out: { type: 'string' },
  executor: { type: 'string', multiple: true },
  chain: { type: 'boolean' },
  agent: { type: 'string' },
  listen: { type: 'string', multiple: true },
  http: { type: 'string' },
  ledger: { type: 'string' },
  grant: { type: 'string' },
  limit: { type: 'string', multiple: true },
  'min-deposit': { type: 'string' },
  federation: { type: 'string' },
  add: { type: 'string' },
  remove: { type: 'string' },
  multiaddr: { type: 'string', multiple: true },
  epoch: { type: 'string' },
  deposit: { type: 'string' },
  relay: { type: 'string', multiple: true },
  file: { type: 'string' },
  prove: { type: 'boolean' },
  proof: { type: 'string' },
} as const;

export type Flags = {
  [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K] extends { type: 'boolean' }
    ? boolean
    : (typeof OPTIONS)[K] extends { multiple: true }
      ? string[]
      : string;
};

export interface Invocation {
  readonly home: string;
  readonly json: boolean;
  readonly flags: Flags;
  readonly positionals: readonly string[];
  readonly io: CliIO;
}

/** Prints a command's result: the JSON object, or its human rendering. */
export function print(inv: Invocation, result: object, human: string): void {
  inv.io.stdout(inv.json ? `${JSON.stringify(result)}\n` : `${human}\n`);
}

function parse(argv: readonly string[]): { flags: Flags; positionals: string[] } {
  // `--channel` is a flag for mint/delegate and takes an id for trip-channel; normalise the flag form.
  const isTrip = argv.includes('trip-channel');
  const args = argv.map((a) => (a === '--channel' && !isTrip ? '--channel=new' : a));
  try {
    const { values, positionals } = parseArgs({
      args,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    return { flags: values as Flags, positionals };
  } catch (e) {
    throw new DreggError('E_ARGUMENT', e instanceof Error ? e.message : 'Invalid arguments');
  }
}

/** Runs one invocation and returns the process exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  const json = argv.includes('--json');
  try {
    const { flags, positionals } = parse(argv);
    const [group, ...rest] = positionals;
    if (flags.help === true || group === undefined || group === 'help') {
      io.stdout(USAGE);
      return group === undefined && flags.help !== true ? 2 : 0;
    }
    const inv: Invocation = {
      home: flags.home ?? io.env.DREGG_HOME ?? defaultHome(),
      json,
      flags,
      positionals: rest,
      io,
    };
    switch (group) {
      case 'id':
        return await idCommand(inv);
      case 'cap':
        return await capCommand(inv);
      case 'demo':
        return await demoCommand(inv);
      case 'cell':
        return await cellCommand(inv);
      case 'turn':
        return await turnCommand(inv);
      case 'receipt':
        return await receiptCommand(inv);
      case 'relay':
        return await relayCommand(inv);
      case 'inbox':
        return await inboxCommand(inv);
      case 'firmament':
        return await firmamentCommand(inv);
      case 'federation':
        return await federationCommand(inv);
      default:
        throw new DreggError('E_ARGUMENT', `Unknown command "${group}"; try "dregg --help"`);
    }
  } catch (e) {
    const err = isDreggError(e)
      ? e
      : new DreggError('E_INTERNAL', 'Internal error (set DREGG_DEBUG=1 for details)');
    if (!isDreggError(e) && io.env.DREGG_DEBUG === '1') io.stderr(`${String((e as Error)?.stack ?? e)}\n`);
    io.stderr(
      json ? `${JSON.stringify({ error: err.toJSON() })}\n` : `dregg: ${err.message} [${err.code}]\n`,
    );
    return 2;
  }
}

/** Reads a required flag or fails with a message naming it. */
export function required(inv: Invocation, name: keyof Flags): string {
  const v = inv.flags[name];
  if (typeof v !== 'string' || v === '') throw new DreggError('E_ARGUMENT', `--${name} is required`);
  return v;
}

import { readFileSync } from 'node:fs';
import { createAgent } from '../../agent/agent.ts';
import { ed25519FromDidKey } from '../../encoding/did-key.ts';
import { DreggError } from '../../errors.ts';
import { fingerprint } from '../../keys/identity.ts';
import { hasIdentity, readState, saveAgent } from '../home.ts';
import { unlockPassphrase } from './io.ts';
import { type Invocation, print, required } from './main.ts';

async function create(inv: Invocation, mnemonic: string | undefined): Promise<number> {
  if (hasIdentity(inv.home)) {
    throw new DreggError('E_EXISTS', `${inv.home} already holds an identity; use another --home`);
  }
  const bip39Passphrase = inv.io.env.DREGG_BIP39_PASSPHRASE ?? '';
  const agent = await createAgent({ ...(mnemonic === undefined ? {} : { mnemonic }), bip39Passphrase });
  const passphrase = await unlockPassphrase(inv.io, true);
  await saveAgent(inv.home, agent, passphrase);
  const words = agent.secrets.mnemonic;
  const fresh = mnemonic === undefined;
  const inJson = fresh && inv.flags['reveal-mnemonic'] === true;
  // With --json the words stay out of stdout (scripts log it) unless asked for; a person still sees them.
  if (fresh && inv.json && !inJson) {
    inv.io.stderr(`Your recovery words (write them down; they are shown only now):\n  ${words}\n`);
  }
  print(
    inv,
    { did: agent.did, ...(inJson ? { mnemonic: words } : {}) },
    fresh
      ? `Created ${agent.did}\n\nYour recovery words (write them down; they are shown only now):\n\n  ${words}\n`
      : `Restored ${agent.did}`,
  );
  return 0;
}

export async function idCommand(inv: Invocation): Promise<number> {
  const [verb] = inv.positionals;
  switch (verb) {
    case 'new':
      return create(inv, undefined);
    case 'restore': {
      const file = required(inv, 'mnemonic-file');
      let words: string;
      try {
        words = readFileSync(file, 'utf8');
      } catch (e) {
        throw new DreggError('E_NOT_FOUND', `Cannot read the mnemonic file ${file}`, { cause: e });
      }
      return create(inv, words);
    }
    case 'show': {
      const state = readState(inv.home);
      const fp = fingerprint(ed25519FromDidKey(state.did));
      print(
        inv,
        { did: state.did, fingerprint: fp, epoch: state.epoch },
        `${state.did}\nfingerprint ${fp}\nepoch ${state.epoch}`,
      );
      return 0;
    }
    default:
      throw new DreggError('E_ARGUMENT', 'Usage: dregg id new | show | restore --mnemonic-file F');
  }
}

/**
 * The relay's keys. A relay is a service, not a person: it has no mnemonic and no passphrase, so that
 * it can start unattended. Its one secret is `relay.key` in its home (32 random bytes, mode 0600,
 * created once, never rewritten). Two keys are derived from it under separate contexts: the signing
 * key (its did:key; it signs receipts, attested roots, inbox heads and gossip) and the libp2p identity
 * key (its peer id). Neither is ever stored, and a restart gives the same relay.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ed25519PublicKey } from '../../crypto/ed25519.ts';
import { hashFor } from '../../crypto/hash.ts';
import { didKeyFromEd25519 } from '../../encoding/did-key.ts';
import { DreggError } from '../../errors.ts';

export const relayKeyPath = (home: string): string => join(home, 'relay.key');

export interface RelayKeys {
  /** Ed25519 seed of the signing key. */
  readonly signing: Uint8Array;
  /** Its did:key: the relay's identity in every signed object. */
  readonly did: string;
  /** 32-byte seed of the libp2p identity key. */
  readonly peer: Uint8Array;
}

/** Reads the relay's key file, creating it (exclusively, so two starts cannot race) when absent. */
function readOrCreateMaster(home: string): Uint8Array {
  const path = relayKeyPath(home);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeSync(fd, crypto.getRandomValues(new Uint8Array(32)));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST')
      throw new DreggError('E_IO', 'Cannot create the relay key file', { cause: e });
  }
  let master: Buffer;
  try {
    master = readFileSync(path);
  } catch (e) {
    throw new DreggError('E_IO', 'Cannot read the relay key file', { cause: e });
  }
  if (master.length !== 32)
    throw new DreggError('E_IO', `${path} is not a relay key (expected 32 bytes, found ${master.length})`);
  return new Uint8Array(master);
}

export function relayKeys(home: string): RelayKeys {
  const master = readOrCreateMaster(home);
  try {
    const signing = hashFor('relaySigningKey', master);
    return {
      signing,
      did: didKeyFromEd25519(ed25519PublicKey(signing)),
      peer: hashFor('relayPeerKey', master),
    };
  } finally {
    master.fill(0);
  }
}

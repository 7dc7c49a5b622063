/**
 * A federation's genesis file: what every member relay, and a wallet that pins the committee, starts
 * from. JSON (core/docs/federation.md, "Genesis file"):
 *
 *   { "federation": "demo", "epoch": 0,
 *     "members": [{ "did": "did:key:z6Mk...", "multiaddrs": ["/ip4/.../tcp/4011/ws/p2p/12D3..."] }],
 *     "cells": [{ "owner": "did:key:z6Mk...", "salt": "<64 hex>", "balance": "1000" }] }
 *
 * `members` pins the committee of epoch 0 (their keys) and where they listen; `cells` is the initial
 * allocation every relay issues, in this order, before it settles any block, so every ledger starts
 * from the same root. An optional `bridges: [{ "federation": "other", "members": ["did:key:..."] }]`
 * pins the epoch-0 committees of the federations this one bridges with (core/docs/federation.md,
 * "Bridges"): in the genesis because every member must check claims against the same committees.
 * A pin may name `"asset": "w-..."`: the wrapped asset that federation's mints credit here (held
 * apart from computrons, core/src/turns/assets.ts); without one its mints credit computrons.
 */
import { readFileSync } from 'node:fs';
import { ed25519FromDidKey } from '../../encoding/did-key.ts';
import { DreggError } from '../../errors.ts';
import { type Committee, committee } from '../../federation/committee.ts';
import { isAssetId } from '../../turns/assets.ts';

export interface GenesisMember {
  readonly did: string;
  readonly key: Uint8Array;
  readonly multiaddrs: readonly string[];
}

export interface GenesisCell {
  readonly owner: string;
  readonly salt: string;
  readonly balance: bigint;
}

export interface Genesis {
  readonly federation: string;
  readonly epoch: number;
  readonly members: readonly GenesisMember[];
  readonly cells: readonly GenesisCell[];
  readonly committee: Committee;
  /** The committees of the federations this one bridges with, pinned (none: no bridges). */
  readonly bridges: readonly Committee[];
  /** Bridged federations whose mints credit a wrapped asset: federation -> asset id. */
  readonly wrapped: ReadonlyMap<string, string>;
}

function bad(message: string): never {
  throw new DreggError('E_INVALID', `Invalid federation genesis: ${message}`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function did(v: unknown, what: string): { did: string; key: Uint8Array } {
  if (typeof v !== 'string') bad(`${what} is a did:key`);
  try {
    return { did: v, key: ed25519FromDidKey(v) };
  } catch {
    return bad(`${what} is not an Ed25519 did:key`);
  }
}

/** Parses a genesis from its JSON text; fails only with `E_INVALID`. */
export function parseGenesis(text: string): Genesis {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    bad('not JSON');
  }
  if (!isObject(v)) bad('not an object');
  const { federation, epoch, members, cells, bridges } = v;
  if (typeof federation !== 'string' || !/^[a-z0-9][a-z0-9.-]{0,62}$/.test(federation))
    bad('federation is a name (lowercase letters, digits, dots, dashes)');
  if (epoch !== 0) bad('a genesis starts epoch 0');
  if (!Array.isArray(members) || members.length === 0 || members.length > 256)
    bad('members lists 1 to 256 relays');
  const parsed = members.map((m, i) => {
    if (!isObject(m)) bad(`member ${i} is an object`);
    const { did: d, key } = did(m.did, `member ${i}'s did`);
    if (!Array.isArray(m.multiaddrs) || !m.multiaddrs.every((a) => typeof a === 'string' && a.length < 512))
      bad(`member ${i}'s multiaddrs is a list of strings`);
    return { did: d, key, multiaddrs: m.multiaddrs as string[] };
  });
  const allocation = cells === undefined ? [] : cells;
  if (!Array.isArray(allocation)) bad('cells is a list');
  const initial = allocation.map((c, i) => {
    if (!isObject(c)) bad(`cell ${i} is an object`);
    const owner = did(c.owner, `cell ${i}'s owner`).did;
    if (typeof c.salt !== 'string' || !/^[0-9a-f]{64}$/.test(c.salt))
      bad(`cell ${i}'s salt is 64 hex digits`);
    if (typeof c.balance !== 'string' || !/^\d{1,20}$/.test(c.balance))
      bad(`cell ${i}'s balance is a whole number in a string`);
    return { owner, salt: c.salt, balance: BigInt(c.balance) };
  });
  let pinned: Committee;
  try {
    pinned = committee(
      federation,
      0,
      parsed.map((m) => m.key),
    );
  } catch (e) {
    return bad((e as Error).message);
  }
  return {
    federation,
    epoch: 0,
    members: parsed,
    cells: initial,
    committee: pinned,
    ...bridgePins(bridges, federation),
  };
}

function bridgePins(
  v: unknown,
  self: string,
): { bridges: Committee[]; wrapped: ReadonlyMap<string, string> } {
  const wrapped = new Map<string, string>();
  if (v === undefined) return { bridges: [], wrapped };
  if (!Array.isArray(v) || v.length > 64) bad('bridges lists at most 64 federations');
  const seen = new Set<string>([self]);
  const bridges = v.map((b, i) => {
    if (!isObject(b)) bad(`bridge ${i} is an object`);
    const { federation, members, asset } = b;
    if (typeof federation !== 'string' || !/^[a-z0-9][a-z0-9.-]{0,62}$/.test(federation))
      bad(`bridge ${i}'s federation is a name`);
    if (seen.has(federation)) bad(`bridge ${i} names ${federation} again, or this federation`);
    seen.add(federation);
    if (asset !== undefined) {
      if (!isAssetId(asset))
        bad(`bridge ${i}'s asset is an asset id (a lowercase name, e.g. w-${federation})`);
      if ([...wrapped.values()].includes(asset)) bad(`bridge ${i}'s asset ${asset} is another bridge's`);
      wrapped.set(federation, asset);
    }
    if (!Array.isArray(members) || members.length === 0 || members.length > 256)
      bad(`bridge ${i}'s members lists 1 to 256 did:keys`);
    try {
      return committee(
        federation,
        0,
        members.map((m, j) => did(m, `bridge ${i}'s member ${j}`).key),
      );
    } catch (e) {
      return bad((e as Error).message);
    }
  });
  return { bridges, wrapped };
}

export function readGenesis(path: string): Genesis {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new DreggError('E_NOT_FOUND', `Cannot read the federation genesis ${path}`, { cause: e });
  }
  return parseGenesis(text);
}

/** The JSON text of a genesis (what `parseGenesis` reads). */
export function genesisJson(
  g: Omit<Genesis, 'committee' | 'members' | 'epoch' | 'bridges' | 'wrapped'> & {
    members: readonly { did: string; multiaddrs: readonly string[] }[];
    bridges?: readonly { federation: string; members: readonly string[]; asset?: string }[];
  },
): string {
  return JSON.stringify(
    {
      federation: g.federation,
      epoch: 0,
      members: g.members.map((m) => ({ did: m.did, multiaddrs: m.multiaddrs })),
      cells: g.cells.map((c) => ({ owner: c.owner, salt: c.salt, balance: c.balance.toString() })),
      ...(g.bridges === undefined || g.bridges.length === 0 ? {} : { bridges: g.bridges }),
    },
    null,
    2,
  );
}

/**
 * The wallet's pinned federation, through the light node's API and its real store (IndexedDB):
 * pinned from a genesis file, kept across a reload, roots accepted only with > 2/3 of the pinned
 * committee, an epoch change only through a transition the old committee signed, receipts only with
 * their inclusion proof.
 */
import { type Store, toHex } from '@cipherclerk/core';
import {
  type Committee,
  committee,
  committeeIdHex,
  createReceiptLog,
  encodeFederationRoot,
  encodeGenesis,
  encodeReceiptBundle,
  encodeTransition,
  type FederationRoot,
  type FederationRootBody,
  type Outcome,
  signFederationRoot,
  signTransition,
} from '@cipherclerk/core/federation';
import { beforeAll, describe, expect, it } from 'vitest';
import { codeOf } from '../../core/test/caps/fixtures.ts';
import { memberKeys } from '../../core/test/federation/sim.ts';
import type { LightNodeApi } from '../src/node/api.ts';
import { freshStore, lightNode } from './wallets.ts';

const keys = memberKeys(5, 20);
/** The member at position `i` of `c` (members are sorted by key). */
const signer = (c: Committee, i: number) => keys.find((k) => toHex(k.member.publicKey) === c.keys[i])!.member;
const epoch0 = committee(
  'wallet-fed',
  0,
  keys.slice(0, 4).map((k) => k.member.publicKey),
);
const epoch1 = committee(
  'wallet-fed',
  1,
  keys.map((k) => k.member.publicKey),
);

/** A root of `c` at `height` signed by `signers`; its log root stands in for a settlement log unless given. */
async function root(
  c: Committee,
  height: number,
  signers: readonly number[],
  logRoot: Uint8Array | null = new Uint8Array(32).fill(4),
) {
  const body: FederationRootBody = {
    federation: c.federation,
    epoch: c.epoch,
    ledgerRoot: new Uint8Array(32).fill(3),
    height,
    ...(logRoot ? { logRoot } : {}),
  };
  const signatures = await Promise.all(
    signers.map((i) => signFederationRoot(body, signer(c, i).publicKey, signer(c, i).sign)),
  );
  return { ...body, signatures } satisfies FederationRoot;
}

let store: Store;
let node: LightNodeApi;
const reload = () => lightNode(store);

beforeAll(async () => {
  store = await freshStore();
  node = await reload();
});

describe('the pinned federation', () => {
  it('starts unpinned, pins from a genesis file and keeps the pin across a reload', async () => {
    expect(await node.federation()).toEqual({ pinned: false });
    expect(await codeOf(node.federationRoot(encodeFederationRoot(await root(epoch0, 1, [0, 1, 2]))))).toBe(
      'E_NOT_FOUND',
    );
    const v = await node.pinFederation(encodeGenesis(epoch0));
    expect(v).toEqual({
      pinned: true,
      federation: 'wallet-fed',
      epoch: 0,
      committeeId: committeeIdHex(epoch0),
      members: 4,
      source: 'genesis',
    });
    node = await reload();
    expect(await node.federation()).toEqual(v);
    // The same committee again changes nothing; another one is refused while this one is pinned.
    expect(await node.pinFederation(encodeGenesis(epoch0))).toEqual(v);
    expect(await codeOf(node.pinFederation(encodeGenesis(epoch1), 'first-use'))).toBe('E_EXISTS');
    expect(await codeOf(node.pinFederation('{"not":"a genesis"}'))).toBe('E_INVALID');
  });

  it('verifies roots against the pin: > 2/3 signed moves the verified height, fewer is refused', async () => {
    expect(await codeOf(node.federationRoot(encodeFederationRoot(await root(epoch0, 10, [1, 3]))))).toBe(
      'E_UNTRUSTED',
    );
    const v = await node.federationRoot(encodeFederationRoot(await root(epoch0, 10, [0, 1, 3])));
    expect(v).toMatchObject({ pinned: true, root: { epoch: 0, height: 10 } });
    expect(await codeOf(node.federationRoot(encodeFederationRoot(await root(epoch0, 9, [0, 1, 2]))))).toBe(
      'E_UNTRUSTED',
    );
    expect(await codeOf(node.federationRoot(new Uint8Array([1, 2, 3])))).toBe('E_DECODE');
    // Well signed, but committing to no settlement log: a wallet has no use for it.
    expect(
      await codeOf(node.federationRoot(encodeFederationRoot(await root(epoch0, 11, [0, 1, 2], null)))),
    ).toBe('E_UNTRUSTED');
  });

  it('follows a committee change only through the old committee transition', async () => {
    const next = encodeFederationRoot(await root(epoch1, 20, [0, 1, 2, 3]));
    expect(await codeOf(node.federationRoot(next))).toBe('E_UNTRUSTED');
    const sign = (from: Committee, signers: number[]) =>
      Promise.all(
        signers.map((i) => signTransition(epoch1, signer(from, i).publicKey, signer(from, i).sign)),
      );
    const weak = encodeTransition({ next: epoch1, signatures: await sign(epoch0, [0, 1]) });
    expect(await codeOf(node.federationRoot(next, [weak]))).toBe('E_UNTRUSTED');
    const good = encodeTransition({ next: epoch1, signatures: await sign(epoch0, [0, 1, 2]) });
    const v = await node.federationRoot(next, [good]);
    expect(v).toMatchObject({
      epoch: 1,
      members: 5,
      committeeId: committeeIdHex(epoch1),
      root: { height: 20 },
    });
    expect((await reload().then((n) => n.federation())) as unknown).toEqual(v);
  });

  it('checks a receipt with its inclusion proof, and refuses one whose root is not the committee', async () => {
    // A settlement log of three outcomes (what each member computes the same way).
    const log = createReceiptLog();
    const block = 'ab'.repeat(32);
    const outcomes: Outcome[] = [0, 1, 2].map((h) => ({
      kind: 'accepted',
      place: { turn: String(h).repeat(64), block, item: h, height: h },
    }));
    log.append(outcomes);
    const real = await root(epoch1, 3, [0, 1, 2, 4], log.root());
    // Height 3 is below the verified 20: the receipt still verifies (the root is the committee's), the pin stays.
    const bundle = { receipt: log.receipt(1), proof: log.prove(1), root: real };
    expect(await node.federationReceipt(encodeReceiptBundle(bundle))).toEqual({
      turn: '1'.repeat(64),
      height: 1,
      outcome: 'accepted',
      root: { epoch: 1, height: 3 },
    });
    expect((await node.federation()) as { root: unknown }).toMatchObject({ root: { height: 20 } });
    const weak = { ...bundle, root: await root(epoch1, 3, [0, 1, 2], log.root()) };
    expect(await codeOf(node.federationReceipt(encodeReceiptBundle(weak)))).toBe('E_UNTRUSTED');
    const other = { ...bundle, receipt: log.receipt(2) };
    expect(await codeOf(node.federationReceipt(encodeReceiptBundle(other)))).toBe('E_UNTRUSTED');
  });

  it('forgets the pin on request', async () => {
    expect(await node.forgetFederation()).toEqual({ pinned: false });
    expect(await (await reload()).federation()).toEqual({ pinned: false });
  });
});

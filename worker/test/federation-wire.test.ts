/**
 * The wallet on a real federation: four `dregg relay --federation` child processes on loopback, the
 * light node with its real store (IndexedDB) and a real libp2p client. At first connect it pins the
 * committee the relay serves; each turn it submits comes back with its federated receipt, checked
 * against that committee; and a relay whose receipt bundle is doctored (one signature left, another
 * turn's path, another turn's receipt) is refused with `E_UNTRUSTED`, shown on the relay view.
 *
 * The doctoring sits between the light node and a genuine relay client: every answer comes from the
 * real relays, and only the bundle is altered on its way in, as a dishonest relay would send it.
 * Then the committee changes (three operators remove relay 3): the wallet, still pinned at genesis,
 * follows the served transition certificate to receipts signed by the new committee, and refuses a
 * forged hand-over put in the relay's `federation/committee` answer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cellId, createAgent, fromHex, toHex } from '@cipherclerk/core';
import {
  committeeIdHex,
  decodeReceiptBundle,
  encodeReceiptBundle,
  type ReceiptBundle,
} from '@cipherclerk/core/federation';
import { connectRelay, encodeReceiptRequest, FEDERATION_OPS, type RelayClient } from '@cipherclerk/core/net';
import { ed25519 } from '@noble/curves/ed25519.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committee } from '../../core/src/federation/committee.ts';
import { transitionDigest } from '../../core/src/federation/light.ts';
import {
  decodeCommitteeAnswer,
  encodeCommitteeAnswer,
  encodeProposal,
  type ProposalBody,
  proposalDigest,
} from '../../core/src/net/federation.ts';
import { parseGenesis } from '../../core/src/node/federation/genesis.ts';
import { relayKeys } from '../../core/src/node/relay/keys.ts';
import { codeOf } from '../../core/test/caps/fixtures.ts';
import { type Fed, federation, until } from '../../core/test/federation/relays-fixtures.ts';
import type { LightNodeApi } from '../src/node/api.ts';
import { CHEAP_KDF, freshStore, lightNode, PASS } from './wallets.ts';

const SALT = toHex(new Uint8Array(32).fill(77));

type Doctoring = 'none' | 'one-signature' | 'other-path' | 'other-turn' | 'forged-handover';
let doctoring: Doctoring = 'none';
/** A turn settled before: whose path or receipt a doctored bundle borrows. */
let earlier = '';

function doctor(real: ReceiptBundle, other: ReceiptBundle): ReceiptBundle {
  switch (doctoring) {
    case 'one-signature':
      return { ...real, root: { ...real.root, signatures: real.root.signatures.slice(0, 1) } };
    case 'other-path':
      return { ...real, proof: { ...real.proof, siblings: other.proof.siblings } };
    default:
      return other;
  }
}

/** Relay i's signing seed: its committee key, which its operator holds. */
const seedOf = (i: number) => relayKeys(join(fed.members[i]!.home, 'relay')).signing;

/**
 * The relay's certificates with the first replaced by a hand-over that two of the four genesis members
 * signed, to a committee of the two of them: what a relay would serve to take a wallet over.
 */
function forgeHandover(answer: Uint8Array): Uint8Array {
  const real = decodeCommitteeAnswer(answer);
  const keys = [0, 1].map((i) => ed25519.getPublicKey(seedOf(i)));
  const next = committee(real.genesis.federation, 1, keys);
  const signatures = [0, 1].map((i) => ({
    signer: keys[i]!,
    signature: ed25519.sign(transitionDigest(next), seedOf(i)),
  }));
  return encodeCommitteeAnswer({
    ...real,
    transitions: [{ next, signatures }, ...real.transitions.slice(1)],
  });
}

/** A genuine relay client whose receipt (or committee) answers are doctored while `doctoring` says so. */
function dishonest(c: RelayClient): RelayClient {
  return new Proxy(c, {
    get(target, name) {
      if (name !== 'call') return Reflect.get(target, name);
      return async (op: (typeof FEDERATION_OPS)[keyof typeof FEDERATION_OPS], request: Uint8Array) => {
        const answer = await target.call(op, request);
        if (doctoring === 'forged-handover')
          return op.name === FEDERATION_OPS.committee.name ? forgeHandover(answer) : answer;
        if (op.name !== FEDERATION_OPS.receipt.name || doctoring === 'none') return answer;
        const other = await target.call(op, encodeReceiptRequest(fromHex(earlier)));
        return encodeReceiptBundle(doctor(decodeReceiptBundle(answer), decodeReceiptBundle(other)));
      };
    },
  });
}

let fed: Fed;
let node: LightNodeApi;
let cell: string;

beforeAll(async () => {
  // The wallet's identity first, so the genesis can fund its cell.
  const agent = await createAgent({ kdf: CHEAP_KDF });
  cell = cellId(agent.did, SALT);
  fed = await federation(4, 1, {
    cells: () => [{ owner: agent.did, salt: SALT, balance: 1000n }],
  });
  await Promise.all(fed.members.map((m) => fed.start(m.index)));
  node = await lightNode(await freshStore(), { connect: async (a) => dishonest(await connectRelay(a)) });
  await node.restore(agent.secrets.mnemonic, PASS);
}, 180_000);

afterAll(async () => {
  await node?.disconnect();
  await fed?.close();
}, 60_000);

async function pay(amount: string) {
  const preview = await node.executeTurn(cell, [{ type: 'transfer', to: fed.payers[0]!.cell, amount }]);
  return { turn: preview.turn, submitted: node.submitTurn(preview.turn) };
}

describe('the wallet on a federation of four relays', () => {
  it('pins the committee the first relay serves, and shows where it came from', async () => {
    expect(await node.federation()).toEqual({ pinned: false });
    const relay = await node.connect([fed.members[1]!.address]);
    expect(relay.state).toBe('online');
    const genesis = parseGenesis(readFileSync(join(fed.dir, 'genesis.json'), 'utf8'));
    expect(await node.federation()).toEqual({
      pinned: true,
      federation: 'test-fed',
      epoch: 0,
      committeeId: committeeIdHex(genesis.committee),
      members: 4,
      source: 'first-use',
      from: fed.members[1]!.did,
    });
  }, 60_000);

  it('gets each submitted turn back with its federated receipt, proven under a root of the pinned committee', async () => {
    const { turn, submitted } = await pay('5');
    const receipt = await submitted;
    expect(receipt.federated).toMatchObject({ turn, outcome: 'accepted', root: { epoch: 0 } });
    expect(receipt.federated!.root.height).toBeGreaterThan(receipt.federated!.height);
    expect(await node.federation()).toMatchObject({ root: { height: receipt.federated!.root.height } });
    earlier = turn;
  }, 60_000);

  it('refuses a doctored bundle with E_UNTRUSTED and shows it: one signature left, another turn path or receipt', async () => {
    for (const d of ['one-signature', 'other-path', 'other-turn'] as const) {
      doctoring = d;
      const { submitted } = await pay('1');
      expect(await codeOf(submitted), d).toBe('E_UNTRUSTED');
      const shown = (await node.overview()).relay.error;
      expect(shown?.code, d).toBe('E_UNTRUSTED');
      expect(shown?.message, d).toMatch(/Receipt refused/);
    }
    // The honest answer is taken again.
    doctoring = 'none';
    const { turn, submitted } = await pay('1');
    expect((await submitted).federated).toMatchObject({ turn, outcome: 'accepted' });
  }, 120_000);
});

describe('the wallet across a committee change', () => {
  it('after three operators remove relay 3, refuses a forged hand-over, then checks receipts of the new committee through the certificate', async () => {
    const leaving = ed25519.getPublicKey(seedOf(3));
    const time = Math.floor(Date.now() / 1000);
    await Promise.all(
      [0, 1, 2].map(async (i) => {
        const body: ProposalBody = {
          federation: fed.genesis.federation,
          epoch: 0,
          op: 'remove',
          member: leaving,
          multiaddrs: [],
          time,
        };
        const signature = ed25519.sign(proposalDigest(body), seedOf(i));
        await (await fed.client(i)).call(FEDERATION_OPS.propose, encodeProposal({ ...body, signature }));
      }),
    );
    await until(
      fed,
      [0, 1, 2],
      (all) => all.every((s) => (s as unknown as { transitions: number }).transitions === 1),
      'the cut to epoch 1',
      90_000,
    );
    // The wallet is pinned at genesis; the relay's receipts are now under epoch-1 roots. A relay
    // serving a hand-over signed by two of the four genesis members takes nobody over.
    expect(await node.federation()).toMatchObject({ epoch: 0 });
    doctoring = 'forged-handover';
    const forged = await pay('1');
    expect(await codeOf(forged.submitted)).toBe('E_UNTRUSTED');
    expect((await node.overview()).relay.error?.message).toMatch(/2 of 4/);
    expect(await node.federation()).toMatchObject({ epoch: 0, members: 4 });
    // The genuine certificate: signed by more than 2/3 of epoch 0, it leads to the three left.
    doctoring = 'none';
    const { turn, submitted } = await pay('2');
    expect((await submitted).federated).toMatchObject({ turn, outcome: 'accepted', root: { epoch: 1 } });
    expect(await node.federation()).toMatchObject({ epoch: 1, members: 3, source: 'first-use' });
    // And on from there, pinned at epoch 1 now.
    const again = await pay('1');
    expect((await again.submitted).federated).toMatchObject({ turn: again.turn, root: { epoch: 1 } });
  }, 180_000);
});

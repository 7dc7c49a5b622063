/**
 * federation_4, federation_7: the federation core in ONE process — n members, each with its own
 * blocklace, orderer and settlement; every block goes to every member as bytes (decoded, signature
 * verified, inserted), all in one thread, with real signed turns in the payload. No libp2p, no
 * SQLite, no executor: what it measures is the ordering core's cost (blocks, signatures, rounds,
 * waves, tau, double-spend gate), the floor under a deployment of real relays, not a deployment.
 *
 *   turns_per_s       turns settled by member 0 per wall second
 *   finality_p50_ms   time from a turn entering its creator's block to member 0 settling it
 *
 * Run alone with `npm run bench -w core -- federation`.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { cellId } from '../src/cells/cell.ts';
import { ed25519PublicKey, nobleEd25519 } from '../src/crypto/ed25519.ts';
import { toHex } from '../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../src/encoding/did-key.ts';
import { decodeBlock, encodeBlock, type PayloadItem } from '../src/federation/block.ts';
import { createBlocklace } from '../src/federation/blocklace.ts';
import { committee } from '../src/federation/committee.ts';
import { createMiner } from '../src/federation/miner.ts';
import { createOrderer } from '../src/federation/order.ts';
import { createSettlement } from '../src/federation/settle.ts';
import { decodeTurn, encodeTurn, signTurn, turnHashHex } from '../src/turns/turn.ts';
import { emit } from './measure.ts';

const TURNS_PER_BLOCK = 64;

async function signedTurns(count: number): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const seed = new Uint8Array(32);
    new DataView(seed.buffer).setUint32(0, i + 1);
    const did = didKeyFromEd25519(ed25519PublicKey(seed));
    const cell = cellId(did, toHex(seed));
    const turn = await signTurn(
      {
        ledger: 'bench',
        agent: did,
        cell,
        nonce: 0,
        prev: null,
        effects: [{ type: 'transfer', from: cell, to: cell, amount: 1n }],
        fee: 0n,
        validUntil: 2 ** 31,
      },
      seed,
      nobleEd25519,
    );
    out.push(encodeTurn(turn));
  }
  return out;
}

function percentile(sorted: readonly number[], p: number): number {
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! * 10) / 10;
}

async function federation(n: number, turns: readonly Uint8Array[]): Promise<void> {
  const seeds = Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(200 + i));
  const c = committee(
    'bench',
    0,
    seeds.map((s) => ed25519PublicKey(s)),
  );
  const members = seeds.map((seed) => {
    const lace = createBlocklace(c);
    return {
      lace,
      miner: createMiner(lace, { publicKey: ed25519PublicKey(seed), sign: (d) => ed25519.sign(d, seed) }),
      orderer: createOrderer(lace),
    };
  });
  const settlement = createSettlement(() => {});
  const submitted = new Map<string, number>();
  const latencies: number[] = [];
  const queue = [...turns];
  const start = performance.now();
  let settled = 0;
  while (settled < turns.length) {
    let progress = false;
    for (const m of members) {
      const batch = queue.splice(0, TURNS_PER_BLOCK);
      const block = await m.miner.next(batch.map((turn): PayloadItem => ({ kind: 'turn', turn })));
      if (block === undefined) {
        queue.unshift(...batch);
        continue;
      }
      progress = true;
      const now = performance.now();
      for (const turn of batch) submitted.set(turnHashHex(decodeTurn(turn)), now);
      const wire = encodeBlock(block);
      for (const other of members) other.lace.insert(other === m ? block : decodeBlock(wire));
    }
    for (const [i, m] of members.entries()) {
      const fresh = m.orderer.advance();
      if (i !== 0) continue;
      const outcomes = await settlement.settle(fresh);
      const now = performance.now();
      for (const o of outcomes) {
        settled++;
        progress = true;
        latencies.push(now - submitted.get(o.place.turn)!);
      }
    }
    if (!progress) throw new Error('the federation stopped making progress');
  }
  const seconds = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  emit(`federation_${n}`, {
    turns_per_s: Math.round(settled / seconds),
    finality_p50_ms: percentile(latencies, 0.5),
    finality_p99_ms: percentile(latencies, 0.99),
    members: n,
    turns: settled,
    setup: 'one process, no network, no ledger',
  });
}

export async function federationBenches(): Promise<void> {
  const turns = await signedTurns(4000);
  await federation(4, turns);
  await federation(7, turns);
}

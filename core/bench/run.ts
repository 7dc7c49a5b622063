/**
 * Benchmarks for the foundation (`npm run bench -w core`). One JSON object per line; never a test.
 *
 *   token_verify      decode a 5-caveat root token from bytes, check its HMAC chain and a request
 *                     (with Node's native HMAC-SHA256, which the Node build uses, and the portable one)
 *   envelope_accept   verify a 3-deep delegation chain from bytes (signatures, structure, trust,
 *                     revocation), once with WebCrypto Ed25519 and once with the noble fallback
 *   keyring_unlock    scrypt + XChaCha20-Poly1305 unlock of a keyring at the default parameters
 *   turns_mem, turns_sig, turns_sqlite
 *                     a 2-effect turn (set-field + transfer) through the executor core, through a
 *                     memory executor with signatures, and with every receipt persisted in SQLite
 *                     (see ./turns.ts)
 *   notary_turns      signed turns from 64 concurrent clients ordered by the relay's notary on SQLite
 *                     with group commit: log, receipts, one attested root per batch (./notary.ts)
 *   relay_inbox, relay_turns, gossip_2relays
 *                     load on a real relay over loopback (./relay.ts); run alone with
 *                     `npm run bench -w core -- relay`
 *   captp_call, captp_pipeline3, captp_handoff
 *                     CapTP sessions over a relay circuit and in-memory links (./captp.ts); run alone
 *                     with `npm run bench -w core -- captp`
 *   poseidon2_perm, poseidon2_hash, poseidon2_chain_prove, poseidon2_chain_verify
 *                     the Poseidon2 permutation, sponge and hash-chain AIR (./poseidon2.ts); run
 *                     alone with `npm run bench -w core -- poseidon2`
 *   federation_4, federation_7
 *                     the federation core (blocklace, Cordial Miners ordering, settlement) with 4 and
 *                     7 members in one process (./federation.ts); run alone with
 *                     `npm run bench -w core -- federation`
 *   turn_prove, turn_verify
 *                     a turn proof (SetField + Transfer) and its verification (./turnproof.ts); run
 *                     alone with `npm run bench -w core -- turnproof`
 *   intents_solve_10k the ring solver over 10,000 open intents (./intents.ts); run alone with
 *                     `npm run bench -w core -- intents`
 */
import '../src/node/libp2p-shims.ts';
import { createAgent, lockAgent } from '../src/agent/agent.ts';
import { delegate } from '../src/agent/delegate.ts';
import { mintToken } from '../src/agent/mint.ts';
import { receiveSignedDelegation } from '../src/agent/receive.ts';
import { verifyChain } from '../src/caps/chain.ts';
import { decodeChain, encodeChain } from '../src/caps/envelope.ts';
import { checkRequest } from '../src/caps/request.ts';
import { emptyRevocationState } from '../src/caps/revocation.ts';
import { decodeToken, encodeToken, tokenId } from '../src/caps/token.ts';
import { TrustedKey } from '../src/caps/trust.ts';
import { type Ed25519, nobleEd25519, webCryptoEd25519 } from '../src/crypto/ed25519.ts';
import { nobleHmacSha256, useHmacSha256 } from '../src/crypto/hmac.ts';
import { unlockKeyring } from '../src/keys/keyring.ts';
import { nodeHmacSha256 } from '../src/node/native.ts';
import { captpBenches } from './captp.ts';
import { federationBenches } from './federation.ts';
import { intentBenches } from './intents.ts';
import { emit, rate } from './measure.ts';
import { notaryBench } from './notary.ts';
import { poseidon2Benches } from './poseidon2.ts';
import { relayBenches } from './relay.ts';
import { turnProofBenches } from './turnproof.ts';
import { turnBenches } from './turns.ts';
import { webTransportBenches } from './webtransport.ts';

if (process.argv.includes('captp')) {
  await captpBenches();
  process.exit(0);
}

if (process.argv.includes('intents')) {
  await intentBenches();
  process.exit(0);
}

if (process.argv.includes('poseidon2')) {
  await poseidon2Benches();
  process.exit(0);
}

if (process.argv.includes('turnproof')) {
  await turnProofBenches();
  process.exit(0);
}

if (process.argv.includes('federation')) {
  await federationBenches();
  process.exit(0);
}

if (process.argv.includes('webtransport')) {
  await webTransportBenches();
  process.exit(0);
}

if (process.argv.includes('relay')) {
  await relayBenches();
  process.exit(0);
}

const alice = await createAgent();
const bob = await createAgent();
const carol = await createAgent();
const dave = await createAgent();

// token_verify: services, actions, budget, expiry, audience: five caveats.
const root = mintToken(alice, {
  service: 'storage',
  actions: ['read', 'write'],
  budget: 1_000_000,
  ttl: 86_400,
});
const { attenuate } = await import('../src/caps/token.ts');
const five = attenuate(root.token, [{ t: 'aud', did: bob.did }]);
const tokenBytes = encodeToken(five);
const rootKey = alice.secrets.rootKeys[tokenId(five)]!;
const requestOptions = {
  ed: nobleEd25519,
  now: Math.floor(Date.now() / 1000),
  revocation: emptyRevocationState(),
  maxStaleness: 0,
  self: alice.did,
  rootKey: () => rootKey,
};
const request = { service: 'storage', action: 'read', cost: 1, holder: bob.did };
for (const [name, impl] of [
  ['node', nodeHmacSha256],
  ['noble', nobleHmacSha256],
] as const) {
  useHmacSha256(impl);
  const tokenRate = await rate(async () => {
    await checkRequest({ token: decodeToken(tokenBytes), chain: [] }, request, requestOptions);
  });
  emit('token_verify', { ...tokenRate, caveats: five.caveats.length, hmac: name });
}
useHmacSha256(nodeHmacSha256);

// envelope_accept: alice -> bob -> carol -> dave.
const d1 = await delegate(alice, root.id, bob.did, { actions: ['read'] });
await receiveSignedDelegation(bob, d1.text, TrustedKey(alice.did));
const d2 = await delegate(bob, d1.hash, carol.did, { maxBudget: 1000 });
await receiveSignedDelegation(carol, d2.text, TrustedKey(bob.did));
const d3 = await delegate(carol, d2.hash, dave.did, { maxTtl: 600 });
const chainBytes = encodeChain(d3.chain);
async function acceptRate(ed: Ed25519): Promise<{ per_s: number; per_wall_s: number }> {
  return rate(async () => {
    await verifyChain(decodeChain(chainBytes), {
      ed,
      now: Math.floor(Date.now() / 1000),
      revocation: emptyRevocationState(),
      maxStaleness: 0,
      trust: TrustedKey(carol.did),
    });
  });
}
const web = await webCryptoEd25519();
if (web !== undefined)
  emit('envelope_accept', { ...(await acceptRate(web)), depth: 3, ed25519: 'webcrypto' });
emit('envelope_accept', { ...(await acceptRate(nobleEd25519)), depth: 3, ed25519: 'noble' });

// keyring_unlock at the default scrypt parameters (the deliberate cost of a passphrase guess).
const locked = await lockAgent(alice, 'correct horse battery staple');
const times: number[] = [];
for (let i = 0; i < 7; i++) {
  const t = performance.now();
  await unlockKeyring(locked.keyring, 'correct horse battery staple');
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
emit('keyring_unlock', { median_ms: Math.round(times[3]! * 10) / 10, runs: times.length });

await turnBenches();
await notaryBench();
await relayBenches();
await captpBenches();

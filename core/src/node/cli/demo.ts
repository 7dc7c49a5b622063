/**
 * `dregg demo` (what `npm start` runs until the relay and dashboard exist): a guided tour of the
 * capability flow with two fresh identities, in memory, touching no files. Each step prints the
 * command that does the same thing against a real home directory.
 */
import { createAgent } from '../../agent/agent.ts';
import { delegate } from '../../agent/delegate.ts';
import { inspect } from '../../agent/inspect.ts';
import { mintToken } from '../../agent/mint.ts';
import { receiveSignedDelegation } from '../../agent/receive.ts';
import { importRevocation, revoke } from '../../agent/revoke.ts';
import { verifyRequest } from '../../agent/verify.ts';
import { TrustedKey } from '../../caps/trust.ts';
import { DreggError } from '../../errors.ts';
import { type Invocation, print } from './main.ts';

export async function demoCommand(inv: Invocation): Promise<number> {
  const steps: { step: string; ok: boolean; detail: string }[] = [];
  const say = (text: string) => {
    if (!inv.json) inv.io.stdout(`${text}\n`);
  };
  const check = (step: string, ok: boolean, detail: string) => {
    steps.push({ step, ok, detail });
    say(`  ${ok ? '✓' : '✗'} ${detail}\n`);
    if (!ok) throw new DreggError('E_INTERNAL', `Demo step failed: ${step}`);
  };

  say('cipherclerk demo: Alice runs a storage service and shares limited access with Bob.\n');
  say('1. Two identities from fresh BIP39 words        (dregg id new)');
  const alice = await createAgent();
  const bob = await createAgent();
  check('identities', alice.did !== bob.did, `Alice is ${alice.did}\n    Bob   is ${bob.did}`);

  say(
    '2. Alice mints a root token for her service     (dregg cap mint --service storage --actions read,write,delete --channel)',
  );
  const root = mintToken(alice, { service: 'storage', actions: ['read', 'write', 'delete'], channel: true });
  check(
    'mint',
    root.text.startsWith('cctok_'),
    `token ${root.id}; its random root key stays in Alice's keyring`,
  );

  say('3. Alice delegates read-only, budget 1000, 24 h, bound to Bob');
  say(
    '                                                (dregg cap delegate --token ID --to BOB --restrict service=storage,action=read,budget=1000 --ttl 24h)',
  );
  const d = await delegate(alice, root.id, bob.did, {
    services: ['storage'],
    actions: ['read'],
    maxBudget: 1000,
    maxTtl: 86_400,
  });
  check(
    'delegate',
    d.text.startsWith('ccdel_'),
    `delegation ${d.hash.slice(0, 16)}…, ${d.text.length} characters of text`,
  );

  say('4. Bob inspects it before accepting              (dregg cap inspect TEXT)');
  for (const c of inspect(d.text).caveats) say(`     - ${c.words}`);
  say('');

  say(
    '5. Bob accepts: signatures, narrowing, declared = appended, not revoked   (dregg cap accept --from ALICE)',
  );
  const held = await receiveSignedDelegation(bob, d.text, TrustedKey(alice.did));
  check('accept', held.id === d.hash, `held as ${held.id.slice(0, 16)}…`);

  say('6. Bob tries to widen it: read+write for Carol   (refused with E_WIDENING)');
  const carol = await createAgent();
  const widened = await delegate(bob, held.id, carol.did, { actions: ['read', 'write'] }).then(
    () => 'allowed',
    (e: unknown) => (e instanceof DreggError ? e.code : 'crash'),
  );
  check('widening refused', widened === 'E_WIDENING', `Bob's attempt was refused: ${widened}`);

  say(
    "7. Alice's service checks Bob's requests          (dregg cap verify TEXT --service storage --action read --cost 400)",
  );
  const read1 = await verifyRequest(alice, d.text, { service: 'storage', action: 'read', cost: 400 });
  check('read allowed', read1.allowed, 'read, cost 400: allowed');
  const write = await verifyRequest(alice, d.text, { service: 'storage', action: 'write' });
  check(
    'write denied',
    !write.allowed && write.code === 'E_DENIED',
    `write: denied (${write.allowed ? '' : write.code})`,
  );
  const read2 = await verifyRequest(alice, d.text, { service: 'storage', action: 'read', cost: 700 });
  check(
    'budget enforced',
    !read2.allowed && read2.code === 'E_BUDGET',
    `read, cost 700: denied, over budget (${read2.allowed ? '' : read2.code})`,
  );

  say('8. Alice revokes the delegation                  (dregg cap revoke --token ID --delegation HASH)');
  const rec = await revoke(alice, { token: root.id, delegation: d.hash });
  await importRevocation(bob, rec.text);
  const after = await verifyRequest(alice, d.text, { service: 'storage', action: 'read', cost: 1 });
  check(
    'revoked',
    !after.allowed && after.code === 'E_REVOKED',
    `read after revocation: denied (${after.allowed ? '' : after.code})`,
  );

  say('Done. Run "dregg --help" for the commands, and "npm test" for the test suite.');
  if (inv.json) print(inv, { ok: true, steps }, '');
  return 0;
}

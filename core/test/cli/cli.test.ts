import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent/agent.ts';
import { saveAgent } from '../../src/node/home.ts';
import { dregg, PASSPHRASE, tempHome } from './harness.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');
const BIN = join(ROOT, 'core', 'bin', 'dregg.js');
// BIP39 reference vector (trezor/python-mnemonic, english #1 with 24 words): a fixed identity for tests.
const WORDS =
  'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art';

/**
 * A home with a fresh identity, made through the SDK with cheap scrypt parameters (the keyring keeps
 * them when re-sealed) so that each CLI command does not pay the deliberate unlock cost. `dregg id new`
 * itself, with the default parameters, is exercised by the tests that call it.
 */
async function identity(name: string) {
  const home = tempHome(name);
  const agent = await createAgent({ kdf: { N: 2 ** 10, r: 8, p: 1 } });
  await saveAgent(home, agent, PASSPHRASE);
  return { home, did: agent.did };
}

describe('dregg CLI', () => {
  it('runs the whole flow of seed 002: mint, delegate, accept, inspect, verify, revoke', async () => {
    const alice = await identity('alice');
    const bob = await identity('bob');
    const mint = await dregg([
      'cap',
      'mint',
      '--service',
      'storage',
      '--actions',
      'read,write',
      '--home',
      alice.home,
      '--json',
    ]);
    expect(mint.json).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f]{32}$/),
      token: expect.stringMatching(/^cctok_/),
    });

    const del = await dregg([
      'cap',
      'delegate',
      '--token',
      mint.json.id as string,
      '--to',
      bob.did,
      '--restrict',
      'service=storage,action=read,budget=1000',
      '--ttl',
      '24h',
      '--home',
      alice.home,
      '--json',
    ]);
    expect(del.code).toBe(0);
    expect(del.json).toMatchObject({
      envelope: expect.stringMatching(/^ccdel_/),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const envelope = del.json.envelope as string;

    const inspected = await dregg(['cap', 'inspect', envelope, '--json']);
    expect(inspected.json).toMatchObject({ kind: 'delegation', issuer: alice.did, holder: bob.did });
    expect(inspected.json.effective).toMatchObject({
      services: ['storage'],
      actions: ['read'],
      budget: 1000,
    });

    const accepted = await dregg(['cap', 'accept', '--from', alice.did, '--home', bob.home, '--json'], {
      stdin: envelope,
    });
    expect(accepted.json).toEqual({ accepted: true, id: del.json.hash });
    const list = await dregg(['cap', 'list', '--home', bob.home, '--json']);
    expect(list.json.held).toEqual([expect.objectContaining({ id: del.json.hash, from: alice.did })]);

    const verify = (action: string, cost?: string) =>
      dregg([
        'cap',
        'verify',
        envelope,
        '--service',
        'storage',
        '--action',
        action,
        ...(cost ? ['--cost', cost] : []),
        '--home',
        alice.home,
        '--json',
      ]);
    expect(await verify('read', '600')).toMatchObject({ code: 0, json: { allowed: true } });
    expect(await verify('write')).toMatchObject({ code: 1, json: { allowed: false, code: 'E_DENIED' } });
    expect(await verify('read', '600')).toMatchObject({
      code: 1,
      json: { allowed: false, code: 'E_BUDGET' },
    });

    const revoked = await dregg([
      'cap',
      'revoke',
      '--token',
      mint.json.id as string,
      '--delegation',
      del.json.hash as string,
      '--home',
      alice.home,
      '--json',
    ]);
    expect(revoked.json).toMatchObject({ revoked: true, record: expect.stringMatching(/^ccrev_/) });
    expect(await verify('read', '1')).toMatchObject({ code: 1, json: { code: 'E_REVOKED' } });

    // Bob learns of the revocation and no longer accepts the delegation.
    await dregg(['cap', 'revocation', 'import', revoked.json.record as string, '--home', bob.home, '--json']);
    const again = await dregg([
      'cap',
      'accept',
      '--from',
      alice.did,
      '--envelope',
      envelope,
      '--home',
      bob.home,
      '--json',
    ]);
    expect(again.code).toBe(2);
    expect(again.json).toEqual({ error: { code: 'E_REVOKED', message: expect.any(String) } });
  });

  it('refuses a widening at delegate with E_WIDENING and writes nothing', async () => {
    const alice = await identity('alice');
    const bob = await identity('bob');
    const mint = await dregg([
      'cap',
      'mint',
      '--service',
      'storage',
      '--actions',
      'read',
      '--home',
      alice.home,
      '--json',
    ]);
    const before = readFileSync(join(alice.home, 'state.json'), 'utf8');
    const r = await dregg([
      'cap',
      'delegate',
      '--token',
      mint.json.id as string,
      '--to',
      bob.did,
      '--restrict',
      'action=read,action=write',
      '--home',
      alice.home,
      '--json',
    ]);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ error: { code: 'E_WIDENING' } });
    expect(readFileSync(join(alice.home, 'state.json'), 'utf8')).toBe(before);
  });

  it('trips channels and bumps epochs', async () => {
    const alice = await identity('alice');
    const bob = await identity('bob');
    const mint = await dregg([
      'cap',
      'mint',
      '--service',
      'storage',
      '--channel',
      '--home',
      alice.home,
      '--json',
    ]);
    expect(mint.json.channel).toMatch(/^[0-9a-f]{32}$/);
    const del = await dregg([
      'cap',
      'delegate',
      '--token',
      mint.json.id as string,
      '--to',
      bob.did,
      '--home',
      alice.home,
      '--json',
    ]);
    const verify = () =>
      dregg([
        'cap',
        'verify',
        del.json.envelope as string,
        '--service',
        'storage',
        '--action',
        'read',
        '--home',
        alice.home,
        '--json',
      ]);
    expect((await verify()).code).toBe(0);
    const bump = await dregg(['cap', 'epoch', 'bump', '--home', alice.home, '--json']);
    expect(bump.json).toMatchObject({ epoch: 1 });
    expect(await verify()).toMatchObject({ code: 1, json: { code: 'E_STALE_EPOCH' } });
    const trip = await dregg([
      'cap',
      'trip-channel',
      '--channel',
      mint.json.channel as string,
      '--home',
      alice.home,
      '--json',
    ]);
    expect(trip.json).toMatchObject({ tripped: true });
    expect(
      await dregg([
        'cap',
        'verify',
        mint.json.token as string,
        '--service',
        'storage',
        '--action',
        'read',
        '--home',
        alice.home,
        '--json',
      ]),
    ).toMatchObject({
      code: 1,
      json: { code: 'E_REVOKED' },
    });
  });

  it('restores the same identity from the same words, and a BIP39 passphrase changes it (PITFALLS 18)', async () => {
    const file = join(tempHome('words'), '..', 'words.txt');
    writeFileSync(file, `${WORDS}\n`);
    const a = await dregg(['id', 'restore', '--mnemonic-file', file, '--home', tempHome('a'), '--json']);
    const b = await dregg(['id', 'restore', '--mnemonic-file', file, '--home', tempHome('b'), '--json'], {
      env: { DREGG_PASSPHRASE: 'a different unlock passphrase' },
    });
    const c = await dregg(['id', 'restore', '--mnemonic-file', file, '--home', tempHome('c'), '--json'], {
      env: { DREGG_BIP39_PASSPHRASE: 'TREZOR' },
    });
    expect(a.json.did).toMatch(/^did:key:z6Mk/);
    expect(b.json.did).toBe(a.json.did);
    expect(c.json.did).not.toBe(a.json.did);
  });

  it('never overwrites an identity, and a wrong passphrase is E_LOCKED', async () => {
    const home = tempHome('alice');
    const made = await dregg(['id', 'new', '--home', home, '--json']);
    expect(made.code).toBe(0);
    const alice = { home, did: made.json.did as string };
    expect((await dregg(['id', 'new', '--home', alice.home, '--json'])).json).toMatchObject({
      error: { code: 'E_EXISTS' },
    });
    const r = await dregg(['cap', 'list', '--home', alice.home, '--json'], {
      env: { DREGG_PASSPHRASE: 'wrong' },
    });
    expect(r).toMatchObject({ code: 2, json: { error: { code: 'E_LOCKED' } } });
    expect((await dregg(['id', 'show', '--home', alice.home, '--json'])).json).toMatchObject({
      did: alice.did,
    });
  });

  it('answers bad input with a typed error, never a crash', async () => {
    const alice = await identity('alice');
    const cases: [string[], string][] = [
      [['cap', 'inspect', 'ccdel_!!!', '--json'], 'E_DECODE'],
      [['cap', 'inspect', 'hello', '--json'], 'E_DECODE'],
      [
        ['cap', 'accept', '--from', 'did:key:nope', '--envelope', 'x', '--home', alice.home, '--json'],
        'E_DECODE',
      ],
      [
        ['cap', 'delegate', '--token', 'nope', '--to', alice.did, '--home', alice.home, '--json'],
        'E_NOT_FOUND',
      ],
      [['cap', 'mint', '--service', 'Bad Name', '--home', alice.home, '--json'], 'E_ARGUMENT'],
      [['cap', 'mint', '--service', 's', '--ttl', 'forever', '--home', alice.home, '--json'], 'E_ARGUMENT'],
      [['cap', 'mint', '--bogus', '--json'], 'E_ARGUMENT'],
      [['cap', 'frobnicate', '--json'], 'E_ARGUMENT'],
      [
        ['id', 'restore', '--mnemonic-file', '/nonexistent', '--home', tempHome('x'), '--json'],
        'E_NOT_FOUND',
      ],
      [['cap', 'list', '--home', tempHome('none'), '--json'], 'E_NOT_FOUND'],
    ];
    for (const [args, code] of cases) {
      const r = await dregg(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json, args.join(' ')).toEqual({ error: { code, message: expect.any(String) } });
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    }
    const badWords = join(tempHome('w'), '..', 'bad.txt');
    writeFileSync(badWords, 'abandon abandon zzz');
    const r = await dregg(['id', 'restore', '--mnemonic-file', badWords, '--home', tempHome('bw'), '--json']);
    expect(r.json).toMatchObject({ error: { code: 'E_DECODE' } });
    expect(existsSync(join(tempHome('bw'), 'keyring.bin'))).toBe(false);
  });

  it('works as a real process: npx dregg prints JSON on stdout, errors as JSON on stderr, exit codes 0/1/2', () => {
    const home = tempHome('proc');
    const env = { ...process.env, DREGG_PASSPHRASE: 'pw' };
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, ...args, '--home', home, '--json'], { env, encoding: 'utf8' });
    const made = run('id', 'new');
    expect(made.status).toBe(0);
    expect(JSON.parse(made.stdout).did).toMatch(/^did:key:z6Mk/);
    const mint = JSON.parse(run('cap', 'mint', '--service', 'storage', '--actions', 'read').stdout);
    expect(run('cap', 'verify', mint.token, '--service', 'storage', '--action', 'read').status).toBe(0);
    const denied = run('cap', 'verify', mint.token, '--service', 'storage', '--action', 'write');
    expect(denied.status).toBe(1);
    expect(JSON.parse(denied.stdout)).toMatchObject({ allowed: false, code: 'E_DENIED' });
    const broken = run('cap', 'inspect', 'cctok_AAAA');
    expect(broken.status).toBe(2);
    expect(JSON.parse(broken.stderr)).toMatchObject({ error: { code: 'E_DECODE' } });
    // Five real processes, each compiling the CLI with tsx: seconds each on a busy 2-core machine.
  }, 120_000);

  it('runs the guided demo (dregg demo), every step passing', async () => {
    const r = await dregg(['demo', '--json']);
    expect(r.code).toBe(0);
    expect(r.json.ok).toBe(true);
    expect((r.json.steps as { ok: boolean }[]).every((s) => s.ok)).toBe(true);
  });
});

/**
 * `dregg cell`, `turn` and `receipt` against one real home (in-process, as the harness runs every
 * command): cells, a signed turn applied by the local executor, its receipt verified and altered.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { base64urlnopad } from '@scure/base';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent/agent.ts';
import { cellId } from '../../src/cells/cell.ts';
import { ed25519PublicKey } from '../../src/crypto/ed25519.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import { CIPHERCLERK_COIN_TYPE } from '../../src/keys/identity.ts';
import { mnemonicToSeed } from '../../src/keys/mnemonic.ts';
import { slip10Ed25519 } from '../../src/keys/slip10.ts';
import { RECEIPT_PREFIX, receiptFromText } from '../../src/node/cli/receipt.ts';
import { openAgent, saveAgent } from '../../src/node/home.ts';
import { localExecutorDid, localExecutorSeed } from '../../src/node/ledger.ts';
import { encodeReceipt } from '../../src/turns/receipt.ts';
import { dregg, PASSPHRASE, tempHome } from './harness.ts';

/** A home with an identity sealed under cheap scrypt parameters (each command unlocks it). */
async function identity(name: string) {
  const home = tempHome(name);
  const agent = await createAgent({ kdf: { N: 2 ** 10, r: 8, p: 1 } });
  await saveAgent(home, agent, PASSPHRASE);
  return { home, did: agent.did };
}

function writeJson(path: string, value: unknown): string {
  writeFileSync(path, JSON.stringify(value));
  return path;
}

describe('dregg cell / turn / receipt', () => {
  let home: string;
  let did: string;
  let a: string; // funded at genesis
  let b: string;
  let first: string; // receipt file of the first turn
  let second: string;

  beforeAll(async () => {
    ({ home, did } = await identity('ledger'));
  });

  it('creates cells: a demo genesis allowance and a chosen salt', async () => {
    const made = await dregg(['cell', 'new', '--balance', '1000', '--home', home, '--json']);
    expect(made.code).toBe(0);
    expect(made.json).toMatchObject({ owner: did, balance: '1000', nonce: 0, genesis: { localDemo: true } });
    a = made.json.id as string;

    const salt = '11'.repeat(32);
    const human = await dregg(['cell', 'new', '--salt', salt, '--home', home]);
    expect(human.code).toBe(0);
    b = cellId(did, salt);
    expect(human.stdout).toContain(`Created cell ${b}`);
    expect(existsSync(join(home, 'ledger.sqlite'))).toBe(true);
    expect(existsSync(join(home, 'ledger.lock'))).toBe(false);

    const again = await dregg(['cell', 'new', '--salt', salt, '--home', home, '--json']);
    expect(again.json).toMatchObject({ error: { code: 'E_EXISTS' } });
    expect((await dregg(['cell', 'new', '--balance', '-1', '--home', home, '--json'])).json).toMatchObject({
      error: { code: 'E_ARGUMENT' },
    });
  });

  it('shows a cell without the passphrase, by id or unique prefix', async () => {
    const shown = await dregg(['cell', 'show', a, '--home', home, '--json'], {
      env: { DREGG_PASSPHRASE: '' },
    });
    expect(shown.json).toEqual({
      id: a,
      owner: did,
      balance: '1000',
      nonce: 0,
      fields: {},
      clist: [],
      permissions: expect.any(Object), // exceptions to "owner only" (receiving grants is open by default)
      vk: null,
      lifecycle: 'active',
      stateCommitment: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const human = await dregg(['cell', 'show', a.slice(0, 10), '--home', home]);
    expect(human.stdout).toContain(`Cell ${a}`);
    expect(human.stdout).toContain('balance      1000 computrons');
    expect((await dregg(['cell', 'show', 'ffff', '--home', home, '--json'])).json).toMatchObject({
      error: { code: 'E_NOT_FOUND' },
    });
  });

  it('submits a signed turn (set-field + transfer) and writes its receipt', async () => {
    const effects = writeJson(join(home, 'turn1.json'), {
      effects: [
        { type: 'set-field', cell: a, key: 'name', value: 'alice' },
        { type: 'transfer', from: a, to: b, amount: '250' },
      ],
    });
    first = join(home, 'r1.txt');
    const r = await dregg([
      'turn',
      'submit',
      '--cell',
      a,
      '--effects',
      effects,
      '--out',
      first,
      '--home',
      home,
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      agent: did,
      cell: a,
      seq: 0,
      prev: null,
      fee: '0',
      results: [null, null],
    });
    expect(readFileSync(first, 'utf8').trim()).toBe(r.json.text);

    const shownA = await dregg(['cell', 'show', a, '--home', home, '--json']);
    expect(shownA.json).toMatchObject({ balance: '750', nonce: 1, fields: { name: 'alice' } });
    expect((await dregg(['cell', 'show', b, '--home', home, '--json'])).json).toMatchObject({
      balance: '250',
    });

    // The next turn follows the first receipt: nonce and prev come from the local ledger.
    const more = writeJson(join(home, 'turn2.json'), {
      effects: [{ type: 'transfer', from: a, to: b, amount: 50 }],
      fee: '0',
    });
    second = join(home, 'r2.txt');
    const r2 = await dregg([
      'turn',
      'submit',
      '--cell',
      a,
      '--effects',
      more,
      '--out',
      second,
      '--home',
      home,
    ]);
    expect(r2.code).toBe(0);
    expect(r2.stdout).toContain(`after receipt ${r.json.hash}`);
  });

  it('refuses a turn the ledger cannot apply and changes nothing', async () => {
    const before = (await dregg(['cell', 'show', a, '--home', home, '--json'])).json;
    const tooMuch = writeJson(join(home, 'much.json'), {
      effects: [
        { type: 'set-field', cell: a, key: 'name', value: 'mallory' },
        { type: 'transfer', from: a, to: b, amount: 1_000_000 },
      ],
    });
    const r = await dregg(['turn', 'submit', '--cell', a, '--effects', tooMuch, '--home', home, '--json']);
    expect(r.json).toMatchObject({ error: { code: 'E_INSUFFICIENT' } });
    expect((await dregg(['cell', 'show', a, '--home', home, '--json'])).json).toEqual(before);
  });

  it('verifies receipts: one, a chain in order, against the local chain', async () => {
    const one = await dregg(['receipt', 'verify', first, '--home', home, '--json']);
    expect(one.code).toBe(0);
    expect(one.json).toMatchObject({ valid: true, receipts: [{ agent: did, seq: 0 }] });

    const both = await dregg(['receipt', 'verify', first, second, '--chain', '--home', home, '--json']);
    expect(both.json).toMatchObject({ valid: true, chain: { agent: did, length: 2 } });
    expect(both.json.head).toBe((both.json.receipts as { hash: string }[])[1]!.hash);

    const human = await dregg(['receipt', 'verify', second, '--home', home]);
    expect(human.stdout).toContain("this home's local executor");
    expect(human.stdout).toContain(`by agent  ${did}`);

    const outOfOrder = await dregg(['receipt', 'verify', second, first, '--home', home, '--json']);
    expect(outOfOrder.json).toMatchObject({ error: { code: 'E_INVALID' } });

    // Elsewhere a receipt is checked against an executor named explicitly, or not at all.
    const executor = (one.json.receipts as { executor: string }[])[0]!.executor;
    const other = tempHome('elsewhere');
    expect((await dregg(['receipt', 'verify', first, '--home', other, '--json'])).json).toMatchObject({
      error: { code: 'E_UNTRUSTED' },
    });
    const named = await dregg([
      'receipt',
      'verify',
      first,
      '--executor',
      executor,
      '--home',
      other,
      '--json',
    ]);
    expect(named.json).toMatchObject({ valid: true });
    const wrong = await dregg(['receipt', 'verify', first, '--executor', did, '--home', home, '--json']);
    expect(wrong.json).toMatchObject({ error: { code: 'E_UNTRUSTED' } });

    const listed = await dregg(['receipt', 'list', '--home', home]);
    expect(listed.stdout.match(/ccrcpt_/g)).toHaveLength(2);
  });

  it('verifies as a real process too (one spawn: the bin, SQLite under tsx, JSON on stdout)', () => {
    const bin = join(import.meta.dirname, '..', '..', 'bin', 'dregg.js');
    const run = spawnSync(
      process.execPath,
      [bin, 'receipt', 'verify', first, second, '--chain', '--home', home, '--json'],
      {
        env: { ...process.env, DREGG_PASSPHRASE: '' },
        encoding: 'utf8',
      },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ valid: true, chain: { length: 2 } });
  });

  it('rejects an altered receipt with a code', async () => {
    const original = receiptFromText(readFileSync(first, 'utf8'));
    const forged = { ...original, at: original.at + 1 };
    const altered = join(home, 'altered.txt');
    writeFileSync(altered, RECEIPT_PREFIX + base64urlnopad.encode(encodeReceipt(forged)));
    const r = await dregg(['receipt', 'verify', altered, '--home', home, '--json']);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ error: { code: 'E_BAD_SIGNATURE' } });

    const text = readFileSync(first, 'utf8').trim();
    const flipped = join(home, 'flipped.txt');
    const i = text.length - 20;
    writeFileSync(flipped, text.slice(0, i) + (text[i] === 'A' ? 'B' : 'A') + text.slice(i + 1));
    const f = await dregg(['receipt', 'verify', flipped, '--home', home, '--json']);
    expect(f.code).toBe(2);
    expect(['E_BAD_SIGNATURE', 'E_DECODE', 'E_INVALID']).toContain((f.json.error as { code: string }).code);

    const none = join(home, 'none.txt');
    writeFileSync(none, 'no receipt here');
    expect((await dregg(['receipt', 'verify', none, '--home', home, '--json'])).json).toMatchObject({
      error: { code: 'E_DECODE' },
    });
  });

  it('signs receipts with a key derived from the words at its own path, written nowhere', async () => {
    const agent = await openAgent(home, PASSPHRASE);
    const seed = localExecutorSeed(agent.secrets);
    const executor = didKeyFromEd25519(ed25519PublicKey(seed));
    expect(executor).not.toBe(did);
    expect(localExecutorDid(home)).toBe(executor);
    const { key } = slip10Ed25519(
      mnemonicToSeed(agent.secrets.mnemonic, agent.secrets.bip39Passphrase),
      `m/44'/${CIPHERCLERK_COIN_TYPE}'/0'/1'/0'`,
    );
    expect(toHex(key)).toBe(toHex(seed));
    const receipt = receiptFromText(readFileSync(first, 'utf8'));
    expect(receipt.executor).toBe(executor);
    for (const name of readdirSync(home)) {
      const bytes = readFileSync(join(home, name));
      expect(bytes.includes(Buffer.from(seed)), name).toBe(false);
      expect(bytes.includes(Buffer.from(toHex(seed))), name).toBe(false);
    }
  });

  it('refuses a bad effects file with E_INVALID naming the field, and unreadable JSON with E_DECODE', async () => {
    const submit = (file: string) =>
      dregg(['turn', 'submit', '--cell', a, '--effects', file, '--home', home, '--json']);
    const bad = writeJson(join(home, 'bad.json'), {
      effects: [
        { type: 'set-field', cell: a, key: 'name', value: 'x' },
        { type: 'transfer', from: a, to: b, amount: -5 },
      ],
    });
    const r = await submit(bad);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({
      error: { code: 'E_INVALID', message: expect.stringMatching(/^effects\[1\]\.amount: /) },
    });

    const unknown = writeJson(join(home, 'unknown.json'), { effects: [{ type: 'teleport' }] });
    expect((await submit(unknown)).json).toMatchObject({
      error: { code: 'E_INVALID', message: expect.stringMatching(/^effects\[0\]\.type: /) },
    });
    const extra = writeJson(join(home, 'extra.json'), {
      effects: [{ type: 'burn', cell: a, amount: 1 }],
      gas: 5,
    });
    expect((await submit(extra)).json).toMatchObject({
      error: { code: 'E_INVALID', message: expect.stringMatching(/^gas: /) },
    });
    const notJson = join(home, 'broken.json');
    writeFileSync(notJson, '{"effects": [');
    expect((await submit(notJson)).json).toMatchObject({ error: { code: 'E_DECODE' } });
    expect((await submit(join(home, 'missing.json'))).json).toMatchObject({ error: { code: 'E_NOT_FOUND' } });

    // Nothing of it reached the ledger.
    expect((await dregg(['cell', 'show', a, '--home', home, '--json'])).json).toMatchObject({ nonce: 2 });
  });
});

/**
 * `dregg turn submit --prove` and `dregg turn verify-proof` against one real home (in-process): a
 * SetField + Transfer turn proved, applied and its proof file written; the file verifies, its
 * statement is the executor's new state; an altered file is refused with exit 1; a turn the turn AIR
 * does not cover is refused by the prover and leaves nothing behind.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../../src/agent/agent.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { openAgent, saveAgent } from '../../src/node/home.ts';
import { openLedger } from '../../src/node/ledger.ts';
import {
  decodeProofFile,
  digestBytes,
  proofSecret,
  provedState,
  provedStateCommitment,
  stateSalt,
} from '../../src/proofs/index.ts';
import { dregg, PASSPHRASE, tempHome } from './harness.ts';

describe('dregg turn submit --prove / turn verify-proof', () => {
  let home: string;
  let a: string;
  let b: string;
  let proofPath: string;

  beforeAll(async () => {
    home = tempHome('prove');
    await saveAgent(home, await createAgent({ kdf: { N: 2 ** 10, r: 8, p: 1 } }), PASSPHRASE);
    a = (await dregg(['cell', 'new', '--balance', '1000', '--home', home, '--json'])).json.id as string;
    b = (await dregg(['cell', 'new', '--salt', '22'.repeat(32), '--home', home, '--json'])).json.id as string;
  });

  const submit = (effects: unknown[], ...extra: string[]) => {
    const file = join(home, `effects-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, JSON.stringify({ effects }));
    return dregg([
      'turn',
      'submit',
      '--cell',
      a,
      '--effects',
      file,
      '--prove',
      ...extra,
      '--home',
      home,
      '--json',
    ]);
  };

  it('proves, applies and writes the proof file; its new commitment is the local ledger’s new state', async () => {
    proofPath = join(home, 'turn.proof');
    const r = await submit(
      [
        { type: 'set-field', cell: a, key: 'name', value: 'alice' },
        { type: 'transfer', from: a, to: b, amount: '250' },
      ],
      '--proof',
      proofPath,
    );
    expect(r.code, r.stderr).toBe(0);
    const proof = r.json.proof as { file: string; statement: Record<string, string>; proveMs: number };
    expect(proof.file).toBe(proofPath);
    expect(proof.proveMs).toBeGreaterThan(0);
    expect(proof.statement.turnHash).toBe(r.json.turn);
    const file = decodeProofFile(readFileSync(proofPath));
    expect(toHex(digestBytes(file.statement.newCommitment))).toBe(proof.statement.newCommitment);

    // The statement's new commitment is the cell as the local executor left it, under the owner's salt.
    const agent = await openAgent(home, PASSPHRASE);
    const ledger = await openLedger(home, agent);
    try {
      const after = ledger.executor.cell(a)!;
      expect(after.balance).toBe(750n);
      const salt = stateSalt(proofSecret(agent.identity.seed), a, after.nonce);
      expect(Array.from(provedStateCommitment(provedState(after, salt)))).toEqual(
        Array.from(file.statement.newCommitment),
      );
    } finally {
      await ledger.close();
    }
  }, 30_000);

  it('verify-proof prints the statement (exit 0), refuses an altered file (exit 1)', async () => {
    const ok = await dregg(['turn', 'verify-proof', proofPath, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json).toMatchObject({ valid: true, statement: { newCommitment: expect.any(String) } });
    const human = await dregg(['turn', 'verify-proof', proofPath]);
    expect(human.stdout).toMatch(/The proof verifies .*\n.*old commitment/);

    const bytes = readFileSync(proofPath);
    const altered = Buffer.from(bytes);
    altered[altered.length - 100]! ^= 0x04;
    const bad = join(home, 'bad.proof');
    writeFileSync(bad, altered);
    const refused = await dregg(['turn', 'verify-proof', bad]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/\[E_INVALID\]|\[E_DECODE\]/);
    const missing = await dregg(['turn', 'verify-proof', join(home, 'none.proof')]);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringContaining('[E_NOT_FOUND]')]);
  });

  it('a turn the AIR does not cover: the prover’s E_INVALID, nothing applied or written', async () => {
    const path = join(home, 'never.proof');
    const r = await submit(
      [
        { type: 'set-field', cell: a, key: 'x', value: 1 },
        { type: 'set-field', cell: a, key: 'y', value: 2 },
      ],
      '--proof',
      path,
    );
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ error: { code: 'E_INVALID' } });
    expect(existsSync(path)).toBe(false);
    const shown = await dregg(['cell', 'show', a, '--home', home, '--json']);
    expect(shown.json).toMatchObject({ nonce: 1, fields: { name: 'alice' } });
  });
});

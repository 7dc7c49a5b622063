/**
 * The private path's wire formats: a registration and a proved-turn submission signed, encoded,
 * decoded and verified; any byte changed is refused; the decoders, fuzzed, fail only with E_DECODE or
 * E_INVALID; the proof file round-trips.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { newCell } from '../../src/cells/cell.ts';
import { ed25519PublicKey, nobleEd25519 } from '../../src/crypto/ed25519.ts';
import { toHex } from '../../src/encoding/bytes.ts';
import { encodeCbor } from '../../src/encoding/cbor.ts';
import { didKeyFromEd25519 } from '../../src/encoding/did-key.ts';
import {
  decodeProofFile,
  decodeProvedRegistration,
  decodeProvedSubmission,
  encodeProofFile,
  encodeProvedRegistration,
  encodeProvedSubmission,
  MAX_SUBMISSION_BYTES,
  type ProvedRegistration,
  type ProvedSubmission,
  type ProvedTurn,
  proofSecret,
  proveTurn,
  signProvedRegistration,
  signProvedSubmission,
  stateSalt,
  verifyProvedRegistration,
  verifyProvedSubmission,
} from '../../src/proofs/index.ts';
import { signTurn } from '../../src/turns/turn.ts';
import { outcome, outcomeAsync } from '../crypto/expect-code.ts';
import { arbGarbage } from '../encoding/arbitrary.ts';

const ed = nobleEd25519;
const seed = new Uint8Array(32).fill(5);
const signer = { did: didKeyFromEd25519(ed25519PublicKey(seed)), seed };
const other = new Uint8Array(32).fill(6);
const cell = newCell(signer.did, toHex(new Uint8Array(32).fill(1)), 500n);
const secret = proofSecret(seed);

const codeOf = (f: () => unknown) => outcomeAsync(async () => f());

let proved: ProvedTurn;
let reg: ProvedRegistration;
let sub: ProvedSubmission;

beforeAll(async () => {
  const turn = await signTurn(
    {
      ledger: 'main',
      agent: signer.did,
      cell: cell.id,
      nonce: 0,
      prev: null,
      effects: [{ type: 'set-field', cell: cell.id, key: 'k', value: 'v' }],
      fee: 0n,
      validUntil: 2_000_000_000,
    },
    seed,
    ed,
  );
  proved = await proveTurn(cell, turn, { secret });
  reg = await signProvedRegistration('main', signer, cell.id, stateSalt(secret, cell.id, 0), ed);
  sub = await signProvedSubmission('main', signer, cell.id, proved, ed);
}, 30_000);

describe('registration', () => {
  it('signs, round-trips and verifies; refuses another signer', async () => {
    const bytes = encodeProvedRegistration(reg);
    const back = decodeProvedRegistration(bytes);
    expect(back).toEqual(reg);
    expect(encodeProvedRegistration(back)).toEqual(bytes);
    await verifyProvedRegistration(back, ed);
    const forged = await signProvedRegistration(
      'main',
      { did: signer.did, seed: other },
      cell.id,
      reg.salt,
      ed,
    );
    expect(await codeOf(() => verifyProvedRegistration(forged, ed))).toBe('E_BAD_SIGNATURE');
  });

  it('refuses every single byte changed', async () => {
    const bytes = encodeProvedRegistration(reg);
    for (let at = 0; at < bytes.length; at++) {
      const b = bytes.slice();
      b[at]! ^= 0x01;
      const code = await codeOf(() => verifyProvedRegistration(decodeProvedRegistration(b), ed));
      expect(['E_DECODE', 'E_INVALID', 'E_BAD_SIGNATURE'], `byte ${at}`).toContain(code);
    }
  });

  it('refuses a non-canonical salt element', () => {
    const m = {
      v: 1,
      led: 'main',
      agent: signer.did,
      cell: cell.id,
      salt: new Uint8Array(12).fill(0xff),
      sig: new Uint8Array(64),
    };
    expect(() => decodeProvedRegistration(encodeCbor(m))).toThrow(/non-canonical/);
  });
});

describe('submission', () => {
  it('signs, round-trips and verifies (signature and proof)', async () => {
    const bytes = encodeProvedSubmission(sub);
    const back = decodeProvedSubmission(bytes);
    expect(back).toEqual(sub);
    expect(encodeProvedSubmission(back)).toEqual(bytes);
    await verifyProvedSubmission(back, ed);
  });

  it('refuses a byte changed anywhere: every byte around the proof, and sampled bytes inside it', async () => {
    const bytes = encodeProvedSubmission(sub);
    const start = Buffer.from(bytes).indexOf(Buffer.from(sub.proof));
    const end = start + sub.proof.length;
    const check = async (at: number, x: number) => {
      const b = bytes.slice();
      b[at]! ^= x;
      const code = await codeOf(() => verifyProvedSubmission(decodeProvedSubmission(b), ed));
      expect(['E_DECODE', 'E_INVALID', 'E_BAD_SIGNATURE'], `byte ${at}`).toContain(code);
    };
    for (let at = 0; at < bytes.length; at++) if (at < start || at >= end) await check(at, 0x01);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: start, max: end - 1 }), fc.integer({ min: 1, max: 255 }), check),
      { numRuns: 150 },
    );
  });

  it('refuses a proof re-signed under a changed statement (E_INVALID, the proof does not verify)', async () => {
    const turnHash = proved.statement.turnHash.slice();
    turnHash[0]! ^= 1;
    const resigned = await signProvedSubmission(
      'main',
      signer,
      cell.id,
      { statement: { ...proved.statement, turnHash }, proof: proved.proof },
      ed,
    );
    expect(await codeOf(() => verifyProvedSubmission(resigned, ed))).toBe('E_INVALID');
  });

  it('refuses an oversized submission before decoding it', () => {
    expect(() => decodeProvedSubmission(new Uint8Array(MAX_SUBMISSION_BYTES + 1))).toThrow(/longer than/);
  });
});

describe('proof file', () => {
  it('round-trips statement and proof', () => {
    const bytes = encodeProofFile(proved);
    const back = decodeProofFile(bytes);
    expect(back.statement).toEqual(proved.statement);
    expect(back.proof).toEqual(proved.proof);
  });
});

describe('decoders, fuzzed, fail only with E_DECODE or E_INVALID', () => {
  const decoders = [decodeProvedRegistration, decodeProvedSubmission, decodeProofFile];

  it('on random bytes and random CBOR', () => {
    fc.assert(
      fc.property(arbGarbage(300), (b) => {
        for (const d of decoders) expect(['E_DECODE', 'E_INVALID']).toContain(outcome(() => d(b)));
      }),
      { numRuns: 1000 },
    );
  });

  it('on valid encodings with a byte changed or the end cut off', () => {
    const valid = [encodeProvedRegistration(reg), encodeProvedSubmission(sub), encodeProofFile(proved)];
    fc.assert(
      fc.property(
        fc.nat({ max: valid.length - 1 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (k, at, x) => {
          const b = valid[k]!.slice();
          b[at % b.length]! ^= x;
          const cut = valid[k]!.subarray(0, at % valid[k]!.length);
          for (const d of decoders) {
            expect(['OK', 'E_DECODE', 'E_INVALID']).toContain(outcome(() => d(b)));
            expect(['E_DECODE', 'E_INVALID']).toContain(outcome(() => d(cut)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

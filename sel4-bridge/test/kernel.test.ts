/**
 * The kernel on its own serial line: SHA-256 against the FIPS 180-4 vectors, the derivation tree,
 * the PMP-confined app domain, checkpoint and thaw, and bad input of every kind — each refused with a
 * code while the kernel keeps answering.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildImage } from '../src/build.ts';
import { bootKernel, type Kernel } from '../src/kernel.ts';

let kernel: Kernel;
beforeAll(async () => {
  kernel = await bootKernel({ elf: buildImage({ quiet: true }) });
});
afterAll(() => kernel.halt());

const hex = (s: string) => Buffer.from(s, 'latin1').toString('hex') || '-';
const ref = (r: Record<string, string>) => `${r.slot}:${r.gen}`;
const code = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  );

describe('SHA-256 in the kernel', () => {
  // FIPS 180-4 examples (NIST CSRC "SHA256.pdf", "SHA2_Additional.pdf").
  const vectors: [string, string][] = [
    ['abc', 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
    ['', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [
      'abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq',
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    ],
    [
      'abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu',
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    ],
    ['a'.repeat(1000), '41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3'],
  ];
  for (const [msg, digest] of vectors) {
    it(`hashes ${msg.length} bytes to the published digest`, async () => {
      expect((await kernel.call('sha256', [hex(msg)])).digest).toBe(digest);
    });
  }
  it('agrees with node:crypto around the padding boundaries', async () => {
    for (const n of [55, 56, 63, 64, 65, 119, 120, 128]) {
      const msg = 'x'.repeat(n);
      expect((await kernel.call('sha256', [hex(msg)])).digest).toBe(
        createHash('sha256').update(msg).digest('hex'),
      );
    }
  });
});

describe('the derivation tree', () => {
  it('revokes a whole subtree synchronously and keeps the revoked capability and its siblings', async () => {
    const root = await kernel.call('new', ['ep', '4']);
    const a = await kernel.call('mint', [ref(root), '4', '7', '-', '0', '-']);
    const sibling = await kernel.call('mint', [ref(root), '4', '3', '-', '0', '-']);
    let parent = a;
    const below = [];
    for (let i = 0; i < 5; i++) {
      parent = await kernel.call('mint', [ref(parent), '4', i < 4 ? '3' : '2', '-', '0', '-']);
      below.push(parent);
    }
    expect((await kernel.call('revoke', [ref(a)])).revoked).toBe('5');
    for (const b of below) expect(await code(kernel.call('invoke', [ref(b), 'send', '1']))).toBe('E_REVOKED');
    expect((await kernel.call('invoke', [ref(a), 'send', '1'])).queued).toBe('1');
    expect((await kernel.call('invoke', [ref(sibling), 'send', '2'])).queued).toBe('2');
    expect((await kernel.call('delete', [ref(root)])).revoked).toBe('3');
    expect(await code(kernel.call('show', [ref(sibling)]))).toBe('E_REVOKED');
  });

  it('charges a budget to the capability and its ancestors', async () => {
    const root = await kernel.call('new', ['ntfn', '4']);
    const limited = await kernel.call('mint', [ref(root), '4', '9', '2', '0', '-']);
    const child = await kernel.call('mint', [ref(limited), '4', '8', '2', '0', '-']);
    await kernel.call('invoke', [ref(child), 'signal', '1']);
    await kernel.call('invoke', [ref(limited), 'signal', '2']);
    expect(await code(kernel.call('invoke', [ref(child), 'signal', '4']))).toBe('E_BUDGET');
    await kernel.call('delete', [ref(root)]);
  });

  it('refuses what the rights do not allow, an expired capability, and a stale reference', async () => {
    const root = await kernel.call('new', ['ep', '4']);
    const sendOnly = await kernel.call('mint', [ref(root), '4', '2', '-', '0', '-']);
    expect(await code(kernel.call('invoke', [ref(sendOnly), 'recv']))).toBe('E_DENIED');
    expect(await code(kernel.call('mint', [ref(sendOnly), '4', '2', '-', '0', '-']))).toBe('E_DENIED');
    const expired = await kernel.call('mint', [ref(root), '4', '2', '-', '0', '1000']);
    expect(await code(kernel.call('invoke', [ref(expired), 'send', '1']))).toBe('E_EXPIRED');
    expect(await code(kernel.call('invoke', [ref(root), 'signal', '1']))).toBe('E_INVALID');
    await kernel.call('delete', [ref(sendOnly)]);
    const reused = await kernel.call('mint', [ref(root), '4', '2', '-', '0', '-']);
    expect(reused.slot).toBe(sendOnly.slot);
    expect(await code(kernel.call('invoke', [ref(sendOnly), 'send', '1']))).toBe('E_REVOKED');
    await kernel.call('delete', [ref(root)]);
  });
});

describe('the app domain (U-mode, confined by PMP)', () => {
  it('runs over the region it was given, and a stray device store or kernel read kills only the app', async () => {
    const region = await kernel.call('new', ['region', '5']);
    for (let i = 1; i <= 3; i++)
      await kernel.call('invoke', [ref(region), 'write', String(i), String(10 * i)]);
    expect(await kernel.call('invoke', [ref(region), 'run', '0'])).toMatchObject({
      app: 'exited',
      word: '60',
    });
    expect(await kernel.call('invoke', [ref(region), 'run', '1'])).toMatchObject({
      app: 'killed',
      mcause: '7',
      mtval: '10000000',
    });
    expect(await kernel.call('invoke', [ref(region), 'run', '2'])).toMatchObject({
      app: 'killed',
      mcause: '5',
    });
    expect((await kernel.call('invoke', [ref(region), 'read', '0'])).word).toBe('60');
    const readOnly = await kernel.call('mint', [ref(region), '5', '20', '-', '0', '-']);
    expect(await code(kernel.call('invoke', [ref(readOnly), 'run', '0']))).toBe('E_DENIED');
    expect((await kernel.call('ping')).now).toMatch(/^\d+$/);
    await kernel.call('delete', [ref(region)]);
  });
});

describe('checkpoint and thaw', () => {
  it('thaws a checkpoint under its root, and refuses a tampered, truncated or garbage blob', async () => {
    const ep = await kernel.call('new', ['ep', '6']);
    await kernel.call('invoke', [ref(ep), 'send', '5']);
    const ck = await kernel.call('ckpt');
    expect(createHash('sha256').update(Buffer.from(ck.blob!, 'hex')).digest('hex')).toBe(ck.root);
    await kernel.call('invoke', [ref(ep), 'recv']);
    await kernel.call('thaw', [ck.root!, ck.blob!]);
    expect((await kernel.call('invoke', [ref(ep), 'recv'])).word).toBe('5');
    const blob = Buffer.from(ck.blob!, 'hex');
    const rootOf = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    const flipped = Buffer.from(blob);
    flipped[flipped.length - 1]! ^= 1;
    expect(await code(kernel.call('thaw', [ck.root!, flipped.toString('hex')]))).toBe('E_UNTRUSTED');
    const truncated = blob.subarray(0, blob.length - 3);
    expect(await code(kernel.call('thaw', [rootOf(truncated), truncated.toString('hex')]))).toBe('E_INVALID');
    const garbage = Buffer.from('not a checkpoint');
    expect(await code(kernel.call('thaw', [rootOf(garbage), garbage.toString('hex')]))).toBe('E_INVALID');
    expect(await code(kernel.call('thaw', [ck.root!, 'abc']))).toBe('E_DECODE');
    expect(await code(kernel.call('thaw', [ck.root!, 'zz']))).toBe('E_DECODE');
    expect(await code(kernel.call('thaw', ['00', ck.blob!]))).toBe('E_INVALID');
    await kernel.call('delete', [ref(ep)]);
  });
});

describe('bad input on the serial line', () => {
  const cases: [string, string, string][] = [
    ['an unknown verb', '900 frobnicate 1', '900 err E_UNSUPPORTED'],
    ['no sequence number', 'ping', '- err E_DECODE'],
    ['a sequence number too long', '12345678901 ping', '- err E_DECODE'],
    ['no verb', '901', '901 err E_DECODE'],
    ['a control byte', '902 ping\u0001', '902 err E_DECODE'],
    ['non-ASCII', '903 show 0é', '903 err E_DECODE'],
    ['an empty field', '904 show  0', '904 err E_DECODE'],
    ['a trailing space', '905 ping ', '905 err E_DECODE'],
    ['too many fields', `906 invoke ${'1 '.repeat(20)}1`, '906 err E_ARGUMENT'],
    ['an out-of-range slot', '907 show 256', '907 err E_INVALID'],
    ['a huge slot', '908 show 99999999999999999999999', '908 err E_INVALID'],
    ['an out-of-range cnode', '909 new ep 8', '909 err E_INVALID'],
    ['a malformed capability', '910 show 1:', '910 err E_DECODE'],
    ['a number out of range', '911 clock 18446744073709551616', '911 err E_INVALID'],
    ['an empty slot', '912 invoke 200 send 1', '912 err E_NOT_FOUND'],
    ['an unknown action', '913 invoke 0 dance', '913 err'],
    ['rights outside the vocabulary', '914 mint 0 0 ffff - 0 -', '914 err'],
    [
      'an oversized checkpoint blob',
      `915 thaw ${'0'.repeat(64)} ${'00'.repeat(32769)}`,
      '915 err E_TOO_LARGE',
    ],
    ['a line longer than the kernel reads', `916 sha256 ${'00'.repeat(32768)}`, '916 err E_TOO_LARGE'],
  ];
  for (const [what, line, answer] of cases) {
    it(`refuses ${what} and keeps answering`, async () => {
      // A long line crosses the emulated UART a byte at a time: allow it time on a loaded machine.
      expect(await kernel.raw(line, 20_000)).toMatch(new RegExp(`^${answer.replace(/[-]/g, '\\-')}( |$)`));
      expect((await kernel.call('ping')).now).toMatch(/^\d+$/);
    });
  }
});

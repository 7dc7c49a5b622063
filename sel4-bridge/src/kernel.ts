/**
 * The launcher's side of the serial line: boots the firmament image under qemu-system-riscv64 and
 * speaks the line protocol (`<seq> <verb> <args>` / `#FW <seq> ok|err ...`) with sequence numbers and
 * a timeout per call. A line the kernel answers under `-` (it could not read a seq) goes to `raw`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { DreggError, type KernelReply, parseKernelAnswer } from '@cipherclerk/core';
import { buildImage } from './build.ts';

export const QEMU = 'qemu-system-riscv64';

export interface Kernel {
  /** Milliseconds from spawning QEMU to the kernel's ready line. */
  readonly bootMs: number;
  call(verb: string, args?: readonly string[], timeoutMs?: number): Promise<KernelReply>;
  /** Sends `line` as it is; resolves with the next answer (`<seq> ok|err ...`) that no call awaits. */
  raw(line: string, timeoutMs?: number): Promise<string>;
  /** Asks the kernel to power off and waits for QEMU to exit (kills it if it does not). */
  halt(): Promise<void>;
  /** Resolves when QEMU has exited, with its exit code. */
  readonly exited: Promise<number | null>;
}

interface Pending {
  resolve(line: string): void;
  reject(e: Error): void;
}

export async function bootKernel(options: { elf?: string; timeoutMs?: number } = {}): Promise<Kernel> {
  const elf = options.elf ?? buildImage({ quiet: true });
  const timeoutMs = options.timeoutMs ?? 5000;
  const started = performance.now();
  const qemu: ChildProcess = spawn(
    QEMU,
    [
      '-machine',
      'virt',
      '-bios',
      'none',
      '-kernel',
      elf,
      '-serial',
      'stdio',
      '-display',
      'none',
      '-monitor',
      'none',
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const pending = new Map<string, Pending>();
  const raws: Pending[] = [];
  let stderr = '';
  let seq = 0;
  let ready: Pending | undefined;
  const readyLine = new Promise<string>((resolve, reject) => {
    ready = { resolve, reject };
  });
  const exited = new Promise<number | null>((resolve) => qemu.once('exit', (code) => resolve(code)));
  const gone = (why: string) => {
    const e = new DreggError('E_UNREACHABLE', `The firmament is not running: ${why}`);
    ready?.reject(e);
    for (const p of pending.values()) p.reject(e);
    for (const p of raws.splice(0)) p.reject(e);
    pending.clear();
  };
  qemu.once('error', (e) =>
    gone((e as NodeJS.ErrnoException).code === 'ENOENT' ? `${QEMU} is not installed` : e.message),
  );
  void exited.then((code) => gone(`QEMU exited (${code}) ${stderr.trim().slice(0, 200)}`));
  qemu.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  qemu.stdin!.on('error', () => {});
  createInterface({ input: qemu.stdout!, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (text) => {
    const line = text.replace(/\r$/, '');
    const m = /^#FW (\S+) (.*)$/.exec(line);
    if (m === null) return; // anything else on the console is not an answer
    const [, tag, rest] = m as unknown as [string, string, string];
    if (tag === '0' && rest.startsWith('ready')) {
      ready?.resolve(rest);
      return;
    }
    const call = pending.get(tag);
    pending.delete(tag);
    if (call !== undefined) call.resolve(rest);
    else raws.shift()?.resolve(`${tag} ${rest}`);
  });

  const withTimeout = (register: (p: Pending) => void, cancel: () => void, ms: number) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        cancel();
        reject(new DreggError('E_TIMEOUT', `The firmament did not answer within ${ms} ms`));
      }, ms);
      register({
        resolve: (l) => {
          clearTimeout(timer);
          resolve(l);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });

  const timer = setTimeout(
    () => ready?.reject(new DreggError('E_TIMEOUT', 'The firmament did not boot')),
    timeoutMs,
  );
  try {
    await readyLine;
  } catch (e) {
    qemu.kill('SIGKILL');
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const bootMs = performance.now() - started;

  const call = async (verb: string, args: readonly string[] = [], ms = timeoutMs): Promise<KernelReply> => {
    const tag = String(++seq);
    const answer = withTimeout(
      (p) => pending.set(tag, p),
      () => pending.delete(tag),
      ms,
    );
    qemu.stdin!.write(`${[tag, verb, ...args].join(' ')}\n`);
    return parseKernelAnswer(await answer);
  };

  await call('clock', [String(Math.floor(Date.now() / 1000))]);
  return {
    bootMs,
    exited,
    call,
    raw(line, ms = timeoutMs) {
      let me: Pending | undefined;
      const answer = withTimeout(
        (p) => {
          me = p;
          raws.push(p);
        },
        () => raws.splice(raws.indexOf(me!), 1),
        ms,
      );
      qemu.stdin!.write(`${line}\n`);
      return answer;
    },
    async halt() {
      if (qemu.exitCode !== null) return;
      const killer = setTimeout(() => qemu.kill('SIGKILL'), 2000);
      await call('halt').catch(() => {});
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * Builds the firmament image: writes the generated ABI header, then compiles the kernel with Debian's
 * bare-metal GCC for QEMU's riscv64 `virt`. Freestanding (no C library: the kernel needs a handful of
 * functions and owns its serial line), rv64imac, linked at 0x80000000. Skips the compiler when the
 * ELF is newer than every source and the header is unchanged.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DreggError } from '@cipherclerk/core';
import { abiHeader } from './abi.ts';

const root = join(import.meta.dirname, '..');
export const SOURCES = join(root, 'firmament');
export const BUILD = join(root, 'build');
export const ELF = join(BUILD, 'firmament.elf');
export const HEADER = join(BUILD, 'gen', 'fw_abi.h');
export const CC = 'riscv64-unknown-elf-gcc';

const FLAGS = [
  '-march=rv64imac',
  '-misa-spec=2.2',
  '-mabi=lp64',
  '-mcmodel=medany',
  '-mno-relax',
  '-ffreestanding',
  '-fno-builtin',
  '-nostdlib',
  '-static',
  '-O2',
  '-g',
  '-std=c11',
  '-Wall',
  '-Wextra',
  '-Werror',
  '-Wl,--no-warn-rwx-segments',
];

function newest(paths: string[]): number {
  return Math.max(...paths.map((p) => statSync(p).mtimeMs));
}

/** Builds the image if needed; returns the ELF's path. */
export function buildImage(options: { force?: boolean; quiet?: boolean } = {}): string {
  mkdirSync(join(BUILD, 'gen'), { recursive: true });
  const header = abiHeader();
  if (!existsSync(HEADER) || readFileSync(HEADER, 'utf8') !== header) writeFileSync(HEADER, header);
  const sources = readdirSync(SOURCES).map((f) => join(SOURCES, f));
  if (!options.force && existsSync(ELF) && statSync(ELF).mtimeMs > newest([...sources, HEADER])) return ELF;
  const compile = sources.filter((f) => f.endsWith('.c') || f.endsWith('.S'));
  try {
    execFileSync(
      CC,
      [...FLAGS, `-I${join(BUILD, 'gen')}`, '-T', join(SOURCES, 'link.ld'), '-o', ELF, ...compile, '-lgcc'],
      { stdio: ['ignore', options.quiet ? 'ignore' : 'inherit', 'inherit'] },
    );
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DreggError(
      'E_IO',
      missing
        ? `${CC} is not installed (node scripts/setup.mjs --firmament installs it)`
        : 'The firmament image did not compile',
      { cause: e },
    );
  }
  return ELF;
}

if (process.argv[1] === import.meta.filename) {
  process.stdout.write(`${buildImage({ force: process.argv.includes('--force') })}\n`);
}

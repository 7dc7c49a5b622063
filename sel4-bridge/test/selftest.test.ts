/**
 * `dregg firmament selftest` as CI runs it and an operator would: the real CLI, a real QEMU boot, every
 * step reported, and exit 0 only when every step behaved.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dregg = fileURLToPath(new URL('../../core/bin/dregg.js', import.meta.url));

describe('dregg firmament selftest', () => {
  it('boots the image, runs every step, and exits 0 with each step ok', async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        [dregg, 'firmament', 'selftest', '--json'],
        { timeout: 60_000 },
        (err, out) =>
          resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout: out }),
      );
    });
    const report = JSON.parse(stdout) as { ok: boolean; steps: { step: string; ok: boolean }[] };
    expect(report.steps.map((s) => s.step)).toEqual([
      'mint',
      'invoke',
      'widening-refused',
      'revoke-subtree',
      'checkpoint',
      'thaw',
      'forged-thaw-refused',
    ]);
    expect(report.steps.filter((s) => !s.ok)).toEqual([]);
    expect(report.ok).toBe(true);
    expect(code).toBe(0);
  }, 90_000);
});

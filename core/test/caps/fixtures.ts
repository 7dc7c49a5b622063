import fc from 'fast-check';
import { expect } from 'vitest';
import { type Agent, createAgent } from '../../src/agent/agent.ts';
import { manualClock } from '../../src/clock.ts';
import type { Ed25519 } from '../../src/crypto/ed25519.ts';
import { DreggError, type ErrorCode, isDreggError } from '../../src/errors.ts';

/** 2026-11-20T00:00:00Z: a fixed "now" so expiry checks are deterministic. */
export const T0 = Date.UTC(2026, 10, 20) / 1000;

export type Cast = {
  alice: Agent;
  bob: Agent;
  carol: Agent;
  mallory: Agent;
  clock: ReturnType<typeof manualClock>;
};

/** Four agents sharing one manual clock. */
export async function cast(options: { ed?: Ed25519; maxStaleness?: number } = {}): Promise<Cast> {
  const clock = manualClock(T0 * 1000);
  const make = () => createAgent({ clock, ...options });
  const [alice, bob, carol, mallory] = await Promise.all([make(), make(), make(), make()]);
  return { alice: alice!, bob: bob!, carol: carol!, mallory: mallory!, clock };
}

/** The error code a promise or function rejects with; fails the test if it resolves. */
export async function codeOf(f: Promise<unknown> | (() => unknown)): Promise<ErrorCode> {
  try {
    await (typeof f === 'function' ? f() : f);
  } catch (e) {
    if (isDreggError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a DreggError, but it succeeded');
}

/**
 * Property: flipping any bits of any one byte of `bytes` makes `accepts` false or throw a DreggError
 * (never succeed, never throw anything else).
 */
export async function expectEveryFlipRefused(
  bytes: Uint8Array,
  accepts: (tampered: Uint8Array) => boolean | Promise<boolean>,
  numRuns = 300,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 }), async (i, x) => {
      const b = bytes.slice();
      b[i]! ^= x;
      let ok: boolean;
      try {
        ok = await accepts(b);
      } catch (e) {
        expect(e).toBeInstanceOf(DreggError);
        ok = false;
      }
      expect(ok).toBe(false);
    }),
    { numRuns },
  );
}

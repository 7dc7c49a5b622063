/** Injected time, so that every expiry and epoch check is deterministic under test. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to; for tests and simulations. */
export function manualClock(startMs = 0): Clock & { set(ms: number): void; advance(ms: number): void } {
  let t = startMs;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

/** Whole seconds, the unit of every time inside tokens and envelopes. */
export function nowSeconds(clock: Clock): number {
  return Math.floor(clock.now() / 1000);
}

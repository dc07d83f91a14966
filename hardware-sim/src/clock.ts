/**
 * The simulator's source of time: the device machine takes `now` (epoch ms) as an argument and
 * the terminal that interprets it (./sim-terminal.ts) schedules every timer (progress steps,
 * scenario delays, replug, reboot) through a {@link Clock}, so a test can drive it with a
 * manual one. The same shape as the agent's clock (terminal-agent/src/time/clock.ts); packages
 * share code only through a workspace package, so the simulator keeps its own copy until the
 * clock moves to `@posbridge/kit`.
 */

/** A scheduled callback. */
export interface Timer {
  /** Stops the callback if it has not run yet. Idempotent. */
  cancel(): void;
}

/** Wall-clock time and one-shot timers. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now (a negative `ms` counts as 0). */
  setTimeout(fn: () => void, ms: number): Timer;
}

/** The real clock: `Date.now` and Node's timers. */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number): Timer {
    const handle = setTimeout(fn, Math.max(0, ms));
    return { cancel: () => clearTimeout(handle) };
  },
});

/**
 * The agent's one source of time. Machines take `now` (epoch ms) as an argument; drivers, the
 * link and the runner take a {@link Clock} and schedule every timer through it, so tests move
 * time with a manual clock (./manual-clock.ts) instead of sleeping. The real clock,
 * {@link SYSTEM_CLOCK}, is chosen once, at the composition root (startAgent), and is the
 * default of every constructor that takes one.
 */

/** A scheduled callback. */
export interface Timer {
  /** Stops the callback if it has not run yet. Idempotent. */
  cancel(): void;
}

/** Options of {@link Clock.setTimeout}. */
export interface TimerOptions {
  /** The timer does not keep the process alive on its own (Node's `unref`). @default false */
  unref?: boolean;
}

/** Wall-clock time and one-shot timers. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now (a negative `ms` counts as 0). */
  setTimeout(fn: () => void, ms: number, opts?: TimerOptions): Timer;
}

/** The real clock: `Date.now` and Node's timers. */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout(fn: () => void, ms: number, opts: TimerOptions = {}): Timer {
    const handle = setTimeout(fn, Math.max(0, ms));
    if (opts.unref === true) handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
});

/** Resolves after `ms` on `clock`. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

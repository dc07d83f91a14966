/**
 * Reconnect delays: exponential backoff with "full jitter" (AWS architecture blog,
 * "Exponential Backoff And Jitter"): the delay is uniformly random in
 * `[0, min(capMs, baseMs · 2^attempt)]`, which spreads a fleet of agents reconnecting after a
 * server restart instead of having them arrive in waves.
 */

/** Backoff parameters, in milliseconds. */
export interface BackoffOptions {
  /** Ceiling of the first delay. */
  baseMs: number;
  /** Largest ceiling. */
  capMs: number;
}

/**
 * Delay before reconnect attempt `attempt` (0 for the first retry).
 * @param random - source of uniform numbers in [0, 1); injectable for tests.
 */
export function fullJitterDelayMs(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

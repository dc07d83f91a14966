/**
 * Retry delays: exponential backoff with jitter (AWS Architecture Blog, "Exponential Backoff And
 * Jitter", https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 *
 * The ceiling of retry `attempt` (0 for the first retry) is `min(capMs, baseMs · 2^attempt)`; the
 * delay is uniformly random in `[minFraction · ceiling, ceiling)`, rounded down to whole ms:
 * - `minFraction: 0` is "full jitter" (the agent's reconnects: a fleet of agents coming back after
 *   a server restart spreads out instead of arriving in waves);
 * - `0 < minFraction < 1` keeps a floor (callback retries never fire at once);
 * - `minFraction: 1` is plain, deterministic exponential backoff (the line driver's status polls).
 *
 * The random source is injected, so a test pins every delay.
 */

/** Backoff parameters, in milliseconds. */
export interface BackoffPolicy {
  /** Ceiling of the first retry's delay (ms, ≥ 0). */
  readonly baseMs: number;
  /** Largest ceiling (ms, ≥ 0). */
  readonly capMs: number;
  /** Share of the ceiling that is always waited, in [0, 1]. @default 0 (full jitter) */
  readonly minFraction?: number;
  /** Uniform source of numbers in [0, 1). @default Math.random */
  readonly random?: (() => number) | undefined;
}

/** A backoff policy ready to answer delays. */
export interface Backoff {
  /**
   * Delay in whole ms before retry `attempt` (0 for the first retry; negative counts as 0, very
   * large attempts stay at the cap). Reads the injected random source once unless `minFraction`
   * is 1; otherwise a function of `attempt` alone.
   */
  delayFor(attempt: number): number;
}

/**
 * Builds the backoff of `policy`; see the module header for the formula.
 * @throws RangeError when `baseMs`/`capMs` are negative or not finite, or `minFraction` is outside [0, 1].
 */
export function backoff(policy: BackoffPolicy): Backoff {
  const { baseMs, capMs } = policy;
  const minFraction = policy.minFraction ?? 0;
  const random = policy.random ?? Math.random;
  if (!(Number.isFinite(baseMs) && baseMs >= 0) || !(Number.isFinite(capMs) && capMs >= 0)) {
    throw new RangeError(`backoff baseMs and capMs must be finite and ≥ 0, got ${baseMs} and ${capMs}`);
  }
  if (!(minFraction >= 0 && minFraction <= 1)) throw new RangeError(`backoff minFraction must be in [0, 1], got ${minFraction}`);
  return {
    delayFor(attempt: number): number {
      const n = Number.isNaN(attempt) ? 0 : Math.min(Math.max(0, Math.floor(attempt)), 30);
      const ceiling = Math.min(capMs, baseMs * 2 ** n);
      if (minFraction === 1) return Math.floor(ceiling);
      const floor = ceiling * minFraction;
      return Math.floor(floor + (ceiling - floor) * random());
    },
  };
}

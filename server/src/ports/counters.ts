/**
 * Shared fixed-window counters: the failure limits and the onboarding rate limit of the HTTP
 * edge (../http/rate-limit.ts) count in the store, so every server instance on one database sees
 * the same counts (a client cannot multiply its allowance by the number of instances behind the
 * load balancer).
 *
 * Semantics are those express-rate-limit's `Store` needs (increment / decrement / resetKey /
 * get) with fixed windows, as its MemoryStore keeps them: the first hit of a key (or the first
 * after its window ended) opens a window of `windowMs` from `now` with count 1; later hits in
 * the window add 1; a counter whose window ended reads as absent.
 *
 * Bounds: a key is at most {@link MAX_COUNTER_KEY_LENGTH} characters (callers hash what they
 * count by, ../http/counters-store.ts), a window at most {@link MAX_COUNTER_WINDOW_MS}; every
 * {@link CountersPort.hitCounter} also removes up to {@link COUNTER_PURGE_PER_HIT} expired
 * counters, so expired rows never pile up beyond the live ones without a timer.
 *
 * Times are ms since epoch, passed in (no adapter reads a clock).
 * @see https://express-rate-limit.mintlify.app/guides/creating-a-store
 */

/** Longest counter key, characters. */
export const MAX_COUNTER_KEY_LENGTH = 128;

/** Longest window, ms (one day: the longest window the configuration accepts). */
export const MAX_COUNTER_WINDOW_MS = 86_400_000;

/** Expired counters each hit removes (lazy purge; the table stays bounded by the live counters). */
export const COUNTER_PURGE_PER_HIT = 2;

/** A counter's current window. */
export interface CounterWindow {
  /** Hits in the window (≥ 0; ≥ 1 right after a hit). */
  readonly count: number;
  /** When the window ends, ms since epoch (the counter reads as absent from then on). */
  readonly resetAt: number;
}

/** Shared counters. All methods may reject with `CodedError('STORE_FAILED')`, also for a key or window out of bounds. */
export interface CountersPort {
  /**
   * Counts one hit of `key` at `now`, atomically (concurrent hits on any instance all count).
   * @param windowMs - length of a new window, 1…{@link MAX_COUNTER_WINDOW_MS}.
   * @returns the window after the hit.
   */
  hitCounter(key: string, windowMs: number, now: number): Promise<CounterWindow>;
  /** The window of `key` at `now`, or null when there is none or it ended. */
  getCounter(key: string, now: number): Promise<CounterWindow | null>;
  /** Takes one hit back from `key`'s current window (never below 0; nothing when there is no current window). */
  decrementCounter(key: string, now: number): Promise<void>;
  /** Forgets `key` (its next hit opens a new window). */
  resetCounter(key: string): Promise<void>;
  /** Removes at most `limit` counters whose window ended by `now`. @returns how many. */
  purgeExpiredCounters(now: number, limit: number): Promise<number>;
}

/**
 * Why `key`/`windowMs` are out of bounds, or undefined when they are fine (the adapters refuse
 * such calls with `STORE_FAILED`).
 */
export function counterArgsProblem(key: string, windowMs?: number): string | undefined {
  if (key.length === 0 || key.length > MAX_COUNTER_KEY_LENGTH) return `counter key must be 1…${MAX_COUNTER_KEY_LENGTH} characters`;
  if (windowMs !== undefined && (!Number.isSafeInteger(windowMs) || windowMs < 1 || windowMs > MAX_COUNTER_WINDOW_MS)) {
    return `counter window must be an integer of 1…${MAX_COUNTER_WINDOW_MS} ms`;
  }
  return undefined;
}

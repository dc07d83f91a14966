/**
 * The in-process {@link ChangeFeed}: one process, waiters in a map keyed by `paymentId` /
 * `operationId`. Bounded: at most `maxWaiters` waits at once (a wait beyond that resolves false at
 * once, so the caller answers from what it read), each at most `maxWaitMs`. Its time-outs are real
 * timers, `unref`ed: they only decide when a waiting request re-reads the store, never an outcome
 * (ports/change-feed.ts).
 */
import type { ChangeFeed } from '../../ports/change-feed.ts';

/** Options of {@link MemoryChangeFeed}. */
export interface MemoryChangeFeedOptions {
  /** Most waits held at once, over all keys. @default 10000 */
  readonly maxWaiters?: number;
  /** Longest single wait, ms; a longer one resolves false at this time-out. @default 60000 */
  readonly maxWaitMs?: number;
}

/** Bounded in-process waits keyed by a string. */
export class MemoryChangeFeed implements ChangeFeed {
  readonly #waiters = new Map<string, Set<() => void>>();
  readonly #maxWaiters: number;
  readonly #maxWaitMs: number;
  #count = 0;

  constructor(options: MemoryChangeFeedOptions = {}) {
    this.#maxWaiters = options.maxWaiters ?? 10_000;
    this.#maxWaitMs = options.maxWaitMs ?? 60_000;
  }

  /** Waits held right now (metrics, tests). */
  get waiting(): number {
    return this.#count;
  }

  /** @inheritdoc */
  wait(key: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (timeoutMs <= 0 || signal?.aborted === true || this.#count >= this.#maxWaiters) return Promise.resolve(false);
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) {
        set = new Set();
        this.#waiters.set(key, set);
      }
      const waiters = set;
      const wake = (changed: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (waiters.delete(onChange)) this.#count--;
        if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
        resolve(changed);
      };
      const onChange = () => wake(true);
      const onAbort = () => wake(false);
      const timer = setTimeout(() => wake(false), Math.min(timeoutMs, this.#maxWaitMs));
      timer.unref();
      signal?.addEventListener('abort', onAbort, { once: true });
      waiters.add(onChange);
      this.#count++;
    });
  }

  /** @inheritdoc */
  notify(key: string): void {
    const set = this.#waiters.get(key);
    if (!set) return;
    for (const wake of [...set]) wake();
  }
}

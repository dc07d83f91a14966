/**
 * Lets a request handler wait (bounded) for "something changed about key K", e.g. the agent
 * answered the abort of payment K. In-process only: the handler re-reads the store afterwards,
 * so a missed or spurious wake-up costs at most one re-read.
 */

/** Bounded waits keyed by a string (a paymentId or an operationId). */
export class ChangeNotifier {
  readonly #waiters = new Map<string, Set<() => void>>();

  /**
   * Resolves on the next {@link notify} of `key`, or after `timeoutMs` (whichever comes first).
   * @returns true when woken by a change, false on timeout.
   */
  wait(key: string, timeoutMs: number): Promise<boolean> {
    if (timeoutMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) {
        set = new Set();
        this.#waiters.set(key, set);
      }
      const waiters = set;
      const wake = (changed: boolean) => {
        clearTimeout(timer);
        waiters.delete(onChange);
        if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
        resolve(changed);
      };
      const onChange = () => wake(true);
      const timer = setTimeout(() => wake(false), timeoutMs);
      timer.unref();
      waiters.add(onChange);
    });
  }

  /** Wakes every waiter of `key`. */
  notify(key: string): void {
    const set = this.#waiters.get(key);
    if (!set) return;
    for (const wake of [...set]) wake();
  }
}

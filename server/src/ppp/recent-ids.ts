/**
 * The paymentIds this process answered lately, so Create Payment knows which calls are likely
 * repeats (the gateway's polls, answered from one read) and which are likely new (sent straight to
 * the idempotent insert, one store trip instead of a read and then the insert). Only a hint: the
 * insert is idempotent by paymentId and answers a repeat it was not told of (after a restart, or a
 * payment created by another instance), so a wrong guess costs a trip, never a second payment.
 *
 * @see docs/performance.md "What changed" (PPP)
 */

/** How many ids are remembered (least recently answered dropped first): ~5 MiB at most. */
export const MAX_RECENT_IDS = 65_536;

/** A bounded least-recently-used set of ids. */
export class RecentIds {
  readonly #ids = new Map<string, true>();
  readonly #max: number;

  /** @param max - most ids kept (≥ 1). */
  constructor(max = MAX_RECENT_IDS) {
    this.#max = Math.max(1, Math.trunc(max));
  }

  /** True when `id` was added and not dropped since. */
  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Remembers `id` as the most recent, dropping the oldest when full. */
  add(id: string): void {
    this.#ids.delete(id);
    this.#ids.set(id, true);
    if (this.#ids.size > this.#max) {
      const oldest = this.#ids.keys().next();
      if (oldest.done !== true) this.#ids.delete(oldest.value);
    }
  }

  /** Ids remembered now. */
  get size(): number {
    return this.#ids.size;
  }
}
